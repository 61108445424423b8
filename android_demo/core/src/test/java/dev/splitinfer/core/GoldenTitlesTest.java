package dev.splitinfer.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;

/**
 * Every {@code titles} vector (android_demo/golden/selection_vectors.py): {@link
 * Selection#titleWords} finds the SDK's {@code title_words} of each header segment, {@link
 * Selection#liftTitles} gives {@code lift_titles}'s float32 bits exactly, and, where the vector
 * has them, {@link Selection#selectionScores} with every rule on (the manifest entry it carries:
 * the bundled weights, name spans, answer types and title lift) gives {@code
 * selection_scores}'s bits for a "who" question, a "how many" one and one that asks for neither.
 */
@RunWith(Parameterized.class)
public class GoldenTitlesTest {
  private final String name;
  private final Map<String, Object> v;

  public GoldenTitlesTest(String name, Map<String, Object> v) {
    this.name = name;
    this.v = v;
  }

  @Parameters(name = "{0}")
  public static Collection<Object[]> vectors() {
    return Golden.parameters("titles");
  }

  @Test
  public void findsTheSameTitlesAndLiftsThemToTheSameBits() {
    List<String> words = Golden.strings(v.get("words"));
    List<Segments.Segment> segments = GoldenSegmentsTest.segments(v.get("segments"));
    List<int[]> titles = new ArrayList<>();
    for (Segments.Segment seg : segments) {
      if (seg.header) {
        titles.add(Selection.titleWords(words, seg));
      }
    }
    assertEquals(name, Arrays.deepToString(Golden.intArrays(v.get("titles"))),
        Arrays.deepToString(titles.toArray(new int[0][])));
    float[] scores = Golden.floats(v.get("scores"));
    Golden.assertSameBits(name, Golden.floats(v.get("lifted")), Selection.liftTitles(scores, words, segments));
  }

  @Test
  public void liftsTheTitlesLastWithEveryOtherRule() {
    if (!v.containsKey("combined")) {
      return; // a hand-made vector whose segments smoothing would refuse
    }
    List<String> words = Golden.strings(v.get("words"));
    List<Segments.Segment> segments = GoldenSegmentsTest.segments(v.get("segments"));
    float[] scores = Golden.floats(v.get("scores"));
    int[] counts = Golden.ints(v.get("counts"));
    SelectionWeights all = SelectionWeights.fromManifest(Collections.singletonMap("selection", v.get("selection")));
    assertTrue(name, all.titleLift && all.nameSpans && all.answerTypes != null && all.blends());
    for (Map.Entry<?, ?> combined : ((Map<?, ?>) v.get("combined")).entrySet()) {
      String question = (String) combined.getKey();
      Golden.assertSameBits(name + " '" + question + "'", Golden.floats(combined.getValue()),
          Selection.selectionScores(scores, counts, words, segments, all, question));
    }
  }
}
