package dev.splitinfer.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.junit.Test;

/**
 * Selection behaviour the golden vectors cannot carry (NaN, -0.0) or that is about bad calls,
 * and the title lift's first-word rule word by word.
 */
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

  // Found by the differential test: numpy 2's pairwise_sum starts a short run at -0.0, so a
  // word whose scores are all -0.0 averages to -0.0, not 0.0.
  @Test
  public void aWordOfNegativeZeroScoresAveragesToNegativeZeroAsNumpyDoes() {
    for (int n : new int[] {1, 2, 3, 8, 9, 10, 130, 300}) {
      float[] scores = new float[n];
      Arrays.fill(scores, -0.0f);
      float mean = Selection.wordScores(scores, new int[] {n})[0];
      assertEquals(n + " tokens", Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(mean));
    }
  }

  @Test
  public void badCallsAreRejected() {
    assertThrows(IllegalArgumentException.class, () -> Selection.chunkWords(new int[] {1}, 0));
    assertThrows(IllegalArgumentException.class, () -> Selection.wordScores(new float[2], new int[] {1}));
    assertThrows(IllegalArgumentException.class,
        () -> Selection.select(new float[2], new int[] {1}, new boolean[2], 1));
  }

  @Test
  public void zeroSelectionWeightsLeaveTheScoresAlone() {
    float[] scores = {0.9f, 0.1f, -0.0f, Float.NaN};
    List<Segments.Segment> one = Collections.singletonList(new Segments.Segment(0, 4, 0, false));
    float[] out = Selection.smoothScores(scores, new int[] {1, 2, 3, 4}, one, SelectionWeights.NONE);
    assertArrayEquals(scores, out, 0f);
    assertNotSame(scores, out);
  }

  @Test
  public void smoothingBlendsOwnSentenceAndDocumentScores() {
    // Sentence [0, 2) of tokens 1 and 3: mean (0.8 + 3 * 0.4) / 4 = 0.5; sentence [2, 3): 0.2;
    // the document's best sentence: 0.5. Word 0: 0.2 * 0.8 + 0.6 * 0.5 + 0.2 * 0.5 = 0.56.
    List<Segments.Segment> segments = Arrays.asList(
        new Segments.Segment(0, 2, 0, false), new Segments.Segment(2, 3, 0, false));
    float[] out = Selection.smoothScores(new float[] {0.8f, 0.4f, 0.2f}, new int[] {1, 3, 1}, segments,
        new SelectionWeights(0.6, 0.2));
    assertArrayEquals(new float[] {0.56f, 0.48f, 0.26f}, out, 1e-6f);
  }

  @Test
  public void answerTypesMadeInCodeAreCheckedAsTheManifestsAre() {
    assertEquals("answer_types weight must be a number in (0, 1], got 0.0",
        assertThrows(IllegalArgumentException.class, () -> new AnswerTypes(0.0)).getMessage());
    List<String> when = Collections.singletonList("when");
    assertEquals("answer_types names must be a non-empty list of question openings",
        assertThrows(IllegalArgumentException.class,
            () -> new AnswerTypes(0.1, Collections.<String>emptyList(), when)).getMessage());
    assertEquals("answer_types numbers has 'how many?'; write it as words are compared, 'how many': case-folded, "
        + "without edge punctuation, one space apart", assertThrows(IllegalArgumentException.class,
            () -> new AnswerTypes(0.1, Arrays.asList("who"), Arrays.asList("when", "how many?"))).getMessage());
    assertEquals("answer_types names has ' '; an opening is one or more words",
        assertThrows(IllegalArgumentException.class,
            () -> new AnswerTypes(0.1, Arrays.asList("who", " "), when)).getMessage());
    assertEquals("answer_types names has None; an opening is one or more words",
        assertThrows(IllegalArgumentException.class,
            () -> new AnswerTypes(0.1, Arrays.asList((String) null), when)).getMessage());
    assertEquals("answer_types opening 'when' is in names and in numbers",
        assertThrows(IllegalArgumentException.class, () -> new AnswerTypes(0.1, when, when)).getMessage());
    assertEquals("answer_types opening 'when' is twice in numbers",
        assertThrows(IllegalArgumentException.class,
            () -> new AnswerTypes(0.1, Arrays.asList("who"), Arrays.asList("when", "how many", "when"))).getMessage());
  }

  @Test
  public void theWordsOfAnotherKindAreNoneToMark() {
    List<String> words = Arrays.asList("In", "1994");
    List<Segments.Segment> one = Collections.singletonList(new Segments.Segment(0, 2, 0, false));
    assertEquals("answer kind must be one of names, numbers, got 'dates'",
        assertThrows(IllegalArgumentException.class, () -> Selection.answerTypeWords(words, one, "dates")).getMessage());
    assertEquals("answer kind must be one of names, numbers, got None",
        assertThrows(IllegalArgumentException.class, () -> Selection.answerTypeWords(words, one, null)).getMessage());
  }

  @Test
  public void liftingTheAnswerTypeLeavesItsInputAloneAndNeedsAScorePerWord() {
    List<String> words = Arrays.asList("Oliver", "Stone", "won", "on", "March", "10,", "1994.");
    List<Segments.Segment> one = Collections.singletonList(new Segments.Segment(0, 7, 0, false));
    float[] scores = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f};
    AnswerTypes types = new AnswerTypes(0.5);
    // A "when" question lifts "1994." and the whole name "March 10," for its digit; "Oliver
    // Stone" has none and is left as it is.
    float[] lifted = Selection.liftAnswerType(scores, words, one, "When?", types);
    assertArrayEquals(new float[] {0.1f, 0.2f, 0.3f, 0.4f, 0.5f + 0.5f, 0.6f + 0.5f, 0.7f + 0.5f}, lifted, 0f);
    assertArrayEquals(new float[] {0.1f + 0.5f, 0.2f + 0.5f, 0.3f, 0.4f, 0.5f + 0.5f, 0.6f + 0.5f, 0.7f},
        Selection.liftAnswerType(scores, words, one, "Who won?", types), 0f);
    assertArrayEquals(new float[] {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f}, scores, 0f);
    assertNotSame(scores, Selection.liftAnswerType(scores, words, one, null, types));
    assertThrows(IllegalArgumentException.class,
        () -> Selection.liftAnswerType(new float[2], words, one, "who", types));
  }

  @Test
  public void liftingTitlesLeavesItsInputAloneAndNeedsAScorePerWord() {
    List<String> words = Arrays.asList("##", "Title", "text", "here.");
    List<Segments.Segment> segments = Arrays.asList(
        new Segments.Segment(0, 2, 0, true), new Segments.Segment(2, 4, 0, false));
    float[] scores = {0.1f, 0.2f, 0.7f, 0.3f};
    assertArrayEquals(new float[] {0.1f, 0.7f, 0.7f, 0.3f}, Selection.liftTitles(scores, words, segments), 0f);
    assertArrayEquals(new float[] {0.1f, 0.2f, 0.7f, 0.3f}, scores, 0f);
    assertNotSame(scores, Selection.liftTitles(scores, words, Collections.<Segments.Segment>emptyList()));
    assertEquals("scores and words must have one entry per word", assertThrows(IllegalArgumentException.class,
        () -> Selection.liftTitles(new float[3], words, segments)).getMessage());
  }

  // A title line over text that goes on with its sentence (its first word lower-case ASCII past
  // the opening quotes and brackets of Segments.OPENERS) is the first line of a hard-wrapped
  // paragraph or of code, and keeps its scores; over any other first word it is lifted.
  @Test
  public void titleLinesOverTextThatGoesOnWithItsSentenceAreNotLifted() {
    for (String first : new String[] {"month.", "\"a", "(b", "[c", "{d", "'e", "(\"[x", "z", "\u201cthe",
        "\u00aba"}) {
      assertArrayEquals(first, new float[] {0.1f, 0.2f, 0.9f, 0.3f}, liftOver(first), 0f);
    }
    for (String first : new String[] {"Month.", "42", "\u00e9t\u00e9", "\"(", "\u201cThe", "", "_x", "\uff54he",
        "\ud835\udc1a", "`a", "<a", "-a"}) {
      assertArrayEquals(first, new float[] {0.9f, 0.9f, 0.9f, 0.3f}, liftOver(first), 0f);
    }
    // A Markdown heading (its marks left out) and a header (its wrapper left out) are lifted
    // over lower-case text; a "Document [n](Title:" of two words is no header, but a title line.
    List<Segments.Segment> two = Arrays.asList(
        new Segments.Segment(0, 2, 0, true), new Segments.Segment(2, 4, 0, false));
    float[] scores = {0.1f, 0.2f, 0.9f, 0.3f};
    assertArrayEquals(new float[] {0.1f, 0.9f, 0.9f, 0.3f},
        Selection.liftTitles(scores, Arrays.asList("##", "Heading", "lower", "text."), two), 0f);
    assertArrayEquals(new float[] {0.1f, 0.2f, 0.9f, 0.3f},
        Selection.liftTitles(scores, Arrays.asList("Document", "[1](Title:", "lower", "text."), two), 0f);
    assertArrayEquals(new float[] {0.1f, 0.2f, 0.9f, 0.9f, 0.3f},
        Selection.liftTitles(new float[] {0.1f, 0.2f, 0.3f, 0.9f, 0.3f},
            Arrays.asList("Document", "[1](Title:", "X)", "lower", "text."),
            Arrays.asList(new Segments.Segment(0, 3, 0, true), new Segments.Segment(3, 5, 0, false))), 0f);
    // The first word is that of the document's first text segment in segment order, empty
    // segments passed over: "Upper." here, not "lower" (first in the text), so it is lifted.
    List<String> words = Arrays.asList("Title", "line", "lower", "Upper.");
    List<Segments.Segment> unordered = Arrays.asList(new Segments.Segment(0, 2, 0, true),
        new Segments.Segment(2, 2, 0, false), new Segments.Segment(3, 4, 0, false),
        new Segments.Segment(2, 3, 0, false));
    assertArrayEquals(new float[] {0.9f, 0.9f, 0.9f, 0.3f},
        Selection.liftTitles(new float[] {0.1f, 0.2f, 0.9f, 0.3f}, words, unordered), 0f);
  }

  // Scores of a title line "Title line" over a text of two words, "first" and "text.".
  private static float[] liftOver(String first) {
    return Selection.liftTitles(new float[] {0.1f, 0.2f, 0.9f, 0.3f},
        Arrays.asList("Title", "line", first, "text."),
        Arrays.asList(new Segments.Segment(0, 2, 0, true), new Segments.Segment(2, 4, 0, false)));
  }

  // NaN as numpy and Python compute it: a segment's max and a title's maximum propagate NaN, and
  // a document's best is Python's max(best, top), which keeps a NaN from its first segment and
  // passes over one from a later segment.
  @Test
  public void nanScoresLiftTitlesAsTheSdkDoes() {
    // Upper-case texts: a title line over lower-case text would not be lifted at all.
    List<String> words = Arrays.asList("A", "B.", "C.", "D", "E.", "F.");
    List<Segments.Segment> segments = Arrays.asList(
        new Segments.Segment(0, 1, 0, true), new Segments.Segment(1, 2, 0, false),
        new Segments.Segment(2, 3, 0, false), new Segments.Segment(3, 4, 1, true),
        new Segments.Segment(4, 5, 1, false), new Segments.Segment(5, 6, 1, false));
    float[] lifted = Selection.liftTitles(new float[] {0.1f, Float.NaN, 0.5f, 0.1f, 0.5f, Float.NaN}, words, segments);
    assertTrue(Float.isNaN(lifted[0]));
    assertEquals(0.5f, lifted[3], 0f);
    lifted = Selection.liftTitles(new float[] {Float.NaN, 0.2f, 0.5f, 0.1f, 0.5f, 0.2f}, words, segments);
    assertTrue(Float.isNaN(lifted[0]));
  }

  @Test
  public void selectionWeightsMustBeNumbersInTheUnitIntervalSummingToAtMostOne() {
    assertEquals("segment_weight must be a number in [0, 1], got 1.5",
        assertThrows(IllegalArgumentException.class, () -> new SelectionWeights(1.5, 0.0)).getMessage());
    assertEquals("document_weight must be a number in [0, 1], got NaN",
        assertThrows(IllegalArgumentException.class, () -> new SelectionWeights(0.0, Double.NaN)).getMessage());
    assertEquals("segment_weight + document_weight must be at most 1, got 0.7 + 0.4",
        assertThrows(IllegalArgumentException.class, () -> new SelectionWeights(0.7, 0.4)).getMessage());
  }
}
