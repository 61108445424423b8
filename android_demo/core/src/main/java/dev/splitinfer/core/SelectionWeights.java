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
 * them. Each weight is a number in [0, 1] and their sum is at most 1.
 */
public final class SelectionWeights {
  /** No smoothing. */
  public static final SelectionWeights NONE = new SelectionWeights(0.0, 0.0);

  public final double segment;
  public final double document;

  /** @throws IllegalArgumentException for a weight outside [0, 1] or a sum above 1 */
  public SelectionWeights(double segment, double document) {
    checkRange("segment_weight", segment);
    checkRange("document_weight", document);
    if (segment + document > 1.0) {
      throw new IllegalArgumentException("segment_weight + document_weight must be at most 1, got "
          + segment + " + " + document);
    }
    this.segment = segment;
    this.document = document;
  }

  private static void checkRange(String name, double value) {
    if (!(0.0 <= value && value <= 1.0)) {
      throw new IllegalArgumentException(name + " must be a number in [0, 1], got " + value);
    }
  }

  /** Whether smoothing changes anything (a weight above 0). */
  public boolean active() {
    return segment > 0.0 || document > 0.0;
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
      if (!"segment_weight".equals(key) && !"document_weight".equals(key)) {
        unknown.add(String.valueOf(key));
      }
    }
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException("selection has unknown keys " + String.join(", ", unknown)
          + "; it takes segment_weight and document_weight");
    }
    return new SelectionWeights(weight(weights, "segment_weight"), weight(weights, "document_weight"));
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
    return "SelectionWeights(segment=" + segment + ", document=" + document + ")";
  }
}
