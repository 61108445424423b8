package dev.splitinfer.core;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;

/**
 * Every {@code smoothing} vector: {@link Selection#smoothScores} gives the SDK's
 * {@code smooth_scores} float32 bits exactly, for the given scores, counts, segments and weights.
 */
@RunWith(Parameterized.class)
public class GoldenSmoothingTest {
  private final String name;
  private final Map<String, Object> v;

  public GoldenSmoothingTest(String name, Map<String, Object> v) {
    this.name = name;
    this.v = v;
  }

  @Parameters(name = "{0}")
  public static Collection<Object[]> vectors() {
    return Golden.parameters("smoothing");
  }

  @Test
  public void smoothsToTheSameFloat32Bits() {
    SelectionWeights weights = new SelectionWeights(((Number) v.get("segment_weight")).doubleValue(),
        ((Number) v.get("document_weight")).doubleValue());
    float[] scores = Golden.floats(v.get("scores"));
    float[] expected = Golden.floats(v.get("smoothed"));
    float[] actual = Selection.smoothScores(scores, Golden.ints(v.get("counts")),
        GoldenSegmentsTest.segments(v.get("segments")), weights);
    Golden.assertSameBits(name, expected, actual);
  }
}
