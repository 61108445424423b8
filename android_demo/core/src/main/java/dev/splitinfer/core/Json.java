package dev.splitinfer.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small strict JSON (RFC 8259) reader, enough for the bundle manifest and the golden vectors,
 * so that {@code core} needs no library (Android has org.json, a desktop JVM does not).
 *
 * <p>{@link #parse} maps objects to {@code Map<String, Object>} (insertion order, unmodifiable),
 * arrays to {@code List<Object>} (unmodifiable), strings to {@code String}, {@code true}/{@code
 * false} to {@code Boolean}, {@code null} to {@code null}, and numbers to {@code Long} when
 * written without fraction or exponent and within range, else to {@code Double} (the same
 * split Python's {@code json} makes between int and float). {@code \}uXXXX escapes may form
 * surrogate pairs; lone surrogates are kept as they are, as Python does. Anything else, trailing
 * text included, is a {@link ParseException} that says where.
 */
public final class Json {
  /** Malformed JSON; the message gives the character offset. */
  public static final class ParseException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    ParseException(String message, int offset) {
      super(message + " at offset " + offset);
    }
  }

  private static final int MAX_DEPTH = 512;

  private final String text;
  private int pos;
  private int depth;

  private Json(String text) {
    this.text = text;
  }

  /** Parses one JSON value that spans the whole of {@code text} (surrounding whitespace aside). */
  public static Object parse(String text) {
    Json json = new Json(text);
    json.skipWhitespace();
    Object value = json.value();
    json.skipWhitespace();
    if (json.pos != text.length()) {
      throw new ParseException("unexpected text after the JSON value", json.pos);
    }
    return value;
  }

  private Object value() {
    if (pos >= text.length()) {
      throw new ParseException("unexpected end of JSON", pos);
    }
    char c = text.charAt(pos);
    switch (c) {
      case '{':
        return object();
      case '[':
        return array();
      case '"':
        return string();
      case 't':
        return literal("true", Boolean.TRUE);
      case 'f':
        return literal("false", Boolean.FALSE);
      case 'n':
        return literal("null", null);
      default:
        if (c == '-' || (c >= '0' && c <= '9')) {
          return number();
        }
        throw new ParseException("unexpected character '" + c + "'", pos);
    }
  }

  private Map<String, Object> object() {
    enter();
    pos++;
    Map<String, Object> map = new LinkedHashMap<>();
    skipWhitespace();
    if (peek() == '}') {
      pos++;
      depth--;
      return Collections.unmodifiableMap(map);
    }
    while (true) {
      skipWhitespace();
      if (peek() != '"') {
        throw new ParseException("expected a string key", pos);
      }
      String key = string();
      skipWhitespace();
      expect(':');
      skipWhitespace();
      map.put(key, value());
      skipWhitespace();
      if (peek() == ',') {
        pos++;
      } else {
        expect('}');
        depth--;
        return Collections.unmodifiableMap(map);
      }
    }
  }

  private List<Object> array() {
    enter();
    pos++;
    List<Object> list = new ArrayList<>();
    skipWhitespace();
    if (peek() == ']') {
      pos++;
      depth--;
      return Collections.unmodifiableList(list);
    }
    while (true) {
      skipWhitespace();
      list.add(value());
      skipWhitespace();
      if (peek() == ',') {
        pos++;
      } else {
        expect(']');
        depth--;
        return Collections.unmodifiableList(list);
      }
    }
  }

  private String string() {
    pos++;
    StringBuilder out = new StringBuilder();
    while (true) {
      if (pos >= text.length()) {
        throw new ParseException("unterminated string", pos);
      }
      char c = text.charAt(pos++);
      if (c == '"') {
        return out.toString();
      }
      if (c < 0x20) {
        throw new ParseException("raw control character in a string", pos - 1);
      }
      if (c != '\\') {
        out.append(c);
        continue;
      }
      if (pos >= text.length()) {
        throw new ParseException("unterminated escape", pos);
      }
      char e = text.charAt(pos++);
      switch (e) {
        case '"': out.append('"'); break;
        case '\\': out.append('\\'); break;
        case '/': out.append('/'); break;
        case 'b': out.append('\b'); break;
        case 'f': out.append('\f'); break;
        case 'n': out.append('\n'); break;
        case 'r': out.append('\r'); break;
        case 't': out.append('\t'); break;
        case 'u': out.append(hex4()); break;
        default: throw new ParseException("bad escape '\\" + e + "'", pos - 1);
      }
    }
  }

  private char hex4() {
    if (pos + 4 > text.length()) {
      throw new ParseException("short \\u escape", pos);
    }
    int v = 0;
    for (int i = 0; i < 4; i++) {
      // ASCII hex digits only, as JSON (and Python's json) has them: Character.digit would also
      // take Arabic-Indic and full-width digits.
      char c = text.charAt(pos + i);
      int d = c < 128 ? Character.digit(c, 16) : -1;
      if (d < 0) {
        throw new ParseException("bad \\u escape", pos);
      }
      v = v * 16 + d;
    }
    pos += 4;
    return (char) v;
  }

  private Object number() {
    int start = pos;
    if (peek() == '-') {
      pos++;
    }
    if (peek() == '0') {
      pos++;
    } else if (isDigit(peek())) {
      digits();
    } else {
      throw new ParseException("bad number", start);
    }
    boolean integral = true;
    if (peek() == '.') {
      integral = false;
      pos++;
      if (!isDigit(peek())) {
        throw new ParseException("bad number", start);
      }
      digits();
    }
    if (peek() == 'e' || peek() == 'E') {
      integral = false;
      pos++;
      if (peek() == '+' || peek() == '-') {
        pos++;
      }
      if (!isDigit(peek())) {
        throw new ParseException("bad number", start);
      }
      digits();
    }
    String literal = text.substring(start, pos);
    if (integral) {
      try {
        return Long.parseLong(literal);
      } catch (NumberFormatException tooBig) {
        return Double.parseDouble(literal);
      }
    }
    return Double.parseDouble(literal);
  }

  private void digits() {
    while (isDigit(peek())) {
      pos++;
    }
  }

  private static boolean isDigit(int c) {
    return c >= '0' && c <= '9';
  }

  private Object literal(String word, Object value) {
    if (!text.startsWith(word, pos)) {
      throw new ParseException("unexpected literal", pos);
    }
    pos += word.length();
    return value;
  }

  private void enter() {
    if (++depth > MAX_DEPTH) {
      throw new ParseException("JSON nested deeper than " + MAX_DEPTH, pos);
    }
  }

  private int peek() {
    return pos < text.length() ? text.charAt(pos) : -1;
  }

  private void expect(char c) {
    if (peek() != c) {
      throw new ParseException("expected '" + c + "'", pos);
    }
    pos++;
  }

  private void skipWhitespace() {
    while (pos < text.length()) {
      char c = text.charAt(pos);
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
        return;
      }
      pos++;
    }
  }
}
