package dev.splitinfer.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/** The tokenizer over every code point, and the golden file's own preconditions. */
public class GoldenUnicodeTest {
  @Test
  public void vectorsWereMadeWithTheVocabularyInTheRepository() throws Exception {
    byte[] vocab = Files.readAllBytes(Golden.repo().resolve((String) Golden.file().get("vocab")));
    assertEquals("sdk/assets/vocab.txt changed since the golden vectors were made: run 'make golden'",
        Golden.file().get("vocab_sha256"), Bundle.sha256Hex(vocab));
  }

  @Test
  public void unicodeTablesComeFromTheSameUnicodeVersionAsTheVectors() {
    @SuppressWarnings("unchecked")
    Map<String, Object> sweep = (Map<String, Object>) Golden.file().get("unicode_sweep");
    assertEquals("unicode_tables.txt and golden_vectors.json are from different runs: run 'make golden'",
        sweep.get("unidata"), UnicodeTables.get().unidataVersion);
  }

  @Test
  public void tokenizesEveryCodePointLikePython() throws Exception {
    @SuppressWarnings("unchecked")
    Map<String, Object> sweep = (Map<String, Object>) Golden.file().get("unicode_sweep");
    int block = (int) (long) (Long) sweep.get("block");
    int chunk = (int) (long) (Long) sweep.get("chunk");
    List<String> expected = Golden.strings(sweep.get("fingerprints"));
    WordPieceTokenizer tokenizer = Golden.tokenizer();
    List<String> differing = new ArrayList<>();
    for (int b = 0; b < expected.size(); b++) {
      String actual = fingerprint(tokenizer, b * block, Math.min((b + 1) * block, 0x110000), chunk);
      if (!actual.equals(expected.get(b))) {
        differing.add(String.format("U+%04X..U+%04X", b * block, (b + 1) * block - 1));
      }
    }
    assertEquals(0x110000 / block, expected.size());
    if (!differing.isEmpty()) {
      fail("the tokenizer differs from Python in blocks " + differing);
    }
  }

  // The same fingerprint as android_demo/golden/unicode_tables.sweep.
  private static String fingerprint(WordPieceTokenizer tokenizer, int from, int to, int chunk) throws Exception {
    MessageDigest digest = MessageDigest.getInstance("SHA-256");
    int[] cps = java.util.stream.IntStream.range(from, to).filter(cp -> cp < 0xD800 || cp > 0xDFFF).toArray();
    for (int i = 0; i < cps.length; i += chunk) {
      String text = new String(cps, i, Math.min(chunk, cps.length - i));
      for (String word : Words.split(text).words()) {
        StringBuilder ids = new StringBuilder();
        for (int id : tokenizer.encodeWord(word)) {
          ids.append(ids.length() == 0 ? "" : ",").append(id);
        }
        String record = String.join("\u0001", tokenizer.basicPieces(word)) + "\u0002" + ids + "\u0003";
        digest.update(record.getBytes(StandardCharsets.UTF_8));
      }
    }
    StringBuilder hex = new StringBuilder();
    for (byte x : digest.digest()) {
      hex.append(String.format("%02x", x & 0xff));
    }
    return hex.substring(0, 16);
  }

  @Test
  public void rejectsTheSameBudgetRequestsAsPython() {
    List<Map<String, Object>> errors = Golden.list("errors");
    assertTrue(errors.size() >= 5);
    for (Map<String, Object> e : errors) {
      try {
        Selection.tokenBudget((int) (long) (Long) e.get("total_tokens"), Golden.optionalDouble(e.get("rate")),
            Golden.optionalInt(e.get("target_tokens")));
        fail(e.get("name") + ": expected InvalidInputException");
      } catch (InvalidInputException expected) {
        assertEquals("InvalidInputError", e.get("error"));
      }
    }
  }
}
