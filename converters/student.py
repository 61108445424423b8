"""The student: a small question-aware token scorer that converts to TFLite builtins only.

Contract (what the SDK's ``Condenser`` runs, see ``sdk``):

- inputs ``context_ids`` int32 ``[1, max_seq_len]``: one window of whole words' WordPiece ids,
  no ``[CLS]``/``[SEP]``, padded with 0 (``[PAD]``); ``question_ids`` int32
  ``[1, max_question_len]``: the question's first tokens, padded with 0 (all zeros: no question);
- output ``scores`` float32 ``[1, max_seq_len]``: a keep score in [0, 1] per context token.

Shape (chosen by measuring accuracy against the teacher and LiteRT latency, see the model card):

1. one token embedding shared by context and question (the bundle stores it as int8);
2. question features per context token: the masked mean of the question's embeddings times the
   token's embedding, an *exact match* flag (the token id occurs in the question), and a soft
   cross-attention from the token to the question tokens (masked softmax over dot products) with
   its best match score;
3. a stack of residual dilated 1-D convolutions (kernel 3, dilations doubling) whose receptive
   field covers whole sentences, because an answer survives only when its sentence is kept;
4. a per-token sigmoid.

Every op is a TFLite builtin (GATHER, CONV_2D, BATCH_MATMUL, SOFTMAX, EQUAL, REDUCE_ANY...):
no recurrent layers (GRU/TensorList do not convert) and no Flex ops.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import keras
from keras import layers, ops

PACKAGE = "splitinfer"


@dataclass(frozen=True)
class StudentConfig:
    """Hyper-parameters of the student; stored in the .keras file and the bundle's manifest."""

    vocab_size: int = 30522
    max_seq_len: int = 512
    max_question_len: int = 64
    embed_dim: int = 64
    channels: int = 64
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 1)
    kernel_size: int = 3
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["dilations"] = list(self.dilations)
        return data

    @property
    def receptive_field(self) -> int:
        """Tokens each output sees: 1 + sum((kernel - 1) * dilation)."""
        return 1 + sum((self.kernel_size - 1) * d for d in self.dilations)


@keras.saving.register_keras_serializable(package=PACKAGE)
class JointEmbedding(layers.Layer):
    """One embedding table for context and question, looked up once for both.

    A single lookup matters for the bundle: the converter quantizes each use of a constant on
    its own, so two lookups would store the table twice in an int8 model.
    """

    def __init__(self, vocab_size: int, dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.dim = dim

    def build(self, input_shapes: list[tuple[int | None, ...]]) -> None:
        self.embeddings = self.add_weight(
            shape=(self.vocab_size, self.dim), initializer="uniform", name="embeddings"
        )

    def call(self, inputs: list[Any]) -> list[Any]:
        context_ids, question_ids = inputs
        seq = context_ids.shape[1]
        joint = ops.take(self.embeddings, ops.concatenate([context_ids, question_ids], axis=1), axis=0)
        return [joint[:, :seq, :], joint[:, seq:, :]]

    def compute_output_shape(
        self, input_shapes: list[tuple[int | None, ...]]
    ) -> list[tuple[int | None, ...]]:
        (batch, seq), (_, qlen) = input_shapes
        return [(batch, seq, self.dim), (batch, qlen, self.dim)]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "vocab_size": self.vocab_size, "dim": self.dim}


@keras.saving.register_keras_serializable(package=PACKAGE)
class QuestionFeatures(layers.Layer):
    """Per context token: [mean-question x token, attended question, exact match, best match].

    Inputs: ``(context_ids, question_ids, context_emb, question_emb)``; returns
    ``[batch, seq, 2 * dim + 2]``. Pad question tokens (id 0) never match and get no attention;
    with no question at all every feature is 0.
    """

    def call(self, inputs: list[Any]) -> Any:
        context_ids, question_ids, context_emb, question_emb = inputs
        q_mask = ops.cast(ops.not_equal(question_ids, 0), "float32")  # [B, Q]
        q_count = ops.maximum(ops.sum(q_mask, axis=1, keepdims=True), 1.0)  # [B, 1]
        q_mean = ops.sum(question_emb * q_mask[:, :, None], axis=1) / q_count  # [B, D]
        gated = context_emb * q_mean[:, None, :]  # [B, L, D]

        same = ops.equal(context_ids[:, :, None], question_ids[:, None, :])  # [B, L, Q]
        same = ops.logical_and(same, ops.not_equal(question_ids, 0)[:, None, :])
        exact = ops.cast(ops.any(same, axis=2, keepdims=True), "float32")  # [B, L, 1]

        dim = context_emb.shape[-1]
        logits = ops.matmul(context_emb, ops.transpose(question_emb, (0, 2, 1))) / float(dim) ** 0.5
        logits = logits + (q_mask[:, None, :] - 1.0) * 1e4  # [B, L, Q]
        weights = ops.softmax(logits, axis=-1) * ops.max(q_mask, axis=1)[:, None, None]
        attended = ops.matmul(weights, question_emb)  # [B, L, D]
        best = ops.max(logits, axis=-1, keepdims=True) * ops.max(q_mask, axis=1)[:, None, None]
        best = ops.maximum(best, -10.0)
        return ops.concatenate([gated, attended, exact, best], axis=-1)

    def compute_output_shape(self, input_shapes: list[tuple[int | None, ...]]) -> tuple[int | None, ...]:
        batch, seq, dim = input_shapes[2]
        return (batch, seq, 2 * dim + 2)


def build_student(config: StudentConfig | None = None) -> keras.Model:
    """The untrained student for ``config`` (defaults: the bundled condenser's shape)."""
    config = config or StudentConfig()
    context_ids = keras.Input((config.max_seq_len,), dtype="int32", name="context_ids")
    question_ids = keras.Input((config.max_question_len,), dtype="int32", name="question_ids")
    context_emb, question_emb = JointEmbedding(config.vocab_size, config.embed_dim, name="embedding")(
        [context_ids, question_ids]
    )
    features = QuestionFeatures(name="question_features")(
        [context_ids, question_ids, context_emb, question_emb]
    )
    x = layers.Concatenate(name="token_features")([context_emb, features])
    x = layers.Conv1D(config.channels, 1, activation="relu", name="project")(x)
    for i, dilation in enumerate(config.dilations):
        y = layers.Conv1D(
            config.channels,
            config.kernel_size,
            dilation_rate=dilation,
            padding="same",
            activation="relu",
            name=f"conv_{i}_d{dilation}",
        )(x)
        x = layers.Add(name=f"residual_{i}")([x, y])
    logits = layers.Conv1D(1, 1, name="head")(x)
    scores = layers.Activation("sigmoid", name="sigmoid")(layers.Reshape((config.max_seq_len,))(logits))
    return keras.Model([context_ids, question_ids], scores, name="student")


def describe(model: keras.Model, config: StudentConfig) -> dict[str, Any]:
    """What the manifest and model card say about the architecture."""
    summary = (
        f"question-aware dilated CNN: shared embedding {config.vocab_size}x{config.embed_dim}, "
        f"question features (mean-question gate, exact match, cross-attention), "
        f"{len(config.dilations)} residual Conv1D({config.channels}, k={config.kernel_size}) with dilations "
        f"{list(config.dilations)} (receptive field {config.receptive_field} tokens), sigmoid head; "
        f"{model.count_params():,} parameters"
    )
    return {"summary": summary, "config": config.to_dict(), "parameters": int(model.count_params())}
