package dev.splitinfer.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CancellationException;

/**
 * Condenses a context on the device: words, tokens, model windows, word scores, selection.
 *
 * <p>{@link #condense}: split the context into {@link Words}; tokenize each word; cut the words
 * into windows of at most {@code maxSeqLen} tokens ({@link Selection#chunkWords}); run the
 * {@link ScoreModel} once per window that has tokens (with a bundle that reads line breaks, the
 * line-break id goes before the tokens of each word that starts a line, {@link #modelTokens}), with the question's tokens (its first and
 * last halves when it has more than {@code maxQuestionLen}, {@link #questionIds}); average token scores into word scores; with active
 * {@link SelectionWeights}, blend each word's score with its sentence's and document's
 * ({@link Segments}, {@link Selection#smoothScores}), with name spans lift each name to its
 * best word ({@link Selection#liftNameSpans}), and with answer types lift the names or numbers
 * the question asks for ({@link Selection#liftAnswerType}), and with title lift raise each
 * document's title to its text's best word ({@link Selection#liftTitles}); keep the forced words
 * and the best others up to the budget; join the kept words ({@link Words#join}: each with its
 * own whitespace, or the line breaks of the dropped words after it). A word
 * longer than a window (it has a window of its own) is scored by the mean of the
 * {@code maxSeqLen} tokens the model saw. Invalid rates or targets fail before the model runs.
 * This is {@code splitinfer.sdk._condenser.Condenser.condense} for one part, checked against it
 * by the golden vectors.
 *
 * <p>The condenser holds no mutable state: it is as thread-safe as its {@link ScoreModel}.
 */
public final class Condenser {
  private final WordPieceTokenizer tokenizer;
  private final int maxSeqLen;
  private final int maxQuestionLen;
  private final double defaultRate;
  private final ScoreModel model;
  private final SelectionWeights selection;
  private final int lineBreakId;

  /** A condenser without smoothing ({@link SelectionWeights#NONE}). */
  public Condenser(WordPieceTokenizer tokenizer, int maxSeqLen, int maxQuestionLen, double defaultRate,
      ScoreModel model) {
    this(tokenizer, maxSeqLen, maxQuestionLen, defaultRate, SelectionWeights.NONE, model);
  }

  /** A condenser whose model reads no line breaks. */
  public Condenser(WordPieceTokenizer tokenizer, int maxSeqLen, int maxQuestionLen, double defaultRate,
      SelectionWeights selection, ScoreModel model) {
    this(tokenizer, maxSeqLen, maxQuestionLen, defaultRate, selection, -1, model);
  }

  /**
   * A condenser whose model reads {@code lineBreakId} before each word that starts a line (-1:
   * none; the bundle's {@code line_break_id}).
   */
  public Condenser(WordPieceTokenizer tokenizer, int maxSeqLen, int maxQuestionLen, double defaultRate,
      SelectionWeights selection, int lineBreakId, ScoreModel model) {
    if (maxSeqLen <= 0 || maxQuestionLen <= 0) {
      throw new IllegalArgumentException("maxSeqLen and maxQuestionLen must be positive");
    }
    this.tokenizer = tokenizer;
    this.maxSeqLen = maxSeqLen;
    this.maxQuestionLen = maxQuestionLen;
    this.defaultRate = defaultRate;
    this.model = model;
    this.selection = selection;
    this.lineBreakId = lineBreakId;
  }

  /** A condenser with the bundle's tokenizer, window sizes, default rate and selection weights. */
  public static Condenser fromBundle(Bundle bundle, ScoreModel model) {
    return new Condenser(bundle.tokenizer(), bundle.maxSeqLen(), bundle.maxQuestionLen(),
        bundle.defaultRate(), bundle.selection(), bundle.lineBreakId(), model);
  }

  public WordPieceTokenizer tokenizer() {
    return tokenizer;
  }

  /**
   * Condenses {@code context} for {@code options}.
   *
   * <p>An interrupted thread stops before the next model window (a 512-token window takes a
   * millisecond or two): cancel a task that condenses with {@code Future.cancel(true)} when its
   * result is no longer wanted, as a new question does.
   *
   * @throws InvalidInputException for a rate outside (0, 1] or a negative token target
   * @throws CancellationException when the thread was interrupted while condensing (its interrupt
   *     status stays set)
   */
  public Result condense(String context, Options options) {
    long started = System.nanoTime();
    checkText(context, "context");
    checkText(options.question, "question");
    for (int i = 0; i < options.force.size(); i++) {
      checkText(options.force.get(i), "force[" + i + "]");
    }
    Words words = Words.split(context);
    int[][] ids = tokenizer.encodeWords(words.words());
    int[] counts = new int[ids.length];
    int total = 0;
    for (int i = 0; i < ids.length; i++) {
      counts[i] = ids[i].length;
      total += counts[i];
    }
    Double rate = options.rate;
    if (rate == null && options.targetTokens == null) {
      rate = defaultRate;
    }
    int budget = Selection.tokenBudget(total, rate, options.targetTokens);
    int[] question = questionIds(options.question);
    Scored scored = scoreWords(modelTokens(ids, words.gaps(), lineBreakId), question);
    float[] scores = scored.wordScores;
    if (selection.active()) {
      List<Segments.Segment> segments = Segments.segmentWords(words.words(), words.gaps(), counts);
      scores = Selection.selectionScores(scores, counts, words.words(), segments, selection, options.question);
    }
    boolean[] forced = Selection.forcedMask(words.words(), options.force, options.keepDigits);
    int[] kept = Selection.select(scores, counts, forced, budget);
    int keptTokens = 0;
    for (int i : kept) {
      keptTokens += counts[i];
    }
    double ms = (System.nanoTime() - started) / 1e6;
    return new Result(words.join(kept), kept, total, keptTokens, scored.modelCalls, ms);
  }

  /** The most characters (code points) one call accepts: the SDK's {@code MAX_INPUT_CHARS}. */
  public static final int MAX_INPUT_CHARS = 4 * 1024 * 1024;

  // The SDK's check_text: a string, at most MAX_INPUT_CHARS code points, no lone surrogate.
  static void checkText(String value, String name) {
    if (value == null) {
      throw new InvalidInputException(name + " must be a String, got null");
    }
    if (value.length() > MAX_INPUT_CHARS && value.codePointCount(0, value.length()) > MAX_INPUT_CHARS) {
      throw new InvalidInputException(name + " has " + value.codePointCount(0, value.length())
          + " characters, more than the " + MAX_INPUT_CHARS + " one call accepts; split it and condense the pieces separately");
    }
    for (int i = 0, chars = 0; i < value.length(); chars++) {
      int cp = value.codePointAt(i);
      if (cp >= 0xD800 && cp <= 0xDFFF) {
        throw new InvalidInputException(String.format("%s is not valid Unicode: a lone surrogate U+%04X at character %d",
            name, cp, chars));
      }
      i += Character.charCount(cp);
    }
  }

  /**
   * The question's token ids as the model reads them, padded with 0: all of them when they fit
   * in {@code maxQuestionLen}, else the first {@code maxQuestionLen / 2} and the last
   * {@code maxQuestionLen - maxQuestionLen / 2} ({@code splitinfer.sdk._selection.question_tokens}).
   */
  int[] questionIds(String question) {
    int[] all = tokenizer.encode(question);
    if (all.length <= maxQuestionLen) {
      return Arrays.copyOf(all, maxQuestionLen);
    }
    int head = maxQuestionLen / 2;
    int[] ids = Arrays.copyOf(all, maxQuestionLen);
    System.arraycopy(all, all.length - (maxQuestionLen - head), ids, head, maxQuestionLen - head);
    return ids;
  }

  /**
   * Each word's tokens as the model reads them: before each word after the first, as many
   * {@code lineBreakId} as the line breaks in the gap before it, at most
   * {@link #MAX_LINE_BREAK_MARKS}; then its own tokens. {@code lineBreakId} -1: {@code ids}
   * ({@code splitinfer.sdk._selection.model_tokens} with {@code line_break_marks}).
   */
  static int[][] modelTokens(int[][] ids, List<String> gaps, int lineBreakId) {
    if (lineBreakId < 0) {
      return ids;
    }
    int[][] out = new int[ids.length][];
    for (int i = 0; i < ids.length; i++) {
      int marks = i == 0 ? 0 : Math.min(Segments.lineBreaks(gaps.get(i - 1)), MAX_LINE_BREAK_MARKS);
      out[i] = new int[marks + ids[i].length];
      Arrays.fill(out[i], 0, marks, lineBreakId);
      System.arraycopy(ids[i], 0, out[i], marks, ids[i].length);
    }
    return out;
  }

  /** The most line-break ids before one word: the SDK's {@code MAX_LINE_BREAK_MARKS}. */
  static final int MAX_LINE_BREAK_MARKS = 2;

  /** Word scores: the model over each window, each word's seen token scores averaged. */
  private Scored scoreWords(int[][] ids, int[] question) {
    int[] counts = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      counts[i] = ids[i].length;
    }
    int[] seenCounts = new int[counts.length];
    int seenTotal = 0;
    for (int i = 0; i < counts.length; i++) {
      seenCounts[i] = Math.min(counts[i], maxSeqLen);
      seenTotal += seenCounts[i];
    }
    float[] tokenScores = new float[seenTotal];
    int[] context = new int[maxSeqLen];
    int offset = 0;
    int calls = 0;
    int[][] windows = Selection.chunkWords(counts, maxSeqLen);
    for (int[] window : windows) {
      if (Thread.currentThread().isInterrupted()) {
        throw new CancellationException(
            "condensing was interrupted after " + calls + " of " + windows.length + " model windows");
      }
      Arrays.fill(context, 0);
      int seen = 0;
      for (int w = window[0]; w < window[1]; w++) {
        for (int t = 0; t < seenCounts[w]; t++) {
          context[seen++] = ids[w][t];
        }
      }
      if (seen == 0) {
        continue;
      }
      float[] out = model.score(context, question);
      calls++;
      if (out == null || out.length < seen) {
        throw new IllegalStateException("the score model returned " + (out == null ? "null" : out.length
            + " scores") + " for a window of " + seen + " tokens; it must return maxSeqLen = " + maxSeqLen);
      }
      System.arraycopy(out, 0, tokenScores, offset, seen);
      offset += seen;
    }
    return new Scored(Selection.wordScores(tokenScores, seenCounts), calls);
  }

  private static final class Scored {
    final float[] wordScores;
    final int modelCalls;

    Scored(float[] wordScores, int modelCalls) {
      this.wordScores = wordScores;
      this.modelCalls = modelCalls;
    }
  }

  /** What to condense for: a rate or a token target, a question, forced words. Immutable. */
  public static final class Options {
    final String question;
    final Double rate;
    final Integer targetTokens;
    final List<String> force;
    final boolean keepDigits;

    private Options(String question, Double rate, Integer targetTokens, List<String> force, boolean keepDigits) {
      this.question = question;
      this.rate = rate;
      this.targetTokens = targetTokens;
      this.force = Collections.unmodifiableList(force == null ? new ArrayList<>() : new ArrayList<>(force));
      if (this.force.contains(null)) {
        throw new InvalidInputException("force must contain only strings, found null");
      }
      this.keepDigits = keepDigits;
    }

    /** The bundle's default rate, no question, nothing forced but numbers. */
    public static Options defaults() {
      return new Options("", null, null, Collections.<String>emptyList(), true);
    }

    /** Keep about {@code rate} of the tokens, in (0, 1]; replaces a token target. */
    public Options withRate(double rate) {
      return new Options(question, rate, null, force, keepDigits);
    }

    /** Keep at most {@code targetTokens} tokens (forced words aside); replaces a rate. */
    public Options withTargetTokens(int targetTokens) {
      return new Options(question, null, targetTokens, force, keepDigits);
    }

    /** The question the condensed context must still answer (the model reads it). */
    public Options withQuestion(String question) {
      return new Options(question == null ? "" : question, rate, targetTokens, force, keepDigits);
    }

    /** Words always kept, matched without edge punctuation and case; null forces nothing. */
    public Options withForce(List<String> force) {
      return new Options(question, rate, targetTokens, force, keepDigits);
    }

    /** Whether every word with a decimal digit (of any script) is kept (default true). */
    public Options withKeepDigits(boolean keepDigits) {
      return new Options(question, rate, targetTokens, force, keepDigits);
    }
  }

  /** The condensed context and what it cost. */
  public static final class Result {
    /** The kept words in order, each followed by its original whitespace, trailing whitespace cut. */
    public final String condensed;
    /** Indices of the kept words, ascending. */
    public final int[] kept;
    public final int originalTokens;
    public final int condensedTokens;
    /** Model calls made (windows with tokens). */
    public final int modelCalls;
    /** Wall-clock milliseconds of the whole call (tokenize + model + select). */
    public final double ms;

    Result(String condensed, int[] kept, int originalTokens, int condensedTokens, int modelCalls, double ms) {
      this.condensed = condensed;
      this.kept = kept;
      this.originalTokens = originalTokens;
      this.condensedTokens = condensedTokens;
      this.modelCalls = modelCalls;
      this.ms = ms;
    }

    /** condensedTokens / originalTokens, 1 for an empty context. */
    public float achievedRate() {
      return originalTokens == 0 ? 1f : (float) condensedTokens / originalTokens;
    }

    /** Tokens not sent. */
    public int tokensSaved() {
      return originalTokens - condensedTokens;
    }
  }
}
