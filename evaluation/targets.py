"""Issue 7's quality targets, checked against the results of a suite run.

Each check reads the rows of one run (see :mod:`splitinfer.evaluation.suite`) and says what was
measured and whether it meets the target; a check whose run or row is missing says so instead of
passing. Nothing here changes a result: it only compares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from splitinfer.evaluation.runner import RATE_TOLERANCE

TEACHER_GAP = 0.03

Rows = Sequence[dict[str, Any]]


@dataclass(frozen=True)
class Check:
    """One target: what it asks, what was measured, and whether it holds (``None``: not measured)."""

    target: str
    measured: str
    passed: bool | None


def _row(rows: Rows, method: str, rate: float) -> dict[str, Any] | None:
    return next((r for r in rows if r["method"] == method and abs(r["rate"] - rate) < 1e-9), None)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100.0 * value:.1f}%"


def _pct_near(value: float, goal: float) -> str:
    """``value`` as a percentage with enough decimals not to look like ``goal`` when it is not
    (94.97% against 95%, not "95.0%" that missed)."""
    for decimals in (1, 2, 3):
        text = f"{100.0 * value:.{decimals}f}"
        if value == goal or float(text) != round(100.0 * goal, decimals):
            return f"{text}%"
    return f"{100.0 * value:.3f}%"


def _missing(target: str, what: str) -> Check:
    return Check(target, f"not measured ({what} missing)", None)


def _retention(rows: Rows, rate: float, goal: float, run: str) -> Check:
    target = f"{run}: student keeps the answer at rate {rate:g} >= {_pct(goal)}"
    row = _row(rows, "student", rate)
    if row is None or row["answer_retention"] is None:
        return _missing(target, f"student at {rate:g}")
    return Check(target, _pct_near(row["answer_retention"], goal), row["answer_retention"] >= goal)


def _above_random(rows: Rows, rate: float, run: str) -> Check:
    target = f"{run}: student >= 50 points above random at rate {rate:g}"
    student, random = _row(rows, "student", rate), _row(rows, "random", rate)
    if student is None or random is None:
        return _missing(target, "student or random")
    gap = student["answer_retention"] - random["answer_retention"]
    return Check(target, f"{100.0 * gap:+.1f} points", gap >= 0.5)


def _accuracy(rows: Rows, rate: float, run: str) -> Check:
    target = f"{run}: extractive accuracy on the student's rate-{rate:g} context >= 98% of full"
    row = _row(rows, "student", rate)
    if row is None or row.get("accuracy_condensed") is None or not row.get("accuracy_full"):
        return _missing(target, "--answer results")
    share = row["accuracy_condensed"] / row["accuracy_full"]
    measured = f"{_pct(row['accuracy_condensed'])} vs {_pct(row['accuracy_full'])} = {_pct_near(share, 0.98)} of full"
    return Check(target, measured, share >= 0.98)


def _near_teacher(rows: Rows, run: str) -> list[Check]:
    checks = []
    for teacher in (r for r in rows if r["method"] == "teacher"):
        rate = teacher["rate"]
        target = f"{run}: student within 3 points of the teacher at rate {rate:g}"
        student = _row(rows, "student", rate)
        if student is None or teacher["answer_retention"] is None:
            checks.append(_missing(target, "student or retention"))
            continue
        gap = student["answer_retention"] - teacher["answer_retention"]
        checks.append(Check(target, f"{100.0 * gap:+.1f} points", gap >= -TEACHER_GAP))
    return checks


def _on_rate(rows: Rows, run: str) -> Check:
    target = f"{run}: achieved token rate within +-10% of the requested one, every method but none"
    measured_rows = [r for r in rows if r["method"] != "none" and r["ratio_tokens"] is not None]
    if not measured_rows:
        return _missing(target, "rows")
    off: dict[float, list[dict[str, Any]]] = {}
    for row in measured_rows:
        if abs(row["ratio_tokens"] - row["rate"]) > RATE_TOLERANCE * row["rate"]:
            off.setdefault(row["rate"], []).append(row)
    if not off:
        n = len(measured_rows)
        return Check(target, f"all {n} rows on rate" if n > 1 else "the 1 row on rate", True)
    parts = []
    for rate, missed in off.items():
        achieved = ", ".join(f"{r['method']} {r['ratio_tokens']:.3f}" for r in missed)
        forced = max((r.get("forced_over_budget") or 0.0) for r in missed)
        why = f" (forced words alone over budget in {_pct(forced)} of cases)" if forced else ""
        parts.append(f"at {rate:g}: {achieved}{why}")
    return Check(target, "; ".join(parts), False)


def _gsm8k(rows: Rows) -> list[Check]:
    row = _row(rows, "student", 0.5)
    problem = "gsm8k: every number of the target problem kept at rate 0.5 (it is sent verbatim)"
    numbers = "gsm8k: every number of the demonstrations kept at rate 0.5"
    condensed = "gsm8k: demonstrations condensed at rate 0.5"
    if row is None:
        return [_missing(name, "student at 0.5") for name in (problem, numbers, condensed)]
    kept_problem = row.get("problem_numbers_kept")
    return [
        Check(
            problem,
            "no target problem" if kept_problem is None else f"all kept in {_pct(kept_problem)} of problems",
            kept_problem == 1.0,
        ),
        Check(
            numbers,
            f"all kept in {_pct(row['all_numbers_kept'])} of problems",
            row["all_numbers_kept"] == 1.0,
        ),
        Check(
            condensed,
            f"{_pct(row['ratio_tokens'])} of demonstration tokens kept",
            row["ratio_tokens"] <= 0.55,
        ),
    ]


def _problem_kept(rows: Rows, run: str) -> Check:
    """Without ``keep_digits`` the target problem still goes verbatim: its numbers are kept by
    every method at every rate, the lowest included."""
    target = f"{run}: every number of the target problem kept at every rate (it is sent verbatim)"
    measured = [r for r in rows if r["method"] != "none" and r.get("problem_numbers_kept") is not None]
    if not measured:
        return _missing(target, "rows")
    worst = min(measured, key=lambda r: (r["problem_numbers_kept"], r["rate"]))
    share = worst["problem_numbers_kept"]
    if share == 1.0:
        return Check(target, f"all kept in every problem, in all {len(measured)} rows", True)
    return Check(
        target, f"{worst['method']} at {worst['rate']:g}: all kept in {_pct(share)} of problems", False
    )


def check_targets(results: Mapping[str, Rows]) -> list[Check]:
    """Every target of issue 7 that the runs in ``results`` (run name -> rows) can answer."""
    checks: list[Check] = []
    for run in ("nq-hard", "nq-hard-no-digits", "nq-hard-arranged", "nq-hard-no-digits-arranged"):
        if run in results:
            rows = results[run]
            checks += [
                _retention(rows, 0.2, 0.95, run),
                _above_random(rows, 0.2, run),
                _retention(rows, 0.1, 0.90, run),
            ]
    if "nq-hard" in results:
        checks.append(_accuracy(results["nq-hard"], 0.2, "nq-hard"))
    for run in ("nq-hard-no-digits", "nq-hard-answer-arranged", "nq-hard-no-digits-answer-arranged"):
        rows = results.get(run, [])
        if any(r.get("accuracy_condensed") is not None for r in rows):
            checks.append(_accuracy(rows, 0.2, run))
    for name, rows in results.items():
        if name != "gsm8k":
            checks += _near_teacher(rows, name)
    if "gsm8k" in results:
        checks += _gsm8k(results["gsm8k"])
    if "gsm8k-no-digits" in results:
        checks.append(_problem_kept(results["gsm8k-no-digits"], "gsm8k-no-digits"))
    for name, rows in results.items():
        checks.append(_on_rate(rows, name))
    return checks
