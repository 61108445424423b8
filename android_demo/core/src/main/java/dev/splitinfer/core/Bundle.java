package dev.splitinfer.core;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * A condenser bundle read and verified: the port of {@code splitinfer.sdk._bundle.read_bundle}.
 *
 * <p>A bundle is one {@code .tflite} file: the TFLite flatbuffer, then a ZIP archive appended to
 * it (TFLite's metadata convention; the interpreter ignores the archive, {@link ZipFile} finds it
 * from its end record). The archive holds {@code manifest.json} (see {@link #REQUIRED_FIELDS}),
 * {@code vocab.txt} and optionally a model card. Reading checks, in order: the file exists and is
 * not empty; it has an archive with a manifest; the manifest's {@code format_version} is one this
 * reader knows; the required fields are there; the flatbuffer ({@code model_bytes} long) is
 * complete, starts with a TFLite header and matches the manifest's {@code sha256}; the vocabulary
 * is there. Each failure is a {@link BundleException} that names the problem and the fix.
 *
 * <p>The model is not kept in memory: {@link #mapModel} maps its bytes read-only from the file,
 * which is what LiteRT's {@code Interpreter} wants.
 */
public final class Bundle {
  /** The newest bundle format this reader understands. */
  public static final int FORMAT_VERSION = 1;
  public static final String MANIFEST = "manifest.json";
  public static final String VOCAB = "vocab.txt";
  /** Fields every manifest has (the same list as the Python SDK). */
  public static final List<String> REQUIRED_FIELDS = Collections.unmodifiableList(Arrays.asList(
      "format_version", "model_version", "model_bytes", "sha256", "max_seq_len", "max_question_len",
      "inputs", "output", "default_rate", "teacher"));
  private static final String REBUILD =
      "rebuild it with 'splitinfer convert' (or 'make model' for the default bundle)";
  private static final long MAX_ENTRY_BYTES = 64L << 20;

  private final File file;
  private final Map<String, Object> manifest;
  private final Map<String, byte[]> files;
  private final List<String> vocab;
  private final int modelBytes;
  private final SelectionWeights selection;
  private final int lineBreakId;

  private Bundle(File file, Map<String, Object> manifest, Map<String, byte[]> files, List<String> vocab,
      SelectionWeights selection, int lineBreakId) {
    this.file = file;
    this.selection = selection;
    this.lineBreakId = lineBreakId;
    this.manifest = manifest;
    this.files = files;
    this.vocab = vocab;
    this.modelBytes = (int) (long) (Long) manifest.get("model_bytes");
  }

  /** Reads and verifies the bundle at {@code file}. */
  public static Bundle read(File file) throws BundleException {
    String name = file.getPath();
    if (file.isDirectory()) {
      throw new BundleException(name + " is a directory, not a condenser bundle (.tflite file)");
    }
    if (!file.isFile()) {
      throw new BundleException(name + ": no such condenser bundle; check the path, or " + REBUILD);
    }
    if (file.length() == 0) {
      throw new BundleException(name + " is empty, not a condenser bundle; " + REBUILD);
    }
    Map<String, byte[]> files = readArchive(file, name);
    if (!files.containsKey(MANIFEST)) {
      throw new BundleException(name + " has an archive but no " + MANIFEST
          + ": not a splitinfer bundle; " + REBUILD);
    }
    Map<String, Object> manifest = parseManifest(files.get(MANIFEST), name);
    SelectionWeights selection;
    try {
      selection = SelectionWeights.fromManifest(manifest);
    } catch (IllegalArgumentException e) {
      throw new BundleException(name + ": the manifest's " + e.getMessage() + "; " + REBUILD);
    }
    checkModel(file, manifest, name);
    if (!files.containsKey(VOCAB)) {
      throw new BundleException(name + " has no " + VOCAB + ": the tokenizer is missing; " + REBUILD);
    }
    List<String> vocab = WordPieceTokenizer.splitLines(utf8(files.get(VOCAB), name, VOCAB));
    int lineBreakId = lineBreakId(manifest, vocab.size(), name);
    return new Bundle(file, manifest, Collections.unmodifiableMap(files), vocab, selection, lineBreakId);
  }

  // The SDK's _line_break_id: absent or null = -1 (the model reads no line breaks), else an
  // integer id of the vocabulary.
  private static int lineBreakId(Map<String, Object> manifest, int vocabSize, String name)
      throws BundleException {
    Object value = manifest.get("line_break_id");
    if (value == null) {
      return -1;
    }
    if (!(value instanceof Long) || (Long) value < 0 || (Long) value >= vocabSize) {
      throw new BundleException(name + ": the manifest's line_break_id must be a token id of its vocabulary (0 to "
          + (vocabSize - 1) + "), got " + SelectionWeights.pythonRepr(value) + "; " + REBUILD);
    }
    return (int) (long) (Long) value;
  }

  private static Map<String, byte[]> readArchive(File file, String name) throws BundleException {
    Map<String, byte[]> files = new LinkedHashMap<>();
    try (ZipFile zip = new ZipFile(file)) {
      Enumeration<? extends ZipEntry> entries = zip.entries();
      while (entries.hasMoreElements()) {
        ZipEntry entry = entries.nextElement();
        if (entry.getMethod() != ZipEntry.STORED && entry.getMethod() != ZipEntry.DEFLATED) {
          throw new BundleException(name + ": its archive entry " + entry.getName() + " uses compression "
              + "method " + entry.getMethod() + "; a bundle's entries are stored or deflated; " + REBUILD);
        }
        files.put(entry.getName(), readEntry(zip, entry));
      }
    } catch (IOException | IllegalArgumentException notAZip) {
      if (startsWithTfliteHeader(file)) {
        throw new BundleException(name + " is a plain TFLite model or a truncated bundle: it carries "
            + "no splitinfer manifest or tokenizer; " + REBUILD);
      }
      throw new BundleException(name + " is not a splitinfer condenser bundle (no manifest); " + REBUILD);
    }
    return files;
  }

  private static byte[] readEntry(ZipFile zip, ZipEntry entry) throws IOException {
    if (entry.getSize() > MAX_ENTRY_BYTES) {
      throw new IOException(entry.getName() + " is too large");
    }
    try (InputStream in = zip.getInputStream(entry)) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buffer = new byte[8192];
      int n;
      while ((n = in.read(buffer)) > 0) {
        out.write(buffer, 0, n);
        if (out.size() > MAX_ENTRY_BYTES) {
          throw new IOException(entry.getName() + " is too large");
        }
      }
      byte[] data = out.toByteArray();
      CRC32 crc = new CRC32();
      crc.update(data);
      if (entry.getCrc() != -1 && crc.getValue() != entry.getCrc()) {
        throw new IOException(entry.getName() + " fails its CRC check");
      }
      return data;
    }
  }

  private static Map<String, Object> parseManifest(byte[] bytes, String name) throws BundleException {
    Object parsed;
    try {
      parsed = Json.parse(utf8(bytes, name, MANIFEST));
    } catch (Json.ParseException e) {
      throw new BundleException(name + ": " + MANIFEST + " is corrupt (" + e.getMessage() + "); " + REBUILD);
    }
    if (!(parsed instanceof Map)) {
      throw new BundleException(name + ": " + MANIFEST + " is not a JSON object; " + REBUILD);
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> manifest = (Map<String, Object>) parsed;
    Object version = manifest.get("format_version");
    if (!(version instanceof Long)) {
      throw new BundleException(name + ": " + MANIFEST + " has no integer format_version; " + REBUILD);
    }
    if ((Long) version > FORMAT_VERSION) {
      throw new BundleException(name + " has bundle format " + version + ", newer than the "
          + FORMAT_VERSION + " this app reads; update the app's splitinfer core (android_demo/core)");
    }
    if ((Long) version < 1) {
      throw new BundleException(name + ": " + MANIFEST + " has format_version " + version
          + "; formats start at 1; " + REBUILD);
    }
    StringBuilder missing = new StringBuilder();
    for (String field : REQUIRED_FIELDS) {
      if (!manifest.containsKey(field)) {
        missing.append(missing.length() == 0 ? "" : ", ").append(field);
      }
    }
    if (missing.length() > 0) {
      throw new BundleException(name + ": " + MANIFEST + " lacks " + missing + "; " + REBUILD);
    }
    for (String field : new String[] {"max_seq_len", "max_question_len"}) {
      Object value = manifest.get(field);
      if (!(value instanceof Long) || (Long) value <= 0 || (Long) value > 1 << 20) {
        throw new BundleException(name + ": " + MANIFEST + " has " + field + " = " + value
            + ", not a positive token count; " + REBUILD);
      }
    }
    Object rate = manifest.get("default_rate");
    if (!(rate instanceof Number)) {
      throw new BundleException(name + ": " + MANIFEST + " has a default_rate that is not a number; " + REBUILD);
    }
    // As the SDK's Condenser (check_rate): a bad default fails at load, not on every condense().
    double value = ((Number) rate).doubleValue();
    if (!(value > 0.0 && value <= 1.0)) {
      throw new BundleException(name + ": the manifest's default_rate must be in (0, 1] (the fraction of "
          + "tokens to keep), got " + rate + "; " + REBUILD);
    }
    return manifest;
  }

  private static void checkModel(File file, Map<String, Object> manifest, String name) throws BundleException {
    Object size = manifest.get("model_bytes");
    if (!(size instanceof Long) || (Long) size <= 8 || (Long) size > file.length()
        || (Long) size > Integer.MAX_VALUE) {
      throw new BundleException(name + ": the model is truncated or model_bytes is wrong; " + REBUILD);
    }
    byte[] model = readPrefix(file, (int) (long) (Long) size, name);
    if (!(model[4] == 'T' && model[5] == 'F' && model[6] == 'L' && model[7] == '3')) {
      throw new BundleException(name + ": the bytes before the archive are not a TFLite model; " + REBUILD);
    }
    String digest = sha256Hex(model);
    String expected = String.valueOf(manifest.get("sha256"));
    if (!digest.equals(expected)) {
      throw new BundleException(name + ": the model's sha256 is " + digest.substring(0, 12)
          + "\u2026, the manifest says " + expected.substring(0, Math.min(12, expected.length()))
          + "\u2026: the file is corrupt or was edited; " + REBUILD);
    }
  }

  private static boolean startsWithTfliteHeader(File file) {
    try (RandomAccessFile raf = new RandomAccessFile(file, "r")) {
      byte[] head = new byte[8];
      if (raf.length() < 8) {
        return false;
      }
      raf.readFully(head);
      return head[4] == 'T' && head[5] == 'F' && head[6] == 'L' && head[7] == '3';
    } catch (IOException e) {
      return false;
    }
  }

  private static byte[] readPrefix(File file, int size, String name) throws BundleException {
    try (RandomAccessFile raf = new RandomAccessFile(file, "r")) {
      byte[] data = new byte[size];
      raf.readFully(data);
      return data;
    } catch (IOException e) {
      throw new BundleException(name + ": cannot read the model: " + e.getMessage());
    }
  }

  private static String utf8(byte[] bytes, String name, String entry) throws BundleException {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      throw new BundleException(name + ": " + entry + " is not UTF-8; " + REBUILD);
    }
  }

  static String sha256Hex(byte[] data) {
    try {
      StringBuilder hex = new StringBuilder(64);
      for (byte b : MessageDigest.getInstance("SHA-256").digest(data)) {
        hex.append(String.format("%02x", b & 0xff));
      }
      return hex.toString();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is unavailable", e);
    }
  }

  /** The bundle file. */
  public File file() {
    return file;
  }

  /** The manifest, as parsed by {@link Json} (unmodifiable). */
  public Map<String, Object> manifest() {
    return manifest;
  }

  /** Every archive entry by name (manifest, vocabulary, model card...). */
  public Map<String, byte[]> files() {
    return files;
  }

  /** The tokenizer vocabulary, one token per entry, id = index. */
  public List<String> vocab() {
    return vocab;
  }

  /** A tokenizer over {@link #vocab()}. */
  public WordPieceTokenizer tokenizer() {
    return new WordPieceTokenizer(vocab);
  }

  /** Length of the TFLite flatbuffer at the start of the file. */
  public int modelBytes() {
    return modelBytes;
  }

  /** The flatbuffer, mapped read-only from the file (for LiteRT's Interpreter). */
  public ByteBuffer mapModel() throws IOException {
    try (RandomAccessFile raf = new RandomAccessFile(file, "r"); FileChannel channel = raf.getChannel()) {
      return channel.map(FileChannel.MapMode.READ_ONLY, 0, modelBytes);
    }
  }

  public String modelVersion() {
    return String.valueOf(manifest.get("model_version"));
  }

  public String sha256() {
    return String.valueOf(manifest.get("sha256"));
  }

  public String teacher() {
    return String.valueOf(manifest.get("teacher"));
  }

  public int formatVersion() {
    return intField("format_version");
  }

  /** Context tokens per model call (the window). */
  public int maxSeqLen() {
    return intField("max_seq_len");
  }

  /** Question tokens the model reads. */
  public int maxQuestionLen() {
    return intField("max_question_len");
  }

  /** The rate used when the caller asks for none. */
  public double defaultRate() {
    return ((Number) manifest.get("default_rate")).doubleValue();
  }

  /** The manifest's {@code selection} weights ({@link SelectionWeights#NONE} when it has none). */
  public SelectionWeights selection() {
    return selection;
  }

  /**
   * The id the model reads before each word that starts a line (the manifest's
   * {@code line_break_id}), or -1 when it reads no line breaks.
   */
  public int lineBreakId() {
    return lineBreakId;
  }

  // Checked by read(): the integer fields are Longs in int range.
  private int intField(String field) {
    return (int) (long) (Long) manifest.get(field);
  }
}
