package dev.splitinfer.core;

import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * How much of a word's score comes from its sentence and from its document: the port of
 * {@code splitinfer.sdk._selection.SelectionWeights}.
 *
 * <p>A word's score becomes {@code (1 - segment - document) * own + segment * sentence mean +
 * document * best sentence mean of its document} ({@link Selection#smoothScores}). Stored in the
 * bundle's manifest as {@code "selection": {"segment_weight": x, "document_weight": y}}; a bundle
 * without it (or with {@code null}) gets {@code (0, 0)}, {@link #NONE}: scores as the model gives
 * them. Each weight is a number in [0, 1] and their sum is at most 1. {@code "name_spans": true}
 * in the same object (absent: false) then lifts every word of a name to the name's best score.
 */
public final class SelectionWeights {
  /** No smoothing. */
  public static final SelectionWeights NONE = new SelectionWeights(0.0, 0.0);

  public final double segment;
  public final double document;
  /** Every word of a name takes the best score of the name ({@link Selection#liftNameSpans}). */
  public final boolean nameSpans;

  /** Weights without name spans. @throws IllegalArgumentException as the full constructor */
  public SelectionWeights(double segment, double document) {
    this(segment, document, false);
  }

  /** @throws IllegalArgumentException for a weight outside [0, 1] or a sum above 1 */
  public SelectionWeights(double segment, double document, boolean nameSpans) {
    checkRange("segment_weight", segment);
    checkRange("document_weight", document);
    if (segment + document > 1.0) {
      throw new IllegalArgumentException("segment_weight + document_weight must be at most 1, got "
          + segment + " + " + document);
    }
    this.segment = segment;
    this.document = document;
    this.nameSpans = nameSpans;
  }

  private static void checkRange(String name, double value) {
    if (!(0.0 <= value && value <= 1.0)) {
      throw new IllegalArgumentException(name + " must be a number in [0, 1], got " + value);
    }
  }

  /** Whether blending changes anything (a weight above 0). */
  public boolean blends() {
    return segment > 0.0 || document > 0.0;
  }

  /** Whether the scores change at all before selection (blending or name spans). */
  public boolean active() {
    return blends() || nameSpans;
  }

  /**
   * The manifest's {@code selection} weights (a parsed {@link Json} object).
   *
   * @throws IllegalArgumentException saying what is wrong with them, in the SDK's words
   */
  public static SelectionWeights fromManifest(Map<String, Object> manifest) {
    Object entry = manifest.get("selection");
    if (entry == null) {
      return NONE;
    }
    if (!(entry instanceof Map)) {
      throw new IllegalArgumentException("selection must be an object, got " + pythonType(entry));
    }
    Map<?, ?> weights = (Map<?, ?>) entry;
    TreeSet<String> unknown = new TreeSet<>();
    for (Object key : weights.keySet()) {
      if (!"segment_weight".equals(key) && !"document_weight".equals(key) && !"name_spans".equals(key)) {
        unknown.add(String.valueOf(key));
      }
    }
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException("selection has unknown keys " + String.join(", ", unknown)
          + "; it takes segment_weight, document_weight and name_spans");
    }
    return new SelectionWeights(weight(weights, "segment_weight"), weight(weights, "document_weight"),
        flag(weights, "name_spans"));
  }

  // Absent is false; present must be a JSON boolean (Python: bool, not 1, not None).
  private static boolean flag(Map<?, ?> weights, String name) {
    if (!weights.containsKey(name)) {
      return false;
    }
    Object value = weights.get(name);
    if (!(value instanceof Boolean)) {
      throw new IllegalArgumentException(name + " must be true or false, got " + pythonRepr(value));
    }
    return (Boolean) value;
  }

  // Absent is 0; present must be a JSON number (Python: int or float, not bool, not None).
  private static double weight(Map<?, ?> weights, String name) {
    if (!weights.containsKey(name)) {
      return 0.0;
    }
    Object value = weights.get(name);
    if (!(value instanceof Long || value instanceof Double)) {
      throw new IllegalArgumentException(name + " must be a number in [0, 1], got " + pythonRepr(value));
    }
    return ((Number) value).doubleValue();
  }

  private static String pythonType(Object value) {
    if (value instanceof List) {
      return "list";
    }
    if (value instanceof String) {
      return "str";
    }
    if (value instanceof Boolean) {
      return "bool";
    }
    return value instanceof Long ? "int" : "float";
  }

  static String pythonRepr(Object value) {
    if (value == null) {
      return "None";
    }
    if (value instanceof Boolean) {
      return (Boolean) value ? "True" : "False";
    }
    if (value instanceof String) {
      return "'" + value + "'";
    }
    return String.valueOf(value);
  }

  @Override
  public String toString() {
    return "SelectionWeights(segment=" + segment + ", document=" + document + ", nameSpans=" + nameSpans + ")";
  }
}
