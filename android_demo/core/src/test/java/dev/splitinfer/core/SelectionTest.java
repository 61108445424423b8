package dev.splitinfer.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import org.junit.Test;

/** Selection behaviour the golden vectors cannot carry (NaN, -0.0) or that is about bad calls. */
public class SelectionTest {
  @Test
  public void nanScoresAreTakenLastAsNumpySortsThem() {
    float[] scores = {Float.NaN, 0.1f, 0.2f};
    assertArrayEquals(new int[] {1, 2}, Selection.select(scores, new int[] {1, 1, 1}, new boolean[3], 2));
  }

  @Test
  public void negativeZeroTiesWithZeroSoTheEarlierWordWins() {
    float[] scores = {0.0f, -0.0f};
    assertArrayEquals(new int[] {0}, Selection.select(scores, new int[] {1, 1}, new boolean[2], 1));
    assertArrayEquals(new int[] {0}, Selection.select(new float[] {-0.0f, 0.0f}, new int[] {1, 1}, new boolean[2], 1));
  }

  @Test
  public void aWordTooBigForWhatIsLeftIsPassedOverForSmallerOnes() {
    float[] scores = {0.9f, 0.8f, 0.1f};
    assertArrayEquals(new int[] {0, 2}, Selection.select(scores, new int[] {2, 3, 1}, new boolean[3], 3));
  }

  @Test
  public void pairwiseSumMatchesLeftToRightForFewValues() {
    float[] a = {0.1f, 0.2f, 0.3f, 0.4f};
    assertEquals(((0.1f + 0.2f) + 0.3f) + 0.4f, Selection.pairwiseSum(a, 0, 4), 0f);
  }

  @Test
  public void badCallsAreRejected() {
    assertThrows(IllegalArgumentException.class, () -> Selection.chunkWords(new int[] {1}, 0));
    assertThrows(IllegalArgumentException.class, () -> Selection.wordScores(new float[2], new int[] {1}));
    assertThrows(IllegalArgumentException.class,
        () -> Selection.select(new float[2], new int[] {1}, new boolean[2], 1));
  }
}
