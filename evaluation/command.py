"""``splitinfer eval`` as a function: options in, results printed, exit code out."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from splitinfer.evaluation import data as eval_data
from splitinfer.evaluation.build import (
    TEACHER,
    build_methods,
    default_tokenizer,
    load_condenser,
    load_teacher,
    parse_methods,
    parse_rates,
)
from splitinfer.evaluation.cache import EvalCache, StoredAnswerer
from splitinfer.evaluation.report import format_table, plot, to_json
from splitinfer.evaluation.runner import EvalConfig, evaluate
from splitinfer.sdk._errors import InvalidInputError

# More arrangements than this re-measures the same cases for little: the questions, not the
# places of their documents, are then what the figures vary with.
MAX_ARRANGEMENTS = 100


@dataclass(frozen=True)
class EvalOptions:
    """The command's flags (see ``splitinfer eval --help``)."""

    format: str = "nq"
    data: str | None = None
    distractors: str | None = None  # None: hard (nq only)
    layout: str | None = None  # None: documents (nq only)
    questions: str | None = None  # None: own (nq only)
    split: str | None = None  # None: heldout, or all for qa (a user's own file)
    rates: str = "0.1,0.2,0.33,0.5"
    methods: str = "student,teacher,random,truncate,none"
    model: str | None = None
    limit: int | None = None
    seed: int = 0
    arrangements: int = 1  # nq only: seeds seed .. seed + arrangements - 1, pooled
    answer: bool = False
    answer_rates: str | None = None
    keep_digits: bool = True
    cache: str | None = None  # an EvalCache file: the teacher's scores and the answers kept and reused
    json: bool = False
    plot: str | None = None
    output: str | None = None


def run_eval(options: EvalOptions, stdout: TextIO | None = None) -> int:
    """Run the evaluation the options describe, print the table (or JSON) and write the files asked for."""
    out = stdout or sys.stdout
    rows, summary = evaluate_options(options)
    if options.json:
        print(to_json(rows, summary), file=out)
    else:
        print(headline(summary), file=out)
        print(format_table(rows), file=out)
    if options.plot:
        plot(rows, options.plot, title=headline(summary))
    return 0


def evaluate_options(options: EvalOptions) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The result rows and the ``config`` block of the run the options describe.

    Raises ``InvalidInputError`` for bad options (rates, methods, limit, a missing data file,
    ``--answer`` on maths problems) before any model is loaded.
    """
    options = resolve(options)
    rates = parse_rates(options.rates)
    names = parse_methods(options.methods)
    if options.limit is not None and options.limit <= 0:
        raise InvalidInputError(f"--limit must be a positive number of cases, got {options.limit}")
    if isinstance(options.seed, bool) or not isinstance(options.seed, int) or not 0 <= options.seed < 2**32:
        raise InvalidInputError(f"--seed must be a whole number from 0 to {2**32 - 1}, got {options.seed!r}")
    if (
        isinstance(options.arrangements, bool)
        or not isinstance(options.arrangements, int)
        or not 1 <= options.arrangements <= MAX_ARRANGEMENTS
    ):
        raise InvalidInputError(
            f"--arrangements must be a whole number from 1 to {MAX_ARRANGEMENTS}, got {options.arrangements!r}"
        )
    if options.seed + options.arrangements - 1 >= 2**32:
        raise InvalidInputError(
            f"--seed {options.seed} with --arrangements {options.arrangements} runs past seed {2**32 - 1}; "
            "lower either"
        )
    answers_in_context = options.format != "gsm8k"
    answer_rates = (
        parse_rates(options.answer_rates, "--answer-rates") if options.answer_rates is not None else None
    )
    if answer_rates is not None and (not options.answer or not set(answer_rates) <= set(rates)):
        raise InvalidInputError("--answer-rates needs --answer and must be some of the --rates")
    if options.model is not None and "student" not in names:
        raise InvalidInputError("--model is the student's bundle; add student to --methods or drop --model")
    check_outputs(options, names)
    use_cache = _check_cache(options, names)
    if options.answer and not answers_in_context:
        raise InvalidInputError(
            "--answer measures an extractive answerer, and gsm8k answers are computed, not found in "
            "the context; drop --answer for gsm8k"
        )
    cases = eval_data.load(
        options.format,
        options.data,
        options.distractors,
        options.split,
        options.limit,
        options.seed,
        options.layout,
        options.arrangements,
        options.questions,
    )
    if not cases:
        data = options.data if options.data is not None else eval_data.default_data(options.format)
        raise InvalidInputError(
            f"{data}: no records of --split {options.split} (a hash of each question sets its split, "
            "about 1 in 5 held out); try --split all or another --data"
        )
    if options.format == "qa":
        warn_answers_not_in_context(cases)
    if options.format == "essay" and eval_data.essay_prose(options.data) is None:
        print(
            f"splitinfer eval: warning: no NQ file at {eval_data.default_data('essay')} for the essays' "
            "prose; they use pseudo-sentences (pass --data nq-open-train.jsonl.gz for Wikipedia prose)",
            file=sys.stderr,
        )
    config = EvalConfig(
        rates=rates,
        keep_digits=options.keep_digits,
        seed=options.seed,
        answers_in_context=answers_in_context,
        answer_rates=answer_rates,
    )
    cache = EvalCache(options.cache) if use_cache else None
    try:
        condenser = load_condenser(options.model) if "student" in names else None
        teacher = load_teacher(cache=cache) if "teacher" in names else None
        tokenizer = getattr(condenser, "tokenizer", None) or default_tokenizer()
        methods = build_methods(names, condenser, teacher, keep_digits=options.keep_digits, seed=options.seed)
        answerer = _answerer() if options.answer else None
        if answerer is not None and cache is not None:
            answerer = StoredAnswerer(answerer, cache)
        rows = _run(cases, methods, tokenizer, config, answerer, options.output)
    finally:
        if cache is not None:
            cache.close()
    block = _config_block(options, rates, answer_rates, names, len(cases), condenser)
    # Computed in this run or reused (from --cache, or for the teacher earlier in the process):
    # the figures are the same either way, only the run's time differs.
    if teacher is not None:
        block["teacher_scores"] = {"computed": teacher.computed, "reused": teacher.reused}
    if isinstance(answerer, StoredAnswerer):
        block["answers"] = {"computed": answerer.computed, "reused": answerer.reused}
    return rows, block


def warn_answers_not_in_context(cases: list[Any]) -> None:
    """Warn on stderr when some qa cases hold no gold answer in their full context (a computed
    answer, or one written otherwise): no method can keep those, so they lower every row's
    answer retention alike, and a user's own file may hold many of them."""
    from splitinfer.evaluation.metrics import contains_answer

    missing = [case for case in cases if not contains_answer(case.context, case.answers)]
    if not missing:
        return
    first = missing[0]
    print(
        f"splitinfer eval: warning: {len(missing)} of {len(cases)} cases hold no gold answer in their "
        f"context (such as {first.id}, answers {first.answers[:3]}); 'answer kept' counts them as lost "
        "for every method, so the none row is the most any method keeps. Give answers as the context "
        "writes them (case, punctuation and a/an/the aside)",
        file=sys.stderr,
    )


def resolve(options: EvalOptions) -> EvalOptions:
    """The options with their format-dependent defaults filled in, or ``InvalidInputError`` for
    an option the format does not use."""
    if options.distractors is not None and options.format != "nq":
        raise InvalidInputError(f"--distractors is for --format nq; drop it for --format {options.format}")
    if options.layout is not None and options.format != "nq":
        raise InvalidInputError(f"--layout is for --format nq; drop it for --format {options.format}")
    if options.questions is not None and options.format != "nq":
        raise InvalidInputError(f"--questions is for --format nq; drop it for --format {options.format}")
    if options.arrangements != 1 and options.format != "nq":
        raise InvalidInputError(
            f"--arrangements is for --format nq (its 10 documents can be reordered); drop it for "
            f"--format {options.format}"
        )
    if options.data is not None and options.format == "kv":
        raise InvalidInputError("--format kv builds its prompts from --seed and reads no --data; drop --data")
    if options.format == "essay" and options.data is not None and not Path(options.data).is_file():
        raise InvalidInputError(f"--data {options.data}: no such file (essays read the NQ file for prose)")
    return replace(
        options,
        distractors=options.distractors or "hard",
        layout=options.layout or "documents",
        questions=options.questions or "own",
        split=options.split or ("all" if options.format == "qa" else "heldout"),
    )


def _check_cache(options: EvalOptions, names: tuple[str, ...]) -> bool:
    """Whether the run uses ``--cache``: a clear error for one it would overwrite, before any case
    is built (the file itself is opened, and refused if it is not a cache, before any model loads);
    a warning for one it has nothing to keep in (a pipeline that always passes it runs on)."""
    if options.cache is None:
        return False
    if "teacher" not in names and not options.answer:
        print(
            "splitinfer eval: warning: --cache keeps the teacher's scores and the answers of --answer, "
            "and this run has neither: it is not used",
            file=sys.stderr,
        )
        return False
    path = Path(options.cache).resolve()
    what = _same_file(path, {**_outputs(options), **_files_read(options, names)})
    if what is not None:
        raise InvalidInputError(f"--cache {options.cache} is {what}; name another file")
    if not path.parent.is_dir():
        raise InvalidInputError(f"--cache {options.cache}: the folder {path.parent} does not exist")
    from splitinfer.converters._paths import check_writable

    check_writable("--cache", path, "eval-cache.sqlite")
    return True


def check_outputs(options: EvalOptions, names: tuple[str, ...] = ()) -> None:
    """Refuse an output the run could not write, or that would overwrite a file the run reads
    (--data, the --model bundle) or the other output, before any case is condensed."""
    from splitinfer.converters._paths import check_writable

    outputs = _outputs(options)
    for flag, value in outputs.items():
        if value == "-":  # elsewhere "-" is stdout, which here carries the table or the --json document
            raise InvalidInputError(
                f"{flag} -: stdout carries the results table (or --json); give {flag} a file name "
                f"such as {'results.jsonl' if flag == '--output' else 'retention.png'}"
            )
        path = Path(value)
        if path.is_dir():
            raise InvalidInputError(f"{flag} {value}: a folder; give a file name inside it")
        if not path.parent.is_dir():
            raise InvalidInputError(f"{flag}: the folder {path.parent} does not exist")
    read = _files_read(options, names)
    for flag, value in outputs.items():
        what = _same_file(Path(value).resolve(), read)
        if what is not None:
            raise InvalidInputError(f"{flag} {value} is {what}; write the results elsewhere")
    if options.output and options.plot and Path(options.output).resolve() == Path(options.plot).resolve():
        raise InvalidInputError("--output and --plot are the same file; give each its own name")
    if options.plot is not None:
        from splitinfer.evaluation.report import plot_formats

        suffix = Path(options.plot).suffix.lower().lstrip(".")
        if suffix not in plot_formats():
            raise InvalidInputError(
                f"--plot {options.plot}: not an image name; end it in .png, .svg, .pdf or .jpg (e.g. retention.png)"
            )
    for flag, value in outputs.items():
        check_writable(flag, Path(value), "results.jsonl" if flag == "--output" else "retention.png")


def _outputs(options: EvalOptions) -> dict[str, str]:
    """The files the run writes its results to, by flag (those given)."""
    return {flag: value for flag, value in (("--output", options.output), ("--plot", options.plot)) if value}


def _same_file(path: Path, files: dict[str, Any]) -> str | None:
    """The name of the first of ``files`` that is ``path`` (resolved), or None."""
    return next((what for what, file in files.items() if Path(file).resolve() == path), None)


def _files_read(options: EvalOptions, names: tuple[str, ...]) -> dict[str, Path]:
    """The files the run reads, by what to call them in an error, resolved."""
    read: dict[str, Path] = {}
    data = options.data if options.data is not None else eval_data.default_data(options.format)
    if data is not None:
        read["the --data file"] = Path(data).resolve()
    if options.model is not None:
        read["the --model bundle"] = Path(options.model).resolve()
    elif "student" in names:
        from splitinfer.sdk._condenser import DEFAULT_BUNDLE

        read["the bundled condenser (the default --model)"] = DEFAULT_BUNDLE.resolve()
    return read


def _answerer() -> Any:
    from splitinfer.server.backends.extractive import ExtractiveAnswerer

    return ExtractiveAnswerer()


def _run(
    cases: list[Any],
    methods: list[Any],
    tokenizer: Any,
    config: EvalConfig,
    answerer: Any,
    output: str | None,
) -> list[dict[str, Any]]:
    from splitinfer.converters._progress import progress as progress_bar

    progress = progress_bar(cases, desc="eval", unit="case")
    if output is None:
        return evaluate(progress, methods, tokenizer, config, answerer)
    from splitinfer.converters._paths import atomic_text

    with atomic_text(Path(output)) as sink:  # a failed run leaves no half-written file

        def write(record: dict[str, Any]) -> None:
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")

        return evaluate(progress, methods, tokenizer, config, answerer, on_record=write)


def _config_block(
    options: EvalOptions,
    rates: tuple[float, ...],
    answer_rates: tuple[float, ...] | None,
    names: tuple[str, ...],
    n: int,
    condenser: Any,
) -> dict[str, Any]:
    if options.format == "essay":  # the prose file actually read, if any
        prose = eval_data.essay_prose(options.data)
        data = str(prose) if prose is not None else None
    else:
        default = eval_data.default_data(options.format)
        data = options.data if options.data is not None or default is None else str(default)
    block: dict[str, Any] = {
        "format": options.format,
        "data": data,
        "distractors": options.distractors if options.format == "nq" else None,
        "layout": options.layout if options.format == "nq" else None,
        "questions": options.questions if options.format == "nq" else None,
        "split": options.split,
        "rates": list(rates),
        "methods": list(names),
        "limit": options.limit,
        "seed": options.seed,
        "arrangements": options.arrangements if options.format == "nq" else None,
        "keep_digits": options.keep_digits,
        "answer": options.answer,
        "answer_rates": list(answer_rates)
        if answer_rates is not None
        else (list(rates) if options.answer else None),
        "cases": n,
        "teacher": TEACHER if "teacher" in names else None,
    }
    if condenser is not None:
        manifest = getattr(condenser, "manifest", None) or {}
        block["model"] = options.model or "default"
        block["model_version"] = manifest.get("model_version")
        block["model_sha256"] = manifest.get("sha256")
    return block


def headline(summary: dict[str, Any]) -> str:
    parts = [f"{summary['format']}"]
    if summary.get("distractors"):
        parts.append(f"{summary['distractors']} distractors")
    if summary.get("layout") and summary["layout"] != "documents":
        parts.append(f"{summary['layout']} layout")
    if summary.get("questions") == "swapped":
        parts.append("swapped questions")
    parts.append(f"{summary['split']} split")
    if (summary.get("arrangements") or 1) > 1:
        parts.append(f"{summary['arrangements']} arrangements")
    parts.append(f"{summary['cases']} cases")
    if summary.get("model_version"):
        parts.append(f"student {summary['model_version']}")
    return ", ".join(parts)
