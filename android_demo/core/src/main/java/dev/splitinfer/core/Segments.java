package dev.splitinfer.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Cuts a context's words into segments (sentences, document headers): the port of
 * {@code splitinfer.sdk._segments.segment_words}, pinned to it by the golden vectors.
 *
 * <p>Every segment is a word range {@code [start, end)} of {@link Words}. Rules:
 * <ul>
 *   <li>a line (a gap containing {@code \n} or {@code \r} ends it) is a <em>document</em>;
 *   <li>a line that starts {@code Document [n](Title: ...)} has that header as a segment of its
 *       own (at most 40 words, brackets counted with the title's own parentheses);
 *   <li>a <em>title line</em> (at most {@link #TITLE_MAX_WORDS} words, at the start of the text or
 *       after a blank line, followed by exactly one line break and another line, holding a
 *       character other than ASCII punctuation, not ending in {@code . ! ? ; , :}) is the header
 *       segment of the next line's document;
 *   <li>inside a line, a sentence ends at a word ending in {@code .}, {@code !} or {@code ?}
 *       (closing quotes and brackets aside) when the next word starts with an upper-case letter,
 *       a digit or an opening quote, unless the word looks like an abbreviation ({@code U.S.},
 *       {@code Mr.}, a single initial);
 *   <li>a sentence also ends at a word ending in a full stop of a script without capitals
 *       ({@code \u3002 \uff01 \uff1f \uff61}, the Devanagari dandas, the Arabic question mark and
 *       full stop), quotes and brackets aside, whatever word follows;
 *   <li>a segment longer than {@code maxWords} words or {@code maxTokens} tokens is cut into
 *       equal pieces (boundaries rounded half to even, as Python's {@code round}).
 * </ul>
 * "Upper case" and "digit" are Python's {@code str.isupper()} and {@code str.isdigit()}, and
 * {@code \d} in the header is {@code str.isdecimal()}, all read from {@link UnicodeTables}, so
 * a phone with older Unicode data cuts the same segments.
 */
public final class Segments {
  public static final int MAX_WORDS = 48;
  public static final int MAX_TOKENS = 96;
  private static final int HEADER_MAX_WORDS = 40;
  public static final int TITLE_MAX_WORDS = 12;
  private static final String NOT_TITLE_END = ".!?;,:";
  private static final String ASCII_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  private static final String CLOSERS =
      "\"')]}\u201d\u2019\u00bb\u300d\u300f\uff09\u3011\u3015\u300b\u3009";
  static final String OPENERS =
      "\"'([{\u201c\u2018\u00ab\u300c\u300e\uff08\u3010\u3014\u300a\u3008";
  // Full stops of scripts without capitals: end a sentence whatever follows.
  private static final String UNCASED_STOPS = "\u3002\uff01\uff1f\uff61\u0964\u0965\u061f\u06d4";
  private static final Set<String> ABBREVIATIONS = Collections.unmodifiableSet(new HashSet<>(Arrays.asList(
      "mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "etc", "no", "inc", "ltd", "co", "corp", "gen",
      "col", "lt", "sgt", "fig", "approx")));

  private Segments() {}

  /** Words {@code [start, end)} of document {@code doc}; {@code header} for a document header. */
  public static final class Segment {
    public final int start;
    public final int end;
    public final int doc;
    public final boolean header;

    public Segment(int start, int end, int doc, boolean header) {
      this.start = start;
      this.end = end;
      this.doc = doc;
      this.header = header;
    }

    @Override
    public boolean equals(Object other) {
      if (!(other instanceof Segment)) {
        return false;
      }
      Segment s = (Segment) other;
      return start == s.start && end == s.end && doc == s.doc && header == s.header;
    }

    @Override
    public int hashCode() {
      return ((start * 31 + end) * 31 + doc) * 2 + (header ? 1 : 0);
    }

    @Override
    public String toString() {
      return "Segment(" + start + ", " + end + ", " + doc + (header ? ", header" : "") + ")";
    }
  }

  /** {@link #segmentWords(List, List, int[], int, int)} with 48 words and 96 tokens at most. */
  public static List<Segment> segmentWords(List<String> words, List<String> gaps, int[] tokenCounts) {
    return segmentWords(words, gaps, tokenCounts, MAX_WORDS, MAX_TOKENS);
  }

  /** The segments covering every word once, in order. */
  public static List<Segment> segmentWords(List<String> words, List<String> gaps, int[] tokenCounts,
      int maxWords, int maxTokens) {
    if (gaps.size() != words.size() || tokenCounts.length != words.size()) {
      throw new IllegalArgumentException("words, gaps and tokenCounts must have one entry per word");
    }
    if (maxWords <= 0 || maxTokens <= 0) {
      throw new IllegalArgumentException("maxWords and maxTokens must be positive");
    }
    List<Segment> segments = new ArrayList<>();
    int doc = 0;
    int lineStart = 0;
    int n = words.size();
    int headingStart = -1; // a title line waiting for the line it heads: [headingStart, headingEnd)
    int headingEnd = -1;
    for (int i = 0; i < n; i++) {
      String gap = gaps.get(i);
      if (i + 1 < n && gap.indexOf('\n') < 0 && gap.indexOf('\r') < 0) {
        continue;
      }
      int body = headerEnd(words, lineStart, i + 1);
      if (headingStart < 0 && body == lineStart && isTitleLine(words, gaps, lineStart, i + 1)) {
        headingStart = lineStart;
        headingEnd = i + 1;
        lineStart = i + 1;
        continue;
      }
      if (headingStart >= 0) {
        segments.add(new Segment(headingStart, headingEnd, doc, true));
        headingStart = -1;
      }
      if (body > lineStart) {
        segments.add(new Segment(lineStart, body, doc, true));
      }
      int sentenceStart = body;
      for (int j = body; j <= i; j++) {
        if (j == i || endsSentence(words.get(j), words.get(j + 1))) {
          for (int[] piece : cut(sentenceStart, j + 1, tokenCounts, maxWords, maxTokens)) {
            segments.add(new Segment(piece[0], piece[1], doc, false));
          }
          sentenceStart = j + 1;
        }
      }
      doc++;
      lineStart = i + 1;
    }
    return segments;
  }

  /** Line breaks in a gap: {@code \n}, {@code \r} and {@code \r\n} count one each. */
  static int lineBreaks(String gap) {
    int breaks = 0;
    for (int k = 0; k < gap.length(); k++) {
      char c = gap.charAt(k);
      if (c == '\n' || (c == '\r' && !(k + 1 < gap.length() && gap.charAt(k + 1) == '\n'))) {
        breaks++;
      }
    }
    return breaks;
  }

  /** Whether words {@code [start, end)}, a whole line that is not the last, are a title line. */
  static boolean isTitleLine(List<String> words, List<String> gaps, int start, int end) {
    if (end - start > TITLE_MAX_WORDS || end >= words.size()) {
      return false;
    }
    if (start > 0 && lineBreaks(gaps.get(start - 1)) < 2) {
      return false;
    }
    String last = words.get(end - 1);
    if (lineBreaks(gaps.get(end - 1)) != 1 || NOT_TITLE_END.indexOf(last.charAt(last.length() - 1)) >= 0) {
      return false;
    }
    for (int w = start; w < end; w++) {
      String word = words.get(w);
      for (int k = 0; k < word.length(); k++) {
        if (ASCII_PUNCTUATION.indexOf(word.charAt(k)) < 0) {
          return true;
        }
      }
    }
    return false;
  }

  /** End of a {@code Document [n](Title: ...)} header starting at {@code start}, or {@code start}. */
  static int headerEnd(List<String> words, int start, int end) {
    if (end - start < 3 || !isHeaderIndex(words, start + 1)) {
      return start;
    }
    int depth = 1;
    for (int i = start + 2; i < Math.min(end, start + HEADER_MAX_WORDS); i++) {
      depth += count(words.get(i), '(') - count(words.get(i), ')');
      if (depth <= 0) {
        return i + 1;
      }
    }
    return start;
  }

  /** Whether {@code words.get(i)} is the {@code [n](Title:} of a {@code Document [n](Title: ...)} header. */
  static boolean isHeaderIndex(List<String> words, int i) {
    return i > 0 && i < words.size() && words.get(i - 1).equals("Document") && isHeaderSecond(words.get(i));
  }

  // Python's re.match(r"^\[\d+\]\(Title:$", word); a word has no newline for $ to skip.
  private static boolean isHeaderSecond(String word) {
    String tail = "](Title:";
    if (!word.startsWith("[") || !word.endsWith(tail)) {
      return false;
    }
    String digits = word.substring(1, word.length() - tail.length());
    if (digits.isEmpty()) {
      return false;
    }
    UnicodeTables tables = UnicodeTables.get();
    return digits.codePoints().allMatch(tables::isDecimal);
  }

  private static int count(String word, char c) {
    int k = 0;
    for (int i = 0; i < word.length(); i++) {
      k += word.charAt(i) == c ? 1 : 0;
    }
    return k;
  }

  /** Whether a sentence ends after {@code word} when {@code following} comes next on the line. */
  static boolean endsSentence(String word, String following) {
    int uncasedEnd = word.length();
    while (uncasedEnd > 0 && (CLOSERS.indexOf(word.charAt(uncasedEnd - 1)) >= 0
        || OPENERS.indexOf(word.charAt(uncasedEnd - 1)) >= 0)) {
      uncasedEnd--;
    }
    if (uncasedEnd > 0 && UNCASED_STOPS.indexOf(word.charAt(uncasedEnd - 1)) >= 0) {
      return true;
    }
    int coreEnd = word.length();
    while (coreEnd > 0 && CLOSERS.indexOf(word.charAt(coreEnd - 1)) >= 0) {
      coreEnd--;
    }
    if (coreEnd == 0) {
      return false;
    }
    char last = word.charAt(coreEnd - 1);
    if (".!?".indexOf(last) < 0) {
      return false;
    }
    String stem = word.substring(0, coreEnd - 1);
    if (last == '.' && (stem.indexOf('.') >= 0 || stem.codePointCount(0, stem.length()) <= 1
        || isAbbreviation(stem))) {
      return false;
    }
    int nextStart = 0;
    while (nextStart < following.length() && OPENERS.indexOf(following.charAt(nextStart)) >= 0) {
      nextStart++;
    }
    if (nextStart == following.length()) {
      return false;
    }
    int first = following.codePointAt(nextStart);
    UnicodeTables tables = UnicodeTables.get();
    return tables.isUpper(first) || tables.isDigit(first) || nextStart > 0;
  }

  // Python's stem.lower() in ABBREVIATIONS. The set is ASCII, and the only non-ASCII code point
  // whose lower() is ASCII is the Kelvin sign (to "k", in no abbreviation), so ASCII stems suffice.
  private static boolean isAbbreviation(String stem) {
    for (int i = 0; i < stem.length(); i++) {
      if (stem.charAt(i) >= 0x80) {
        return false;
      }
    }
    return ABBREVIATIONS.contains(stem.toLowerCase(Locale.ROOT));
  }

  /** Words {@code [start, end)} cut into equal pieces of at most maxWords words and maxTokens tokens. */
  static List<int[]> cut(int start, int end, int[] costs, int maxWords, int maxTokens) {
    int words = end - start;
    long tokens = 0;
    for (int i = start; i < end; i++) {
      tokens += costs[i];
    }
    long pieces = Math.max(1, Math.max(ceilDiv(words, maxWords), ceilDiv(tokens, maxTokens)));
    pieces = Math.min(pieces, words);
    List<int[]> out = new ArrayList<>();
    int previous = start;
    for (long k = 1; k <= pieces; k++) {
      // Python: start + round(k * words / pieces), true division then round half to even.
      int bound = start + (int) Math.rint((double) (k * words) / (double) pieces);
      if (bound > previous) {
        out.add(new int[] {previous, bound});
      }
      previous = bound;
    }
    return out;
  }

  private static long ceilDiv(long a, long b) {
    return -Math.floorDiv(-a, b);
  }
}
