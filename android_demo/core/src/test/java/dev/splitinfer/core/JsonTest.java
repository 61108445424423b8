package dev.splitinfer.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.Test;

public class JsonTest {
  @Test
  public void parsesObjectsArraysAndScalarsInOrder() {
    Object parsed = Json.parse(" {\"b\": [1, -2.5, true, false, null], \"a\": {\"x\": \"y\"}} ");
    @SuppressWarnings("unchecked")
    Map<String, Object> map = (Map<String, Object>) parsed;
    assertEquals(List.of("b", "a"), List.copyOf(map.keySet()));
    List<?> b = (List<?>) map.get("b");
    assertEquals(1L, b.get(0));
    assertEquals(-2.5, b.get(1));
    assertEquals(Boolean.TRUE, b.get(2));
    assertEquals(Boolean.FALSE, b.get(3));
    assertNull(b.get(4));
    assertEquals(Map.of("x", "y"), map.get("a"));
  }

  @Test
  public void integersAreLongsAndOtherNumbersDoublesLikePython() {
    assertEquals(List.of(0L, -7L, 1.0, 1e3, 0.1, 1e-7),
        Json.parse("[0, -7, 1.0, 1e3, 0.1, 1E-7]"));
    assertEquals(1e20, Json.parse("100000000000000000000"));
  }

  @Test
  public void aUnicodeEscapeTakesAsciiHexDigitsOnlyLikePython() {
    // Character.digit would read Arabic-Indic and full-width digits as hex digits.
    assertThrows(RuntimeException.class, () -> Json.parse("\"\\u\u0660\u0660\u0664\u0661\""));
    assertThrows(RuntimeException.class, () -> Json.parse("\"\\u00\uff14\uff11\""));
    assertEquals("A", Json.parse("\"\\u0041\""));
  }

  @Test
  public void decodesEscapesAndSurrogatePairs() {
    assertEquals("a\"\\/\b\f\n\r\t\u00e9\ud83d\ude00", Json.parse("\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\""));
  }

  @Test
  public void rejectsMalformedJsonWithAnOffset() {
    for (String bad : Arrays.asList("", "[1,]", "{\"a\" 1}", "[1] x", "\"open", "\"\\x\"", "\"a\u0001\"", "01",
        "-", "1.", "tru", "{1: 2}", "[1 2]")) {
      Json.ParseException e = assertThrows(bad, Json.ParseException.class, () -> Json.parse(bad));
      assertTrue(e.getMessage(), e.getMessage().contains("at offset"));
    }
  }

  @Test
  public void rejectsNestingDeeperThanTheLimitInsteadOfOverflowingTheStack() {
    String deep = "[".repeat(10_000) + "]".repeat(10_000);
    assertThrows(Json.ParseException.class, () -> Json.parse(deep));
  }
}
