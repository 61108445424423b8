package dev.splitinfer.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Reading bundles: one written by the Python SDK, the real condenser, and broken ones. */
public class BundleTest {
  private static final String TINY = "android_demo/golden/tiny_bundle.tflite";
  private static final String REAL = "sdk/assets/condenser.tflite";

  @Rule public TemporaryFolder tmp = new TemporaryFolder();

  private static File tiny() {
    return Golden.repo().resolve(TINY).toFile();
  }

  private static byte[] tinyBytes() throws IOException {
    return Files.readAllBytes(tiny().toPath());
  }

  private File write(byte[] data) throws IOException {
    File file = tmp.newFile();
    Files.write(file.toPath(), data);
    return file;
  }

  /** A bundle written the Java way: offsets in the archive count from the archive, not the file. */
  private File bundle(byte[] model, Map<String, String> entries) throws IOException {
    File file = tmp.newFile();
    try (OutputStream out = new FileOutputStream(file)) {
      out.write(model);
      ZipOutputStream zip = new ZipOutputStream(out);
      for (Map.Entry<String, String> e : entries.entrySet()) {
        zip.putNextEntry(new ZipEntry(e.getKey()));
        zip.write(e.getValue().getBytes(StandardCharsets.UTF_8));
        zip.closeEntry();
      }
      zip.finish();
    }
    return file;
  }

  private static byte[] model() {
    byte[] model = new byte[64];
    model[0] = 0x1c;
    System.arraycopy("TFL3".getBytes(StandardCharsets.US_ASCII), 0, model, 4, 4);
    return model;
  }

  private static String manifest(byte[] model, int formatVersion, String... drop) {
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("format_version", String.valueOf(formatVersion));
    fields.put("model_version", "\"java-test\"");
    fields.put("model_bytes", String.valueOf(model.length));
    fields.put("sha256", "\"" + Bundle.sha256Hex(model) + "\"");
    fields.put("max_seq_len", "8");
    fields.put("max_question_len", "4");
    fields.put("inputs", "{\"context_ids\": \"context_ids\", \"question_ids\": \"question_ids\"}");
    fields.put("output", "\"scores\"");
    fields.put("default_rate", "0.5");
    fields.put("teacher", "\"none\"");
    for (String field : drop) {
      fields.remove(field);
    }
    StringBuilder json = new StringBuilder("{");
    fields.forEach((k, v) -> json.append(json.length() > 1 ? ", " : "").append('"').append(k).append("\": ").append(v));
    return json.append("}").toString();
  }

  private static Map<String, String> entries(String manifest, String vocab) {
    Map<String, String> entries = new LinkedHashMap<>();
    if (manifest != null) {
      entries.put(Bundle.MANIFEST, manifest);
    }
    if (vocab != null) {
      entries.put(Bundle.VOCAB, vocab);
    }
    return entries;
  }

  private static String failure(File file) {
    return assertThrows(BundleException.class, () -> Bundle.read(file)).getMessage();
  }

  private static void assertMentions(String message, String... parts) {
    for (String part : parts) {
      assertTrue("'" + part + "' not in: " + message, message.contains(part));
    }
  }

  @Test
  public void readsTheManifestVocabularyAndModelOfABundleBuiltByThePythonSdk() throws Exception {
    Bundle bundle = Bundle.read(tiny());
    assertEquals("tiny-test-0.1", bundle.modelVersion());
    assertEquals(1, bundle.formatVersion());
    assertEquals(16, bundle.maxSeqLen());
    assertEquals(8, bundle.maxQuestionLen());
    assertEquals(0.4, bundle.defaultRate(), 0.0);
    assertEquals(List.of("drop", "keep"), bundle.manifest().get("labels"));
    assertEquals(11, bundle.vocab().size());
    assertEquals("\u00e9t\u00e9", bundle.vocab().get(10));
    assertTrue(bundle.files().containsKey("model_card.md"));
    ByteBuffer model = bundle.mapModel();
    byte[] bytes = new byte[model.remaining()];
    model.get(bytes);
    assertEquals(bundle.modelBytes(), bytes.length);
    assertEquals(bundle.sha256(), Bundle.sha256Hex(bytes));
  }

  @Test
  public void tokenizerComesFromTheBundleVocabulary() throws Exception {
    WordPieceTokenizer tokenizer = Bundle.read(tiny()).tokenizer();
    assertArrayEquals(new int[] {4}, tokenizer.encodeWord("Hello"));
    assertArrayEquals(new int[] {5, 6}, tokenizer.encodeWord("worlds"));
    assertArrayEquals(new int[] {7, 8, 9}, tokenizer.encodeWord("Caf\u00e9,"));
    assertArrayEquals(new int[] {1}, tokenizer.encodeWord("\u00e9t\u00e9"));
  }

  @Test
  public void readsABundleWhoseArchiveOffsetsCountFromTheArchive() throws Exception {
    byte[] model = model();
    Bundle bundle = Bundle.read(bundle(model, entries(manifest(model, 1), "[PAD]\n[UNK]\nhi\n")));
    assertEquals("java-test", bundle.modelVersion());
    assertEquals(List.of("[PAD]", "[UNK]", "hi"), bundle.vocab());
  }

  @Test
  public void readsTheRealCondenserBundleWhenItHasBeenBuilt() throws Exception {
    File real = Golden.repo().resolve(REAL).toFile();
    assumeTrue(REAL + " is not built yet ('make model')", real.isFile());
    Bundle bundle = Bundle.read(real);
    assertEquals(Bundle.FORMAT_VERSION, bundle.formatVersion());
    assertTrue(bundle.maxSeqLen() > 0 && bundle.maxQuestionLen() > 0);
    WordPieceTokenizer tokenizer = bundle.tokenizer();
    assertArrayEquals(Golden.tokenizer().encode("Paris is the capital of France."),
        tokenizer.encode("Paris is the capital of France."));
  }

  @Test
  public void aMissingFileSaysSo() {
    assertMentions(failure(new File(tmp.getRoot(), "nope.tflite")), "no such condenser bundle", "splitinfer convert");
  }

  @Test
  public void aDirectoryIsNotABundle() {
    assertMentions(failure(tmp.getRoot()), "is a directory");
  }

  @Test
  public void anEmptyFileIsNotABundle() throws Exception {
    assertMentions(failure(write(new byte[0])), "is empty");
  }

  @Test
  public void arbitraryBytesAreNotABundle() throws Exception {
    assertMentions(failure(write("just some text, not a model".getBytes(StandardCharsets.UTF_8))),
        "not a splitinfer condenser bundle");
  }

  @Test
  public void aPlainTfliteModelHasNoManifest() throws Exception {
    Bundle tiny = Bundle.read(tiny());
    byte[] plain = Arrays.copyOf(tinyBytes(), tiny.modelBytes());
    assertMentions(failure(write(plain)), "plain TFLite model or a truncated bundle");
  }

  @Test
  public void aTruncatedBundleIsReportedAsSuch() throws Exception {
    byte[] data = tinyBytes();
    assertMentions(failure(write(Arrays.copyOf(data, data.length - 10))), "truncated bundle");
  }

  @Test
  public void aNewerFormatAsksForANewerReader() throws Exception {
    byte[] model = model();
    String message = failure(bundle(model, entries(manifest(model, 2), "[PAD]\n[UNK]\n")));
    assertMentions(message, "bundle format 2", "newer than the 1");
  }

  @Test
  public void aFormatVersionBelowOneIsRefusedAsTheSdkRefusesIt() throws Exception {
    byte[] model = model();
    String message = failure(bundle(model, entries(manifest(model, 0), "[PAD]\n[UNK]\n")));
    assertMentions(message, "has format_version 0; formats start at 1");
  }

  @Test
  public void aManifestWithoutRequiredFieldsNamesThem() throws Exception {
    byte[] model = model();
    String message = failure(bundle(model, entries(manifest(model, 1, "teacher", "sha256"), "[PAD]\n[UNK]\n")));
    assertMentions(message, "lacks sha256, teacher");
  }

  @Test
  public void aCorruptManifestIsReported() throws Exception {
    assertMentions(failure(bundle(model(), entries("{\"format_version\": 1,", "[PAD]\n[UNK]\n"))), "is corrupt");
  }

  @Test
  public void aManifestThatIsNotAnObjectIsReported() throws Exception {
    assertMentions(failure(bundle(model(), entries("[1, 2]", "[PAD]\n[UNK]\n"))), "not a JSON object");
  }

  @Test
  public void anArchiveWithoutAManifestIsNotABundle() throws Exception {
    assertMentions(failure(bundle(model(), entries(null, "[PAD]\n[UNK]\n"))), "has an archive but no manifest.json");
  }

  @Test
  public void anEditedModelFailsItsChecksum() throws Exception {
    byte[] model = model();
    String manifest = manifest(model, 1);
    model[20] ^= 1;
    assertMentions(failure(bundle(model, entries(manifest, "[PAD]\n[UNK]\n"))), "sha256", "corrupt or was edited");
  }

  @Test
  public void aModelSizeBeyondTheFileIsReported() throws Exception {
    byte[] model = model();
    String manifest = manifest(model, 1).replace("\"model_bytes\": 64", "\"model_bytes\": 99999");
    assertMentions(failure(bundle(model, entries(manifest, "[PAD]\n[UNK]\n"))), "model_bytes is wrong");
  }

  @Test
  public void aWindowThatIsNotATokenCountIsReported() throws Exception {
    byte[] model = model();
    String manifest = manifest(model, 1).replace("\"max_seq_len\": 8", "\"max_seq_len\": 0");
    assertMentions(failure(bundle(model, entries(manifest, "[PAD]\n[UNK]\n"))), "max_seq_len = 0");
  }

  @Test
  public void aDefaultRateOutsideZeroToOneIsReportedAtLoad() throws Exception {
    byte[] model = model();
    for (String rate : new String[] {"0", "1.5", "-0.2"}) {
      String manifest = manifest(model, 1).replace("\"default_rate\": 0.5", "\"default_rate\": " + rate);
      assertMentions(failure(bundle(model, entries(manifest, "[PAD]\n[UNK]\n"))), "default_rate must be in (0, 1]");
    }
  }

  @Test
  public void aBundleWithoutVocabularyHasNoTokenizer() throws Exception {
    byte[] model = model();
    assertMentions(failure(bundle(model, entries(manifest(model, 1), null))), "the tokenizer is missing");
  }

  private static String withSelection(String manifest, String selection) {
    return manifest.substring(0, manifest.length() - 1) + ", \"selection\": " + selection + "}";
  }

  @Test
  public void aBundleWithoutSelectionWeightsDoesNotSmooth() throws Exception {
    assertFalse(Bundle.read(tiny()).selection().active());
  }

  @Test
  public void readsTheSelectionWeightsOfABundleBuiltByThePythonSdk() throws Exception {
    SelectionWeights weights = Golden.selectionBundle().selection();
    assertEquals(0.6, weights.segment, 0.0);
    assertEquals(0.2, weights.document, 0.0);
    assertTrue(weights.nameSpans);
    assertTrue(weights.titleLift);
    // The SDK's AnswerTypes(0.1): the same English openings as the Java defaults, in order.
    assertEquals(0.1, weights.answerTypes.weight, 0.0);
    assertEquals(AnswerTypes.NAME_QUESTIONS, weights.answerTypes.names);
    assertEquals(AnswerTypes.NUMBER_QUESTIONS, weights.answerTypes.numbers);
  }

  @Test
  public void badAnswerTypesAreNamedInTheSdksWords() throws Exception {
    byte[] model = model();
    String[][] cases = {
        {"{\"weight\": 0, \"names\": [\"who\"], \"numbers\": [\"when\"]}",
            "answer_types weight must be a number in (0, 1], got 0"},
        {"{\"weight\": \"x\", \"names\": [\"who\"], \"numbers\": [\"when\"]}",
            "answer_types weight must be a number in (0, 1], got 'x'"},
        {"{\"weight\": 0.1, \"names\": [\"Who\"], \"numbers\": [\"when\"]}",
            "answer_types names has 'Who'; write it as words are compared, 'who': case-folded, without edge "
                + "punctuation, one space apart"},
        {"{\"weight\": 0.1, \"names\": [\"who\"], \"numbers\": [\"?\"]}",
            "answer_types numbers has '?'; an opening is one or more words"},
        {"{\"weight\": 0.1, \"names\": [\"who\"], \"numbers\": [\"when\", \"who\"]}",
            "answer_types opening 'who' is in names and in numbers"},
        {"{\"weight\": 0.1, \"names\": [\"who\", \"who\"], \"numbers\": [\"when\"]}",
            "answer_types opening 'who' is twice in names"},
        {"{\"weight\": 0.1, \"names\": [\"who\"]}", "answer_types takes weight, names and numbers, got names, weight"},
        {"\"on\"", "answer_types must be an object, got str"},
    };
    for (String[] c : cases) {
      String manifest = withSelection(manifest(model, 1), "{\"segment_weight\": 0.6, \"answer_types\": " + c[0] + "}");
      assertMentions(failure(bundle(model, entries(manifest, "[PAD]\n[UNK]\n"))), "the manifest's " + c[1], "rebuild it");
    }
  }

  @Test
  public void aSelectionWeightOutOfRangeIsNamed() throws Exception {
    byte[] model = model();
    String manifest = withSelection(manifest(model, 1), "{\"segment_weight\": 0.5, \"document_weight\": 1.5}");
    assertMentions(failure(bundle(model, entries(manifest, "[PAD]\n[UNK]\n"))),
        "the manifest's document_weight must be a number in [0, 1], got 1.5", "rebuild it");
  }

  @Test
  public void selectionWeightsThatAreNotNumbersOrSumAboveOneAreNamed() throws Exception {
    byte[] model = model();
    String[][] cases = {
        {"{\"segment_weight\": true}", "segment_weight must be a number in [0, 1], got True"},
        {"{\"segment_weight\": \"0.5\"}", "segment_weight must be a number in [0, 1], got '0.5'"},
        {"{\"segment_weight\": 0.75, \"document_weight\": 0.5}", "segment_weight + document_weight must be at most 1"},
        {"[0.5, 0.2]", "selection must be an object, got list"},
        {"{\"segment\": 0.6}", "selection has unknown keys segment; it takes segment_weight, document_weight, "
            + "name_spans, answer_types and title_lift"},
        {"{\"title_lifts\": true, \"Title_lift\": true}", "selection has unknown keys Title_lift, title_lifts; "
            + "it takes segment_weight, document_weight, name_spans, answer_types and title_lift"},
        {"{\"name_spans\": \"yes\"}", "name_spans must be true or false, got 'yes'"},
        {"{\"name_spans\": 1}", "name_spans must be true or false, got 1"},
        {"{\"name_spans\": null}", "name_spans must be true or false, got None"},
        {"{\"title_lift\": \"yes\"}", "title_lift must be true or false, got 'yes'"},
        {"{\"title_lift\": 1}", "title_lift must be true or false, got 1"},
        {"{\"title_lift\": 0.0}", "title_lift must be true or false, got 0.0"},
        {"{\"title_lift\": null}", "title_lift must be true or false, got None"},
        {"{\"title_lift\": [true]}", "title_lift must be true or false, got [True]"},
        // The SDK checks the weights, then name_spans, then title_lift.
        {"{\"name_spans\": 1, \"title_lift\": 1}", "name_spans must be true or false, got 1"},
        {"{\"segment_weight\": 0.75, \"document_weight\": 0.5, \"title_lift\": 1}",
            "segment_weight + document_weight must be at most 1, got 0.75 + 0.5"},
    };
    for (String[] c : cases) {
      String manifest = withSelection(manifest(model, 1), c[0]);
      assertMentions(failure(bundle(model, entries(manifest, "[PAD]\n[UNK]\n"))), c[1]);
    }
  }

  @Test
  public void readsTheTitleLiftFlagAsTheSdkDoes() throws Exception {
    byte[] model = model();
    String[][] cases = {
        {"{\"title_lift\": true}", "true"},
        {"{\"title_lift\": false}", "false"},
        {"{\"segment_weight\": 0.6, \"document_weight\": 0.2}", "false"},
        {"{\"segment_weight\": 0.6, \"document_weight\": 0.2, \"name_spans\": true, \"title_lift\": true}", "true"},
    };
    for (String[] c : cases) {
      String manifest = withSelection(manifest(model, 1), c[0]);
      SelectionWeights weights = Bundle.read(bundle(model, entries(manifest, "[PAD]\n[UNK]\n"))).selection();
      assertEquals(c[0], Boolean.parseBoolean(c[1]), weights.titleLift);
    }
    // Title lift alone changes the scores, so the condenser applies the selection rules.
    String alone = withSelection(manifest(model, 1), "{\"title_lift\": true}");
    SelectionWeights weights = Bundle.read(bundle(model, entries(alone, "[PAD]\n[UNK]\n"))).selection();
    assertTrue(weights.active());
    assertFalse(weights.blends() || weights.nameSpans || weights.answerTypes != null);
    assertFalse(Bundle.read(tiny()).selection().titleLift);
  }

  @Test
  public void aBundleWithoutLineBreakIdReadsNoLineBreaks() throws Exception {
    assertEquals(-1, Bundle.read(tiny()).lineBreakId());
    assertEquals(-1, Golden.selectionBundle().lineBreakId());
  }

  @Test
  public void readsTheLineBreakIdOfABundleBuiltByThePythonSdk() throws Exception {
    assertEquals(102, Golden.lineBreaksBundle().lineBreakId());
  }

  @Test
  public void aLineBreakIdThatIsNoTokenOfTheVocabularyIsNamed() throws Exception {
    byte[] model = model();
    String[][] cases = {
        {"2", "got 2"},
        {"-1", "got -1"},
        {"1.0", "got 1.0"},
        {"true", "got True"},
        {"\"[SEP]\"", "got '[SEP]'"},
    };
    for (String[] c : cases) {
      String manifest = manifest(model, 1);
      manifest = manifest.substring(0, manifest.length() - 1) + ", \"line_break_id\": " + c[0] + "}";
      assertMentions(failure(bundle(model, entries(manifest, "[PAD]\n[UNK]\n"))),
          "the manifest's line_break_id must be a token id of its vocabulary (0 to 1), " + c[1], "rebuild it");
    }
  }
}
