package dev.splitinfer.core;

import static org.junit.Assert.assertEquals;

import java.util.Collection;
import java.util.Map;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;

/**
 * Every {@code joins} vector: {@link Words#join} gives the SDK's {@code join_words} text for the
 * kept words, including the gap a kept word takes when the words after it were dropped.
 */
@RunWith(Parameterized.class)
public class GoldenJoinTest {
  private final String name;
  private final Map<String, Object> v;

  public GoldenJoinTest(String name, Map<String, Object> v) {
    this.name = name;
    this.v = v;
  }

  @Parameters(name = "{0}")
  public static Collection<Object[]> vectors() {
    return Golden.parameters("joins");
  }

  @Test
  public void joinsToTheSameText() {
    String actual = Words.split((String) v.get("text")).join(Golden.ints(v.get("kept")));
    assertEquals(name, Golden.escape((String) v.get("condensed")), Golden.escape(actual));
  }
}
