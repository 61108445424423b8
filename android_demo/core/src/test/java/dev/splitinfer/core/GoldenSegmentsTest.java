package dev.splitinfer.core;

import static org.junit.Assert.assertEquals;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;

/**
 * Every {@code segments} vector: {@link Segments#segmentWords} cuts the same words into the same
 * segments as the SDK's {@code segment_words} (android_demo/golden/selection_vectors.py).
 */
@RunWith(Parameterized.class)
public class GoldenSegmentsTest {
  private final String name;
  private final Map<String, Object> v;

  public GoldenSegmentsTest(String name, Map<String, Object> v) {
    this.name = name;
    this.v = v;
  }

  @Parameters(name = "{0}")
  public static Collection<Object[]> vectors() {
    return Golden.parameters("segments");
  }

  /** Segments as the golden file writes them: [start, end, doc, header]. */
  static List<Segments.Segment> segments(Object list) {
    List<Segments.Segment> out = new ArrayList<>();
    for (Object item : (List<?>) list) {
      List<?> s = (List<?>) item;
      out.add(new Segments.Segment((int) (long) (Long) s.get(0), (int) (long) (Long) s.get(1),
          (int) (long) (Long) s.get(2), (Boolean) s.get(3)));
    }
    return out;
  }

  @Test
  public void cutsTheSameSegmentsAsPython() {
    List<String> words = Golden.strings(v.get("words"));
    List<Segments.Segment> actual = Segments.segmentWords(words, Golden.strings(v.get("gaps")),
        Golden.ints(v.get("counts")), (int) (long) (Long) v.get("max_words"), (int) (long) (Long) v.get("max_tokens"));
    List<Segments.Segment> expected = segments(v.get("segments"));
    for (int i = 0; i < Math.min(expected.size(), actual.size()); i++) {
      if (!expected.get(i).equals(actual.get(i))) {
        Segments.Segment e = expected.get(i);
        throw new AssertionError(name + " segment " + i + ": expected " + e + " but was " + actual.get(i)
            + " (words from " + e.start + ": '" + Golden.escape(String.join(" ",
            words.subList(e.start, Math.min(words.size(), e.start + 8)))) + "')");
      }
    }
    assertEquals(name, expected, actual);
  }
}
