"""Build the methods of a run from their names (heavy models are loaded here, lazily, once)."""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from importlib import resources
from typing import Any

import numpy as np

from splitinfer.evaluation.cache import EvalCache, case_key
from splitinfer.evaluation.methods import (
    METHODS,
    KeepAll,
    Method,
    ScoredMethod,
    random_scorer,
    teacher_scorer,
    truncate_scorer,
)
from splitinfer.sdk._errors import InvalidInputError
from splitinfer.sdk._tokenizer import WordPieceTokenizer

TEACHER = "minilm"


def parse_methods(text: str) -> tuple[str, ...]:
    """``"student,random"`` -> ``("student", "random")``; unknown or repeated names are an error."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [n for n in names if n not in METHODS]
    if not names or unknown:
        raise InvalidInputError(
            f"--methods: unknown method {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"use a comma-separated list of {', '.join(METHODS)}"
        )
    if len(set(names)) != len(names):
        raise InvalidInputError(f"--methods: a method is listed twice in {text!r}")
    return names


def parse_rates(text: str, flag: str = "--rates") -> tuple[float, ...]:
    """``"0.1,0.2"`` -> ``(0.1, 0.2)``, sorted and deduplicated; each must be in (0, 1].

    Errors name ``flag``, the option the text came from."""
    rates: set[float] = set()
    for part in (p.strip() for p in text.split(",")):
        try:
            rate = float(part)
        except ValueError:
            raise InvalidInputError(f"{flag}: {part!r} is not a number; e.g. {flag} 0.1,0.2,0.33") from None
        if not 0.0 < rate <= 1.0:
            raise InvalidInputError(f"{flag}: {rate:g} is outside (0, 1]; a rate is the share of tokens kept")
        rates.add(rate)
    return tuple(sorted(rates))


def default_tokenizer() -> WordPieceTokenizer:
    """The SDK's bundled WordPiece vocabulary (the tokenizer of every shipped bundle)."""
    text = resources.files("splitinfer.sdk").joinpath("assets/vocab.txt").read_text(encoding="utf-8")
    return WordPieceTokenizer.from_lines(text.splitlines())


def load_condenser(model: str | None) -> Any:
    """``Condenser.load(model)``, or the bundled default when ``model`` is ``None``."""
    from splitinfer.sdk import Condenser

    return Condenser.load(model) if model else Condenser.default()


class MemoTeacher:
    """A teacher that remembers its scores per (question, context) for the life of the process and,
    given an ``EvalCache``, on disk across runs.

    The suite measures the same cases several times (e.g. with and without ``keep_digits``, and
    again for every bundle); the teacher's scores do not depend on the run, and scoring is the slow
    part. ``last_ms`` keeps reporting what the scores cost to compute, so a remembered score is
    not timed as free. ``computed`` and ``reused`` count this run's cases of each kind (a case
    remembered in the process counts as reused). A teacher without ``fingerprint()`` is not
    kept on disk.
    """

    def __init__(
        self,
        teacher: Any,
        cache: EvalCache | None = None,
        memo: dict[tuple[str, str], tuple[Any, float]] | None = None,
    ) -> None:
        self.teacher = teacher
        self.name = getattr(teacher, "name", "teacher")
        fingerprint = getattr(teacher, "fingerprint", None)
        self._fingerprint: str | None = fingerprint() if cache is not None and fingerprint else None
        self._cache = cache if self._fingerprint is not None else None
        self._scores = memo if memo is not None else {}
        # What computing the last scores took (also when they were remembered), in ms.
        self.last_ms: float | None = None
        self.computed = 0
        self.reused = 0

    def score(self, question: str, context: str) -> Any:
        key = (question, context)
        stored = None
        if self._cache is not None:
            assert self._fingerprint is not None
            disk_key = case_key(self._fingerprint, question, context)
            stored = self._cache.get_scores(disk_key)
        hit = self._scores.get(key) or stored
        if hit is None:
            start = time.perf_counter()
            scores = np.asarray(self.teacher.score(question, context), dtype=np.float32)
            hit = (scores, (time.perf_counter() - start) * 1000.0)
            self.computed += 1
        else:
            self.reused += 1
        if self._cache is not None and stored is None:  # also what the process had remembered
            self._cache.put_scores(disk_key, *hit)
        self._scores[key] = hit
        scores, self.last_ms = hit
        return scores


@functools.lru_cache(maxsize=2)
def _teacher(name: str) -> Any:
    from splitinfer.converters.teachers import get_teacher

    return get_teacher(name)


@functools.lru_cache(maxsize=2)
def _memo(name: str) -> dict[tuple[str, str], tuple[Any, float]]:
    return {}


def load_teacher(name: str = TEACHER, cache: EvalCache | None = None) -> MemoTeacher:
    """The offline teacher the default condenser was distilled from (loaded once per process, its
    scores remembered for the process's life), keeping its scores in ``cache`` when given."""
    return MemoTeacher(_teacher(name), cache, _memo(name))


def build_methods(
    names: Sequence[str], condenser: Any = None, teacher: Any = None, keep_digits: bool = True, seed: int = 0
) -> list[Method]:
    """The methods named, in order. ``student`` needs ``condenser``, ``teacher`` needs ``teacher``."""
    from splitinfer.evaluation.methods import StudentMethod

    methods: list[Method] = []
    for name in names:
        if name == "student":
            if condenser is None:
                raise ValueError("the student method needs a condenser")
            methods.append(StudentMethod(condenser, keep_digits=keep_digits))
        elif name == "teacher":
            if teacher is None:
                raise ValueError("the teacher method needs a teacher")
            methods.append(ScoredMethod("teacher", teacher_scorer(teacher)))
        elif name == "random":
            methods.append(ScoredMethod("random", random_scorer(seed)))
        elif name == "truncate":
            methods.append(ScoredMethod("truncate", truncate_scorer))
        else:
            methods.append(KeepAll())
    return methods
