package dev.splitinfer.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Selection rules, from word scores to the words that are kept: the port of
 * {@code splitinfer.sdk._selection}, pinned to it by the golden vectors. Pure static functions:
 * <ol>
 *   <li>{@link #chunkWords}: cut a long text into model windows without splitting a word;
 *   <li>{@link #wordScores}: token scores to word scores (the mean of the word's tokens);
 *   <li>{@link #smoothScores}: blend each word's score with its sentence's and its document's
 *       ({@link SelectionWeights}, from the bundle's manifest; both 0 leaves the scores alone);
 *       then, with {@code name_spans}, {@link #liftNameSpans}: every word of a name takes the
 *       best score of the name; then, with {@code answer_types}, {@link #liftAnswerType}: when
 *       the question opens as one asking for a name ("who ...") or a number ("when ...", "how
 *       many ..."), every word of that kind gains the manifest's weight ({@link #answerKind},
 *       {@link #answerTypeWords}); then, with {@code title_lift}, {@link #liftTitles}: every
 *       word of a document's title ({@link #titleWords}) takes the best score of the document's
 *       text when that is higher (not a title line whose text goes on with its sentence, as
 *       wrapped prose and code do); all four in {@link #selectionScores};
 *   <li>{@link #forcedMask}: words kept whatever their score;
 *   <li>{@link #tokenBudget}: how many tokens the condensed text may have;
 *   <li>{@link #select}: which words are kept.
 * </ol>
 */
public final class Selection {
  /**
   * Characters stripped from both ends of a word before it is compared with a forced word: the
   * Python SDK's {@code _selection.EDGE_PUNCTUATION}.
   */
  public static final String EDGE_PUNCTUATION =
      "\"'()[]{}<>.,;:!?`*_-\u201c\u201d\u2018\u2019\u00ab\u00bb\u2026\u2013\u2014"
          + "@$%~^|\\\u00a7\u00b0\u20ac\u00a3\u00a5\u00a2\u2122\u00ae\u00a9\u201e\u201a\u2039\u203a\u00bf\u00a1"
          + "\u300c\u300d\u300e\u300f\uff08\uff09\u3010\u3011\u300a\u300b\u3008\u3009\u3014\u3015\uff0c\u3002\u3001\uff01\uff1f\uff1a\uff1b";

  /** Removed from a word before it is compared with a forced word: {@code _selection.INVISIBLE}. */
  public static final String INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff";

  private Selection() {}

  /**
   * Splits words into consecutive windows of at most {@code maxTokens} tokens, never inside a
   * word. Returns {@code {start, end}} word-index ranges covering every word; a single word
   * longer than the window gets a window of its own. No words, no windows.
   */
  public static int[][] chunkWords(int[] tokenCounts, int maxTokens) {
    if (maxTokens <= 0) {
      throw new IllegalArgumentException("maxTokens must be positive");
    }
    int[][] windows = new int[tokenCounts.length][];
    int size = 0;
    int start = 0;
    long used = 0;
    for (int i = 0; i < tokenCounts.length; i++) {
      if (used + tokenCounts[i] > maxTokens && i > start) {
        windows[size++] = new int[] {start, i};
        start = i;
        used = 0;
      }
      used += tokenCounts[i];
    }
    if (start < tokenCounts.length) {
      windows[size++] = new int[] {start, tokenCounts.length};
    }
    return Arrays.copyOf(windows, size);
  }

  /**
   * Mean token score of each word, float32 bit for bit as numpy computes it; a word with no
   * tokens scores 0.
   *
   * <p>numpy's {@code np.add.reduceat} sums a word's scores as its first score plus a pairwise
   * sum of the others (see {@link #pairwiseSum}), in float32; the mean divides that sum by the
   * count in float64 and rounds to float32. Same order, same roundings, same bits.
   */
  public static float[] wordScores(float[] tokenScores, int[] tokenCounts) {
    long total = 0;
    for (int c : tokenCounts) {
      total += c;
    }
    if (tokenScores.length != total) {
      throw new IllegalArgumentException(tokenScores.length + " token scores for " + total + " tokens");
    }
    float[] out = new float[tokenCounts.length];
    int offset = 0;
    for (int w = 0; w < tokenCounts.length; w++) {
      int count = tokenCounts[w];
      if (count == 0) {
        continue;
      }
      float sum = tokenScores[offset];
      if (count > 1) {
        sum += pairwiseSum(tokenScores, offset + 1, count - 1);
      }
      out[w] = (float) ((double) sum / count);
      offset += count;
    }
    return out;
  }

  /**
   * numpy's float32 {@code pairwise_sum}: left to right from -0.0 below 8 values (so -0.0 values
   * sum to -0.0, as numpy 2 keeps them); 8 running sums combined
   * as ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)) then the remainder, up to 128 values; above that the
   * two halves (the first a multiple of 8 long) summed recursively.
   */
  static float pairwiseSum(float[] a, int from, int n) {
    if (n < 8) {
      float res = -0.0f;
      for (int i = 0; i < n; i++) {
        res += a[from + i];
      }
      return res;
    }
    if (n <= 128) {
      float[] r = new float[8];
      System.arraycopy(a, from, r, 0, 8);
      int i = 8;
      for (; i < n - (n % 8); i += 8) {
        for (int j = 0; j < 8; j++) {
          r[j] += a[from + i + j];
        }
      }
      float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
      for (; i < n; i++) {
        res += a[from + i];
      }
      return res;
    }
    int n2 = n / 2;
    n2 -= n2 % 8;
    return pairwiseSum(a, from, n2) + pairwiseSum(a, from + n2, n - n2);
  }

  /**
   * Word scores blended with their segment's and their document's (float32), bit for bit as the
   * SDK's {@code smooth_scores}.
   *
   * <p>A segment's score is the token-weighted mean of its words' scores (0 for a segment without
   * tokens); a document's score is the best score of its segments. {@code segments} must cover
   * every word once, in order ({@link Segments#segmentWords}). Arithmetic is in double as numpy's:
   * running totals of {@code (double) score * count} (the first total is the first product, as
   * {@code np.cumsum}), a segment's mean is the difference of two totals over its tokens, and the
   * blend is {@code ((1 - segment) - document) * own + segment * segmentScore + document *
   * documentScore}, left to right, rounded to float once. Inactive weights return a copy.
   */
  public static float[] smoothScores(float[] scores, int[] tokenCounts, List<Segments.Segment> segments,
      SelectionWeights weights) {
    if (!weights.blends()) {
      return scores.clone();
    }
    int n = scores.length;
    if (tokenCounts.length != n) {
      throw new IllegalArgumentException("scores and tokenCounts must have one entry per word");
    }
    double[] running = new double[n + 1];
    long[] tokens = new long[n + 1];
    for (int i = 0; i < n; i++) {
      double product = (double) scores[i] * tokenCounts[i];
      running[i + 1] = i == 0 ? product : running[i] + product;
      tokens[i + 1] = tokens[i] + tokenCounts[i];
    }
    double[] segmentScore = new double[n];
    Map<Integer, Double> documentBest = new HashMap<>();
    for (Segments.Segment seg : segments) {
      long count = tokens[seg.end] - tokens[seg.start];
      double value = count != 0 ? (running[seg.end] - running[seg.start]) / count : 0.0;
      Arrays.fill(segmentScore, seg.start, seg.end, value);
      Double best = documentBest.get(seg.doc);
      // Python's max(best, value): best unless value is greater (NaN never replaces, nor is replaced).
      documentBest.put(seg.doc, best == null || value > best ? value : best);
    }
    double[] documentScore = new double[n];
    for (Segments.Segment seg : segments) {
      Arrays.fill(documentScore, seg.start, seg.end, documentBest.get(seg.doc));
    }
    double keepOwn = (1.0 - weights.segment) - weights.document;
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = (float) (keepOwn * (double) scores[i] + weights.segment * segmentScore[i]
          + weights.document * documentScore[i]);
    }
    return out;
  }

  /** A name ends after a word ending in one of these: "Paris, France" is two names. */
  public static final String NAME_END = ",;:)";

  /**
   * Whether {@code word} can be part of a name: its first code point past leading {@link
   * #EDGE_PUNCTUATION} is an upper-case letter or a digit (the frozen Unicode table), the port of
   * {@code splitinfer.sdk._selection.is_name_word}.
   */
  public static boolean isNameWord(String word) {
    int start = 0;
    while (start < word.length() && EDGE_PUNCTUATION.indexOf(word.charAt(start)) >= 0) {
      start++;
    }
    if (start == word.length()) {
      return false;
    }
    int first = word.codePointAt(start);
    UnicodeTables tables = UnicodeTables.get();
    return tables.isUpper(first) || tables.isDigit(first);
  }

  /**
   * The names of a text as {@code {start, end}} word ranges, ascending: runs of at least two
   * consecutive name words ({@link #isNameWord}) of one segment that is not a header, a run
   * ending after a word ending in one of {@link #NAME_END}. The port of {@code
   * splitinfer.sdk._selection.name_spans}.
   */
  public static int[][] nameSpans(List<String> words, List<Segments.Segment> segments) {
    List<int[]> spans = new ArrayList<>();
    for (Segments.Segment seg : segments) {
      if (seg.header) {
        continue;
      }
      int i = seg.start;
      while (i < seg.end) {
        if (!isNameWord(words.get(i))) {
          i++;
          continue;
        }
        int j = i + 1;
        while (j < seg.end && !endsName(words.get(j - 1)) && isNameWord(words.get(j))) {
          j++;
        }
        if (j - i > 1) {
          spans.add(new int[] {i, j});
        }
        i = j;
      }
    }
    return spans.toArray(new int[0][]);
  }

  private static boolean endsName(String word) {
    return !word.isEmpty() && NAME_END.indexOf(word.charAt(word.length() - 1)) >= 0;
  }

  /**
   * The scores words are chosen by: {@link #smoothScores}, then {@link #liftNameSpans} when
   * {@code weights.nameSpans}, then {@link #liftAnswerType} for {@code question} when {@code
   * weights.answerTypes} is set, the text's names found once for both, then {@link #liftTitles}
   * when {@code weights.titleLift}; the port of {@code selection_scores}.
   */
  public static float[] selectionScores(float[] scores, int[] tokenCounts, List<String> words,
      List<Segments.Segment> segments, SelectionWeights weights, String question) {
    float[] out = smoothScores(scores, tokenCounts, segments, weights);
    int[][] spans = null;
    if (weights.nameSpans) {
      spans = nameSpans(words, segments);
      out = liftNameSpans(out, words, segments, spans);
    }
    if (weights.answerTypes != null) {
      out = liftAnswerType(out, words, segments, question, weights.answerTypes, spans);
    }
    if (weights.titleLift) {
      out = liftTitles(out, words, segments);
    }
    return out;
  }

  /**
   * {@code scores} with every word of a name ({@link #nameSpans}) raised to the best score of its
   * name, so its words are taken together (cut only where the budget runs out inside it); the
   * port of {@code lift_name_spans}. The input is left as it is.
   */
  public static float[] liftNameSpans(float[] scores, List<String> words, List<Segments.Segment> segments) {
    return liftNameSpans(scores, words, segments, null);
  }

  /**
   * {@link #liftNameSpans(float[], List, List)} with the text's names given: {@code spans} as
   * {@link #nameSpans} returns them for these words and segments, or null to find them.
   */
  public static float[] liftNameSpans(float[] scores, List<String> words, List<Segments.Segment> segments,
      int[][] spans) {
    if (scores.length != words.size()) {
      throw new IllegalArgumentException("scores and words must have one entry per word");
    }
    float[] out = scores.clone();
    for (int[] span : spans == null ? nameSpans(words, segments) : spans) {
      float best = out[span[0]];
      for (int i = span[0] + 1; i < span[1]; i++) {
        best = Math.max(best, out[i]); // NaN propagates, as numpy's max does
      }
      Arrays.fill(out, span[0], span[1], best);
    }
    return out;
  }

  /**
   * The kind of answer {@code question} asks for, {@link AnswerTypes#NAMES}, {@link
   * AnswerTypes#NUMBERS} or null: the kind of the longest of {@code types}' openings the question
   * opens with, word for word (each word by {@link #normalizeWord}, words that leave nothing
   * skipped: "Who's", "(who" and "WHO" open with "who"). No question (null or empty), no kind.
   * The port of {@code answer_kind}.
   */
  public static String answerKind(String question, AnswerTypes types) {
    if (question == null || question.isEmpty()) {
      return null;
    }
    String[] words = AnswerTypes.questionOpening(question).split(" ", -1);
    int best = 0;
    String kind = null;
    for (String name : AnswerTypes.KINDS) {
      for (String opening : AnswerTypes.NAMES.equals(name) ? types.names : types.numbers) {
        String[] parts = opening.split(" ", -1);
        if (parts.length > best && parts.length <= words.length
            && Arrays.equals(parts, Arrays.copyOf(words, parts.length))) {
          best = parts.length;
          kind = name;
        }
      }
    }
    return kind;
  }

  /**
   * Which words are of {@code kind}: for {@link AnswerTypes#NAMES} every word of a name ({@link
   * #nameSpans}); for {@link AnswerTypes#NUMBERS} every word with a decimal digit of any script
   * (as {@link #forcedMask} finds them) that is not in a header, and every word of a name that
   * has such a word ("March 10," and "4 June 1927" whole: a date is asked for with its month;
   * "Ann Arbor." has no digit and stays unmarked). The port of {@code answer_type_words}.
   *
   * @throws IllegalArgumentException for another kind
   */
  public static boolean[] answerTypeWords(List<String> words, List<Segments.Segment> segments, String kind) {
    return answerTypeWords(words, segments, kind, null);
  }

  /**
   * {@link #answerTypeWords(List, List, String)} with the text's names given: {@code spans} as
   * {@link #nameSpans} returns them for these words and segments, or null to find them.
   */
  public static boolean[] answerTypeWords(List<String> words, List<Segments.Segment> segments, String kind,
      int[][] spans) {
    if (!AnswerTypes.KINDS.contains(kind)) {
      throw new IllegalArgumentException("answer kind must be one of " + String.join(", ", AnswerTypes.KINDS)
          + ", got " + SelectionWeights.pythonRepr(kind));
    }
    boolean names = AnswerTypes.NAMES.equals(kind);
    boolean[] mask = new boolean[words.size()];
    if (!names) {
      for (Segments.Segment seg : segments) {
        if (!seg.header) {
          for (int i = seg.start; i < seg.end; i++) {
            mask[i] = hasDigit(words.get(i));
          }
        }
      }
    }
    for (int[] span : spans == null ? nameSpans(words, segments) : spans) {
      if (names || anyTrue(mask, span[0], span[1])) {
        Arrays.fill(mask, span[0], span[1], true);
      }
    }
    return mask;
  }

  private static boolean anyTrue(boolean[] mask, int start, int end) {
    for (int i = start; i < end; i++) {
      if (mask[i]) {
        return true;
      }
    }
    return false;
  }

  /**
   * {@code scores} with {@code types.weight} added, in float32, to every word of the kind the
   * question asks for ({@link #answerKind}, {@link #answerTypeWords}); a copy of them for a
   * question that asks for neither. For a "who" question the names of the best sentences then
   * come before their other words, and a few names from more sentences fit a small budget. The
   * port of {@code lift_answer_type}; the input is left as it is.
   */
  public static float[] liftAnswerType(float[] scores, List<String> words, List<Segments.Segment> segments,
      String question, AnswerTypes types) {
    return liftAnswerType(scores, words, segments, question, types, null);
  }

  /**
   * {@link #liftAnswerType(float[], List, List, String, AnswerTypes)} with the text's names given:
   * {@code spans} as {@link #nameSpans} returns them for these words and segments, or null to
   * find them.
   */
  public static float[] liftAnswerType(float[] scores, List<String> words, List<Segments.Segment> segments,
      String question, AnswerTypes types, int[][] spans) {
    if (scores.length != words.size()) {
      throw new IllegalArgumentException("scores and words must have one entry per word");
    }
    float[] out = scores.clone();
    String kind = answerKind(question, types);
    if (kind != null) {
      boolean[] mask = answerTypeWords(words, segments, kind, spans);
      float weight = (float) types.weight; // numpy's np.float32(weight): the nearest float
      for (int i = 0; i < out.length; i++) {
        if (mask[i]) {
          out[i] += weight;
        }
      }
    }
    return out;
  }

  /**
   * The word range {@code {start, end}} of a header segment's title: a {@code Document
   * [n](Title: ...)} header without its {@code Document [n](Title:} wrapper (a segment of three
   * words or more whose second is the header's index, {@link Segments#isHeaderIndex}), a title
   * line without leading words of {@code #} alone (a Markdown heading's marks: "## Goku" is
   * "Goku", "#tag" stays). The port of {@code title_words}.
   */
  public static int[] titleWords(List<String> words, Segments.Segment seg) {
    int start = seg.start;
    if (seg.end - start >= 3 && Segments.isHeaderIndex(words, start + 1)) {
      start += 2;
    } else {
      while (start < seg.end && onlyHashes(words.get(start))) {
        start++;
      }
    }
    return new int[] {start, seg.end};
  }

  // Python's word.strip("#") == "": every character a '#' (or none at all).
  private static boolean onlyHashes(String word) {
    for (int i = 0; i < word.length(); i++) {
      if (word.charAt(i) != '#') {
        return false;
      }
    }
    return true;
  }

  /**
   * {@code scores} with every word of a document's title ({@link #titleWords} of its header
   * segments) raised to the best score of the document's other words, when that is higher.
   * Equal scores go in text order in {@link #select}, so a document whose best words are kept
   * has its title kept first. A document without a header, or a header without a text under it,
   * is left as it is. The port of {@code lift_titles}; the input is left as it is.
   *
   * <p>A title line (a header segment whose title starts where it does: not a {@code Document
   * [n](Title: ...)} header, no {@code #} marks) is left as it is too when its document's text
   * goes on with its sentence: when the first word of the document's first text segment (in
   * segment order, empty ones passed over) starts with an ASCII letter {@code a} to {@code z}
   * past any opening quotes and brackets ({@link Segments}' openers, as the sentence rules
   * skip them: {@code "(the} and a curly-quoted {@code the} go on; {@code été}, {@code The},
   * {@code 42} and {@code "(} alone do not). Such a line is the first line of a
   * hard-wrapped paragraph ("Quick update on the offsite logistics for next" over "month. We
   * have booked ...") or of code ({@code async function find(id)} and a brace over {@code const
   * ...}), not a title, and lifting it spent the budget on it. A Markdown heading ("## Foo",
   * its marks left out) and a {@code Document [n](Title: ...)} header are lifted whatever their
   * text starts with.
   *
   * <p>As the SDK: a document's best is read from {@code scores}, not from titles already
   * lifted; a segment's best is numpy's {@code max} (NaN wins); a document's best over its
   * segments is Python's {@code max(best, top)}, which keeps the earlier of the two unless the
   * later is greater (a NaN in a later segment is passed over, one in the first kept); a title
   * word becomes numpy's {@code maximum(own, best)} (NaN wins). Between 0.0 and -0.0 this takes
   * the positive zero, as IEEE 754-2019 does; numpy's choice depends on the CPU, and it never
   * changes which words are kept.
   */
  public static float[] liftTitles(float[] scores, List<String> words, List<Segments.Segment> segments) {
    if (scores.length != words.size()) {
      throw new IllegalArgumentException("scores and words must have one entry per word");
    }
    Map<Integer, Float> best = new HashMap<>();
    Map<Integer, String> first = new HashMap<>(); // each document's first word under its header
    for (Segments.Segment seg : segments) {
      if (!seg.header && seg.end > seg.start) {
        float top = scores[seg.start];
        for (int i = seg.start + 1; i < seg.end; i++) {
          top = Math.max(top, scores[i]); // NaN propagates, as numpy's max does
        }
        Float known = best.get(seg.doc);
        best.put(seg.doc, known == null || top > known ? top : known);
        first.putIfAbsent(seg.doc, words.get(seg.start));
      }
    }
    float[] lifted = scores.clone();
    for (Segments.Segment seg : segments) {
      Float top = seg.header ? best.get(seg.doc) : null;
      if (top != null) {
        int[] title = titleWords(words, seg);
        if (title[0] == seg.start && continuesASentence(first.get(seg.doc))) {
          continue; // a title line whose next line goes on with its sentence: wrapped text
        }
        for (int i = title[0]; i < title[1]; i++) {
          lifted[i] = Math.max(scores[i], top);
        }
      }
    }
    return lifted;
  }

  // Python's word.lstrip(OPENERS) starting with an ASCII a..z: a first word that goes on with a
  // sentence (code units suffice: the openers are all in the BMP, a..z ASCII).
  private static boolean continuesASentence(String word) {
    int i = 0;
    while (i < word.length() && Segments.OPENERS.indexOf(word.charAt(i)) >= 0) {
      i++;
    }
    return i < word.length() && word.charAt(i) >= 'a' && word.charAt(i) <= 'z';
  }

  /**
   * A word as forced words are matched: {@link #INVISIBLE} characters removed, edge punctuation
   * stripped, case-folded (Python's
   * casefold), a possessive {@code 's} dropped ("«Strauss's»" is "strauss").
   */
  public static String normalizeWord(String word) {
    for (int i = 0; i < INVISIBLE.length(); i++) {
      word = word.replace(INVISIBLE.substring(i, i + 1), "");
    }
    int start = 0;
    int end = word.length();
    while (start < end && EDGE_PUNCTUATION.indexOf(word.charAt(start)) >= 0) {
      start++;
    }
    while (end > start && EDGE_PUNCTUATION.indexOf(word.charAt(end - 1)) >= 0) {
      end--;
    }
    String core = UnicodeTables.get().casefold(word.substring(start, end));
    if (core.length() > 2 && (core.endsWith("'s") || core.endsWith("\u2019s"))) {
      core = core.substring(0, core.length() - 2);
    }
    return core;
  }

  /** A compound's separators: a forced word matches each part ("Strauss-designed", "TCP/IP"). */
  private static final Pattern COMPOUND = Pattern.compile("[-/\u2010-\u2015]");

  private static boolean matches(String word, Set<String> wanted) {
    if (wanted.contains(normalizeWord(word))) {
      return true;
    }
    String[] parts = COMPOUND.split(word, -1);
    if (parts.length < 2) {
      return false;
    }
    for (String part : parts) {
      if (wanted.contains(normalizeWord(part))) {
        return true;
      }
    }
    return false;
  }

  /**
   * The {@code force} entries as {@link #forcedMask} matches them: each entry's words ({@link
   * Words#split}, so each CJK ideograph is one), normalised by {@link #normalizeWord}; words
   * that normalise to nothing are left out, and so are entries with no word left.
   */
  public static List<List<String>> forcePhrases(List<String> force) {
    List<List<String>> phrases = new ArrayList<>();
    for (String entry : force) {
      List<String> phrase = new ArrayList<>();
      for (String part : Words.split(entry).words()) {
        String word = normalizeWord(part);
        if (!word.isEmpty()) {
          phrase.add(word);
        }
      }
      if (!phrase.isEmpty()) {
        phrases.add(phrase);
      }
    }
    return phrases;
  }

  /**
   * Which words are always kept: a word that matches a {@code force} entry (both normalised by
   * {@link #normalizeWord}; a compound matches by any of its parts; an entry of several words,
   * or of several CJK ideographs, forces them where they stand together in its order, each word
   * matched the same way), or, with {@code keepDigits}, a word that contains a decimal digit of
   * any script (Python's {@code \d}) and is not the index of a {@code Document [n](Title: ...)}
   * header ({@link Segments#isHeaderIndex}): the index numbers the documents of the layout, and
   * the header is kept or dropped by its score.
   */
  public static boolean[] forcedMask(List<String> words, List<String> force, boolean keepDigits) {
    boolean[] mask = new boolean[words.size()];
    for (int i = 0; i < mask.length; i++) {
      mask[i] = keepDigits && hasDigit(words.get(i)) && !Segments.isHeaderIndex(words, i);
    }
    List<List<String>> phrases = forcePhrases(force);
    Set<String> firsts = new HashSet<>(); // only a word that could start an entry is looked at further
    for (List<String> phrase : phrases) {
      firsts.add(phrase.get(0));
    }
    for (int i = 0; i < mask.length; i++) {
      if (!firsts.isEmpty() && matches(words.get(i), firsts)) {
        for (List<String> phrase : phrases) {
          int end = i + phrase.size();
          if (end <= mask.length && matchesAt(words, i, phrase)) {
            Arrays.fill(mask, i, end, true);
          }
        }
      }
    }
    return mask;
  }

  private static boolean matchesAt(List<String> words, int start, List<String> phrase) {
    for (int j = 0; j < phrase.size(); j++) {
      if (!matches(words.get(start + j), Collections.singleton(phrase.get(j)))) {
        return false;
      }
    }
    return true;
  }

  private static boolean hasDigit(String word) {
    UnicodeTables tables = UnicodeTables.get();
    return word.codePoints().anyMatch(tables::isDecimal);
  }

  /**
   * Tokens the condensed text may have: {@code targetTokens} if not null (at most
   * {@code totalTokens}), else {@code rate * totalTokens} rounded half up (in double, as Python),
   * but at least one token of a text that has any.
   *
   * @throws InvalidInputException for a rate outside (0, 1] (or neither given) or a negative target
   */
  public static int tokenBudget(int totalTokens, Double rate, Integer targetTokens) {
    if (targetTokens != null) {
      if (targetTokens < 0) {
        throw new InvalidInputException("target_tokens must be >= 0, got " + targetTokens);
      }
      return Math.min(targetTokens, totalTokens);
    }
    if (rate == null || !(rate > 0.0 && rate <= 1.0)) {
      throw new InvalidInputException("rate must be in (0, 1], got " + rate
          + "; e.g. 0.33 keeps a third of the tokens");
    }
    return (int) Math.min(Math.max((long) Math.floor(rate * totalTokens + 0.5), 1L), totalTokens);
  }

  /**
   * Indices (ascending) of the kept words. Every forced word is kept, even past the budget. The
   * others are taken best score first (ties: the earlier word first; NaN last, as numpy sorts);
   * a word is taken when its tokens still fit in what is left of the budget, else passed over
   * for smaller ones further down, until the budget is spent. Words without tokens are never
   * taken unless forced, or unless the budget covers every token: then every word is kept.
   */
  public static int[] select(float[] scores, int[] tokenCounts, boolean[] forced, int budget) {
    int n = scores.length;
    if (tokenCounts.length != n || forced.length != n) {
      throw new IllegalArgumentException("scores, tokenCounts and forced must have one entry per word");
    }
    long total = 0;
    for (int count : tokenCounts) {
      total += count;
    }
    if (budget >= total) {
      int[] all = new int[n];
      for (int i = 0; i < n; i++) {
        all[i] = i;
      }
      return all;
    }
    boolean[] keep = forced.clone();
    long left = budget;
    for (int i = 0; i < n; i++) {
      if (forced[i]) {
        left -= tokenCounts[i];
      }
    }
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    // Arrays.sort on objects is stable, like numpy's kind="stable".
    Arrays.sort(order, Comparator.comparing((Integer i) -> scores[i], Selection::bestFirst));
    for (int i : order) {
      if (left <= 0) {
        break;
      }
      if (keep[i] || tokenCounts[i] == 0 || tokenCounts[i] > left) {
        continue;
      }
      keep[i] = true;
      left -= tokenCounts[i];
    }
    return indicesOf(keep);
  }

  // Descending, NaN last, and -0.0 equal to 0.0 (numpy compares values; Float.compare does not).
  private static int bestFirst(float x, float y) {
    boolean xNaN = Float.isNaN(x);
    boolean yNaN = Float.isNaN(y);
    if (xNaN || yNaN) {
      return xNaN == yNaN ? 0 : (xNaN ? 1 : -1);
    }
    return x > y ? -1 : (x < y ? 1 : 0);
  }

  private static int[] indicesOf(boolean[] mask) {
    int count = 0;
    for (boolean b : mask) {
      count += b ? 1 : 0;
    }
    int[] out = new int[count];
    int k = 0;
    for (int i = 0; i < mask.length; i++) {
      if (mask[i]) {
        out[k++] = i;
      }
    }
    return out;
  }
}
