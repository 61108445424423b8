"""Run methods over cases at several rates and aggregate what they kept.

The loop is case by case: a case is laid out once (words, token counts, forced words), each method
scores it once and is then selected at every rate, and with an answerer the full context is
answered once. Per (method, rate) the runner aggregates:

- ``ratio_words`` / ``ratio_tokens``: the achieved rate, kept/original, averaged over cases
  (``compression_tokens`` is the total original tokens over the total kept, "5x";
  ``rate_within_10pct`` the share of cases whose token rate is within 10% of the requested one,
  ``forced_over_budget`` the share whose forced words alone take more than the budget);
- ``answer_retention``: share of the cases with gold answers whose condensed prompt still
  contains one (see :mod:`splitinfer.evaluation.metrics`);
- ``numbers_kept``: share of the number occurrences of the context (the part a method condenses;
  a keep-verbatim part such as a maths problem is sent untouched, so its numbers always survive
  and are not counted) found in the condensed context; ``all_numbers_kept`` is the share of cases
  where every one of them was; ``problem_numbers_kept`` the share of cases with a keep-verbatim part
  whose every number reached the prompt (``None`` without one);
- ``condense_ms_p50``: median milliseconds of one condensation;
- with an answerer, ``accuracy_full`` / ``accuracy_condensed``: share of cases whose answer on
  the full / condensed prompt contains a gold answer (``accuracy_condensed`` only at the
  ``answer_rates``);
- ``n``: cases aggregated.

The ``none`` method has no rate: it is run once and reported at rate 1.0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from splitinfer.evaluation.methods import Condensed, Layout, Method, layout
from splitinfer.evaluation.metrics import contains_answer, mean, numbers_kept, percentile
from splitinfer.sdk._selection import token_budget
from splitinfer.sdk._tokenizer import WordPieceTokenizer

# An achieved token rate counts as on target within this share of the requested rate (issue 7).
RATE_TOLERANCE = 0.10


class Answerer(Protocol):
    """A stand-in for the large model: ``answer(question, context) -> str``."""

    def answer(self, question: str, context: str) -> str: ...


@dataclass(frozen=True)
class EvalConfig:
    """What one run measures. ``rates`` are requested shares of tokens, each in (0, 1]."""

    rates: tuple[float, ...] = (0.1, 0.2, 0.33, 0.5)
    keep_digits: bool = True
    seed: int = 0
    # False when the gold answers are computed rather than found in the context (maths problems):
    # then answer retention is not measured.
    answers_in_context: bool = True
    # With an answerer: the rates at which condensed prompts are answered (``None``: every rate).
    # Answering is the slow part of a run; the full context is answered either way.
    answer_rates: tuple[float, ...] | None = None


@dataclass
class _Totals:
    """Running sums of one (method, rate) cell."""

    ratio_words: list[float] = field(default_factory=list)
    ratio_tokens: list[float] = field(default_factory=list)
    on_rate: list[float] = field(default_factory=list)
    forced_over: list[float] = field(default_factory=list)
    tokens_original: int = 0
    tokens_kept: int = 0
    retained: list[float] = field(default_factory=list)
    numbers_kept: int = 0
    numbers_total: int = 0
    all_numbers: list[float] = field(default_factory=list)
    problem_numbers: list[float] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)
    correct_full: list[float] = field(default_factory=list)
    correct_condensed: list[float] = field(default_factory=list)
    cases: int = 0

    def row(self, method: str, rate: float, with_answers: bool) -> dict[str, Any]:
        row: dict[str, Any] = {
            "method": method,
            "rate": rate,
            "ratio_words": mean(self.ratio_words),
            "ratio_tokens": mean(self.ratio_tokens),
            "compression_tokens": self.tokens_original / self.tokens_kept if self.tokens_kept else None,
            "rate_within_10pct": mean(self.on_rate),
            "forced_over_budget": mean(self.forced_over),
            "answer_retention": mean(self.retained),
            "numbers_kept": self.numbers_kept / self.numbers_total if self.numbers_total else None,
            "all_numbers_kept": mean(self.all_numbers),
            "problem_numbers_kept": mean(self.problem_numbers),
            "condense_ms_p50": percentile(self.ms, 50),
        }
        if with_answers:
            row["accuracy_full"] = mean(self.correct_full)
            row["accuracy_condensed"] = mean(self.correct_condensed)
        row["n"] = self.cases
        return row


def prompt_text(case: Any, condensed_context: str) -> str:
    """The prompt that is sent: the condensed context, then the case's keep-verbatim part if any."""
    verbatim = getattr(case, "verbatim", None) or ""
    if not verbatim:
        return condensed_context
    return f"{condensed_context}\n\n{verbatim}" if condensed_context else verbatim


class _CachedAnswerer:
    """Answers each distinct (question, prompt) once: low rates of several methods often coincide."""

    def __init__(self, answerer: Answerer) -> None:
        self._answerer = answerer
        self._cache: dict[str, str] = {}
        self._question: str | None = None

    def answer(self, question: str, context: str) -> str:
        if question != self._question:
            self._cache.clear()
            self._question = question
        if context not in self._cache:
            self._cache[context] = self._answerer.answer(question, context)
        return self._cache[context]


def evaluate(
    cases: Iterable[Any],
    methods: Sequence[Method],
    tokenizer: WordPieceTokenizer,
    config: EvalConfig,
    answerer: Answerer | None = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """One result row per method and rate (``none``: one row at rate 1.0), in the given order.

    ``cases`` need ``id``, ``question``, ``context``, ``answers`` (possibly empty) and optionally
    ``verbatim``; wrap it in a progress bar before passing it if wanted. ``on_record`` receives
    one dict per case, method and rate (the condensed prompt and its measures), e.g. to write
    ``--output``.
    """
    cells = {(m.name, r): _Totals() for m in methods for r in _rates_of(m, config.rates)}
    cached = _CachedAnswerer(answerer) if answerer is not None else None
    for case in cases:
        retention = config.answers_in_context and bool(case.answers)
        lay = layout(case.context, tokenizer, keep_digits=config.keep_digits)
        full_correct = None
        if cached is not None and retention:
            # The full context as the ``none`` method sends it, so both share one cached answer.
            full = prompt_text(case, lay.text(np.arange(len(lay.words))))
            full_correct = contains_answer(cached.answer(case.question, full), case.answers)
        for method in methods:
            for rate in _rates_of(method, config.rates):
                done = method.condense(case, lay, rate)
                answering = (
                    config.answer_rates is None or method.name == "none" or rate in config.answer_rates
                )
                record = _measure(
                    case, lay, done, method.name, rate, retention, cached if answering else None, full_correct
                )
                _add(cells[(method.name, rate)], record)
                if on_record is not None:
                    on_record(record)
    return [cell.row(name, rate, answerer is not None) for (name, rate), cell in cells.items()]


def _rates_of(method: Method, rates: Sequence[float]) -> tuple[float, ...]:
    return (1.0,) if method.name == "none" else tuple(rates)


def _measure(
    case: Any,
    lay: Layout,
    done: Condensed,
    method: str,
    rate: float,
    retention: bool,
    answerer: _CachedAnswerer | None,
    full_correct: bool | None,
) -> dict[str, Any]:
    condensed_context = lay.text(done.kept)
    prompt = prompt_text(case, condensed_context)
    kept_numbers, total_numbers = numbers_kept(case.context, condensed_context)
    record: dict[str, Any] = {
        "id": case.id,
        "method": method,
        "rate": rate,
        "words_original": len(lay.words),
        "words_kept": len(done.kept),
        "original_tokens": lay.total_tokens,
        "condensed_tokens": lay.tokens(done.kept),
        "forced_tokens": lay.tokens(np.flatnonzero(lay.forced)),
        "ms": done.ms,
        "answer_retained": contains_answer(prompt, case.answers) if retention else None,
        "numbers_kept": kept_numbers,
        "numbers_total": total_numbers,
        "condensed": prompt,
    }
    verbatim = getattr(case, "verbatim", "")
    if verbatim:  # sent untouched: its numbers must all reach the model (the maths target)
        kept, total = numbers_kept(verbatim, prompt)
        record["problem_numbers_kept"] = kept == total
    if full_correct is not None:
        record["correct_full"] = full_correct
        if answerer is not None:
            condensed_answer = answerer.answer(case.question, prompt)
            record["answer"] = condensed_answer
            record["correct_condensed"] = contains_answer(condensed_answer, case.answers)
    return record


def _add(cell: _Totals, record: dict[str, Any]) -> None:
    cell.cases += 1
    if record["words_original"]:
        cell.ratio_words.append(record["words_kept"] / record["words_original"])
    if record["original_tokens"]:
        achieved = record["condensed_tokens"] / record["original_tokens"]
        cell.ratio_tokens.append(achieved)
        cell.on_rate.append(float(abs(achieved - record["rate"]) <= RATE_TOLERANCE * record["rate"]))
        budget = token_budget(record["original_tokens"], record["rate"])
        cell.forced_over.append(float(record["forced_tokens"] > budget))
    cell.tokens_original += record["original_tokens"]
    cell.tokens_kept += record["condensed_tokens"]
    if record["answer_retained"] is not None:
        cell.retained.append(float(record["answer_retained"]))
    if record["numbers_total"]:
        cell.numbers_kept += record["numbers_kept"]
        cell.numbers_total += record["numbers_total"]
        cell.all_numbers.append(float(record["numbers_kept"] == record["numbers_total"]))
    if "problem_numbers_kept" in record:
        cell.problem_numbers.append(float(record["problem_numbers_kept"]))
    cell.ms.append(record["ms"])
    if "correct_full" in record:
        cell.correct_full.append(float(record["correct_full"]))
    if "correct_condensed" in record:
        cell.correct_condensed.append(float(record["correct_condensed"]))
