package dev.splitinfer.core;

import java.math.BigDecimal;
import java.util.Arrays;
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
 * in the same object (absent: false) then lifts every word of a name to the name's best score;
 * {@code "answer_types"} there ({@link AnswerTypes}; absent or {@code null}: none) then lifts
 * the words a question asks for, names for "who ..." and numbers for "when ..."; and {@code
 * "title_lift": true} (absent: false) lastly raises each document's title to the best score of
 * its text.
 */
public final class SelectionWeights {
  /** No smoothing. */
  public static final SelectionWeights NONE = new SelectionWeights(0.0, 0.0);

  // The keys of a manifest's "selection" object, in the order the rules apply (the SDK's
  // SELECTION_KEYS); the message for an unknown key lists them.
  private static final List<String> KEYS =
      Arrays.asList("segment_weight", "document_weight", "name_spans", "answer_types", "title_lift");

  public final double segment;
  public final double document;
  /** Every word of a name takes the best score of the name ({@link Selection#liftNameSpans}). */
  public final boolean nameSpans;
  /**
   * The openings of questions that ask for a name or a number, and what the words asked for
   * gain ({@link Selection#liftAnswerType}); null: none.
   */
  public final AnswerTypes answerTypes;
  /**
   * Every word of a document's title takes the best score of the document's text, if higher
   * ({@link Selection#liftTitles}), after the other rules.
   */
  public final boolean titleLift;

  /** Weights alone: no name spans, no answer types, no title lift. @throws IllegalArgumentException as the full constructor */
  public SelectionWeights(double segment, double document) {
    this(segment, document, false, null, false);
  }

  /** Weights, name spans and answer types; no title lift. @throws IllegalArgumentException as the full constructor */
  public SelectionWeights(double segment, double document, boolean nameSpans, AnswerTypes answerTypes) {
    this(segment, document, nameSpans, answerTypes, false);
  }

  /** @throws IllegalArgumentException for a weight outside [0, 1] or a sum above 1 */
  public SelectionWeights(double segment, double document, boolean nameSpans, AnswerTypes answerTypes,
      boolean titleLift) {
    checkRange("segment_weight", segment);
    checkRange("document_weight", document);
    if (segment + document > 1.0) {
      throw new IllegalArgumentException("segment_weight + document_weight must be at most 1, got "
          + segment + " + " + document);
    }
    this.segment = segment;
    this.document = document;
    this.nameSpans = nameSpans;
    this.answerTypes = answerTypes;
    this.titleLift = titleLift;
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

  /** Whether the scores change at all before selection (blending, name spans, answer types or titles). */
  public boolean active() {
    return blends() || nameSpans || answerTypes != null || titleLift;
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
      if (!KEYS.contains(key)) {
        unknown.add(String.valueOf(key));
      }
    }
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException("selection has unknown keys " + String.join(", ", unknown)
          + "; it takes " + String.join(", ", KEYS.subList(0, KEYS.size() - 1)) + " and "
          + KEYS.get(KEYS.size() - 1));
    }
    // In the SDK's order: the answer types (read first), then each weight's type and range,
    // their sum, and last the name_spans and title_lift flags, so a manifest with two faults
    // names the same one.
    Object types = weights.get("answer_types");
    AnswerTypes answerTypes = types == null ? null : AnswerTypes.fromManifest(types);
    Object segment = weight(weights, "segment_weight");
    Object document = weight(weights, "document_weight");
    double sum = ((Number) segment).doubleValue() + ((Number) document).doubleValue();
    if (sum > 1.0) {
      throw new IllegalArgumentException("segment_weight + document_weight must be at most 1, got "
          + pythonRepr(segment) + " + " + pythonRepr(document));
    }
    boolean nameSpans = flag(weights, "name_spans");
    boolean titleLift = flag(weights, "title_lift");
    return new SelectionWeights(((Number) segment).doubleValue(), ((Number) document).doubleValue(),
        nameSpans, answerTypes, titleLift);
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

  // Absent is 0.0; present must be a JSON number (Python: int or float, not bool, not None) in
  // [0, 1], returned as parsed (a Long or a Double) for the SDK's messages, which show 1, not 1.0.
  private static Object weight(Map<?, ?> weights, String name) {
    if (!weights.containsKey(name)) {
      return 0.0;
    }
    Object value = weights.get(name);
    if (!(value instanceof Long || value instanceof Double)
        || !(0.0 <= ((Number) value).doubleValue() && ((Number) value).doubleValue() <= 1.0)) {
      throw new IllegalArgumentException(name + " must be a number in [0, 1], got " + pythonRepr(value));
    }
    return value;
  }

  /** Python's {@code type(value).__name__} of a parsed {@link Json} value that is not an object. */
  static String pythonType(Object value) {
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

  /**
   * Python's {@code repr} of a parsed {@link Json} value, as the SDK's messages show it: {@code
   * None}, {@code True}, {@code 'text'} (or {@code "it's"}, with Python's escapes), {@code [1,
   * 'a']}, {@code {'k': 2}}, {@code 1e-05} ({@link #pythonFloat}).
   */
  static String pythonRepr(Object value) {
    if (value == null) {
      return "None";
    }
    if (value instanceof Boolean) {
      return (Boolean) value ? "True" : "False";
    }
    if (value instanceof String) {
      return pythonString((String) value);
    }
    if (value instanceof List) {
      StringBuilder out = new StringBuilder("[");
      for (Object item : (List<?>) value) {
        out.append(out.length() > 1 ? ", " : "").append(pythonRepr(item));
      }
      return out.append(']').toString();
    }
    if (value instanceof Map) {
      StringBuilder out = new StringBuilder("{");
      for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
        out.append(out.length() > 1 ? ", " : "").append(pythonRepr(e.getKey())).append(": ")
            .append(pythonRepr(e.getValue()));
      }
      return out.append('}').toString();
    }
    return value instanceof Double ? pythonFloat((Double) value) : String.valueOf(value);
  }

  /**
   * Python's {@code repr} of a float: the shortest digits that read back to it, written with an
   * exponent ({@code 1e-05}, {@code 1.5e+16}) when it is below -4 or from 16 on, else in full
   * ({@code 0.0001}, {@code 2.0}). The digits are those of {@link Double#toString}, which are the
   * shortest but in rare cases (JDK-4511638, fixed in Java 19) where it writes one more.
   */
  static String pythonFloat(double value) {
    if (Double.isNaN(value)) {
      return "nan";
    }
    if (Double.isInfinite(value)) {
      return value > 0 ? "inf" : "-inf";
    }
    if (value == 0.0) {
      return 1.0 / value < 0 ? "-0.0" : "0.0";
    }
    BigDecimal exact = new BigDecimal(Double.toString(Math.abs(value))).stripTrailingZeros();
    String digits = exact.unscaledValue().toString();
    int exponent = digits.length() - 1 - exact.scale(); // of the first digit
    StringBuilder out = new StringBuilder(value < 0 ? "-" : "");
    if (exponent < -4 || exponent >= 16) {
      out.append(digits.charAt(0));
      if (digits.length() > 1) {
        out.append('.').append(digits, 1, digits.length());
      }
      return out.append(exponent < 0 ? "e-" : "e+").append(Math.abs(exponent) < 10 ? "0" : "")
          .append(Math.abs(exponent)).toString();
    }
    if (exponent < 0) {
      out.append("0.");
      for (int k = -1; k > exponent; k--) {
        out.append('0');
      }
      return out.append(digits).toString();
    }
    if (digits.length() <= exponent + 1) {
      out.append(digits);
      for (int k = digits.length(); k <= exponent; k++) {
        out.append('0');
      }
      return out.append(".0").toString();
    }
    return out.append(digits, 0, exponent + 1).append('.').append(digits, exponent + 1, digits.length()).toString();
  }

  // CPython's unicode_repr: single quotes unless the text has one and no double quote; the quote
  // and the backslash escaped, tab, line feed and carriage return as t, n and r after a
  // backslash, other controls and unprintable characters as x, u or U and 2, 4 or 8 hex digits
  // (the frozen Unicode table stands in for Python's isprintable, see printable).
  private static String pythonString(String text) {
    char quote = text.indexOf('\'') >= 0 && text.indexOf('"') < 0 ? '"' : '\'';
    StringBuilder out = new StringBuilder().append(quote);
    for (int i = 0; i < text.length(); ) {
      int cp = text.codePointAt(i);
      i += Character.charCount(cp);
      if (cp == quote || cp == '\\') {
        out.append('\\').appendCodePoint(cp);
      } else if (cp == '\t') {
        out.append("\\t");
      } else if (cp == '\n') {
        out.append("\\n");
      } else if (cp == '\r') {
        out.append("\\r");
      } else if ((cp >= ' ' && cp < 0x7f) || (cp > 0x7f && printable(cp))) {
        out.appendCodePoint(cp);
      } else if (cp <= 0xff) {
        out.append(String.format("\\x%02x", cp));
      } else if (cp <= 0xffff) {
        out.append(String.format("\\u%04x", cp));
      } else {
        out.append(String.format("\\U%08x", cp));
      }
    }
    return out.append(quote).toString();
  }

  // Python's str.isprintable for one non-ASCII code point: not a control, format, surrogate,
  // private-use or unassigned character (category C*, the table's control class), nor a
  // separator (category Z*: the non-ASCII whitespace). Read from the table the SDK's data was
  // frozen from, not from Character: Java 17 and older phones lack Unicode 14's characters (an
  // opening with U+1FAF0 would be refused with it escaped, where the SDK shows it as it is).
  private static boolean printable(int cp) {
    return !UnicodeTables.get().isControl(cp) && !Words.isWhitespace(cp);
  }

  @Override
  public String toString() {
    return "SelectionWeights(segment=" + segment + ", document=" + document + ", nameSpans=" + nameSpans
        + ", answerTypes=" + answerTypes + ", titleLift=" + titleLift + ")";
  }
}
