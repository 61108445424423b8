"""Which cases an evaluation runs on: the shared data files and the synthetic long prompts.

Cases come from :mod:`splitinfer.converters.corpus` (the same builder the teacher labels and the
student trains on), so ``--split heldout`` is exactly the part no model was trained on.

Formats: ``nq``, ``gsm8k`` and ``qa`` read a file (``--data``; ``nq`` and ``gsm8k`` default to the
shared data folder); ``essay`` (a planted fact in a long essay) and ``kv`` (a UUID key-value
lookup) are synthetic, built from ``seed``. An essay's prose is cut from the passages of the
held-out NQ records when the NQ file is there, so the planted fact sits in real Wikipedia
sentences; otherwise it is pseudo-sentences.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from splitinfer.evaluation.metrics import normalize_answer
from splitinfer.sdk._errors import InvalidInputError

FILE_FORMATS = ("nq", "gsm8k", "qa")
SYNTHETIC_FORMATS = ("essay", "kv")
FORMATS = FILE_FORMATS + SYNTHETIC_FORMATS
DEFAULT_FILES = {
    "nq": "nq-open-train.jsonl.gz",
    "gsm8k": "gsm8k-train.jsonl.gz",
    "essay": "nq-open-train.jsonl.gz",
}
# Synthetic cases built when no --limit is given.
DEFAULT_SYNTHETIC = 200


def data_dir() -> Path:
    """The shared data folder: ``$SPLITINFER_DATA`` or ``../shared/data`` (relative to the working dir)."""
    return Path(os.environ.get("SPLITINFER_DATA", "../shared/data"))


def default_data(format: str) -> Path | None:
    """The file a format reads when ``--data`` is not given (``None``: the format needs none)."""
    name = DEFAULT_FILES.get(format)
    return data_dir() / name if name else None


def essay_prose(data: str | Path | None) -> Path | None:
    """The NQ file an essay's prose is cut from (``data`` or the shared one), ``None`` when absent."""
    path = Path(data) if data is not None else default_data("essay")
    return path if path is not None and path.is_file() else None


def load(
    format: str,
    data: str | Path | None,
    distractors: str = "hard",
    split: str = "heldout",
    limit: int | None = None,
    seed: int = 0,
    layout: str = "documents",
    arrangements: int = 1,
    questions: str = "own",
) -> list[Any]:
    """The cases of one run. ``split`` is ``heldout``, ``train`` or ``all``; ``layout`` (nq only)
    how the documents are written (``corpus.NQ_LAYOUTS``); ``questions`` (nq only) whose
    question each context asks (``corpus.NQ_QUESTIONS``); ``arrangements`` (nq only) builds the
    cases once for each seed from ``seed`` to ``seed + arrangements - 1`` and returns them all, in
    that order (``limit`` applies to each).

    Raises ``InvalidInputError`` for an unknown format or split, or a file format without a file.
    """
    if format not in FORMATS:
        raise InvalidInputError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    if split not in ("heldout", "train", "all"):
        raise InvalidInputError(f"--split must be heldout, train or all, got {split!r}")
    from splitinfer.converters import corpus

    wanted = None if split == "all" else split
    path = Path(data) if data is not None else default_data(format)
    if format in FILE_FORMATS:
        if path is None:
            raise InvalidInputError(f"--format {format} needs a data file: pass it with --data FILE.jsonl")
        if arrangements != 1 and format != "nq":
            raise InvalidInputError(f"arrangements are for format nq, not {format!r}")
        cases = []
        for k in range(arrangements):
            built = corpus.load_cases(
                format,
                path,
                distractors=distractors,
                split=wanted,
                limit=limit,
                seed=seed + k,
                layout=layout,
                questions=questions,
            )
            if arrangements > 1 and distractors == "random":  # hard ones are named by their seed
                built = [replace(case, id=f"{case.id}~r{seed + k}") for case in built]
            cases += built
        for case in cases:
            if not case.answers:
                raise InvalidInputError(
                    f"{case.where}: case {case.id} has an empty 'answers' list, so it can never be "
                    "scored; give at least one answer"
                )
            if not any(normalize_answer(a) for a in case.answers):
                raise InvalidInputError(
                    f"{case.where}: case {case.id} has no answer left after normalisation (articles, "
                    "punctuation and case are ignored), so it can never be scored; give an answer "
                    "with a word in it"
                )
        return cases
    prose = essay_prose(data) if format == "essay" else None
    return _synthetic(format, prose, wanted, DEFAULT_SYNTHETIC if limit is None else limit, seed)


def _synthetic(kind: str, prose: Path | None, split: str | None, n: int, seed: int) -> list[Any]:
    from splitinfer.converters import corpus

    texts = None
    if prose is not None:
        texts = [
            ctx["text"]
            for _, record in corpus.read_jsonl(prose)
            if corpus.is_heldout(str(record.get("question", "")))
            for ctx in record.get("ctxs", [])
            if isinstance(ctx, dict) and ctx.get("isgold") and isinstance(ctx.get("text"), str)
        ]
        if not texts:  # else the essays would silently be pseudo-sentences, reported as this file
            raise InvalidInputError(
                f"{prose}: no held-out NQ gold passages ('ctxs' with 'isgold') to cut the essays' "
                "prose from; pass the NQ file (nq-open-train.jsonl.gz) as --data"
            )
    cases: list[Any] = []
    batch = max(n, 1)
    start = 0
    # The split is a hash of the question, so build in growing batches until enough fall in it.
    while len(cases) < n:
        built = corpus.synthetic_cases(kind, start + batch, seed=seed, texts=texts)[start:]
        cases.extend(c for c in built if split is None or c.split == split)
        start += batch
        batch *= 2
    return cases[:n]
