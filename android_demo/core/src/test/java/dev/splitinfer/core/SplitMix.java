package dev.splitinfer.core;

/** The golden generator's score stream (make_golden.splitmix64_scores), for checking the file. */
final class SplitMix {
  private SplitMix() {}

  /** {@code n} float32 scores: top 24 bits u of each splitmix64 output, u / 2^24 or (u % levels) / levels. */
  static float[] scores(long seed, int n, int levels) {
    long state = seed;
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      state += 0x9E3779B97F4A7C15L;
      long z = state;
      z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
      z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
      long u = (z ^ (z >>> 31)) >>> 40;
      out[i] = levels > 0 ? (float) ((double) (u % levels) / levels) : (float) (u / (double) (1 << 24));
    }
    return out;
  }
}
