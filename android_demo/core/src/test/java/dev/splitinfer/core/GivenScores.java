package dev.splitinfer.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;

/**
 * A {@link ScoreModel} that answers each window with given per-token scores, in window order,
 * and checks that the condenser sent exactly that window's ids, padded with 0.
 */
final class GivenScores implements ScoreModel {
  private final float[] scores;
  private final int[][] windowIds;
  private final int[] windowOffsets;
  private final int maxSeqLen;
  private int call;
  int[] lastQuestion;

  GivenScores(float[] scores, int[][] tokenIds, int maxSeqLen) {
    this.scores = scores;
    this.maxSeqLen = maxSeqLen;
    int[] counts = Arrays.stream(tokenIds).mapToInt(ids -> ids.length).toArray();
    int[][] windows = Selection.chunkWords(counts, maxSeqLen);
    this.windowIds = new int[windows.length][];
    this.windowOffsets = new int[windows.length];
    int offset = 0;
    for (int k = 0; k < windows.length; k++) {
      int[] flat = Arrays.stream(tokenIds, windows[k][0], windows[k][1]).flatMapToInt(Arrays::stream).toArray();
      windowIds[k] = flat;
      windowOffsets[k] = offset;
      offset += flat.length;
    }
  }

  int windowsWithTokens() {
    return (int) Arrays.stream(windowIds).filter(ids -> ids.length > 0).count();
  }

  @Override
  public float[] score(int[] contextIds, int[] questionIds) {
    while (call < windowIds.length && windowIds[call].length == 0) {
      call++;
    }
    assertTrue("the condenser called the model more often than there are windows", call < windowIds.length);
    int[] ids = windowIds[call];
    int seen = Math.min(ids.length, maxSeqLen);
    int[] expected = new int[maxSeqLen];
    System.arraycopy(ids, 0, expected, 0, seen);
    assertArrayEquals("context ids of window " + call, expected, contextIds);
    float[] out = new float[maxSeqLen];
    System.arraycopy(scores, windowOffsets[call], out, 0, seen);
    Arrays.fill(out, seen, maxSeqLen, Float.NaN);
    lastQuestion = questionIds.clone();
    call++;
    return out;
  }
}
