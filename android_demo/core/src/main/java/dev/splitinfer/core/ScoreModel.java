package dev.splitinfer.core;

/**
 * The condenser's model seen from {@link Condenser}: one window of context token ids in, one
 * keep score per token out. The Android app implements it with LiteRT's {@code Interpreter}
 * running the bundle's flatbuffer; tests implement it with given scores.
 *
 * <p>Contract, the same as the {@code .tflite} model's (see the Python student's docstring):
 * <ul>
 *   <li>{@code contextIds}: exactly {@code maxSeqLen} ids (the bundle's {@code max_seq_len}):
 *       the window's WordPiece ids, no [CLS]/[SEP], padded with 0 ([PAD]);
 *   <li>{@code questionIds}: exactly {@code maxQuestionLen} ids: the question's tokens (its first
 *       and last halves when it has more), padded with 0 (all zeros: no question);
 *   <li>returns at least {@code maxSeqLen} float32 scores, one per context position; scores at
 *       padded positions are ignored.
 * </ul>
 * The arrays belong to the caller and may be reused after the call returns. {@link Condenser}
 * calls one instance from one thread at a time only if the caller does; an implementation that
 * is not thread-safe (an {@code Interpreter} is not) must say so or synchronise.
 */
public interface ScoreModel {
  float[] score(int[] contextIds, int[] questionIds);
}
