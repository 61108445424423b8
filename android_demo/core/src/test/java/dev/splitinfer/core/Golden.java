package dev.splitinfer.core;

import static org.junit.Assert.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The golden vectors written by android_demo/golden/make_golden.py, and typed access to them. */
final class Golden {
  static final String FILE = "android_demo/golden/golden_vectors.json";

  private static Map<String, Object> file;
  private static WordPieceTokenizer tokenizer;
  private static Bundle formulaBundle;
  private static Bundle selectionBundle;
  private static Bundle lineBreaksBundle;

  private Golden() {}

  /** The repository root: -Dsplitinfer.repo, else the nearest parent of the working directory with the golden file. */
  static Path repo() {
    String property = System.getProperty("splitinfer.repo");
    if (property != null) {
      return Paths.get(property);
    }
    for (Path dir = Paths.get("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.exists(dir.resolve(FILE))) {
        return dir;
      }
    }
    throw new IllegalStateException("cannot find " + FILE + "; run with -Dsplitinfer.repo=<repository root>");
  }

  @SuppressWarnings("unchecked")
  static synchronized Map<String, Object> file() {
    if (file == null) {
      try {
        file = (Map<String, Object>) Json.parse(Files.readString(repo().resolve(FILE), StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return file;
  }

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> list(String key) {
    return (List<Map<String, Object>>) file().get(key);
  }

  /** JUnit parameters of the vectors under {@code key}: each vector's "name", then the vector. */
  static List<Object[]> parameters(String key) {
    List<Object[]> out = new ArrayList<>();
    for (Map<String, Object> v : list(key)) {
      out.add(new Object[] {v.get("name"), v});
    }
    return out;
  }

  /** The SDK's tokenizer over the vocabulary the vectors were made with (sdk/assets/vocab.txt). */
  static synchronized WordPieceTokenizer tokenizer() {
    if (tokenizer == null) {
      try {
        byte[] vocab = Files.readAllBytes(repo().resolve((String) file().get("vocab")));
        tokenizer = WordPieceTokenizer.fromVocabText(new String(vocab, StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return tokenizer;
  }

  /** formula_bundle.tflite: a real bundle whose model {@link FormulaModel} computes exactly. */
  static synchronized Bundle formulaBundle() throws BundleException {
    if (formulaBundle == null) {
      formulaBundle = Bundle.read(repo().resolve((String) file().get("formula_bundle")).toFile());
    }
    return formulaBundle;
  }

  /** formula_selection_bundle.tflite: the formula bundle with selection weights in its manifest. */
  static synchronized Bundle selectionBundle() throws BundleException {
    if (selectionBundle == null) {
      selectionBundle = Bundle.read(repo().resolve((String) file().get("selection_bundle")).toFile());
    }
    return selectionBundle;
  }

  /** formula_line_breaks_bundle.tflite: the selection bundle with a line_break_id too. */
  static synchronized Bundle lineBreaksBundle() throws BundleException {
    if (lineBreaksBundle == null) {
      lineBreaksBundle = Bundle.read(repo().resolve((String) file().get("line_breaks_bundle")).toFile());
    }
    return lineBreaksBundle;
  }

  static int[] ints(Object list) {
    return ((List<?>) list).stream().mapToInt(v -> (int) (long) (Long) v).toArray();
  }

  static int[][] intArrays(Object list) {
    return ((List<?>) list).stream().map(Golden::ints).toArray(int[][]::new);
  }

  /** Fails naming the first word whose float32 bits differ (lengths first). */
  static void assertSameBits(String name, float[] expected, float[] actual) {
    assertEquals(name, expected.length, actual.length);
    for (int i = 0; i < expected.length; i++) {
      if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
        throw new AssertionError(name + " word " + i + ": expected " + expected[i] + " but was " + actual[i]);
      }
    }
  }

  /** Float32 values written as the float64 that widens them: narrowing gives the same bits. */
  static float[] floats(Object list) {
    List<?> values = (List<?>) list;
    float[] out = new float[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = (float) ((Number) values.get(i)).doubleValue();
    }
    return out;
  }

  static boolean[] booleans(Object list) {
    List<?> values = (List<?>) list;
    boolean[] out = new boolean[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = (Boolean) values.get(i);
    }
    return out;
  }

  static List<String> strings(Object list) {
    List<String> out = new ArrayList<>();
    for (Object v : (List<?>) list) {
      out.add((String) v);
    }
    return out;
  }

  static Double optionalDouble(Object value) {
    return value == null ? null : ((Number) value).doubleValue();
  }

  static Integer optionalInt(Object value) {
    return value == null ? null : (int) (long) (Long) value;
  }

  /** A readable form of a string for failure messages: non-ASCII and controls as \\uXXXX. */
  static String escape(String text) {
    StringBuilder out = new StringBuilder();
    for (char c : text.toCharArray()) {
      if (c >= 0x20 && c < 0x7f) {
        out.append(c);
      } else {
        out.append(String.format("\\u%04x", (int) c));
      }
    }
    return out.toString();
  }
}
