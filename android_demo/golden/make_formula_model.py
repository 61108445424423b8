"""Build ``formula_bundle.tflite``: a real condenser bundle whose model computes a known formula.

The golden vectors check the Java ``Condenser`` against the Python SDK's ``Condenser`` end to
end: windows, padding, the question, the long-word rule, the default rate. For that both sides
need the same model. Java cannot run LiteRT here, so the model computes an exact formula that
Java can compute too (``dev.splitinfer.core.FormulaModel`` in the tests)::

    score[i] = ((7 * context_ids[i] + 3 * i + sum(question_ids)) mod 128) / 128

int32 arithmetic then one multiplication by 2^-7: exact in float32 on every CPU, so LiteRT's
answers are bit-for-bit reproducible. The window is 16 tokens and the question 8, small enough
for the golden texts to need many windows and to have words longer than a window.

The flatbuffer depends on the TensorFlow version, so this script is run by hand (it needs
TensorFlow) and its output committed; ``make_golden.py`` only reads it. Run from the repository
root: ``.venv/bin/python android_demo/golden/make_formula_model.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from splitinfer.converters.convert import INPUT_NAMES, OUTPUT_NAME, convert, import_tensorflow
from splitinfer.sdk._bundle import write_bundle

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = HERE / "formula_bundle.tflite"
MAX_SEQ_LEN = 16
MAX_QUESTION_LEN = 8
DEFAULT_RATE = 0.4


def formula_function() -> Any:
    tf = import_tensorflow()

    @tf.function(
        input_signature=[
            tf.TensorSpec([1, MAX_SEQ_LEN], tf.int32, name=INPUT_NAMES[0]),
            tf.TensorSpec([1, MAX_QUESTION_LEN], tf.int32, name=INPUT_NAMES[1]),
        ]
    )
    def serve(context_ids: Any, question_ids: Any) -> dict[str, Any]:
        positions = tf.range(MAX_SEQ_LEN, dtype=tf.int32)[None, :]
        question = tf.reduce_sum(question_ids, axis=1, keepdims=True)
        k = tf.math.floormod(context_ids * 7 + positions * 3 + question, 128)
        return {OUTPUT_NAME: tf.cast(k, tf.float32) * (1.0 / 128.0)}

    return serve.get_concrete_function()


def main() -> None:
    model = convert(formula_function(), "float32")
    vocab = (ROOT / "sdk" / "assets" / "vocab.txt").read_text(encoding="utf-8").splitlines()
    manifest = {
        "model_version": "formula-test-1",
        "max_seq_len": MAX_SEQ_LEN,
        "max_question_len": MAX_QUESTION_LEN,
        "inputs": {"context_ids": INPUT_NAMES[0], "question_ids": INPUT_NAMES[1]},
        "output": OUTPUT_NAME,
        "default_rate": DEFAULT_RATE,
        "teacher": "none: score = ((7*id + 3*position + sum(question ids)) mod 128) / 128",
    }
    card = b"# formula bundle\n\nA test fixture: see android_demo/golden/make_formula_model.py.\n"
    write_bundle(OUT, model, vocab, manifest, {"model_card.md": card})
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
