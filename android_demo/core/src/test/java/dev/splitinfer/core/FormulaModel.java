package dev.splitinfer.core;

/**
 * What formula_bundle.tflite computes (android_demo/golden/make_formula_model.py), exactly:
 * {@code score[i] = ((7 * id[i] + 3 * i + sum(question ids)) mod 128) / 128}.
 */
final class FormulaModel implements ScoreModel {
  @Override
  public float[] score(int[] contextIds, int[] questionIds) {
    int question = 0;
    for (int id : questionIds) {
      question += id;
    }
    float[] out = new float[contextIds.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = Math.floorMod(7 * contextIds[i] + 3 * i + question, 128) * (1f / 128f);
    }
    return out;
  }
}
