package dev.splitinfer.core;

import static org.junit.Assert.assertEquals;

import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;

/**
 * Every {@code names} vector: {@link Selection#nameSpans} finds the SDK's {@code name_spans} and
 * {@link Selection#liftNameSpans} gives {@code lift_name_spans}'s float32 bits exactly.
 */
@RunWith(Parameterized.class)
public class GoldenNamesTest {
  private final String name;
  private final Map<String, Object> v;

  public GoldenNamesTest(String name, Map<String, Object> v) {
    this.name = name;
    this.v = v;
  }

  @Parameters(name = "{0}")
  public static Collection<Object[]> vectors() {
    return Golden.parameters("names");
  }

  @Test
  public void findsTheSameNamesAndLiftsThemToTheSameBits() {
    List<String> words = Golden.strings(v.get("words"));
    List<Segments.Segment> segments = GoldenSegmentsTest.segments(v.get("segments"));
    int[][] expectedSpans = Golden.intArrays(v.get("spans"));
    int[][] spans = Selection.nameSpans(words, segments);
    assertEquals(name, Arrays.deepToString(expectedSpans), Arrays.deepToString(spans));
    float[] expected = Golden.floats(v.get("lifted"));
    float[] actual = Selection.liftNameSpans(Golden.floats(v.get("scores")), words, segments);
    Golden.assertSameBits(name, expected, actual);
  }
}
