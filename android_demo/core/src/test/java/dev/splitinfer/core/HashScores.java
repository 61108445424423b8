package dev.splitinfer.core;

/**
 * The differential test's stand-in model (android_demo/golden/differential.py, {@code
 * hash_scores}): each token's float32 score is a splitmix64 hash of the case's seed, the window's
 * number, the sum of the question ids, the token's place in the window and its id, the top 24
 * bits {@code u} giving {@code u / 2^24}, or with {@code levels} > 0 {@code (u % levels) / levels},
 * or with {@code levels} -1 {@link #wild} of {@code u / 2^24}.
 */
final class HashScores implements ScoreModel {
  private final long seed;
  private final int levels;
  private int calls;

  HashScores(long seed, int levels) {
    this.seed = seed;
    this.levels = levels;
  }

  @Override
  public float[] score(int[] contextIds, int[] questionIds) {
    long question = 0;
    for (int id : questionIds) {
      question += id;
    }
    float[] out = new float[contextIds.length];
    for (int i = 0; i < out.length; i++) {
      long z = seed + calls * 0x9E3779B97F4A7C15L + question * 0xD1B54A32D192ED03L + i * 0xBF58476D1CE4E5B9L
          + contextIds[i] * 0x94D049BB133111EBL + 0x9E3779B97F4A7C15L;
      z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
      z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
      long u = (z ^ (z >>> 31)) >>> 40;
      float score = levels > 0 ? (float) ((double) (u % levels) / levels) : (float) (u / (double) (1 << 24));
      out[i] = levels < 0 ? wild(score) : score;
    }
    calls++;
    return out;
  }

  private static final float[] WILD = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0.0f,
      0x1p127f, Float.MIN_VALUE, -0x1p127f, 1.0f};

  /**
   * What a broken or unusual model could give in place of a score {@code u / 2^24}: by {@code u %
   * 16}, NaN, infinities, -0.0, huge and subnormal values, else {@code 4 * score - 2}
   * (differential.py's {@code wild}).
   */
  static float wild(float score) {
    int u = (int) ((double) score * (1 << 24));
    return u % 16 < WILD.length ? WILD[u % 16] : score * 4f - 2f;
  }

  /** {@code n} scores of {@link SplitMix#scores}, or {@link #wild} ones for {@code levels} -1. */
  static float[] tokenScores(long seed, int n, int levels) {
    float[] out = SplitMix.scores(seed, n, Math.max(levels, 0));
    if (levels < 0) {
      for (int i = 0; i < n; i++) {
        out[i] = wild(out[i]);
      }
    }
    return out;
  }
}
