package dev.splitinfer.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;

import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.Test;
import org.junit.experimental.runners.Enclosed;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;

/**
 * The answer types against the SDK (android_demo/golden/selection_vectors.py): the kind a
 * question asks for, the words of each kind and their lifted float32 bits, and the answer types
 * a manifest gives or the message it is refused with.
 */
@RunWith(Enclosed.class)
public class GoldenAnswerTypesTest {
  /**
   * Every {@code answer_kinds} vector: {@link Selection#answerKind} gives the SDK's {@code
   * answer_kind}, and the question opens as {@code question_opening} reads it.
   */
  @RunWith(Parameterized.class)
  public static class Kinds {
    private final String name;
    private final Map<String, Object> v;

    public Kinds(String name, Map<String, Object> v) {
      this.name = name;
      this.v = v;
    }

    @Parameters(name = "{0}")
    public static Collection<Object[]> vectors() {
      return Golden.parameters("answer_kinds");
    }

    @Test
    public void findsTheKindTheQuestionAsksFor() {
      String question = (String) v.get("question");
      String label = name + " (" + (question == null ? "null" : "'" + Golden.escape(question) + "'") + ")";
      AnswerTypes types = AnswerTypes.fromManifest(v.get("types"));
      if (question != null) {
        assertEquals(label, v.get("opening"), AnswerTypes.questionOpening(question));
      }
      assertEquals(label, v.get("kind"), Selection.answerKind(question, types));
    }
  }

  /**
   * Every {@code answer_types} vector: {@link Selection#answerTypeWords} marks the SDK's names and
   * numbers, and {@link Selection#liftAnswerType} gives {@code lift_answer_type}'s float32 bits
   * for a "who" question, a "how many" one and one that asks for neither.
   */
  @RunWith(Parameterized.class)
  public static class Lifts {
    private final String name;
    private final Map<String, Object> v;

    public Lifts(String name, Map<String, Object> v) {
      this.name = name;
      this.v = v;
    }

    @Parameters(name = "{0}")
    public static Collection<Object[]> vectors() {
      return Golden.parameters("answer_types");
    }

    @Test
    public void marksTheSameWordsAndLiftsThemToTheSameBits() {
      List<String> words = Golden.strings(v.get("words"));
      List<Segments.Segment> segments = GoldenSegmentsTest.segments(v.get("segments"));
      for (String kind : AnswerTypes.KINDS) {
        assertArrayEquals(name + " " + kind, Golden.booleans(v.get(kind)),
            Selection.answerTypeWords(words, segments, kind));
      }
      float[] scores = Golden.floats(v.get("scores"));
      AnswerTypes types = new AnswerTypes(((Number) v.get("weight")).doubleValue());
      for (Map.Entry<?, ?> lift : ((Map<?, ?>) v.get("lifted")).entrySet()) {
        String question = (String) lift.getKey();
        Golden.assertSameBits(name + " '" + question + "'", Golden.floats(lift.getValue()),
            Selection.liftAnswerType(scores, words, segments, question, types));
      }
    }
  }

  /**
   * Every {@code answer_type_manifests} vector: {@link SelectionWeights#fromManifest} refuses the
   * manifest's {@code selection} with the SDK's message, word for word, or reads the same answer
   * types (none for null) and the same {@code title_lift} flag.
   */
  @RunWith(Parameterized.class)
  public static class Manifests {
    private final String name;
    private final Map<String, Object> v;

    public Manifests(String name, Map<String, Object> v) {
      this.name = name;
      this.v = v;
    }

    @Parameters(name = "{0}")
    public static Collection<Object[]> vectors() {
      return Golden.parameters("answer_type_manifests");
    }

    @Test
    public void refusesWithTheSameMessageOrReadsTheSameAnswerTypes() {
      Map<String, Object> manifest = Collections.singletonMap("selection", v.get("selection"));
      if (v.containsKey("error")) {
        String message = assertThrows(name, IllegalArgumentException.class,
            () -> SelectionWeights.fromManifest(manifest)).getMessage();
        assertEquals(name, v.get("error"), message);
        return;
      }
      SelectionWeights weights = SelectionWeights.fromManifest(manifest);
      assertEquals(name, v.get("title_lift"), weights.titleLift);
      AnswerTypes types = weights.answerTypes;
      Map<?, ?> expected = (Map<?, ?>) v.get("answer_types");
      if (expected == null) {
        assertNull(name, types);
        return;
      }
      assertEquals(name, ((Number) expected.get("weight")).doubleValue(), types.weight, 0.0);
      assertEquals(name, expected.get("names"), types.names);
      assertEquals(name, expected.get("numbers"), types.numbers);
    }
  }
}
