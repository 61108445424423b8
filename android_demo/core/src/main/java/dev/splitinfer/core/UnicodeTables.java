package dev.splitinfer.core;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The Unicode answers of the Python SDK, read from the resource {@code unicode_tables.txt}, a
 * copy of the table the Python SDK reads ({@code sdk/assets/unicode_tables.txt}, Python 3.11's
 * {@code unicodedata}, frozen so that every Python version and every device agree).
 *
 * <p>Why not {@link Character}: Java answers from the JVM's Unicode version and Android from
 * the device's ICU data, which lags by years on older phones, so a recent emoji would be an
 * unassigned (dropped) character on one phone and {@code [UNK]} on another and in Python. The
 * table makes every device tokenize exactly as the Python SDK that trained and checks the
 * condenser. It holds the general-category classes the tokenizer needs, {@code str.lower()}
 * (with its final-sigma rule) and {@code str.casefold()}, and for {@link Segments} the
 * code points Python calls upper case, digits and decimal digits. {@code make golden} copies it;
 * android_demo/golden/unicode_tables.py documents the format.
 */
final class UnicodeTables {
  private static final String RESOURCE = "unicode_tables.txt";
  private static final int CAPITAL_SIGMA = 0x3A3;
  private static final int SMALL_SIGMA = 0x3C3;
  private static final int FINAL_SIGMA = 0x3C2;

  private final Ranges control;
  private final Ranges punctuation;
  private final Ranges nonSpacingMark;
  private final Ranges caseIgnorable;
  private final Ranges cased;
  private final Ranges upper;
  private final Ranges digit;
  private final Ranges decimal;
  private final Map<Integer, int[]> lower;
  private final Map<Integer, int[]> casefold;
  final String unidataVersion;

  private static final class Holder {
    static final UnicodeTables INSTANCE = load();
  }

  /** The tables, loaded once from the classpath. */
  static UnicodeTables get() {
    return Holder.INSTANCE;
  }

  private UnicodeTables(Map<Character, Ranges.Builder> ranges, Map<Integer, int[]> lower,
      Map<Integer, int[]> casefold, String unidataVersion) {
    this.control = ranges.get('C').build();
    this.punctuation = ranges.get('P').build();
    this.nonSpacingMark = ranges.get('M').build();
    this.caseIgnorable = ranges.get('I').build();
    this.cased = ranges.get('K').build();
    this.upper = ranges.get('U').build();
    this.digit = ranges.get('D').build();
    this.decimal = ranges.get('N').build();
    this.lower = lower;
    this.casefold = casefold;
    this.unidataVersion = unidataVersion;
  }

  private static UnicodeTables load() {
    try (InputStream in = UnicodeTables.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(RESOURCE + " is missing from the classpath: package "
            + "core's resources with its classes (run 'make golden' if the file is gone)");
      }
      return parse(new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII)));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + RESOURCE, e);
    }
  }

  private static UnicodeTables parse(BufferedReader reader) throws IOException {
    Map<Character, Ranges.Builder> ranges = new HashMap<>();
    for (char tag : "CPMIKUDN".toCharArray()) {
      ranges.put(tag, new Ranges.Builder());
    }
    Map<Integer, int[]> lower = new HashMap<>();
    Map<Integer, int[]> casefold = new HashMap<>();
    String version = "";
    String line;
    while ((line = reader.readLine()) != null) {
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] f = line.split(" ");
      if (f[0].equals("unidata")) {
        version = f[1];
      } else if (f[0].equals("L") || f[0].equals("F")) {
        (f[0].equals("L") ? lower : casefold).put(Integer.parseInt(f[1], 16), hexSequence(f[2]));
      } else if (f.length == 3 && ranges.containsKey(f[0].charAt(0))) {
        ranges.get(f[0].charAt(0)).add(Integer.parseInt(f[1], 16), Integer.parseInt(f[2], 16));
      } else {
        throw new IllegalStateException(RESOURCE + ": bad line '" + line + "'");
      }
    }
    return new UnicodeTables(ranges, lower, casefold, version);
  }

  private static int[] hexSequence(String text) {
    return Arrays.stream(text.split(",")).mapToInt(h -> Integer.parseInt(h, 16)).toArray();
  }

  /** Category C* (control, format, surrogate, private use, unassigned) except tab, LF and CR. */
  boolean isControl(int cp) {
    return control.contains(cp);
  }

  /** Category P*, or ASCII 33-47, 58-64, 91-96, 123-126 (BERT's punctuation). */
  boolean isPunctuation(int cp) {
    return punctuation.contains(cp);
  }

  /** Category Mn: the marks the tokenizer strips after NFD. */
  boolean isNonSpacingMark(int cp) {
    return nonSpacingMark.contains(cp);
  }

  /** Python's {@code chr(cp).isupper()} (category Lu and Other_Uppercase, e.g. Roman numerals). */
  boolean isUpper(int cp) {
    return upper.contains(cp);
  }

  /** Python's {@code chr(cp).isdigit()} (decimal digits, superscripts, circled digits...). */
  boolean isDigit(int cp) {
    return digit.contains(cp);
  }

  /** Python's {@code chr(cp).isdecimal()}: what {@code \d} matches in Python's {@code re}. */
  boolean isDecimal(int cp) {
    return decimal.contains(cp);
  }

  /** Python's {@code str.lower()}, final sigma included. */
  String lower(String text) {
    int[] cps = text.codePoints().toArray();
    StringBuilder out = new StringBuilder(text.length());
    for (int i = 0; i < cps.length; i++) {
      if (cps[i] == CAPITAL_SIGMA) {
        out.appendCodePoint(isFinalSigma(cps, i) ? FINAL_SIGMA : SMALL_SIGMA);
      } else {
        appendMapped(out, lower, cps[i]);
      }
    }
    return out.toString();
  }

  /** Python's {@code str.casefold()}: full case folding, character by character. */
  String casefold(String text) {
    StringBuilder out = new StringBuilder(text.length());
    text.codePoints().forEach(cp -> appendMapped(out, casefold, cp));
    return out.toString();
  }

  private static void appendMapped(StringBuilder out, Map<Integer, int[]> map, int cp) {
    int[] mapped = map.get(cp);
    if (mapped == null) {
      out.appendCodePoint(cp);
    } else {
      for (int m : mapped) {
        out.appendCodePoint(m);
      }
    }
  }

  // CPython's handle_capital_sigma: final after a cased letter and not before one, skipping
  // case-ignorable letters on both sides.
  private boolean isFinalSigma(int[] cps, int i) {
    int j = i - 1;
    while (j >= 0 && caseIgnorable.contains(cps[j])) {
      j--;
    }
    boolean isFinal = j >= 0 && cased.contains(cps[j]);
    if (isFinal && i + 1 < cps.length) {
      j = i + 1;
      while (j < cps.length && caseIgnorable.contains(cps[j])) {
        j++;
      }
      isFinal = j == cps.length || !cased.contains(cps[j]);
    }
    return isFinal;
  }

  /** Sorted, disjoint, inclusive code-point ranges with binary search. */
  private static final class Ranges {
    private final int[] lo;
    private final int[] hi;

    private Ranges(int[] lo, int[] hi) {
      this.lo = lo;
      this.hi = hi;
    }

    boolean contains(int cp) {
      int k = Arrays.binarySearch(lo, cp);
      if (k >= 0) {
        return true;
      }
      int before = -k - 2;
      return before >= 0 && cp <= hi[before];
    }

    static final class Builder {
      private int[] lo = new int[64];
      private int[] hi = new int[64];
      private int size;

      void add(int from, int to) {
        if (size > 0 && from <= hi[size - 1] || to < from) {
          throw new IllegalStateException(RESOURCE + ": ranges must be sorted and disjoint");
        }
        if (size == lo.length) {
          lo = Arrays.copyOf(lo, size * 2);
          hi = Arrays.copyOf(hi, size * 2);
        }
        lo[size] = from;
        hi[size] = to;
        size++;
      }

      Ranges build() {
        return new Ranges(Arrays.copyOf(lo, size), Arrays.copyOf(hi, size));
      }
    }
  }
}
