package dev.splitinfer.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Question openings that ask for a name or a number, and how much the words of that kind gain
 * when a question opens so ({@link Selection#liftAnswerType}): the port of {@code
 * splitinfer.sdk._selection.AnswerTypes}.
 *
 * <p>Stored in the bundle's manifest as {@code "selection": {..., "answer_types": {"weight": 0.1,
 * "names": ["who", ...], "numbers": ["when", "how many", ...]}}}. The weight is a number in (0, 1];
 * each opening is one or more words as {@link Selection#normalizeWord} leaves them (case-folded, no
 * edge punctuation: "wie gross", not "wie groß"), one space apart (each CJK ideograph is a word:
 * "谁 是"), as {@link #questionOpening} writes them, and no opening is listed twice, in one list
 * or in both. A bundle for another language lists its own. A bad entry fails with the SDK's
 * message, so a bundle the Python SDK refuses is refused here in the same words. Immutable.
 */
public final class AnswerTypes {
  /** The kind of the words of a name ({@link Selection#nameSpans}). */
  public static final String NAMES = "names";
  /** The kind of the words with a decimal digit, and of every word of a name that has one. */
  public static final String NUMBERS = "numbers";
  /** The kinds, in the order their openings are looked up: the SDK's {@code ANSWER_KINDS}. */
  public static final List<String> KINDS = Collections.unmodifiableList(Arrays.asList(NAMES, NUMBERS));

  /** English openings of questions that ask for a name: the SDK's {@code NAME_QUESTIONS}. */
  public static final List<String> NAME_QUESTIONS =
      Collections.unmodifiableList(Arrays.asList("who", "whom", "whose"));
  /** English openings of questions that ask for a number: the SDK's {@code NUMBER_QUESTIONS}. */
  public static final List<String> NUMBER_QUESTIONS = Collections.unmodifiableList(Arrays.asList(
      "when", "what year", "which year", "what date", "how many", "how much", "how old", "how long",
      "how far", "how tall", "what percentage"));

  private static final Set<String> KEYS = new HashSet<>(Arrays.asList("weight", "names", "numbers"));

  /** What the words of the kind asked for gain, in (0, 1]; added in float32. */
  public final double weight;
  /** Openings of questions that ask for a name. */
  public final List<String> names;
  /** Openings of questions that ask for a number. */
  public final List<String> numbers;

  /** The English openings ({@link #NAME_QUESTIONS}, {@link #NUMBER_QUESTIONS}) with {@code weight}. */
  public AnswerTypes(double weight) {
    this(weight, NAME_QUESTIONS, NUMBER_QUESTIONS);
  }

  /** @throws IllegalArgumentException as {@link #fromManifest} for the same values */
  public AnswerTypes(double weight, List<String> names, List<String> numbers) {
    this((Object) weight, (Object) names, (Object) numbers);
  }

  // Checks what it is given in the SDK's order (the weight, then each list and its openings in
  // turn, each opening for words, then for its written form, then for a repeat), so a manifest
  // with two faults names the same one as the SDK.
  private AnswerTypes(Object weight, Object names, Object numbers) {
    boolean number = weight instanceof Long || weight instanceof Double;
    if (!number || !(0.0 < ((Number) weight).doubleValue() && ((Number) weight).doubleValue() <= 1.0)) {
      throw new IllegalArgumentException("answer_types weight must be a number in (0, 1], got "
          + SelectionWeights.pythonRepr(weight));
    }
    Map<String, String> seen = new HashMap<>();
    this.weight = ((Number) weight).doubleValue();
    this.names = checkOpenings(NAMES, names, seen);
    this.numbers = checkOpenings(NUMBERS, numbers, seen);
  }

  private static List<String> checkOpenings(String kind, Object openings, Map<String, String> seen) {
    if (!(openings instanceof List) || ((List<?>) openings).isEmpty()) {
      throw new IllegalArgumentException("answer_types " + kind + " must be a non-empty list of question openings");
    }
    List<String> out = new ArrayList<>();
    for (Object opening : (List<?>) openings) {
      String words = opening instanceof String ? questionOpening((String) opening) : "";
      if (words.isEmpty()) {
        throw new IllegalArgumentException("answer_types " + kind + " has " + SelectionWeights.pythonRepr(opening)
            + "; an opening is one or more words");
      }
      if (!opening.equals(words)) {
        throw new IllegalArgumentException("answer_types " + kind + " has " + SelectionWeights.pythonRepr(opening)
            + "; write it as words are compared, " + SelectionWeights.pythonRepr(words)
            + ": case-folded, without edge punctuation, one space apart");
      }
      String other = seen.put(words, kind);
      if (other != null) {
        throw new IllegalArgumentException("answer_types opening " + SelectionWeights.pythonRepr(opening) + " is "
            + (other.equals(kind) ? "twice in " + kind : "in " + other + " and in " + kind));
      }
      out.add((String) opening);
    }
    return Collections.unmodifiableList(out);
  }

  /**
   * The manifest's {@code answer_types} entry (a parsed {@link Json} value, not null): an object
   * of exactly {@code weight}, {@code names} and {@code numbers}.
   *
   * @throws IllegalArgumentException saying what is wrong with it, in the SDK's words
   */
  public static AnswerTypes fromManifest(Object entry) {
    if (!(entry instanceof Map)) {
      throw new IllegalArgumentException("answer_types must be an object, got " + SelectionWeights.pythonType(entry));
    }
    Map<?, ?> types = (Map<?, ?>) entry;
    if (!types.keySet().equals(KEYS)) {
      TreeSet<String> keys = new TreeSet<>();
      for (Object key : types.keySet()) {
        keys.add(String.valueOf(key));
      }
      throw new IllegalArgumentException("answer_types takes weight, names and numbers, got "
          + (keys.isEmpty() ? "nothing" : String.join(", ", keys)));
    }
    return new AnswerTypes(types.get("weight"), types.get("names"), types.get("numbers"));
  }

  /**
   * An opening as the lists hold it, and the words a question's opening is compared by ({@link
   * Selection#answerKind}): {@code text}'s words ({@link Words#split}), each by {@link
   * Selection#normalizeWord}, one space apart, words that leave nothing left out; "(WHO'S" is
   * "who", "Wie  groß?" is "wie gross", "?" is empty. The port of {@code question_opening}.
   */
  public static String questionOpening(String text) {
    StringBuilder out = new StringBuilder();
    for (String word : Words.split(text).words()) {
      String core = Selection.normalizeWord(word);
      if (!core.isEmpty()) {
        out.append(out.length() > 0 ? " " : "").append(core);
      }
    }
    return out.toString();
  }

  @Override
  public String toString() {
    return "AnswerTypes(weight=" + weight + ", names=" + names + ", numbers=" + numbers + ")";
  }
}
