"""``make eval``: the whole evaluation of the bundled condenser, written to ``docs/eval/``.

Runs, on the held-out split (never trained on):

- ``nq-hard``: NQ, 10 documents, 9 hard (BM25) distractors, with the extractive answerer;
- ``nq-hard-no-digits``: the same cases without ``keep_digits`` (numbers are not forced);
- ``nq-hard-arranged`` and ``nq-hard-no-digits-arranged``: the student and the baselines on the
  same cases in 10 arrangements (``--arrangements 10``: the same 10 documents in 10 seeded orders,
  the first the usual one), pooled. One arrangement puts each gold passage at one place in the
  model's windows, and a few cases that land well or badly move a figure by a point or two; over
  10 places that luck averages out, so these are the figures to compare two bundles by;
- ``nq-hard-answer-arranged`` and ``nq-hard-no-digits-answer-arranged``: the extractive answerer
  on the full contexts and on the student's rate-0.2 ones, over 3 arrangements of those cases
  (906), for the accuracy target the way the arranged runs are for the retention targets (one
  arrangement moved that share by more than a point);
- ``nq-random``: the same with random distractors;
- ``nq-hard-titles`` and ``nq-hard-plain``: the ``nq-hard`` cases written another way
  (``--layout``): each title on a line of its own above its text, or the texts alone, documents
  apart by blank lines, as retrieval pipelines also write prompts. The bundled condenser was
  trained on all the NQ train cases in the usual layout and on a third of them in each of these,
  reading where their lines break;
- ``nq-hard-swapped``: the ``nq-hard`` contexts asking, in place of their own question, the
  question of one of their distractors (``--questions swapped``): the same ten documents, another
  question, so a condenser that keeps what the documents are about and not what is asked fails
  it;
- ``gsm8k``: 8 solved problems condensed, the target problem kept verbatim; ``gsm8k-no-digits``
  the same without ``keep_digits``: the solutions' numbers and equations alone hold about a third
  of the demonstrations' tokens, so with them forced no rate under that is reachable;
- ``essay``: a fact planted in a long essay of real Wikipedia sentences;
- ``kv``: the value of one UUID key in a JSON object, with and without ``keep_digits``
  (``kv-no-digits``: every UUID contains digits, so ``keep_digits`` alone keeps them all).

For each run it writes ``<run>.json`` (the ``splitinfer eval --json`` document, with the run's
wall time added to its config as ``seconds``) and ``<run>.png``,
then ``README.md``: issue 7's targets with what was measured, and every table. ``--runs``
re-measures some runs only; ``README.md`` is rebuilt from every run's JSON in the folder, and says
so when they measured different bundles.

    python -m splitinfer.evaluation.suite --data ../shared/data --out docs/eval --jobs 2

The teacher's scores and the extractive answerer's answers are kept in ``--cache``
(``build/eval-cache.sqlite``; see ``splitinfer.evaluation.cache``): they do not depend on the
bundle, so after the first ``make eval`` another bundle's evaluation asks the teacher nothing and
answers only the student's prompts, while the teacher's and the answerer's settings, code and
weights stay the same. Each run's JSON counts what it computed and what it reused.

``--jobs 2`` (what ``make eval`` passes, ``JOBS=n`` to change it) runs two at a time: about
twice as fast on 2 cores, each run's ``ms p50`` column then taken beside another run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from splitinfer.evaluation.command import EvalOptions, evaluate_options, headline
from splitinfer.evaluation.report import format_markdown, format_table, plot, to_json
from splitinfer.evaluation.targets import Check, check_targets
from splitinfer.sdk._bundle import atomic_write
from splitinfer.sdk._errors import SplitinferError

# Where make eval keeps the teacher's scores and the answers (relative to where it runs: the
# project's root).
CACHE = "build/eval-cache.sqlite"

# No teacher here: its scores are not a target on maths problems, and it would take most of the run.
_GSM8K = {"format": "gsm8k", "methods": "student,random,truncate,none", "file": "gsm8k-train.jsonl.gz"}

RUNS: dict[str, dict[str, Any]] = {
    # Answering is the slow part (the extractive model reads every condensed context): at 0.2 only.
    "nq-hard": {
        "format": "nq",
        "distractors": "hard",
        "answer": True,
        "answer_rates": "0.2",
        "file": "nq-open-train.jsonl.gz",
    },
    # keep_digits forces every word with a digit (years, dates, amounts): at rate 0.1 that alone
    # can exceed the budget, so the same cases are also measured without it.
    "nq-hard-no-digits": {
        "format": "nq",
        "distractors": "hard",
        "keep_digits": False,
        "methods": "student,teacher,random,none",
        "answer": True,
        "answer_rates": "0.2",
        "file": "nq-open-train.jsonl.gz",
    },
    # No teacher: at about a second a case it would take an hour for each.
    "nq-hard-arranged": {
        "format": "nq",
        "distractors": "hard",
        "arrangements": 10,
        "methods": "student,random,truncate,none",
        "file": "nq-open-train.jsonl.gz",
    },
    "nq-hard-no-digits-arranged": {
        "format": "nq",
        "distractors": "hard",
        "arrangements": 10,
        "keep_digits": False,
        "methods": "student,random,none",
        "file": "nq-open-train.jsonl.gz",
    },
    # The extractive answerer reads 2 contexts a case (about half a second each): 3 arrangements, rate 0.2.
    "nq-hard-answer-arranged": {
        "format": "nq",
        "distractors": "hard",
        "arrangements": 3,
        "rates": "0.2",
        "methods": "student,none",
        "answer": True,
        "file": "nq-open-train.jsonl.gz",
    },
    "nq-hard-no-digits-answer-arranged": {
        "format": "nq",
        "distractors": "hard",
        "arrangements": 3,
        "rates": "0.2",
        "keep_digits": False,
        "methods": "student,none",
        "answer": True,
        "file": "nq-open-train.jsonl.gz",
    },
    "nq-random": {"format": "nq", "distractors": "random", "file": "nq-open-train.jsonl.gz"},
    "nq-hard-titles": {
        "format": "nq",
        "distractors": "hard",
        "layout": "titles",
        "methods": "student,teacher,random,none",
        "file": "nq-open-train.jsonl.gz",
    },
    "nq-hard-plain": {
        "format": "nq",
        "distractors": "hard",
        "layout": "plain",
        "methods": "student,teacher,random,none",
        "file": "nq-open-train.jsonl.gz",
    },
    "nq-hard-swapped": {
        "format": "nq",
        "distractors": "hard",
        "questions": "swapped",
        "methods": "student,teacher,random,none",
        "file": "nq-open-train.jsonl.gz",
    },
    "gsm8k": _GSM8K,
    "gsm8k-no-digits": {**_GSM8K, "keep_digits": False},
    "essay": {"format": "essay", "file": "nq-open-train.jsonl.gz"},
    "kv": {"format": "kv"},
    "kv-no-digits": {"format": "kv", "keep_digits": False},
}


def command_line(name: str, config: dict[str, Any]) -> str:
    """The ``splitinfer eval`` command equivalent to one run, from its ``config`` block."""
    parts = ["splitinfer eval", f"--format {config['format']}"]
    if config.get("data"):
        parts.append(f"--data {config['data']}")
    if config.get("distractors"):
        parts.append(f"--distractors {config['distractors']}")
    if config.get("layout") and config["layout"] != "documents":
        parts.append(f"--layout {config['layout']}")
    if config.get("questions") and config["questions"] != "own":
        parts.append(f"--questions {config['questions']}")
    default_rates = [float(r) for r in EvalOptions.rates.split(",")]
    if config.get("rates") and [float(r) for r in config["rates"]] != default_rates:
        parts.append("--rates " + ",".join(f"{r:g}" for r in config["rates"]))
    if (config.get("arrangements") or 1) > 1:
        parts.append(f"--arrangements {config['arrangements']}")
    if config.get("answer"):
        parts.append("--answer")
        if config.get("answer_rates") and config["answer_rates"] != config["rates"]:
            parts.append("--answer-rates " + ",".join(f"{r:g}" for r in config["answer_rates"]))
    if config.get("methods") and config["methods"] != EvalOptions.methods.split(","):
        parts.append("--methods " + ",".join(config["methods"]))
    if config.get("model") not in (None, "default"):  # "default": the bundled condenser, no --model
        parts.append(f"--model {config['model']}")
    if config.get("keep_digits") is False:
        parts.append("--no-keep-digits")
    if config.get("limit") is not None:
        parts.append(f"--limit {config['limit']}")
    parts.append(f"--json --plot {name}.png")
    return " ".join(parts)


def measure(
    name: str,
    data: str,
    out: Path,
    limit: int | None = None,
    model: str | None = None,
    cache: str | None = None,
) -> None:
    """Run one named run and write ``<name>.json`` and ``<name>.png`` into ``out``; the teacher's
    scores and the answers are kept in ``cache`` when the run has the teacher or answers."""
    spec = RUNS[name]
    options = EvalOptions(
        format=spec["format"],
        data=f"{data}/{spec['file']}" if "file" in spec else None,
        distractors=spec.get("distractors"),
        layout=spec.get("layout"),
        questions=spec.get("questions"),
        arrangements=spec.get("arrangements", 1),
        rates=spec.get("rates", EvalOptions.rates),
        answer=spec.get("answer", False),
        answer_rates=spec.get("answer_rates"),
        methods=spec.get("methods", EvalOptions.methods),
        keep_digits=spec.get("keep_digits", True),
        limit=limit,
        model=model,
        cache=cache if _uses_cache(spec) else None,
    )
    start = time.perf_counter()
    rows, config = evaluate_options(options)
    config["seconds"] = round(time.perf_counter() - start, 1)
    # Whole or not at all: summarize() reads every run's file, and a half-written one would stop it.
    atomic_write(out / f"{name}.json", (to_json(rows, config) + "\n").encode("utf-8"))
    plot(rows, out / f"{name}.png", title=f"{name}: {headline(config)}")
    print(f"\n{name}: {headline(config)} ({config['seconds']} s)\n{format_table(rows)}", flush=True)


def summarize(out: Path) -> list[Check]:
    """Write ``out/README.md`` from every run's JSON found in ``out`` (so re-running one run keeps
    the others); return the target checks. Runs measured with different bundles are flagged."""
    results: dict[str, list[dict[str, Any]]] = {}
    configs: dict[str, dict[str, Any]] = {}
    for name in RUNS:
        path = out / f"{name}.json"
        if path.is_file():
            doc = json.loads(path.read_text(encoding="utf-8"))
            results[name], configs[name] = doc["results"], doc["config"]
    checks = check_targets(results)
    sections = [
        f"## {name}\n\n{headline(config)}, {config.get('seconds', '?')} s{_reuse(config)}.\n\n"
        f"`{command_line(name, config)}`\n\n{format_markdown(results[name])}\n\n![{name}]({name}.png)\n"
        for name, config in configs.items()
    ]
    bundles = {c.get("model_sha256") for c in configs.values() if c.get("model_sha256")}
    warning = ""
    sliced = {n: c["limit"] for n, c in configs.items() if c.get("limit") is not None}
    if sliced:
        runs = ", ".join(f"{n}: first {limit} cases" for n, limit in sliced.items())
        warning += (
            f"**A slice, not the full evaluation** ({runs}); the targets below say nothing about the "
            "bundle. Run `make eval` without LIMIT for the published figures.\n\n"
        )
    if len(bundles) > 1:
        versions = ", ".join(
            f"{n}: {c.get('model_version')}" for n, c in configs.items() if c.get("model_version")
        )
        warning += f"**These runs measured different bundles** ({versions}); re-run `make eval`.\n\n"
    atomic_write(out / "README.md", _summary(checks, warning, sections).encode("utf-8"))
    return checks


def _uses_cache(spec: dict[str, Any]) -> bool:
    """Whether a run stores anything in the cache: the teacher's scores or answers."""
    return "teacher" in spec.get("methods", EvalOptions.methods).split(",") or bool(spec.get("answer"))


def _stored_cases(spec: dict[str, Any]) -> tuple[Any, ...] | None:
    """What decides the cases whose teacher scores or full-prompt answers a run stores (None: it
    stores nothing). Runs that differ only in how they condense (``keep_digits``, rates) share
    them."""
    if not _uses_cache(spec):
        return None
    return tuple(
        spec.get(k) for k in ("format", "file", "distractors", "layout", "questions", "arrangements")
    )


def start_order(names: Sequence[str]) -> list[str]:
    """``names`` in the order to start them side by side: a run whose cases an earlier run scores
    with the teacher or answers in full goes to the end, so that it finds those stored instead of
    computing them at the same time in another process."""
    first, later, seen = [], [], set()
    for name in names:
        cases = _stored_cases(RUNS[name])
        (later if cases is not None and cases in seen else first).append(name)
        seen.add(cases)
    return first + later


def run_suite(
    names: Sequence[str],
    data: str,
    out: Path,
    limit: int | None = None,
    model: str | None = None,
    jobs: int = 1,
    cache: str | None = None,
) -> list[Check]:
    """Run the named runs into ``out``, then rewrite its ``README.md``; the target checks.

    With ``jobs`` > 1, that many runs at a time, each in a process of its own (every run is
    single-threaded); the first failure stops the runs not yet started and is raised."""
    out.mkdir(parents=True, exist_ok=True)
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
    if jobs <= 1 or len(names) <= 1:
        for name in names:
            measure(name, data, out, limit, model, cache)
        return summarize(out)
    from splitinfer.converters._parallel import run_side_by_side

    run_side_by_side(
        measure,
        [(name, data, out, limit, model, cache) for name in start_order(names)],
        jobs,
        "make eval: a run failed; the runs under way finish first",
    )
    return summarize(out)


def _reuse(config: dict[str, Any]) -> str:
    """What the run took from the cache, for its time to be read right: "" when nothing."""
    parts = []
    for field, what in (("teacher_scores", "teacher scores"), ("answers", "answers")):
        counts = config.get(field) or {}
        if counts.get("reused"):
            total = counts["reused"] + counts.get("computed", 0)
            parts.append(f"{counts['reused']} of {total} {what}")
    return f" ({' and '.join(parts)} reused from the cache)" if parts else ""


def _summary(checks: Sequence[Check], warning: str, sections: Sequence[str]) -> str:
    mark = {True: "met", False: "**missed**", None: "not measured"}
    lines = [
        "# Evaluation of the bundled condenser",
        "",
        "Regenerated by `make eval` (held-out split: questions no model was trained on).",
        "",
        "## Targets (issue 7)",
        "",
        "| target | measured | |",
        "|---|---|---|",
    ]
    lines += [f"| {c.target} | {c.measured} | {mark[c.passed]} |" for c in checks]
    return warning + "\n".join(lines) + "\n\n" + "\n".join(sections)


def main(argv: Sequence[str] | None = None) -> int:
    from splitinfer.cli._help import exit_codes, plain

    parser = argparse.ArgumentParser(
        prog="python -m splitinfer.evaluation.suite",
        description=plain(__doc__.split("\n")[0]),
        epilog=exit_codes(
            ok="every run written and README.md updated (targets met or missed are listed; they do "
            "not change the exit code)",
            failed=None,
            sigterm=True,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--data", default="../shared/data", help="the shared data folder (default ../shared/data)"
    )
    parser.add_argument("--out", default="docs/eval", help="where to write the results (default docs/eval)")
    parser.add_argument(
        "--runs", default=",".join(RUNS), help=f"comma-separated runs (default {','.join(RUNS)})"
    )
    parser.add_argument(
        "--limit", type=int, help="cases per run (default: all held-out cases, 200 synthetic)"
    )
    parser.add_argument("--model", help="student bundle (default: the bundled condenser)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="runs at a time, each a single-threaded process (default 1; `make eval` gives 2). "
        "Their ms columns then include the other runs' load: speed is `splitinfer bench`'s to measure",
    )
    parser.add_argument(
        "--cache",
        default=CACHE,
        metavar="FILE",
        help=f"keep the teacher's scores and the answers here and reuse them (default {CACHE}; its "
        "folder is created): they do not depend on the bundle, so a later evaluation computes only "
        "the student's",
    )
    parser.add_argument("--no-cache", action="store_true", help="compute everything afresh and keep nothing")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    names = [n.strip() for n in args.runs.split(",") if n.strip()]
    unknown = [n for n in names if n not in RUNS]
    if unknown:
        parser.error(f"unknown run {', '.join(unknown)}; use some of {', '.join(RUNS)}")
    from splitinfer.converters._paths import terminate_as_interrupt

    try:
        with terminate_as_interrupt():  # SIGTERM (a cancelled CI job) stops the suite as Ctrl-C does
            checks = run_suite(
                names,
                args.data.rstrip("/"),
                Path(args.out),
                args.limit,
                args.model,
                args.jobs,
                None if args.no_cache else args.cache,
            )
    except SplitinferError as err:
        print(f"make eval: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print(
            "make eval: interrupted; the runs written so far are kept, README.md is not updated",
            file=sys.stderr,
        )
        return 130
    except Exception as err:  # a bug: exit 3 as every splitinfer command, so CI tells it from bad input
        traceback.print_exc()
        print(
            f"make eval: internal error: {type(err).__name__}: {err} (a bug in splitinfer)", file=sys.stderr
        )
        return 3
    print("\ntargets:")
    for check in checks:
        status = {True: "met", False: "MISSED", None: "not measured"}[check.passed]
        print(f"  [{status}] {check.target}: {check.measured}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
