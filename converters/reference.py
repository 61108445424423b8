"""A TinyBERT-4-shaped reference encoder with the condenser's I/O, for speed comparisons only.

LLMLingua-2's students are BERT-class token classifiers; TinyBERT-4 (4 layers, hidden 312, 12
heads, FFN 1200) is the smallest of that class. ``splitinfer bench condenser`` converts this
model exactly as ``splitinfer convert`` converts the student (same converter, same mode) and runs
both in the same LiteRT, so the ratio of their latencies is the speed-up over that class of model
on this runtime. Its weights are random (seeded): speed does not depend on them.

I/O as the student's: ``context_ids`` int32 [1, max_seq_len], ``question_ids`` int32
[1, max_question_len] (its mean embedding is added to every token, the cheapest way to read
the question), output ``scores`` float32 [1, max_seq_len]. Attention skips padding.

Run as a module to write the converted reference::

    python -m splitinfer.converters.reference --output reference.tflite --mode dynamic
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LAYERS, HIDDEN, HEADS, FFN = 4, 312, 12, 1200


@dataclass(frozen=True)
class ReferenceConfig:
    vocab_size: int = 30522
    max_seq_len: int = 512
    max_question_len: int = 64
    layers: int = LAYERS
    hidden: int = HIDDEN
    heads: int = HEADS
    ffn: int = FFN


def build_reference(config: ReferenceConfig | None = None, seed: int = 0) -> Any:
    """The Keras reference encoder (random seeded weights)."""
    from splitinfer.converters.convert import import_tensorflow

    import_tensorflow()
    import keras
    from keras import layers, ops

    config = config or ReferenceConfig()
    keras.utils.set_random_seed(seed)
    context_ids = keras.Input((config.max_seq_len,), dtype="int32", name="context_ids")
    question_ids = keras.Input((config.max_question_len,), dtype="int32", name="question_ids")
    embed = layers.Embedding(config.vocab_size, config.hidden, name="token_embedding")
    positions = layers.Embedding(config.max_seq_len, config.hidden, name="position_embedding")
    tokens = embed(context_ids)
    q_tokens = embed(question_ids)
    q_mask = ops.cast(ops.not_equal(question_ids, 0), "float32")[:, :, None]
    q_mean = ops.sum(q_tokens * q_mask, axis=1) / ops.maximum(ops.sum(q_mask, axis=1), 1.0)
    x = tokens + positions(ops.arange(config.max_seq_len))[None, :, :] + q_mean[:, None, :]
    x = layers.LayerNormalization(epsilon=1e-12, name="embedding_norm")(x)
    attention_mask = ops.not_equal(context_ids, 0)[:, None, :]
    for i in range(config.layers):
        attended = layers.MultiHeadAttention(
            config.heads, config.hidden // config.heads, name=f"attention_{i}"
        )(x, x, attention_mask=attention_mask)
        x = layers.LayerNormalization(epsilon=1e-12, name=f"attention_norm_{i}")(x + attended)
        hidden = layers.Dense(config.ffn, activation="gelu", name=f"ffn_in_{i}")(x)
        x = layers.LayerNormalization(epsilon=1e-12, name=f"ffn_norm_{i}")(
            x + layers.Dense(config.hidden, name=f"ffn_out_{i}")(hidden)
        )
    logits = layers.Dense(1, name="head")(x)
    scores = layers.Activation("sigmoid", name="sigmoid")(layers.Reshape((config.max_seq_len,))(logits))
    return keras.Model([context_ids, question_ids], scores, name="tinybert4_reference")


def convert_reference(mode: str, config: ReferenceConfig | None = None, seed: int = 0) -> bytes:
    """The reference as a TFLite flatbuffer, converted like the student (``convert.convert``)."""
    from splitinfer.converters.convert import convert, frozen_function, keras_source

    config = config or ReferenceConfig()
    model = build_reference(config, seed)
    source = keras_source(model, "tinybert4_reference", config.max_seq_len, config.max_question_len)
    return convert(frozen_function(source), mode)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--mode", default="dynamic", choices=("float32", "float16", "dynamic"))
    parser.add_argument("--max-seq-len", type=int, default=512)
    parser.add_argument("--max-question-len", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from splitinfer.sdk._bundle import atomic_write

    config = ReferenceConfig(max_seq_len=args.max_seq_len, max_question_len=args.max_question_len)
    atomic_write(args.output, convert_reference(args.mode, config, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
