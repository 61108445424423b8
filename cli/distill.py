"""``splitinfer distill``: label a corpus with a teacher (``label``) and train a student (``train``).

``label`` builds the cases of a data file (``splitinfer.converters.corpus``), has a teacher score
every word of each context, and appends one JSON line per case to the labels file as it goes
(``splitinfer.converters.labels``), so ``--resume`` after a crash or Ctrl-C loses nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from splitinfer.cli._help import (
    LAYOUT_HELP,
    NQ_LAYOUTS,
    NQ_QUESTIONS,
    QUESTIONS_HELP,
    RawDefaultsHelp,
    exit_codes,
    seed,
)
from splitinfer.sdk._errors import InvalidInputError, SplitinferError

DEFAULT_DATA_DIR = os.environ.get("SPLITINFER_DATA", "../shared/data")
LABEL_FORMATS = ("nq", "gsm8k", "qa", "synthetic")
LABEL_DESCRIPTION = """\
Build the prompts of a data file, have a teacher score every word of each context, and append
one JSON line per prompt to --output as it completes (a first line records the teacher and its
settings). --resume after a crash or Ctrl-C labels only what is missing.

example:
  splitinfer distill label --format nq --data ../shared/data/nq-open-train.jsonl.gz \\
      --teacher minilm --split train --output labels/nq-train.jsonl
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "distill",
        help="Label a corpus with a teacher and train a student condenser.",
        description="Label a corpus with a teacher (label), then train a student condenser on it (train).",
    )
    parser.set_defaults(func=_needs_subcommand)
    commands = parser.add_subparsers(dest="distill_command", metavar="{label,train}")
    _register_label(commands)
    _register_train(commands)


def _needs_subcommand(args: argparse.Namespace) -> int:
    raise InvalidInputError(
        "say what to do: 'splitinfer distill label ...' or 'splitinfer distill train ...'"
    )


def _register_label(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "label",
        help="Score every word of a corpus's prompts with a teacher; write a labels JSONL.",
        description=LABEL_DESCRIPTION,
        epilog=exit_codes(
            ok="the run finished (cases the teacher failed on are counted and left out; --resume retries them)",
            failed="the teacher failed on every case, or stopped the run (the cases done are kept)",
            sigterm=True,
        ),
        formatter_class=RawDefaultsHelp,
    )
    parser.add_argument(
        "--format", required=True, choices=LABEL_FORMATS, help="how to build prompts from --data"
    )
    parser.add_argument(
        "--data",
        type=Path,
        help=f"the data file (required for nq, gsm8k and qa; for synthetic, optional prose to fill essays). "
        f"Shared data lives in {DEFAULT_DATA_DIR}",
    )
    parser.add_argument(
        "--teacher",
        default="minilm",
        choices=("minilm", "llm"),
        help="minilm: the offline all-MiniLM-L6-v2 teacher; llm: a model behind --endpoint",
    )
    parser.add_argument(
        "--distractors", default="hard", choices=("hard", "random"), help="nq only (default hard)"
    )
    parser.add_argument("--layout", default="documents", choices=NQ_LAYOUTS, help=LAYOUT_HELP)
    parser.add_argument("--questions", default="own", choices=NQ_QUESTIONS, help=QUESTIONS_HELP)
    parser.add_argument(
        "--split",
        default="train",
        choices=("train", "heldout", "all"),
        help="which cases (a hash of the question)",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="label at most N cases, N >= 1 (default all; synthetic: build N, default 200, shared "
        "among --kinds, then keep those of --split)",
    )
    parser.add_argument(
        "--offset",
        type=int,
        default=0,
        help="skip the first N cases (to label one corpus in parallel slices)",
    )
    parser.add_argument("--seed", type=seed, default=0, help="seed of random choices in the corpus builder")
    parser.add_argument(
        "--kinds", default="essay,kv", help="synthetic kinds, comma-separated (default essay,kv)"
    )
    parser.add_argument("--output", "-o", type=Path, required=True, help="the labels file to write (JSONL)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the cases already in --output, label the rest (refused when the file "
        "holds cases this run would not label, as after a larger --limit)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing --output (default: refuse)"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="minilm: CPU threads (1); llm: requests in flight (8)"
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress on stderr (a bar on a terminal; in a log, a line a minute after the first minute)",
    )
    llm = parser.add_argument_group(
        "llm teacher",
        description="A model behind an OpenAI-compatible API (vLLM, TGI, llama.cpp, Ollama, OpenAI)\n"
        "compresses each chunk of a context by deleting words; the words it keeps score 1, the others\n"
        "0. A chunk whose answer does not keep to the original words fails its case (--resume asks\n"
        "again). Requests are retried on 429, 5xx and lost connections; a wrong key, model or URL\n"
        "stops the run. Example:\n"
        "  splitinfer distill label --format qa --data qa.jsonl --teacher llm \\\n"
        "      --endpoint http://127.0.0.1:8000/v1 --model Qwen/Qwen2.5-7B-Instruct -o labels/qa.jsonl",
    )
    llm.add_argument(
        "--endpoint",
        default=os.environ.get("SPLITINFER_LLM_URL", "http://127.0.0.1:8000/v1"),
        help="OpenAI-compatible base URL, the part before /chat/completions (env SPLITINFER_LLM_URL; "
        "default http://127.0.0.1:8000/v1)",
    )
    llm.add_argument(
        "--model",
        default=os.environ.get("SPLITINFER_LLM_MODEL", "default"),
        help="model name to ask for, as the server lists it (GET /v1/models); env SPLITINFER_LLM_MODEL, "
        "default the name 'default', which a one-model server such as llama.cpp's takes",
    )
    llm.add_argument(
        "--api-key-env",
        default=None,
        help="env var holding the API key (default OPENAI_API_KEY, used when set; a variable named "
        "here must be set)",
    )
    llm.add_argument(
        "--chunk-words", type=int, default=None, help="words per compression request (default: 200)"
    )
    llm.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds to wait for one answer before asking again (default: 120; up to 6 attempts)",
    )
    parser.set_defaults(func=run_label)


def _register_train(commands: argparse._SubParsersAction) -> None:
    try:
        from splitinfer.converters.train import register_train
    except ImportError:
        parser = commands.add_parser("train", help="Train the student on teacher labels (not built yet).")
        parser.set_defaults(func=_train_not_built)
        return
    register_train(commands)


def _train_not_built(args: argparse.Namespace) -> int:
    raise SplitinferError("'splitinfer distill train' is not built yet (issue #4)")


def _teacher_settings(args: argparse.Namespace) -> dict:
    if args.teacher == "minilm":
        return {"threads": args.workers} if args.workers else {}
    variable = args.api_key_env or "OPENAI_API_KEY"
    # A key read from a file often ends in a line break, which no HTTP header can carry.
    key = os.environ.get(variable, "").strip()
    if args.api_key_env is not None and not key:
        raise InvalidInputError(
            f"--api-key-env {variable}: that environment variable is not set or empty; export it "
            "with your API key"
        )
    if not (key.isascii() and key.isprintable()):
        raise InvalidInputError(
            f"the API key in {variable} holds a character an HTTP header cannot carry (a line break, "
            "a control or non-ASCII character); set it to the key alone"
        )
    settings = {"endpoint": args.endpoint, "model": args.model, "api_key": key or None}
    if args.workers:
        settings["concurrency"] = args.workers
    if args.chunk_words is not None:
        settings["chunk_words"] = args.chunk_words
    if args.timeout is not None:
        if not 0 < args.timeout < float("inf"):
            raise InvalidInputError(f"--timeout must be a number of seconds > 0, got {args.timeout:g}")
        settings["timeout"] = args.timeout
    return settings


def check_output(args: argparse.Namespace) -> None:
    """``InvalidInputError`` before any case is built or the teacher loaded: --output cannot be
    written, is the --data file, or exists and neither --resume nor --overwrite says what to do."""
    from splitinfer.converters._paths import check_writable

    check_writable("--output", args.output, "labels.jsonl")
    if args.data is not None and args.output.resolve() == Path(args.data).resolve():
        raise InvalidInputError(
            f"--output {args.output} is the --data file; write the labels to another file"
        )
    if not (args.resume or args.overwrite) and args.output.is_file() and args.output.stat().st_size > 0:
        raise InvalidInputError(
            f"{args.output} already exists; pass --resume to complete it, --overwrite to start it "
            "again, or write to a new --output"
        )


def run_label(args: argparse.Namespace) -> int:
    from splitinfer.converters.corpus import build_cases
    from splitinfer.converters.labels import label_corpus
    from splitinfer.converters.teachers import get_teacher

    if args.workers is not None and args.workers < 1:
        raise InvalidInputError(f"--workers must be >= 1, got {args.workers}")
    if args.offset < 0:
        raise InvalidInputError(f"--offset must be >= 0, got {args.offset}")
    if args.limit is not None and args.limit < 1:
        raise InvalidInputError(f"--limit must be at least 1 case, got {args.limit} (omit it to label all)")
    if args.offset and args.format == "synthetic":
        # Synthetic cases are shared among --kinds by --limit, so slices of two runs would overlap.
        raise InvalidInputError(
            "--offset slices a data file; synthetic cases come from --seed: label another slice "
            "with another --seed"
        )
    if args.resume and args.overwrite:
        raise InvalidInputError("--resume keeps the file and --overwrite replaces it; choose one")
    check_output(args)
    split = None if args.split == "all" else args.split
    wanted = None if args.limit is None else args.offset + args.limit
    if args.layout != "documents" and args.format != "nq":
        raise InvalidInputError(f"--layout is for --format nq; drop it for --format {args.format}")
    if args.questions != "own" and args.format != "nq":
        raise InvalidInputError(f"--questions is for --format nq; drop it for --format {args.format}")
    built = build_cases(
        args.format,
        args.data,
        args.distractors,
        split,
        wanted,
        args.seed,
        args.kinds,
        layout=args.layout,
        questions=args.questions,
    )
    cases = built[args.offset :]
    if not cases:
        where = f"{args.data}" if args.data else "the synthetic corpus"
        if args.offset:
            raise InvalidInputError(
                f"--offset {args.offset} is past the end of the data: {where} has {len(built)} "
                f"cases of --split {args.split}; use an --offset below {len(built)}"
            )
        raise InvalidInputError(f"no cases of --split {args.split} in {where} to label; try --split all")
    teacher = get_teacher(args.teacher, **_teacher_settings(args))
    meta = {
        "teacher": teacher.name,
        "settings": teacher.settings(),
        "format": args.format,
        "split": args.split,
        "distractors": args.distractors if args.format == "nq" else None,
        "layout": args.layout if args.format == "nq" else None,
        "questions": args.questions if args.format == "nq" else None,
        "data": args.data.name if args.data else None,
        "offset": args.offset,
        "seed": args.seed,
        "kinds": args.kinds if args.format == "synthetic" else None,
        "count": len(cases),
    }
    from splitinfer.converters._paths import terminate_as_interrupt

    with terminate_as_interrupt():  # a cancelled CI job's SIGTERM: as Ctrl-C, the cases done are kept
        summary = label_corpus(
            teacher,
            cases,
            args.output,
            meta,
            resume=args.resume,
            progress=not args.quiet,
            overwrite=args.overwrite,
        )
    print(summary.line())
    if summary.failures and not summary.labelled:
        print(f"splitinfer distill label: error: {every_case_failed(summary)}", file=sys.stderr)
        return 1
    return 0


def every_case_failed(summary: Any) -> str:
    """Why a run that labelled none of its cases wrote nothing, and what to check first."""
    written = f"none was added to {summary.output}" if summary.skipped else "no labels were written"
    text = (
        f"the teacher failed on every case it was asked to label ({summary.failures}), so {written}; "
        f"the first: {summary.first_failure}"
    )
    usage = summary.usage
    if usage.get("chunks") and usage.get("chunks_drifted") == usage["chunks"]:
        # Not one usable answer: the model, not the data, is what fails.
        text += (
            f". Not one of the model's {usage['chunks']} answers kept to the original words: --model must "
            "be an instruction-tuned model that deletes words when asked (a base or random-weight model "
            "writes on until max_tokens); ask it once by hand to see what it answers"
        )
    return text
