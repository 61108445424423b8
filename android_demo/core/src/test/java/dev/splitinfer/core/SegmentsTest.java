package dev.splitinfer.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.Test;

/** The segment rules, one readable example each (the golden vectors cover the corners). */
public class SegmentsTest {
  private static List<Segments.Segment> segment(String text, int maxWords, int maxTokens) {
    Words words = Words.split(text);
    int[] ones = new int[words.size()];
    Arrays.fill(ones, 1);
    return Segments.segmentWords(words.words(), words.gaps(), ones, maxWords, maxTokens);
  }

  private static Segments.Segment seg(int start, int end, int doc, boolean header) {
    return new Segments.Segment(start, end, doc, header);
  }

  @Test
  public void aDocumentHeaderIsASegmentOfItsOwn() {
    List<Segments.Segment> segments = segment("Document [1](Title: A (b) c) Body here.", 48, 96);
    assertEquals(Arrays.asList(seg(0, 5, 0, true), seg(5, 7, 0, false)), segments);
  }

  @Test
  public void eachLineIsADocument() {
    List<Segments.Segment> segments = segment("One.\r\nTwo.\n\nThree.", 48, 96);
    assertEquals(Arrays.asList(seg(0, 1, 0, false), seg(1, 2, 1, false), seg(2, 3, 2, false)), segments);
  }

  @Test
  public void abbreviationsAndInitialsDoNotEndASentence() {
    assertFalse(Segments.endsSentence("Mr.", "Smith"));
    assertFalse(Segments.endsSentence("U.S.", "Army"));
    assertFalse(Segments.endsSentence("J.", "Smith"));
    assertTrue(Segments.endsSentence("Smith.", "He"));
    assertTrue(Segments.endsSentence("said.\u201d", "\u201cNext"));
    assertFalse(Segments.endsSentence("said.", "next"));
  }

  @Test
  public void upperCaseAndDigitsAreWhatPythonCallsSo() {
    // Roman numeral one is Other_Uppercase, superscript two a digit but not decimal: Python's
    // isupper() and isdigit(), not Java's isDigit().
    assertTrue(Segments.endsSentence("end.", "\u2160"));
    assertTrue(Segments.endsSentence("end.", "\u00b2"));
    assertFalse(Segments.endsSentence("end.", "\u01c5x"));
  }

  @Test
  public void aLongSentenceIsCutIntoEqualPiecesRoundedHalfToEven() {
    assertEquals(Arrays.asList(seg(0, 2, 0, false), seg(2, 4, 0, false), seg(4, 6, 0, false)),
        segment("a b c d e f", 2, 96));
    // 6 words of 8 tokens, 2 tokens a piece: 4 pieces, bounds at 1.5, 3 and 4.5 words -> 2, 3, 4.
    Words words = Words.split("a b c d e f");
    List<Segments.Segment> byTokens = Segments.segmentWords(words.words(), words.gaps(),
        new int[] {1, 2, 1, 1, 2, 1}, 48, 2);
    assertEquals(Arrays.asList(seg(0, 2, 0, false), seg(2, 3, 0, false), seg(3, 4, 0, false), seg(4, 6, 0, false)),
        byTokens);
  }
}
