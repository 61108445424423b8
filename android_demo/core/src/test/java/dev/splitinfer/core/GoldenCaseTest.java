package dev.splitinfer.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;

import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;

/**
 * Every golden case, every step: the Java port must give the Python SDK's exact results (the
 * same strings, the same ids, the same float32 bits, the same kept words).
 */
@RunWith(Parameterized.class)
public class GoldenCaseTest {
  private final String name;
  private final Map<String, Object> c;
  private final WordPieceTokenizer tokenizer = Golden.tokenizer();

  public GoldenCaseTest(String name, Map<String, Object> c) {
    this.name = name;
    this.c = c;
  }

  @Parameters(name = "{0}")
  public static Collection<Object[]> cases() {
    return Golden.parameters("cases");
  }

  private String text() {
    return (String) c.get("text");
  }

  private List<String> words() {
    return Golden.strings(c.get("words"));
  }

  private int[] counts() {
    return Arrays.stream(Golden.intArrays(c.get("token_ids"))).mapToInt(ids -> ids.length).toArray();
  }

  private float[] tokenScores() {
    return Golden.floats(c.get("token_scores"));
  }

  @Test
  public void splitsWordsAndTheirWhitespaceLikePython() {
    Words words = Words.split(text());
    assertEquals(name, words(), words.words());
    assertEquals(name, Golden.strings(c.get("gaps")), words.gaps());
  }

  @Test
  public void tokenizesEachWordToTheSameIds() {
    int[][] expected = Golden.intArrays(c.get("token_ids"));
    List<String> words = words();
    int[][] actual = tokenizer.encodeWords(words);
    for (int i = 0; i < expected.length; i++) {
      if (!Arrays.equals(expected[i], actual[i])) {
        assertArrayEquals(name + " word " + i + " '" + Golden.escape(words.get(i)) + "'", expected[i], actual[i]);
      }
    }
    assertEquals(name, expected.length, actual.length);
  }

  @Test
  public void tokenizesTheQuestionToTheSameIds() {
    assertArrayEquals(name, Golden.ints(c.get("question_ids")), tokenizer.encode((String) c.get("question")));
  }

  @Test
  public void givenScoresAreTheSplitMixStreamOfTheCaseSeed() {
    long seed = (Long) c.get("score_seed");
    int levels = (int) (long) (Long) c.get("score_levels");
    float[] expected = tokenScores();
    assertArrayEquals(name, expected, SplitMix.scores(seed, expected.length, levels), 0f);
  }

  @Test
  public void averagesTokenScoresToTheSameFloat32Bits() {
    float[] expected = Golden.floats(c.get("word_scores"));
    int[] counts = counts();
    float[] actual = Selection.wordScores(tokenScores(), counts);
    assertEquals(name, expected.length, actual.length);
    for (int i = 0; i < expected.length; i++) {
      if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
        throw new AssertionError(name + " word " + i + " (" + counts[i] + " tokens): expected " + expected[i]
            + " but was " + actual[i]);
      }
    }
  }

  @Test
  public void forcesTheSameWords() {
    boolean[] actual = Selection.forcedMask(words(), Golden.strings(c.get("force")), (Boolean) c.get("keep_digits"));
    assertArrayEquals(name, Golden.booleans(c.get("forced")), actual);
  }

  @Test
  public void computesTheSameBudget() {
    int total = (int) (long) (Long) c.get("total_tokens");
    assertEquals(name, Arrays.stream(counts()).sum(), total);
    int budget = Selection.tokenBudget(total, Golden.optionalDouble(c.get("rate")),
        Golden.optionalInt(c.get("target_tokens")));
    assertEquals(name, (long) (Long) c.get("budget"), budget);
  }

  @Test
  public void cutsTheSameWindows() {
    int window = (int) (long) (Long) Golden.file().get("window_tokens");
    int[][] expected = Golden.intArrays(c.get("windows"));
    int[][] actual = Selection.chunkWords(counts(), window);
    assertEquals(name, expected.length, actual.length);
    for (int i = 0; i < expected.length; i++) {
      assertArrayEquals(name + " window " + i, expected[i], actual[i]);
    }
  }

  @Test
  public void keepsTheSameWordsFromTheGivenScores() {
    float[] scores = Selection.wordScores(tokenScores(), counts());
    boolean[] forced = Golden.booleans(c.get("forced"));
    int budget = (int) (long) (Long) c.get("budget");
    assertArrayEquals(name, Golden.ints(c.get("kept")), Selection.select(scores, counts(), forced, budget));
  }

  @Test
  public void joinsTheKeptWordsToTheSameText() {
    String actual = Words.split(text()).join(Golden.ints(c.get("kept")));
    assertEquals(name, Golden.escape((String) c.get("condensed")), Golden.escape(actual));
  }

  @Test
  public void condenserGivesTheSameResultEndToEnd() {
    int maxQuestionLen = (int) (long) (Long) Golden.file().get("max_question_len");
    GivenScores model = new GivenScores(tokenScores(), Golden.intArrays(c.get("token_ids")), 512);
    Condenser condenser = new Condenser(tokenizer, 512, maxQuestionLen, 0.5, model);
    Condenser.Options options = Condenser.Options.defaults()
        .withQuestion((String) c.get("question"))
        .withForce(Golden.strings(c.get("force")))
        .withKeepDigits((Boolean) c.get("keep_digits"));
    options = c.get("target_tokens") != null
        ? options.withTargetTokens(Golden.optionalInt(c.get("target_tokens")))
        : options.withRate(Golden.optionalDouble(c.get("rate")));
    Condenser.Result result = condenser.condense(text(), options);
    assertEquals(name, Golden.escape((String) c.get("condensed")), Golden.escape(result.condensed));
    assertArrayEquals(name, Golden.ints(c.get("kept")), result.kept);
    assertEquals(name, (long) (Long) c.get("total_tokens"), result.originalTokens);
    assertEquals(name, (long) (Long) c.get("kept_tokens"), result.condensedTokens);
    assertEquals(name, model.windowsWithTokens(), result.modelCalls);
    if (result.modelCalls > 0) {
      assertArrayEquals(
          name, Arrays.copyOf(Golden.ints(c.get("model_question_ids")), maxQuestionLen), model.lastQuestion);
    }
  }

  @Test
  public void condenserMatchesThePythonCondenserOnTheFormulaBundle() throws Exception {
    assertMatchesPythonCondenser("formula_condenser", false);
  }

  @Test
  public void condenserMatchesThePythonCondenserAtTheBundleDefaultRate() throws Exception {
    assertMatchesPythonCondenser("formula_condenser_default_rate", true);
  }

  @Test
  public void condenserSmoothsScoresLikeThePythonCondenserWithSelectionWeights() throws Exception {
    assertMatchesPythonCondenser("formula_condenser_selection", Golden.selectionBundle(), false);
  }

  @Test
  public void condenserReadsLineBreaksLikeThePythonCondenser() throws Exception {
    assertMatchesPythonCondenser("formula_condenser_line_breaks", Golden.lineBreaksBundle(), false);
  }

  @Test
  public void modelTokensPutTheLineBreakMarksOfThePythonSdkBeforeEachWord() {
    int[][] ids = Golden.intArrays(c.get("token_ids"));
    int[] marks = Golden.ints(c.get("line_break_marks"));
    int[][] model = Condenser.modelTokens(ids, Words.split(text()).gaps(), 7);
    assertEquals(name, ids.length, model.length);
    for (int i = 0; i < ids.length; i++) {
      assertEquals(name + " word " + i, marks[i] + ids[i].length, model[i].length);
      for (int m = 0; m < marks[i]; m++) {
        assertEquals(name + " word " + i, 7, model[i][m]);
      }
      assertArrayEquals(name + " word " + i, ids[i], Arrays.copyOfRange(model[i], marks[i], model[i].length));
    }
    assertSame(name, ids, Condenser.modelTokens(ids, Words.split(text()).gaps(), -1));
  }

  private void assertMatchesPythonCondenser(String key, boolean defaultRate) throws Exception {
    assertMatchesPythonCondenser(key, Golden.formulaBundle(), defaultRate);
  }

  private void assertMatchesPythonCondenser(String key, Bundle bundle, boolean defaultRate) {
    @SuppressWarnings("unchecked")
    Map<String, Object> expected = (Map<String, Object>) c.get(key);
    Condenser condenser = Condenser.fromBundle(bundle, new FormulaModel());
    Condenser.Options options = Condenser.Options.defaults()
        .withQuestion((String) c.get("question"))
        .withForce(Golden.strings(c.get("force")))
        .withKeepDigits((Boolean) c.get("keep_digits"));
    if (!defaultRate) {
      options = c.get("target_tokens") != null
          ? options.withTargetTokens(Golden.optionalInt(c.get("target_tokens")))
          : options.withRate(Golden.optionalDouble(c.get("rate")));
    }
    Condenser.Result result = condenser.condense(text(), options);
    assertEquals(name, Golden.escape((String) expected.get("text")), Golden.escape(result.condensed));
    assertArrayEquals(name, Golden.ints(expected.get("kept")), result.kept);
    assertEquals(name, (long) (Long) expected.get("original_tokens"), result.originalTokens);
    assertEquals(name, (long) (Long) expected.get("condensed_tokens"), result.condensedTokens);
  }
}
