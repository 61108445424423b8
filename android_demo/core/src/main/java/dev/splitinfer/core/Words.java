package dev.splitinfer.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Words, the unit the condenser keeps or drops: the port of {@code splitinfer.sdk._text}.
 *
 * <p>A word is a maximal run of characters that are not whitespace, punctuation included
 * ("Paris," is one word), or a single CJK ideograph or kana ({@link #isCjk}: Chinese and Japanese put no
 * spaces between words, so "金门大桥。" is the words "金", "门", "大", "桥" and "。"). Each word remembers the whitespace that followed it; the condensed
 * text is every kept word followed by its own whitespace, so kept words keep their order and
 * spacing, or, where the words after it were dropped, by the gap of theirs with the most line
 * breaks, so kept words of different lines stay on different lines. Whitespace before the first
 * word is dropped and the result never ends in whitespace.
 * Whitespace is exactly {@link #WHITESPACE} (Python's {@code str.isspace()} set), not Java's
 * {@link Character#isWhitespace}, which leaves out the no-break spaces and U+0085.
 */
public final class Words {
  /** The whitespace characters, the same list as {@code splitinfer.sdk._text.WHITESPACE}. */
  public static final String WHITESPACE =
      "\t\n\u000b\u000c\r\u001c\u001d\u001e\u001f \u0085\u00a0\u1680"
          + "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
          + "\u2028\u2029\u202f\u205f\u3000";

  private static final boolean[] IS_SPACE = new boolean[0x3001];

  static {
    for (char c : WHITESPACE.toCharArray()) {
      IS_SPACE[c] = true;
    }
  }

  private final List<String> words;
  private final List<String> gaps;

  private Words(List<String> words, List<String> gaps) {
    this.words = Collections.unmodifiableList(words);
    this.gaps = Collections.unmodifiableList(gaps);
  }

  /** Whether a code point is whitespace in the sense of {@link #WHITESPACE}. */
  public static boolean isWhitespace(int cp) {
    return cp >= 0 && cp < IS_SPACE.length && IS_SPACE[cp];
  }

  /**
   * A CJK ideograph or a Japanese kana, each a word of its own: the ranges of {@code
   * splitinfer.sdk._text.CJK_RANGES} (BERT's) and {@code KANA_RANGES} (hiragana, katakana, their
   * phonetic extensions, half-width katakana), which BERT leaves in runs.
   */
  public static boolean isCjk(int cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF)
        || (cp >= 0x3040 && cp <= 0x309F)
        || (cp >= 0x30A0 && cp <= 0x30FF)
        || (cp >= 0x31F0 && cp <= 0x31FF)
        || (cp >= 0xFF66 && cp <= 0xFF9F)
        || (cp >= 0x3400 && cp <= 0x4DBF)
        || (cp >= 0x20000 && cp <= 0x2A6DF)
        || (cp >= 0x2A700 && cp <= 0x2B73F)
        || (cp >= 0x2B740 && cp <= 0x2B81F)
        || (cp >= 0x2B820 && cp <= 0x2CEAF)
        || (cp >= 0xF900 && cp <= 0xFAFF)
        || (cp >= 0x2F800 && cp <= 0x2FA1F);
  }

  /** Splits {@code text} into words and the whitespace that follows each word. */
  public static Words split(String text) {
    return split(text, true);
  }

  private static Words split(String text, boolean cjkWords) {
    List<String> words = new ArrayList<>();
    List<String> gaps = new ArrayList<>();
    int n = text.length();
    int i = 0;
    while (i < n && isWhitespace(text.charAt(i))) {
      i++;
    }
    while (i < n) {
      int start = i;
      int first = text.codePointAt(i);
      if (cjkWords && isCjk(first)) {
        i += Character.charCount(first);
      } else {
        while (i < n) {
          int cp = text.codePointAt(i);
          if (isWhitespace(cp) || (cjkWords && isCjk(cp))) {
            break;
          }
          i += Character.charCount(cp);
        }
      }
      int end = i;
      while (i < n && isWhitespace(text.charAt(i))) {
        i++;
      }
      words.add(text.substring(start, end));
      gaps.add(text.substring(end, i));
    }
    return new Words(words, gaps);
  }

  /** The words, in order. */
  public List<String> words() {
    return words;
  }

  /** {@code gaps().get(i)} is the whitespace after word i (empty after a final word). */
  public List<String> gaps() {
    return gaps;
  }

  public int size() {
    return words.size();
  }

  /**
   * The condensed text: each kept word (indices ascending) followed by its own whitespace, or, when
   * the words after it up to the next kept one were dropped, by the first gap among its own and
   * theirs with the most line breaks (its own when none has any), so the kept words of different
   * lines stay apart; where none of them has any whitespace, see {@link #bridge}. The Python SDK's
   * {@code join_words}.
   */
  public String join(int[] kept) {
    StringBuilder out = new StringBuilder();
    for (int k = 0; k < kept.length; k++) {
      int i = kept[k];
      String gap = gaps.get(i);
      if (k + 1 < kept.length && kept[k + 1] > i + 1) {
        int most = Segments.lineBreaks(gap);
        for (int j = i + 1; j < kept[k + 1]; j++) {
          String other = gaps.get(j);
          int count = Segments.lineBreaks(other);
          if (count > most) {
            gap = other;
            most = count;
          }
        }
      }
      if (gap.isEmpty() && k + 1 < kept.length && kept[k + 1] > i + 1) {
        gap = bridge(i, kept[k + 1]);
      }
      out.append(words.get(i)).append(gap);
    }
    return stripTrailingWhitespace(out.toString());
  }

  /**
   * What joins kept word {@code i} to kept word {@code after} when the words between them were
   * dropped and word {@code i} had no whitespace after it: the first whitespace among the dropped
   * words' gaps, else a space unless an ideograph stands at either edge (two kept numbers of a text
   * without spaces must not run into one). The Python SDK's {@code _bridge}.
   */
  private String bridge(int i, int after) {
    for (int j = i + 1; j < after; j++) {
      if (!gaps.get(j).isEmpty()) {
        return gaps.get(j);
      }
    }
    String left = words.get(i);
    if (isCjk(left.codePointBefore(left.length())) || isCjk(words.get(after).codePointAt(0))) {
      return "";
    }
    return " ";
  }

  /** {@code text} without the whitespace at its end. */
  public static String stripTrailingWhitespace(String text) {
    int end = text.length();
    while (end > 0 && isWhitespace(text.charAt(end - 1))) {
      end--;
    }
    return text.substring(0, end);
  }

  /** Python's {@code text.split()}: the non-empty runs between whitespace. */
  public static List<String> splitOnWhitespace(String text) {
    return split(text, false).words;
  }
}
