package dev.splitinfer.core;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * The Java half of the differential test (android_demo/golden/differential.py): reads one case
 * per line on stdin (JSON, see fuzz_cases.py) and writes, per case, one JSON line of what the
 * core computes for each step, under the field names the Python side uses. A step that throws
 * gives {@code {"error": "invalid input"}} for an {@link InvalidInputException}, else {@code
 * {"error": "crash <class>: <message>"}}. Floats are written as their float32 bits (NaN as 0x7FC00000). Started by
 * {@code build.sh differential}; finds the vocabulary through {@code -Dsplitinfer.repo}.
 */
public final class DifferentialMain {
  private final WordPieceTokenizer tokenizer;

  private DifferentialMain(WordPieceTokenizer tokenizer) {
    this.tokenizer = tokenizer;
  }

  public static void main(String[] args) throws IOException {
    String vocab = new String(Files.readAllBytes(Paths.get(System.getProperty("splitinfer.repo", "."),
        "sdk/assets/vocab.txt")), StandardCharsets.UTF_8);
    DifferentialMain main = new DifferentialMain(WordPieceTokenizer.fromVocabText(vocab));
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PrintWriter out = new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      @SuppressWarnings("unchecked")
      Map<String, Object> c = (Map<String, Object>) Json.parse(line);
      StringBuilder json = new StringBuilder();
      write(json, main.outputs(c));
      out.println(json);
      out.flush();
    }
  }

  private Map<String, Object> outputs(Map<String, Object> c) {
    Map<String, Object> out = new LinkedHashMap<>();
    Case k = new Case(c, tokenizer);
    out.put("words", k.words.words());
    out.put("gaps", k.words.gaps());
    out.put("token_ids", k.ids);
    out.put("question_ids", guarded(() -> tokenizer.encode(k.question)));
    out.put("model_question_ids", guarded(k::modelQuestionIds));
    out.put("opening", guarded(() -> AnswerTypes.questionOpening(k.question)));
    out.put("forced", guarded(k::forced));
    out.put("budget", guarded(k::budget));
    out.put("windows", guarded(() -> Selection.chunkWords(k.counts, k.maxSeqLen)));
    out.put("line_break_marks", guarded(k::lineBreakMarks));
    out.put("segments", guarded(k::segments));
    out.put("segments_capped", guarded(() -> Segments.segmentWords(k.words.words(), k.words.gaps(), k.counts,
        k.maxWords, k.maxTokens)));
    out.put("name_spans", guarded(() -> Selection.nameSpans(k.words.words(), k.segments())));
    out.put("answer_kind", guarded(() -> Selection.answerKind(k.question,
        new AnswerTypes(k.answerWeight == null ? 0.1 : k.answerWeight))));
    out.put("number_words", guarded(() -> Selection.answerTypeWords(k.words.words(), k.segments(),
        AnswerTypes.NUMBERS)));
    out.put("title_words", guarded(k::titleWords));
    out.put("word_scores", guarded(k::wordScores));
    out.put("smoothed", guarded(() -> Selection.smoothScores(k.wordScores(), k.counts, k.segments(), k.weights())));
    out.put("titles_lifted", guarded(() -> withoutSignedZeros(Selection.liftTitles(k.wordScores(), k.words.words(),
        k.segments()))));
    out.put("selection_scores", guarded(k::selectionScoresWithoutSignedZeros));
    out.put("kept", guarded(k::kept));
    out.put("condensed", guarded(() -> k.words.join(k.kept())));
    out.put("join", guarded(() -> k.words.join(k.joinKept())));
    out.put("condenser", guarded(k::condense));
    out.put("manifest", guarded(() -> manifest(c.get("selection_manifest"), k.question)));
    return out;
  }

  // What SelectionWeights.fromManifest reads from a manifest whose "selection" is {@code entry},
  // and the kind of answer {@code question} asks for by its answer types.
  private static Map<String, Object> manifest(Object entry, String question) {
    Map<String, Object> manifest = new LinkedHashMap<>();
    manifest.put("selection", entry);
    Map<String, Object> out = new LinkedHashMap<>();
    SelectionWeights weights;
    try {
      weights = SelectionWeights.fromManifest(manifest);
    } catch (IllegalArgumentException e) {
      out.put("refused", e.getMessage());
      return out;
    }
    out.put("segment", Double.doubleToRawLongBits(weights.segment));
    out.put("document", Double.doubleToRawLongBits(weights.document));
    out.put("name_spans", weights.nameSpans);
    out.put("title_lift", weights.titleLift);
    Map<String, Object> types = null;
    if (weights.answerTypes != null) {
      types = new LinkedHashMap<>();
      types.put("weight", Double.doubleToRawLongBits(weights.answerTypes.weight));
      types.put("names", weights.answerTypes.names);
      types.put("numbers", weights.answerTypes.numbers);
      types.put("question_kind", Selection.answerKind(question, weights.answerTypes));
    }
    out.put("answer_types", types);
    return out;
  }

  // -0.0 as 0.0, as the Python side writes them (differential.py says why).
  private static float[] withoutSignedZeros(float[] scores) {
    float[] out = scores.clone();
    for (int i = 0; i < out.length; i++) {
      out[i] += 0.0f;
    }
    return out;
  }

  private static Object guarded(Supplier<Object> step) {
    try {
      return step.get();
    } catch (InvalidInputException e) {
      return error("invalid input");
    } catch (RuntimeException | StackOverflowError e) {
      return error("crash " + e.getClass().getSimpleName() + ": " + e.getMessage());
    }
  }

  private static Map<String, Object> error(String what) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("error", what);
    return out;
  }

  /** One case's inputs and the steps that read each other's results. */
  private static final class Case {
    final String text;
    final Words words;
    final int[][] ids;
    final int[] counts;
    final String question;
    final List<String> force;
    final boolean keepDigits;
    final Double rate;
    final Integer targetTokens;
    final long scoreSeed;
    final int scoreLevels;
    final int maxSeqLen;
    final int maxQuestionLen;
    final double defaultRate;
    final int lineBreakId;
    final double segmentWeight;
    final double documentWeight;
    final boolean nameSpans;
    final Double answerWeight;
    final boolean titleLift;
    final int maxWords;
    final int maxTokens;
    final List<Double> joinAt = new ArrayList<>();
    private final WordPieceTokenizer tokenizer;

    Case(Map<String, Object> c, WordPieceTokenizer tokenizer) {
      this.tokenizer = tokenizer;
      text = (String) c.get("text");
      words = Words.split(text);
      ids = tokenizer.encodeWords(words.words());
      counts = new int[ids.length];
      for (int i = 0; i < ids.length; i++) {
        counts[i] = ids[i].length;
      }
      question = (String) c.get("question");
      force = new ArrayList<>();
      for (Object entry : (List<?>) c.get("force")) {
        force.add((String) entry);
      }
      keepDigits = (Boolean) c.get("keep_digits");
      rate = c.get("rate") == null ? null : ((Number) c.get("rate")).doubleValue();
      targetTokens = c.get("target_tokens") == null ? null : integer(c, "target_tokens");
      scoreSeed = (Long) c.get("score_seed");
      scoreLevels = integer(c, "score_levels");
      maxSeqLen = integer(c, "max_seq_len");
      maxQuestionLen = integer(c, "max_question_len");
      defaultRate = ((Number) c.get("default_rate")).doubleValue();
      lineBreakId = integer(c, "line_break_id");
      segmentWeight = ((Number) c.get("segment_weight")).doubleValue();
      documentWeight = ((Number) c.get("document_weight")).doubleValue();
      nameSpans = (Boolean) c.get("name_spans");
      answerWeight = c.get("answer_weight") == null ? null : ((Number) c.get("answer_weight")).doubleValue();
      titleLift = (Boolean) c.get("title_lift");
      maxWords = integer(c, "max_words");
      maxTokens = integer(c, "max_tokens");
      for (Object p : (List<?>) c.get("join_at")) {
        joinAt.add(((Number) p).doubleValue());
      }
    }

    private static int integer(Map<String, Object> c, String key) {
      return (int) (long) (Long) c.get(key);
    }

    SelectionWeights weights() {
      return new SelectionWeights(segmentWeight, documentWeight, nameSpans,
          answerWeight == null ? null : new AnswerTypes(answerWeight), titleLift);
    }

    boolean[] forced() {
      return Selection.forcedMask(words.words(), force, keepDigits);
    }

    int budget() {
      int total = 0;
      for (int count : counts) {
        total += count;
      }
      Double r = rate == null && targetTokens == null ? (Double) defaultRate : rate;
      return Selection.tokenBudget(total, r, targetTokens);
    }

    Condenser condenser() {
      return new Condenser(tokenizer, maxSeqLen, maxQuestionLen, defaultRate, weights(), lineBreakId,
          new HashScores(scoreSeed, scoreLevels));
    }

    int[] modelQuestionIds() {
      return condenser().questionIds(question);
    }

    int[] lineBreakMarks() {
      int[][] model = Condenser.modelTokens(ids, words.gaps(), 7);
      int[] marks = new int[ids.length];
      for (int i = 0; i < ids.length; i++) {
        marks[i] = model[i].length - ids[i].length;
      }
      return marks;
    }

    List<Segments.Segment> segments() {
      return Segments.segmentWords(words.words(), words.gaps(), counts);
    }

    // Selection.titleWords of each header segment, in order.
    List<int[]> titleWords() {
      List<int[]> out = new ArrayList<>();
      for (Segments.Segment seg : segments()) {
        if (seg.header) {
          out.add(Selection.titleWords(words.words(), seg));
        }
      }
      return out;
    }

    float[] wordScores() {
      int total = 0;
      for (int count : counts) {
        total += count;
      }
      return Selection.wordScores(HashScores.tokenScores(scoreSeed, total, scoreLevels), counts);
    }

    float[] selectionScores() {
      return Selection.selectionScores(wordScores(), counts, words.words(), segments(), weights(), question);
    }

    float[] selectionScoresWithoutSignedZeros() {
      return withoutSignedZeros(selectionScores());
    }

    int[] kept() {
      return Selection.select(selectionScores(), counts, forced(), budget());
    }

    int[] joinKept() {
      TreeSet<Integer> kept = new TreeSet<>();
      int n = words.size();
      for (double p : joinAt) {
        kept.add((int) (p * n));
      }
      return n == 0 ? new int[0] : kept.stream().mapToInt(Integer::intValue).toArray();
    }

    Map<String, Object> condense() {
      Condenser condenser = condenser();
      Condenser.Options options = Condenser.Options.defaults()
          .withQuestion(question)
          .withForce(force)
          .withKeepDigits(keepDigits);
      if (targetTokens != null) {
        options = options.withTargetTokens(targetTokens);
      } else if (rate != null) {
        options = options.withRate(rate);
      }
      Condenser.Result result = condenser.condense(text, options);
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("text", result.condensed);
      out.put("kept", result.kept);
      out.put("original_tokens", result.originalTokens);
      out.put("condensed_tokens", result.condensedTokens);
      return out;
    }
  }

  /** JSON in ASCII: strings with \\u escapes, floats as their float32 bits, segments as arrays. */
  private static void write(StringBuilder out, Object value) {
    if (value == null) {
      out.append("null");
    } else if (value instanceof String) {
      out.append('"');
      String s = (String) value;
      for (int i = 0; i < s.length(); i++) {
        char ch = s.charAt(i);
        if (ch == '"' || ch == '\\') {
          out.append('\\').append(ch);
        } else if (ch >= 0x20 && ch < 0x7f) {
          out.append(ch);
        } else {
          out.append(String.format("\\u%04x", (int) ch));
        }
      }
      out.append('"');
    } else if (value instanceof Boolean || value instanceof Integer || value instanceof Long) {
      out.append(value);
    } else if (value instanceof Map) {
      out.append('{');
      String sep = "";
      for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
        out.append(sep);
        write(out, String.valueOf(e.getKey()));
        out.append(':');
        write(out, e.getValue());
        sep = ",";
      }
      out.append('}');
    } else if (value instanceof Segments.Segment) {
      Segments.Segment s = (Segments.Segment) value;
      out.append('[').append(s.start).append(',').append(s.end).append(',').append(s.doc).append(',')
          .append(s.header ? 1 : 0).append(']');
    } else {
      List<Object> items = new ArrayList<>();
      if (value instanceof int[]) {
        for (int v : (int[]) value) {
          items.add(v);
        }
      } else if (value instanceof boolean[]) {
        for (boolean v : (boolean[]) value) {
          items.add(v);
        }
      } else if (value instanceof float[]) {
        for (float v : (float[]) value) {
          items.add(Integer.toUnsignedLong(Float.floatToIntBits(v))); // one NaN, as the Python side writes
        }
      } else if (value instanceof Object[]) {
        for (Object v : (Object[]) value) {
          items.add(v);
        }
      } else if (value instanceof List) {
        items.addAll((List<?>) value);
      } else {
        throw new IllegalArgumentException("cannot write " + value.getClass());
      }
      out.append('[');
      for (int i = 0; i < items.size(); i++) {
        out.append(i > 0 ? "," : "");
        write(out, items.get(i));
      }
      out.append(']');
    }
  }
}
