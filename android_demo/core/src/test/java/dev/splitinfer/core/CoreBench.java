package dev.splitinfer.core;

import java.util.Arrays;
import java.util.Random;

/**
 * How long core's {@link Condenser#condense} takes on a 2,000-word prompt, model aside (a stub
 * {@link ScoreModel} that costs nothing), with a cold tokenizer cache (every word new, the
 * baseline) and a warm one (the words seen before, as in a long-running app). Prints p50 and p99
 * in milliseconds and the warm/cold ratio. Run with {@code build.sh bench}.
 */
public final class CoreBench {
  private static final int WORDS = 2000;
  private static final int RUNS = 60;
  private static final int WARMUP = 15;

  private CoreBench() {}

  public static void main(String[] args) {
    WordPieceTokenizer tokenizer = Golden.tokenizer();
    ScoreModel stub = (context, question) -> new float[context.length];
    Condenser condenser = new Condenser(tokenizer, 512, 64, 0.33, stub);
    Condenser.Options options = Condenser.Options.defaults().withRate(0.33).withQuestion("What is the capital of France?");
    String text = prose(new Random(7));
    double[] cold = new double[RUNS];
    double[] warm = new double[RUNS];
    for (int i = -WARMUP; i < RUNS; i++) {
      tokenizer.clearCache();
      double coldMs = condenser.condense(text, options).ms;
      double warmMs = condenser.condense(text, options).ms;
      if (i >= 0) {
        cold[i] = coldMs;
        warm[i] = warmMs;
      }
    }
    Arrays.sort(cold);
    Arrays.sort(warm);
    System.out.printf("condense %d words (stub model): cold cache p50 %.2f ms p99 %.2f ms; warm cache p50 %.2f ms "
        + "p99 %.2f ms; warm/cold %.2f%n", WORDS, pct(cold, 50), pct(cold, 99), pct(warm, 50), pct(warm, 99),
        pct(warm, 50) / pct(cold, 50));
  }

  // Words drawn from the vocabulary's whole words, so the text is varied like real prose.
  private static String prose(Random random) {
    WordPieceTokenizer tokenizer = Golden.tokenizer();
    StringBuilder out = new StringBuilder();
    int n = 0;
    while (n < WORDS) {
      String token = tokenizer.token(1000 + random.nextInt(tokenizer.vocabSize() - 1000));
      if (token.startsWith("##")) {
        continue;
      }
      out.append(token).append(++n % 12 == 0 ? ". " : " ");
    }
    return out.toString();
  }

  private static double pct(double[] sorted, int p) {
    return sorted[Math.min(sorted.length - 1, sorted.length * p / 100)];
  }
}
