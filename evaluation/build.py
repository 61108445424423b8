"""Build the methods of a run from their names (heavy models are loaded here, lazily, once)."""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from importlib import resources
from typing import Any

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
    """A teacher that remembers its scores per (question, context) for the life of the process.

    The suite measures the same cases several times (e.g. with and without ``keep_digits``); the
    teacher's scores do not depend on the run, and scoring is the slow part. ``last_ms`` keeps
    reporting what the scores cost to compute, so a remembered score is not timed as free.
    """

    def __init__(self, teacher: Any) -> None:
        self.teacher = teacher
        self.name = getattr(teacher, "name", "teacher")
        self._scores: dict[tuple[str, str], tuple[Any, float]] = {}
        # What computing the last scores took (also when they were remembered), in ms.
        self.last_ms: float | None = None

    def score(self, question: str, context: str) -> Any:
        key = (question, context)
        if key not in self._scores:
            start = time.perf_counter()
            scores = self.teacher.score(question, context)
            self._scores[key] = (scores, (time.perf_counter() - start) * 1000.0)
        scores, self.last_ms = self._scores[key]
        return scores


@functools.lru_cache(maxsize=2)
def load_teacher(name: str = TEACHER) -> MemoTeacher:
    """The offline teacher the default condenser was distilled from, loaded once per process."""
    from splitinfer.converters.teachers import get_teacher

    return MemoTeacher(get_teacher(name))


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
