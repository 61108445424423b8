package dev.splitinfer.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CancellationException;
import org.junit.Test;

/** How the condenser feeds the model: windows, padding, the question, failures. */
public class CondenserTest {
  // ids: [PAD]=0 [UNK]=1 a=2 b=3 ##b=4 q=5
  private final WordPieceTokenizer tokenizer =
      new WordPieceTokenizer(List.of("[PAD]", "[UNK]", "a", "b", "##b", "q"));

  /** Records every call and answers a constant score. */
  private static class Recorder implements ScoreModel {
    final List<int[]> contexts = new ArrayList<>();
    final List<int[]> questions = new ArrayList<>();
    final float score;
    final int length;

    Recorder(float score, int length) {
      this.score = score;
      this.length = length;
    }

    @Override
    public float[] score(int[] contextIds, int[] questionIds) {
      contexts.add(contextIds.clone());
      questions.add(questionIds.clone());
      float[] out = new float[length];
      Arrays.fill(out, score);
      return out;
    }
  }

  @Test
  public void rejectsWhatTheSdkRejectsAndAcceptsANullForceList() {
    Condenser condenser = new Condenser(tokenizer, 4, 2, 0.5, new Recorder(0.5f, 4));
    Condenser.Options options = Condenser.Options.defaults();
    assertTrue(assertThrows(InvalidInputException.class, () -> condenser.condense(null, options))
        .getMessage().contains("context must be a String"));
    assertTrue(assertThrows(InvalidInputException.class, () -> condenser.condense("a \uD83D b", options))
        .getMessage().contains("lone surrogate U+D83D at character 2"));
    assertTrue(assertThrows(InvalidInputException.class,
        () -> condenser.condense("a", options.withQuestion("q \uDE00"))).getMessage().contains("question"));
    assertEquals("a", condenser.condense("a \uD83D\uDE00", options.withRate(0.5)).condensed);
    assertEquals("a bb", condenser.condense("a bb", options.withForce(null).withRate(1.0)).condensed);
    assertThrows(InvalidInputException.class, () -> options.withForce(Arrays.asList("a", null)));
    assertTrue(assertThrows(InvalidInputException.class,
        () -> condenser.condense("a b", options.withForce(Arrays.asList("a", "\uD800")))).getMessage()
        .contains("force[1]"));
  }

  @Test
  public void anInterruptedThreadStopsBeforeTheNextWindow() {
    // Windows of 2 tokens: "a a a a a a" takes 3 model runs; the second interrupts.
    Recorder recorder = new Recorder(0.5f, 2) {
      @Override
      public float[] score(int[] contextIds, int[] questionIds) {
        if (contexts.size() == 1) {
          Thread.currentThread().interrupt();
        }
        return super.score(contextIds, questionIds);
      }
    };
    Condenser condenser = new Condenser(tokenizer, 2, 2, 0.5, recorder);
    try {
      CancellationException stopped = assertThrows(CancellationException.class,
          () -> condenser.condense("a a a a a a", Condenser.Options.defaults()));
      assertEquals("condensing was interrupted after 2 of 3 model windows", stopped.getMessage());
      assertEquals(2, recorder.contexts.size());
      assertTrue(Thread.currentThread().isInterrupted());
    } finally {
      Thread.interrupted();
    }
    assertEquals(3, condenser.condense("a a a a a a", Condenser.Options.defaults()).modelCalls);
  }

  @Test
  public void fillsEachWindowWithWholeWordsPaddedWithZero() {
    Recorder model = new Recorder(0.5f, 4);
    new Condenser(tokenizer, 4, 2, 0.5, model).condense("a bb a a", Condenser.Options.defaults());
    assertEquals(2, model.contexts.size());
    assertArrayEquals(new int[] {2, 3, 4, 2}, model.contexts.get(0));
    assertArrayEquals(new int[] {2, 0, 0, 0}, model.contexts.get(1));
  }

  @Test
  public void aWordLongerThanTheWindowIsScoredByTheTokensTheModelSaw() {
    // Window 1 is "bbbbbb" alone (6 tokens, the model sees 4, each 0.9); window 2 is "a" (0.7).
    float[][] answers = {{0.9f, 0.9f, 0.9f, 0.9f}, {0.7f, 0f, 0f, 0f}};
    int[] call = {0};
    ScoreModel model = (context, question) -> answers[call[0]++];
    Condenser condenser = new Condenser(tokenizer, 4, 2, 0.5, model);
    Condenser.Result result = condenser.condense("bbbbbb a", Condenser.Options.defaults().withTargetTokens(6));
    // Mean of the seen tokens, 0.9, beats "a": the long word is taken and fills the budget. (Had
    // the unseen tokens counted 0, it would score 0.6, "a" would go first and the word not fit.)
    assertArrayEquals(new int[] {0}, result.kept);
    assertEquals(7, result.originalTokens);
    assertEquals(6, result.condensedTokens);
    assertEquals(2, result.modelCalls);
  }

  @Test
  public void aLongQuestionIsReadByItsFirstAndLastTokensAndAShortOnePadded() {
    Recorder model = new Recorder(0.5f, 4);
    Condenser condenser = new Condenser(tokenizer, 4, 3, 0.5, model);
    condenser.condense("a", Condenser.Options.defaults().withQuestion("q a b a q"));
    condenser.condense("a", Condenser.Options.defaults().withQuestion("q"));
    assertArrayEquals(new int[] {5, 2, 5}, model.questions.get(0));
    assertArrayEquals(new int[] {5, 0, 0}, model.questions.get(1));
  }

  @Test
  public void anEmptyContextNeverRunsTheModel() {
    Recorder model = new Recorder(0.5f, 4);
    Condenser.Result result = new Condenser(tokenizer, 4, 2, 0.5, model).condense(" \n", Condenser.Options.defaults());
    assertTrue(model.contexts.isEmpty());
    assertEquals("", result.condensed);
    assertEquals(1f, result.achievedRate(), 0f);
  }

  @Test
  public void anInvalidRateFailsBeforeTheModelRuns() {
    Recorder model = new Recorder(0.5f, 4);
    Condenser condenser = new Condenser(tokenizer, 4, 2, 0.5, model);
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> condenser.condense("a b", Condenser.Options.defaults().withRate(1.5)));
    assertTrue(e.getMessage().contains("rate must be in (0, 1]"));
    assertTrue(model.contexts.isEmpty());
  }

  @Test
  public void withoutRateOrTargetTheDefaultRateApplies() {
    Condenser condenser = new Condenser(tokenizer, 8, 2, 0.25, new Recorder(0.5f, 8));
    Condenser.Result result = condenser.condense("a a a a a a a a", Condenser.Options.defaults());
    assertEquals(2, result.condensedTokens);
    assertEquals(0.25f, result.achievedRate(), 0f);
    assertEquals(6, result.tokensSaved());
  }

  @Test
  public void aModelReturningTooFewScoresIsAClearError() {
    Condenser condenser = new Condenser(tokenizer, 4, 2, 0.5, new Recorder(0.5f, 2));
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> condenser.condense("a a a", Condenser.Options.defaults()));
    assertTrue(e.getMessage(), e.getMessage().contains("returned 2 scores for a window of 3 tokens"));
  }
}
