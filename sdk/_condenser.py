"""``Condenser``: cut a long prompt down to the words that matter for the question, on the device.

The pipeline, one step per function (the selection rules live in ``_selection``):

1. words: ``split_words`` (a word keeps its punctuation, see ``_text``);
2. tokens: the bundle's WordPiece tokenizer, word by word (cached per word); a bundle that reads
   line breaks (``line_break_id`` in its manifest) also gets that id before each word that starts
   a line (``model_tokens``), which the budgets do not count;
3. windows: ``chunk_words`` cuts the words into model windows of ``max_seq_len`` tokens, never
   inside a word; a word longer than a window is scored by the tokens the model saw. Scoring
   every token a second time in windows cut half a window later and averaging (twice the model
   runs) was measured with ``minilm-cnn-1.2`` and not kept: held-out NQ answers kept at rates
   0.1 / 0.2 / 0.33 of 88.7 / 96.0 / 99.0% against 89.1 / 97.0 / 98.7%;
4. scores: the model scores every token of a window given the question's tokens (a question
   longer than ``max_question_len`` tokens is read by its first and last halves,
   ``question_tokens``); a word's score is the mean of its tokens' scores;
5. smoothing: when the bundle's manifest has ``selection`` weights, each part is cut into
   sentences and documents (``_segments``) and every word's score is blended with its
   sentence's and its document's (``smooth_scores``); with ``name_spans`` there too, every word
   of a name then takes the best score of the name (``lift_name_spans``); with ``answer_types``,
   the words of the kind the question asks for (names for "who ...", numbers for "when ...")
   gain a weight (``lift_answer_type``); with ``title_lift``, each document's title takes the
   best score of its text (``lift_titles``; all four in ``selection_scores``);
6. selection: forced words (``force``, numbers) are always kept; the others are taken best score
   first until the token budget (``rate`` x tokens, or ``target_tokens``) is spent;
7. text: the kept words in their original order, each followed by its original whitespace, or,
   where the words after it were dropped, by the whitespace of theirs with the most line breaks
   (``join_words``), so what was on different lines stays on different lines.

Tokens are counted by the bundle's tokenizer without [CLS]/[SEP]; a condensed text tokenizes to
exactly its kept words' tokens, so ``condensed_tokens`` is what the server's tokenizer of the same
vocabulary counts for it.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from splitinfer.sdk._bundle import Bundle, read_bundle
from splitinfer.sdk._errors import BundleError, CondenseTimeoutError, InvalidInputError
from splitinfer.sdk._inputs import (
    MAX_INPUT_CHARS,
    check_bool,
    check_force,
    check_rate,
    check_rate_or_target,
    check_text,
    check_timeout,
)
from splitinfer.sdk._runner import ModelRunner, check_threads
from splitinfer.sdk._segments import segment_words
from splitinfer.sdk._selection import (
    SelectionWeights,
    chunk_words,
    forced_mask,
    line_break_marks,
    model_tokens,
    question_input,
    select,
    selection_scores,
    token_budget,
    word_scores,
)
from splitinfer.sdk._text import join_words, split_words
from splitinfer.sdk._tokenizer import WordPieceTokenizer

DEFAULT_BUNDLE = Path(__file__).resolve().parent / "assets" / "condenser.tflite"


class StopClock:
    """When a condense call must stop: ``seconds`` after it started (None: no limit), or once
    ``cancelled`` is set (by another thread)."""

    def __init__(self, seconds: float | None, cancelled: threading.Event | None = None) -> None:
        self.seconds = seconds
        self.end = None if seconds is None else time.monotonic() + seconds
        self.cancelled = cancelled

    def check(self, step: str) -> None:
        """``CondenseTimeoutError`` if the call must stop; ``step`` says how far it got."""
        if self.cancelled is not None and self.cancelled.is_set():
            raise CondenseTimeoutError(f"condensing was cancelled ({step})", step)
        if self.end is not None and time.monotonic() > self.end:
            raise CondenseTimeoutError(
                f"condensing did not finish within its timeout of {self.seconds:g} s (stopped {step}); "
                "allow more time, or condense a shorter text",
                step,
            )


NO_LIMIT = StopClock(None)


@dataclass(frozen=True)
class Part:
    """One part of a structured prompt.

    ``keep_verbatim=True`` parts (system instructions, code, JSON, a quoted contract) are copied
    into the result character for character and never scored. Other parts are condensed; a part
    with its own ``rate`` is condensed alone at that rate, the parts without one share the call's
    ``rate`` or ``target_tokens`` (the best words across all of them win).
    """

    text: str
    keep_verbatim: bool = False
    rate: float | None = None


@dataclass(frozen=True, eq=False)
class CondenseResult:
    """What ``condense`` kept, and what it cost.

    ``kept_indices`` index the words of the prompt (``split_words``, parts one after another) in
    ascending order; ``kept_mask`` is the same as a boolean array. Token counts are the bundle
    tokenizer's. ``achieved_rate`` is ``condensed_tokens / original_tokens`` (1.0 for an empty
    prompt); it exceeds the requested rate when ``forced_tokens`` (forced words and verbatim
    parts) alone exceed the budget, or by the rounding of a budget of very few tokens (a rate of
    0.1 of 5 tokens keeps 1). ``question_truncated`` says the question had more tokens than the
    model reads (``max_question_len``): it read the first and the last half of them. ``ms`` is
    the wall time of the whole call.
    """

    text: str
    kept_indices: npt.NDArray[np.int32]
    words: int
    original_tokens: int
    condensed_tokens: int
    forced_tokens: int
    achieved_rate: float
    rate: float | None
    target_tokens: int | None
    ms: float
    model_version: str
    parts: tuple[str, ...]
    question_truncated: bool = False

    @property
    def kept_mask(self) -> npt.NDArray[np.bool_]:
        mask = np.zeros(self.words, dtype=bool)
        mask[self.kept_indices] = True
        return mask


@dataclass
class _Words:
    """The words of one part, their tokens (``counts`` per word) and what the model reads of
    each (``model_ids``: the tokens after any line-break ids, ``model_counts`` of them)."""

    words: list[str]
    gaps: list[str]
    counts: np.ndarray
    model_ids: list[tuple[int, ...]]
    model_counts: np.ndarray


class Condenser:
    """A condenser bundle ready to run. Thread-safe: one instance serves every thread.

    Build it with ``Condenser.load(path)`` or ``Condenser.default()``. Loading checks the bundle
    (format, checksum, tensors against the model I/O contract) and raises ``BundleError`` with the
    fix; ``condense`` never touches the file again.
    """

    def __init__(self, bundle: Bundle, name: str = "<bundle>", num_threads: int = 1) -> None:
        if not isinstance(bundle, Bundle):
            raise InvalidInputError(
                f"Condenser() takes a bundle read by read_bundle, got {type(bundle).__name__}; "
                "load a .tflite bundle with Condenser.load(path), or the bundled one with Condenser.default()"
            )
        self.manifest: dict[str, Any] = dict(bundle.manifest)
        try:
            self.tokenizer = WordPieceTokenizer(bundle.vocab)
        except ValueError as err:
            raise BundleError(f"{name}: {err}; rebuild it with 'splitinfer convert'") from None
        self._runner = ModelRunner(bundle.model, self.manifest, name, num_threads)
        try:
            rate = check_rate(self.manifest["default_rate"], "the manifest's default_rate")
            if rate is None:  # check_rate reads None as "no rate"; a bundle must name its default
                raise InvalidInputError("the manifest's default_rate must be a number in (0, 1], got null")
            self.default_rate = rate
        except InvalidInputError as err:
            raise BundleError(f"{name}: {err}; rebuild it with 'splitinfer convert'") from None
        try:
            self.selection = SelectionWeights.from_manifest(self.manifest)
        except ValueError as err:
            raise BundleError(
                f"{name}: the manifest's selection rules are wrong ({err}); rebuild it with 'splitinfer convert'"
            ) from None
        self.line_break_id = manifest_line_break_id(self.manifest, len(bundle.vocab), name)

    @classmethod
    def load(cls, path: str | Path, num_threads: int = 1) -> Condenser:
        """The bundle at ``path``; ``num_threads`` is LiteRT's thread count per calling thread."""
        return cls(read_bundle(path), str(path), num_threads)

    @classmethod
    def default(cls, num_threads: int = 1) -> Condenser:
        """The bundled default condenser (``sdk/assets/condenser.tflite``), loaded once per process."""
        num_threads = check_threads(num_threads)
        # The cache alone lets every thread that misses it at once load a copy of its own.
        with _DEFAULT_LOCK:
            return _load_default(num_threads)

    @property
    def model_version(self) -> str:
        return str(self.manifest["model_version"])

    @property
    def max_seq_len(self) -> int:
        return self._runner.max_seq_len

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` as ``condense`` counts them."""
        words, _ = split_words(check_text(text, "text"))
        return sum(map(len, self.tokenizer.encode_words(words)))

    def condense(
        self,
        context: str,
        question: str | None = None,
        *,
        rate: float | None = None,
        target_tokens: int | None = None,
        force: Sequence[str] = (),
        keep_digits: bool = True,
        timeout: float | None = None,
    ) -> CondenseResult:
        """Keep the words of ``context`` that matter most for ``question``.

        ``rate`` in (0, 1] is the fraction of tokens to keep; ``target_tokens`` a token budget
        instead; with neither, the bundle's ``default_rate``. Every word matching a ``force``
        entry (case-insensitive, edge punctuation ignored) and, with ``keep_digits``, every word
        containing a digit (but the ``[n](Title:`` index of a ``Document [n](Title: ...)``
        header) is kept even past the budget. Empty or whitespace-only context gives
        an empty text. Raises ``InvalidInputError`` for a non-str or over-long context
        (``MAX_INPUT_CHARS``), a rate outside (0, 1], or both rate and target_tokens.

        ``timeout`` (seconds, None for no limit): raise ``CondenseTimeoutError`` instead of
        finishing later. It is checked between steps and between the model's windows, so the call
        can end one step after it: the longest steps are reading the words and smoothing the
        scores of one part (measured here on 0.8 MB of English, 1.1 s in all: it ended at most
        0.16 s late).
        """
        return self.condense_parts(
            [Part(check_text(context, "context"))],
            question,
            rate=rate,
            target_tokens=target_tokens,
            force=force,
            keep_digits=keep_digits,
            timeout=timeout,
        )

    def condense_parts(
        self,
        parts: Sequence[Part],
        question: str | None = None,
        *,
        rate: float | None = None,
        target_tokens: int | None = None,
        force: Sequence[str] = (),
        keep_digits: bool = True,
        separator: str = "\n\n",
        timeout: float | None = None,
    ) -> CondenseResult:
        """Condense a structured prompt (see ``Part``); the parts' texts are joined by ``separator``
        (its tokens, none for whitespace, count in ``original_tokens`` and ``condensed_tokens`` once
        per join, not in the budget; one without whitespace glues the words on either side).

        ``target_tokens`` budgets the whole result: verbatim parts and parts with their own rate
        are counted first, the shared parts get what is left. ``rate`` applies to the shared parts
        only. Empty results of parts are left out of the join. ``timeout``: as ``condense``'s.
        """
        clock = StopClock(None if timeout is None else check_timeout(timeout, "or None for no limit"))
        return self.run(
            parts,
            question,
            clock=clock,
            rate=rate,
            target_tokens=target_tokens,
            force=force,
            keep_digits=keep_digits,
            separator=separator,
        )

    def run(
        self,
        parts: Sequence[Part],
        question: str | None = None,
        *,
        clock: StopClock,
        rate: float | None = None,
        target_tokens: int | None = None,
        force: Sequence[str] = (),
        keep_digits: bool = True,
        separator: str = "\n\n",
    ) -> CondenseResult:
        """``condense_parts`` stopped by ``clock``: at its deadline, or once its ``cancelled``
        event is set by another thread (the SDK's clients condense with what is left of a call's
        deadline; the server stops condensing for a caller that went away)."""
        start = time.perf_counter()
        parts = _check_parts(parts)
        question = check_text(question, "question", optional=True)
        rate, target_tokens = check_rate_or_target(rate, target_tokens)
        force = check_force(force)
        keep_digits = check_bool(keep_digits, "keep_digits")
        separator = check_text(separator, "separator")
        if rate is None and target_tokens is None:
            rate = self.default_rate
        split = []
        for part in parts:
            split.append(self._words(part.text))
            clock.check("after reading the words")
        counts = np.concatenate([w.counts for w in split]) if split else np.zeros(0, np.int64)
        offsets = np.cumsum([0] + [len(w.words) for w in split])
        keep = np.zeros(len(counts), dtype=bool)
        # Part by part: a phrase of ``force`` does not run from one part into the next.
        forced = np.concatenate(
            [forced_mask(w.words, force, keep_digits) for w in split] or [np.zeros(0, bool)]
        )
        for i, part in enumerate(parts):
            if part.keep_verbatim:
                forced[offsets[i] : offsets[i + 1]] = True
        scored = [i for i, part in enumerate(parts) if not part.keep_verbatim]
        scores = np.zeros(len(counts), dtype=np.float32)
        question_ids, question_truncated = self._question_ids(question)
        if scored:
            where = np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in scored])
            ids = list(chain.from_iterable(split[i].model_ids for i in scored))
            seen = np.concatenate([split[i].model_counts for i in scored])
            scores[where] = self._score(ids, seen, question_ids, clock)
            if self.selection.active:
                for i in scored:
                    clock.check("before smoothing the scores")
                    sl = slice(offsets[i], offsets[i + 1])
                    segments, _ = segment_words(split[i].words, split[i].gaps, split[i].counts.tolist())
                    scores[sl] = selection_scores(
                        scores[sl], counts[sl], split[i].words, segments, self.selection, question
                    )
        clock.check("before choosing the words")
        # Parts with their own rate first, then the shared pool with what the budget leaves.
        keep |= forced
        for i in scored:
            if parts[i].rate is not None:
                sl = slice(offsets[i], offsets[i + 1])
                budget = token_budget(int(counts[sl].sum()), parts[i].rate)
                keep[offsets[i] + select(scores[sl], counts[sl], forced[sl], budget)] = True
        pool = [i for i in scored if parts[i].rate is None]
        if pool:
            where = np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in pool])
            in_pool = np.zeros(len(counts), dtype=bool)
            in_pool[where] = True
            if target_tokens is not None:
                budget = max(0, target_tokens - int(counts[keep & ~in_pool].sum()))
                budget = token_budget(int(counts[where].sum()), target_tokens=budget)
            else:
                budget = token_budget(int(counts[where].sum()), rate)
            keep[where[select(scores[where], counts[where], forced[where], budget)]] = True
        texts = tuple(
            part.text if part.keep_verbatim else _join(split[i], keep[offsets[i] : offsets[i + 1]])
            for i, part in enumerate(parts)
        )
        # A separator's own tokens ("---"; none for whitespace) count once per join, in the
        # original (every part) and in the result (its non-empty parts), outside the budget.
        per_join = len(self.tokenizer.encode(separator))
        original = int(counts.sum()) + per_join * max(0, sum(1 for p in parts if p.text.strip()) - 1)
        condensed = int(counts[keep].sum()) + per_join * max(0, sum(1 for t in texts if t) - 1)
        return CondenseResult(
            text=separator.join(t for t in texts if t),
            kept_indices=np.flatnonzero(keep).astype(np.int32),
            words=len(counts),
            original_tokens=original,
            condensed_tokens=condensed,
            forced_tokens=int(counts[forced].sum()),
            achieved_rate=condensed / original if original else 1.0,
            rate=rate if target_tokens is None else None,
            target_tokens=target_tokens,
            ms=(time.perf_counter() - start) * 1000.0,
            model_version=self.model_version,
            parts=texts,
            question_truncated=question_truncated,
        )

    def _words(self, text: str) -> _Words:
        words, gaps = split_words(text)
        ids = self.tokenizer.encode_words(words)
        counts = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        if self.line_break_id is None:
            return _Words(words, gaps, counts, ids, counts)
        model_ids = model_tokens(ids, line_break_marks(gaps), self.line_break_id)
        model_counts = np.fromiter(map(len, model_ids), dtype=np.int64, count=len(model_ids))
        return _Words(words, gaps, counts, model_ids, model_counts)

    def _question_ids(self, question: str) -> tuple[np.ndarray, bool]:
        """The model's question input (padded with 0), and whether the question was longer."""
        size = self._runner.max_question_len
        every = self.tokenizer.encode(question)
        return question_input(every, size), len(every) > size

    def _score(
        self,
        ids: list[tuple[int, ...]],
        counts: np.ndarray,
        question_ids: np.ndarray,
        clock: StopClock = NO_LIMIT,
    ) -> np.ndarray:
        """Word scores: the model over each window, token scores averaged per word (``ids`` and
        ``counts`` are what the model reads of each word, line-break ids included)."""
        window_len = self._runner.max_seq_len
        flat = np.fromiter(chain.from_iterable(ids), dtype=np.int32, count=int(counts.sum()))
        starts = np.cumsum(counts) - counts
        window = np.zeros(window_len, dtype=np.int32)
        pieces: list[np.ndarray] = []
        windows = chunk_words(counts.tolist(), window_len)
        for n, (first, end) in enumerate(windows):
            clock.check(f"after {n} of {len(windows)} model windows")
            begin = int(starts[first])
            # Only a single word longer than the window makes this exceed window_len.
            size = min(int(starts[end - 1] + counts[end - 1]) - begin, window_len)
            if size == 0:
                continue
            window[:size] = flat[begin : begin + size]
            window[size:] = 0
            pieces.append(self._runner.score(window, question_ids)[:size])
        token_scores = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        return word_scores(token_scores, np.minimum(counts, window_len))


def manifest_line_break_id(manifest: dict[str, Any], vocab_size: int, name: str) -> int | None:
    """The manifest's ``line_break_id`` (None when absent: the model reads no line breaks)."""
    value = manifest.get("line_break_id")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < vocab_size:
        raise BundleError(
            f"{name}: the manifest's line_break_id must be a token id of its vocabulary (0 to {vocab_size - 1}), "
            f"got {value!r}; rebuild it with 'splitinfer convert'"
        )
    return value


def _join(words: _Words, kept: np.ndarray) -> str:
    return join_words(words.words, words.gaps, np.flatnonzero(kept).tolist())


def _check_parts(parts: object) -> list[Part]:
    if isinstance(parts, (str, Part)) or not isinstance(parts, Sequence):
        raise InvalidInputError(
            f"parts must be a list of Part, got {type(parts).__name__}; e.g. [Part(system, keep_verbatim=True), Part(docs)]"
        )
    checked: list[Part] = []
    total = 0
    for i, part in enumerate(parts):
        if not isinstance(part, Part):
            hint = f"; wrap text as Part({part[:20]!r}) or call condense()" if isinstance(part, str) else ""
            raise InvalidInputError(f"parts[{i}] must be a Part, got {type(part).__name__}{hint}")
        text = check_text(part.text, f"parts[{i}].text")
        check_bool(part.keep_verbatim, f"parts[{i}].keep_verbatim")
        total += len(text)
        check_rate(part.rate, f"parts[{i}].rate")
        if part.keep_verbatim and part.rate is not None:
            raise InvalidInputError(
                f"parts[{i}] is kept verbatim and has a rate ({part.rate}); a verbatim part is never "
                "condensed: drop one of the two"
            )
        checked.append(part)
    if total > MAX_INPUT_CHARS:
        raise InvalidInputError(
            f"the parts have {total:,} characters together, more than the {MAX_INPUT_CHARS:,} one call "
            f"accepts; split the prompt and condense the pieces separately"
        )
    return checked


_DEFAULT_LOCK = threading.Lock()


@functools.lru_cache(maxsize=4)
def _load_default(num_threads: int) -> Condenser:
    if not DEFAULT_BUNDLE.exists():
        raise BundleError(
            "the default condenser bundle is not built (sdk/assets/condenser.tflite is missing); "
            "'make model' builds it, or load another bundle with Condenser.load(path)"
        )
    return Condenser.load(DEFAULT_BUNDLE, num_threads)
