"""The condensation methods compared by ``splitinfer eval``, all under the same selection rules.

Every method condenses the same :class:`Layout` of a case (its words, their token counts under the
student's tokenizer, the forced words) to the same token budget with the same
:func:`splitinfer.sdk._selection.select`; only the word scores differ:

- ``student``: the bundle's own ``Condenser.condense`` (the device path, timed as the device runs it);
- ``teacher``: the offline teacher's keep scores (scored once per case, reused at every rate);
- ``random``: uniform scores, seeded by the run seed and the case id (reproducible);
- ``truncate``: scores that decrease with position, so the first words are kept;
- ``none``: every word kept (the reference; it has no rate).

Forced words (numbers with ``keep_digits``) are kept by every method, so no method gains on
another by numbers the rules keep anyway, and none is blamed for the budget they take. Answer
retention still counts such a number when it is the answer: 30 of the 302 held-out NQ questions
have an answer of digits alone, which every method keeps with ``keep_digits`` (the README gives
the student's figures without them).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from splitinfer.sdk._selection import forced_mask, select, token_budget
from splitinfer.sdk._text import join_words, split_words
from splitinfer.sdk._tokenizer import WordPieceTokenizer

METHODS = ("student", "teacher", "random", "truncate", "none")


@dataclass(frozen=True)
class Layout:
    """The condensable context of one case as every method sees it.

    ``token_counts[i]`` is the number of tokens of ``words[i]``; ``forced[i]`` says the word is
    kept whatever its score.
    """

    words: list[str]
    gaps: list[str]
    token_counts: np.ndarray
    forced: np.ndarray

    @property
    def total_tokens(self) -> int:
        return int(self.token_counts.sum())

    def text(self, kept: np.ndarray) -> str:
        return join_words(self.words, self.gaps, [int(i) for i in kept])

    def tokens(self, kept: np.ndarray) -> int:
        return int(self.token_counts[kept].sum())


def layout(context: str, tokenizer: WordPieceTokenizer, keep_digits: bool = True) -> Layout:
    """Words, token counts and forced words of ``context``, as the SDK's ``Condenser`` computes them."""
    words, gaps = split_words(context)
    counts = np.fromiter((len(tokenizer.encode_word(w)) for w in words), dtype=np.int64, count=len(words))
    return Layout(words, gaps, counts, forced_mask(words, (), keep_digits=keep_digits))


@dataclass(frozen=True)
class Condensed:
    """What a method kept of a layout: ascending word indices, and the milliseconds it took."""

    kept: np.ndarray
    ms: float


class Method(Protocol):
    """A way to condense a case. ``rate`` is the requested share of tokens, in (0, 1]."""

    name: str

    def condense(self, case: Any, lay: Layout, rate: float) -> Condensed: ...


# Word scores of a case: (case, layout) -> one float per word of the layout.
Scorer = Callable[[Any, Layout], np.ndarray]


class ScoredMethod:
    """A method defined by its word scores, selected with the SDK's rules.

    Scores are computed once per case and reused at every rate (the runner visits a case's rates
    one after another). The reported time is scoring plus selection: the cost of one condensation.
    """

    def __init__(self, name: str, scorer: Scorer) -> None:
        self.name = name
        self._scorer = scorer
        self._cached: tuple[Layout, np.ndarray, float] | None = None

    def scores(self, case: Any, lay: Layout) -> tuple[np.ndarray, float]:
        """The case's word scores and the milliseconds it took to compute them (cached per case)."""
        if self._cached is not None and self._cached[0] is lay:
            return self._cached[1], self._cached[2]
        start = time.perf_counter()
        scores = np.asarray(self._scorer(case, lay), dtype=np.float32)
        ms = (time.perf_counter() - start) * 1000.0
        reported = getattr(self._scorer, "last_ms", None)
        if reported is not None:
            ms = float(reported)
        if scores.shape != (len(lay.words),):
            raise ValueError(
                f"the {self.name} scorer gave {scores.shape[0] if scores.ndim else 0} scores "
                f"for {len(lay.words)} words"
            )
        self._cached = (lay, scores, ms)
        return scores, ms

    def condense(self, case: Any, lay: Layout, rate: float) -> Condensed:
        scores, score_ms = self.scores(case, lay)
        start = time.perf_counter()
        kept = select(scores, lay.token_counts, lay.forced, token_budget(lay.total_tokens, rate))
        return Condensed(kept, score_ms + (time.perf_counter() - start) * 1000.0)


class KeepAll:
    """``none``: the uncondensed context, the reference every other method is compared with."""

    name = "none"

    def condense(self, case: Any, lay: Layout, rate: float) -> Condensed:
        return Condensed(np.arange(len(lay.words), dtype=np.int32), 0.0)


def random_scorer(seed: int) -> Scorer:
    """Uniform scores from a generator seeded by ``seed`` and the case id: the same run, the same words."""

    def score(case: Any, lay: Layout) -> np.ndarray:
        rng = np.random.default_rng([seed, zlib.crc32(str(case.id).encode("utf-8"))])
        return rng.random(len(lay.words))

    return score


def truncate_scorer(case: Any, lay: Layout) -> np.ndarray:
    """Scores that decrease with position: the budget goes to the first words."""
    return -np.arange(len(lay.words), dtype=np.float64)


class TeacherScorer:
    """The teacher's keep score of each word (``teacher.score(question, context)``).

    ``last_ms`` is what the last call cost: the teacher's own ``last_ms`` when it has one (a
    teacher that remembers scores reports what computing them took, not the lookup), else
    ``None`` and the caller times the call.
    """

    def __init__(self, teacher: Any) -> None:
        self.teacher = teacher
        self.last_ms: float | None = None

    def __call__(self, case: Any, lay: Layout) -> np.ndarray:
        scores = np.asarray(self.teacher.score(case.question, case.context), dtype=np.float32)
        self.last_ms = getattr(self.teacher, "last_ms", None)
        return scores


def teacher_scorer(teacher: Any) -> Scorer:
    """A :class:`TeacherScorer` of ``teacher``."""
    return TeacherScorer(teacher)


class StudentMethod:
    """``student``: the bundle's ``Condenser.condense``, exactly as the device calls it.

    The condenser lays the context out with the same rules as :func:`layout` (the SDK's words,
    tokenizer and forced words), so its kept word indices index ``lay.words``; a mismatch is a bug
    and raises rather than skewing the comparison.
    """

    name = "student"

    def __init__(self, condenser: Any, keep_digits: bool = True) -> None:
        self.condenser = condenser
        self.keep_digits = keep_digits

    def condense(self, case: Any, lay: Layout, rate: float) -> Condensed:
        result = self.condenser.condense(
            case.context, question=case.question or None, rate=rate, keep_digits=self.keep_digits
        )
        kept = np.asarray(result.kept_indices, dtype=np.int32)
        if result.original_tokens != lay.total_tokens:
            raise RuntimeError(
                f"case {case.id}: the condenser counted {result.original_tokens} tokens where the "
                f"evaluation counted {lay.total_tokens}; the evaluation must use the bundle's tokenizer"
            )
        return Condensed(kept, float(result.ms))
