package dev.splitinfer.core;

/**
 * The caller asked for something unusable (a rate outside (0, 1], a negative token target):
 * the port of {@code splitinfer.sdk._errors.InvalidInputError}. The message says what was wrong
 * and what would be right.
 */
public final class InvalidInputException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public InvalidInputException(String message) {
    super(message);
  }
}
