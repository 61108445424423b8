package dev.splitinfer.core;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * BERT-uncased-compatible WordPiece, word by word: the port of
 * {@code splitinfer.sdk._tokenizer}, checked against its golden vectors.
 *
 * <p>Per word (a whitespace-free string, see {@link Words}):
 * <ol>
 *   <li>drop NUL, U+FFFD and control characters (category C*, tab/LF/CR aside);
 *   <li>put spaces around CJK ideographs and Japanese kana (then split on whitespace);
 *   <li>lower-case (Python's {@code str.lower()}), NFD-normalise, drop non-spacing marks (Mn);
 *   <li>split off every punctuation character as a piece of its own;
 *   <li>WordPiece each piece: greedy longest match, continuations prefixed {@code ##}; a piece
 *       that cannot be matched becomes {@code [UNK]}, and one longer than 100 code points is
 *       WordPieced 100 at a time, each slice as a piece of its own (BERT: one {@code [UNK]}).
 * </ol>
 * Character classes and case mappings come from {@link UnicodeTables} (Python's data), so every
 * device agrees; NFD comes from {@link Normalizer}. Lengths and slices count code points, as
 * Python does, not UTF-16 units. Words repeat a lot in real text, so ids are cached per word
 * (at most {@link #CACHE_WORDS} words, then the cache starts over). Thread-safe.
 */
public final class WordPieceTokenizer {
  public static final String PAD = "[PAD]";
  public static final String UNK = "[UNK]";
  public static final int MAX_PIECE_CHARS = 100;
  public static final int CACHE_WORDS = 65536;

  private final List<String> vocab;
  private final Map<String, Integer> ids;
  private final int padId;
  private final int unkId;
  /** The longest token's code points, "##" aside: longer candidates cannot match. */
  private final int longest;
  private final UnicodeTables tables = UnicodeTables.get();
  private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

  /** A tokenizer over {@code vocab}: one token per entry, id = index; a repeated token keeps its last id. */
  public WordPieceTokenizer(List<String> vocab) {
    if (vocab.isEmpty()) {
      throw new IllegalArgumentException("the tokenizer vocabulary is empty");
    }
    this.vocab = Collections.unmodifiableList(new ArrayList<>(vocab));
    this.ids = new HashMap<>(vocab.size() * 2);
    for (int i = 0; i < vocab.size(); i++) {
      ids.put(vocab.get(i), i);
    }
    List<String> missing = new ArrayList<>();
    for (String t : new String[] {PAD, UNK}) {
      if (!ids.containsKey(t)) {
        missing.add(t);
      }
    }
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException("the tokenizer vocabulary lacks " + String.join(", ", missing));
    }
    this.padId = ids.get(PAD);
    this.unkId = ids.get(UNK);
    int most = 1;
    for (String t : vocab) {
      String bare = t.startsWith("##") ? t.substring(2) : t;
      most = Math.max(most, bare.codePointCount(0, bare.length()));
    }
    this.longest = most;
  }

  /** A tokenizer over the lines of a vocabulary file's text ({@code vocab.txt}, UTF-8 decoded). */
  public static WordPieceTokenizer fromVocabText(String text) {
    return new WordPieceTokenizer(splitLines(text));
  }

  /**
   * Python's {@code str.splitlines()}, which the SDK uses to read {@code vocab.txt}: breaks at
   * LF, CR, CR LF, VT, FF, U+001C..U+001E, U+0085, U+2028 and U+2029; no empty last line.
   */
  public static List<String> splitLines(String text) {
    List<String> lines = new ArrayList<>();
    int start = 0;
    int i = 0;
    while (i < text.length()) {
      char c = text.charAt(i);
      boolean isBreak = c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || (c >= 0x1C && c <= 0x1E)
          || c == 0x85 || c == 0x2028 || c == 0x2029;
      if (!isBreak) {
        i++;
        continue;
      }
      lines.add(text.substring(start, i));
      i += (c == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n') ? 2 : 1;
      start = i;
    }
    if (start < text.length()) {
      lines.add(text.substring(start));
    }
    return lines;
  }

  public int vocabSize() {
    return vocab.size();
  }

  public int padId() {
    return padId;
  }

  public int unkId() {
    return unkId;
  }

  /** The token with id {@code id}. */
  public String token(int id) {
    return vocab.get(id);
  }

  /** Steps 1-4 for one word: the pieces WordPiece then splits further. */
  public List<String> basicPieces(String word) {
    StringBuilder chars = new StringBuilder(word.length() + 8);
    word.codePoints().forEach(cp -> {
      if (cp == 0 || cp == 0xFFFD || tables.isControl(cp)) {
        return;
      }
      if (Words.isCjk(cp)) {
        chars.append(' ').appendCodePoint(cp).append(' ');
      } else if (Words.isWhitespace(cp)) {
        chars.append(' ');
      } else {
        chars.appendCodePoint(cp);
      }
    });
    List<String> pieces = new ArrayList<>();
    for (String chunk : Words.splitOnWhitespace(chars.toString())) {
      String normalized = Normalizer.normalize(tables.lower(chunk), Normalizer.Form.NFD);
      StringBuilder current = new StringBuilder();
      normalized.codePoints().forEach(cp -> {
        if (tables.isNonSpacingMark(cp)) {
          return;
        }
        if (tables.isPunctuation(cp)) {
          if (current.length() > 0) {
            pieces.add(current.toString());
            current.setLength(0);
          }
          pieces.add(new String(Character.toChars(cp)));
        } else {
          current.appendCodePoint(cp);
        }
      });
      if (current.length() > 0) {
        pieces.add(current.toString());
      }
    }
    return pieces;
  }

  /** Token ids of one word; none for a word of control characters only. */
  public int[] encodeWord(String word) {
    int[] ids = cache.get(word);
    if (ids == null) {
      ids = encodeUncached(word);
      if (cache.size() >= CACHE_WORDS) {
        cache.clear();
      }
      cache.put(word, ids);
    }
    return ids.clone();
  }

  /** Empties the per-word cache (for measuring the cold cost). */
  void clearCache() {
    cache.clear();
  }

  private int[] encodeUncached(String word) {
    int[] out = new int[8];
    int size = 0;
    for (String piece : basicPieces(word)) {
      for (int id : wordPiece(piece)) {
        if (size == out.length) {
          out = Arrays.copyOf(out, size * 2);
        }
        out[size++] = id;
      }
    }
    return Arrays.copyOf(out, size);
  }

  /** Token ids of each word. */
  public int[][] encodeWords(List<String> words) {
    int[][] out = new int[words.size()][];
    for (int i = 0; i < out.length; i++) {
      out[i] = encodeWord(words.get(i));
    }
    return out;
  }

  /** Token ids of a whole text, word after word (no [CLS]/[SEP]). */
  public int[] encode(String text) {
    int[][] perWord = encodeWords(Words.splitOnWhitespace(text));
    return Arrays.stream(perWord).flatMapToInt(Arrays::stream).toArray();
  }

  /**
   * WordPiece of one piece, {@link #MAX_PIECE_CHARS} code points at a time, each slice as a piece
   * of its own (BERT makes a longer piece one {@code [UNK]}; see {@code splitinfer.sdk._tokenizer}).
   */
  private int[] wordPiece(String piece) {
    int[] cps = piece.codePoints().toArray();
    List<Integer> found = new ArrayList<>();
    for (int from = 0; from < cps.length; from += MAX_PIECE_CHARS) {
      wordPieceSlice(cps, from, Math.min(cps.length, from + MAX_PIECE_CHARS), found);
    }
    return found.stream().mapToInt(Integer::intValue).toArray();
  }

  private void wordPieceSlice(int[] cps, int from, int to, List<Integer> out) {
    List<Integer> found = new ArrayList<>();
    int start = from;
    while (start < to) {
      int end = Math.min(to, start + longest); // no token is longer
      Integer id = null;
      while (start < end) {
        String sub = new String(cps, start, end - start);
        id = ids.get(start == from ? sub : "##" + sub);
        if (id != null) {
          break;
        }
        end--;
      }
      if (id == null) {
        out.add(unkId);
        return;
      }
      found.add(id);
      start = end;
    }
    out.addAll(found);
  }
}
