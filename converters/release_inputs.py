"""What ``splitinfer convert`` reads and checks before it converts anything (``release``).

- flags and paths (``check_options``, ``check_report_path``, ``check_paths``): a value that cannot
  work, or an output that would overwrite the model or another input, is refused before any work;
- the vocabulary (``load_vocab``, ``check_vocab_size``, ``check_vocab_fits``): the one the
  student was trained with, every id of which the model can look up;
- the training summary (``read_training_summary``, ``check_training_summary``): shaped as
  ``splitinfer distill train`` writes it, since the manifest and the model card are made of it;
- the prompts the gates run on: held-back labels for parity and calibration
  (``heldback_prompts``, ``calibration_windows``, seeded stand-ins without them:
  ``synthetic_prompts``), and the held-out prompts of the student's own teacher for the agreement
  (``teacher_prompts``, ``check_teacher``).

Every refusal is an ``InvalidInputError`` (exit 2) whose message names the flag and the fix.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from splitinfer.converters._paths import check_writable
from splitinfer.converters.convert import MODES, Source
from splitinfer.converters.report import build_manifest, model_card
from splitinfer.converters.windows import (
    Prompt,
    check_line_breaks,
    encode_prompt,
    prompt_windows,
    read_label_records,
)
from splitinfer.sdk._errors import InvalidInputError
from splitinfer.sdk._selection import SelectionWeights
from splitinfer.sdk._tokenizer import WordPieceTokenizer

if TYPE_CHECKING:
    from splitinfer.converters.release import ConvertOptions


def check_options(options: ConvertOptions) -> None:
    """``InvalidInputError`` for a flag value that cannot work."""
    if options.mode not in (*MODES, "auto"):
        raise InvalidInputError(f"--mode must be one of {', '.join((*MODES, 'auto'))}, got {options.mode!r}")
    if isinstance(options.seed, bool) or not isinstance(options.seed, int) or not 0 <= options.seed < 2**32:
        raise InvalidInputError(f"--seed must be a whole number from 0 to {2**32 - 1}, got {options.seed!r}")
    version = options.model_version
    if version is not None and (
        not version.strip() or version != version.strip() or not version.isprintable() or len(version) > 100
    ):
        # It heads the model card and names the bundle in every log and report: one line.
        raise InvalidInputError(
            f"--model-version must be one line of printable text, without edge spaces, at most 100 "
            f"characters (e.g. mine-1), got {version[:40]!r}"
        )
    positive = {
        "--max-size-mb": options.max_size_mb,
        "--max-p50-ms": options.max_p50_ms,
        "--max-float-delta": options.max_float_delta,
    }
    for flag, value in positive.items():
        if not 0 < value < math.inf:  # the manifest records it, and JSON holds no infinity
            raise InvalidInputError(f"{flag} must be > 0 and finite (1e9: no limit), got {value}")
    for flag, value in {
        "--min-agreement": options.min_agreement,
        "--min-teacher-f1": options.min_teacher_f1,
    }.items():
        if not 0.0 <= value <= 1.0:
            raise InvalidInputError(f"{flag} must be in [0, 1], got {value}")
    if not 0.0 < options.default_rate <= 1.0:
        raise InvalidInputError(f"--default-rate must be in (0, 1], got {options.default_rate}")
    try:
        options.selection  # noqa: B018 (validates the selection flags)
    except ValueError as err:
        raise InvalidInputError(
            str(err)
            .replace("segment_weight", "--segment-weight")
            .replace("document_weight", "--document-weight")
            .replace(
                "answer_types weight must be a number in (0, 1]", "--answer-type-weight must be in [0, 1]"
            )
        ) from None
    if options.mode == "int8" and not (options.calibration or options.parity_data):
        raise InvalidInputError(
            "--mode int8 needs calibration data: pass --parity-data LABELS.jsonl (held-out labels, "
            "which calibrate too) or --calibration LABELS.jsonl"
        )
    for flag, paths in {
        "--calibration": options.calibration,
        "--parity-data": options.parity_data,
        "--teacher-data": options.teacher_data,
    }.items():
        for path in paths:
            if not Path(path).is_file():
                raise InvalidInputError(f"{flag} {path}: no such file")
    if options.min_teacher_f1 > 0 and not options.teacher_data:
        raise InvalidInputError("--min-teacher-f1 needs held-out labels to measure on: pass --teacher-data")
    check_report_path(options)
    check_paths(options)


def check_report_path(options: ConvertOptions) -> None:
    """``InvalidInputError`` when the report itself could not be written where asked: a folder, an
    unwritable place, the model, the bundle's path or another file the run reads. Checked before
    anything else, since every other outcome is recorded in that report."""
    if options.report is None:
        return
    check_writable("--report", options.report, "report.json")
    report = Path(options.report).resolve()
    if str(options.model).strip():
        model = Path(options.model).resolve()
        if report == model or (model in report.parents and model.is_dir()):
            raise InvalidInputError(f"--report {report.name} would overwrite the model; write it elsewhere")
    if report == Path(options.output).resolve():
        raise InvalidInputError("--report and --output are the same file; give the report its own name")
    _check_not_an_input("--report", report, options)


def check_paths(options: ConvertOptions) -> None:
    """``InvalidInputError`` when the model path names nothing, or the bundle could not be written
    or would overwrite the model or another file the run reads: checked before any work (the
    report's own path is ``check_report_path``'s)."""
    if not str(options.model).strip() or not Path(options.model).resolve().name:
        raise InvalidInputError(f"the model path {str(options.model)!r} names no file; pass a .keras file")
    check_writable("--output", options.output, "condenser.tflite")
    model = Path(options.model).resolve()
    output = options.output.resolve()
    if output == model or (model.is_dir() and model in output.parents):
        raise InvalidInputError(f"--output {output.name} would overwrite the model; write it elsewhere")
    _check_not_an_input("--output", output, options)


def _check_not_an_input(flag: str, path: Path, options: ConvertOptions) -> None:
    """``InvalidInputError`` when ``path`` (resolved) is a file the run reads besides the model:
    the training summary (given or next to the model), the vocabulary, a labels file."""
    model = Path(options.model)
    summary = options.training_summary or (model.with_name(model.name + ".json") if model.name else None)
    inputs = [
        *([("the training summary", summary)] if summary else []),
        ("the --vocab file", options.vocab),
        *(("a --calibration file", p) for p in options.calibration),
        *(("a --parity-data file", p) for p in options.parity_data),
        *(("a --teacher-data file", p) for p in options.teacher_data),
    ]
    for what, source in inputs:
        if path == Path(source).resolve():
            raise InvalidInputError(f"{flag} {path.name} would overwrite {what}; write it elsewhere")


def check_vocab_fits(source: Any, size: int) -> None:
    """``InvalidInputError`` when the model cannot look up the vocabulary's last id: a bundle whose
    tokenizer yields ids past the model's embedding would fail on the device at the first such word."""
    # Row 0: the vocabulary's last id everywhere; row 1: ordinary words ("the" and the ids after it
    # in the BERT vocabulary), to tell a model that cannot read the vocabulary from a broken one.
    ordinary = min(1996, size - 1)
    span = max(1, min(1000, size - ordinary))
    context = np.full((2, source.max_seq_len), size - 1, dtype=np.int32)
    question = np.full((2, source.max_question_len), size - 1, dtype=np.int32)
    context[1] = ordinary + np.arange(source.max_seq_len) % span
    question[1] = ordinary + np.arange(source.max_question_len) % span
    try:
        scores = np.asarray(source.predict(context, question))
    except Exception as err:  # TensorFlow raises InvalidArgumentError for an index out of range.
        first = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise InvalidInputError(
            f"the model cannot read token id {size - 1} of the {size:,}-word vocabulary ({first}); "
            "pass the --vocab it was trained with"
        ) from None
    if not np.isfinite(scores[1]).all():
        raise InvalidInputError(
            "the model outputs NaN or infinite scores even for ordinary words: its weights are broken "
            "(a training run that diverged?); retrain it, e.g. with a lower --learning-rate"
        )
    if not np.isfinite(scores[0]).all():
        raise InvalidInputError(f"the model gives non-finite scores for token id {size - 1}; check --vocab")


def load_vocab(path: Path) -> tuple[list[str], WordPieceTokenizer]:
    try:
        vocab = Path(path).read_text(encoding="utf-8").splitlines()
        return vocab, WordPieceTokenizer(vocab)
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise InvalidInputError(f"--vocab {path}: not a usable WordPiece vocabulary ({err})") from None


def synthetic_prompts(
    tokenizer: WordPieceTokenizer,
    count: int,
    max_question_len: int,
    seed: int,
    line_break_id: int | None = None,
) -> list[Prompt]:
    """Seeded stand-in prompts (vocabulary words, a question drawn from the text) for parity
    when no held-back labels are given."""
    rng = np.random.default_rng(seed)
    pool = [w for w in tokenizer.vocab if w.isalpha() and len(w) > 2]
    prompts = []
    for i in range(count):
        words = [str(w) for w in rng.choice(pool, size=int(rng.integers(150, 900)))]
        start = int(rng.integers(0, len(words) - 8))
        record = {
            "id": f"synthetic-{i}",
            "words": words,
            "scores": [0.0] * len(words),
            "question": "what is " + " ".join(words[start : start + 6]) + "?",
            # a line break every 40 words, a blank line every 200, for a model that reads them
            "breaks": [[j, 2 if j % 200 == 0 else 1] for j in range(40, len(words), 40)],
        }
        prompts.append(encode_prompt(tokenizer, record, max_question_len, line_break_id))
    return prompts


def heldback_prompts(
    paths: list[Path],
    tokenizer: WordPieceTokenizer,
    max_question_len: int,
    limit: int,
    line_break_id: int | None = None,
    teacher: dict[str, Any] | None = None,
) -> tuple[list[Prompt], dict[str, Any]]:
    """At most ``limit`` prompts of labels files: held-out split first, sources taken in turn
    (so a parity set of a few dozen prompts covers every kind), tokenized (with the line breaks
    of each, for a model that reads them: the files must record them). With ``teacher`` (a
    training summary's), every file must be labelled by it (``check_teacher``)."""
    records: list[dict[str, Any]] = []
    files = []
    for path in paths:
        meta, mine = read_label_records(path)
        if line_break_id is not None:
            check_line_breaks(meta, path, "pass labels that record them (this student reads line breaks)")
        if teacher is not None:
            check_teacher(meta, path, teacher)
        files.append(Path(path).name)
        records.extend(r for r in mine if r["words"])
    chosen: list[dict[str, Any]] = []
    for heldout in (True, False):
        pool = [r for r in records if (r.get("split") != "train") == heldout]
        by_source: dict[str, list[dict[str, Any]]] = {}
        for record in pool:
            by_source.setdefault(str(record.get("source")), []).append(record)
        queues = [by_source[k] for k in sorted(by_source)]
        while any(queues) and len(chosen) < limit:
            for queue in queues:
                if queue and len(chosen) < limit:
                    chosen.append(queue.pop(0))
    prompts = [
        p
        for p in (encode_prompt(tokenizer, r, max_question_len, line_break_id) for r in chosen)
        if len(p.ids)
    ]
    if not prompts:
        raise InvalidInputError(f"{', '.join(map(str, paths))}: no labelled prompts with any tokens")
    return prompts, {
        "files": files,
        "prompts": len(prompts),
        "heldout_prompts": sum(p.split != "train" for p in prompts),
    }


def calibration_windows(
    prompts: list[Prompt], max_seq_len: int, count: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for prompt in prompts:
        windows, _ = prompt_windows(prompt, max_seq_len)
        out.extend((w, prompt.question_ids) for w in windows)
    return out[:count]


def read_training_summary(options: ConvertOptions) -> dict[str, Any]:
    """The student's training summary: ``--training-summary``, else the one inside the ``.keras``
    file, else ``<model>.json`` beside it, else none (``{}``). A summary file that names the sha256
    of another model file than ``options.model`` is refused (see ``_summary``)."""
    from splitinfer.converters import _summary

    if not options.training_summary and options.model.is_file():
        try:
            inside = _summary.embedded(options.model)
        except (UnicodeDecodeError, ValueError) as err:
            raise InvalidInputError(
                f"{options.model}: its training summary ({_summary.ENTRY}) is not JSON ({err}); retrain it"
            ) from None
        if inside is not None:
            check_training_summary(inside, Path(f"{options.model} ({_summary.ENTRY})"))
            return inside
    path = options.training_summary or options.model.with_name(options.model.name + ".json")
    if not path.is_file():
        if options.training_summary:
            raise InvalidInputError(f"--training-summary {path}: no such file")
        return {}
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidInputError(f"{path}: the training summary is not JSON ({err})") from None
    check_training_summary(summary, path)
    recorded = summary.get("model_sha256")
    if recorded is not None and options.model.is_file():
        actual = _summary.file_sha256(options.model)
        if actual != recorded:
            raise InvalidInputError(
                f"{path} is the training summary of another model file (sha256 {recorded[:12]}..., "
                f"{options.model} has {actual[:12]}...): another or an interrupted training run; pass "
                "this model's summary with --training-summary, or train it again"
            )
    return summary


# The fields of a training summary the manifest and the model card read, and what each must be.
_SUMMARY_OBJECTS = ("architecture", "data")


_SUMMARY_TEXTS = ("model_version", "target", "loss", "model_sha256")


_SUMMARY_COUNTS = ("epochs_run", "best_epoch")


def check_training_summary(summary: Any, path: Path) -> None:
    """``InvalidInputError`` naming the field when ``summary`` is not shaped like the JSON
    ``splitinfer distill train`` writes (checked before any conversion work)."""

    def bad(what: str) -> InvalidInputError:
        return InvalidInputError(
            f"{path}: not a training summary of 'splitinfer distill train': {what}; pass the .json "
            "written next to the model, or none"
        )

    if not isinstance(summary, dict):
        raise bad(f"expected a JSON object, got {type(summary).__name__}")
    teacher = summary.get("teacher")
    if teacher is not None:
        if not isinstance(teacher, dict):
            raise bad(f"'teacher' must be an object with 'name' and 'settings', got {type(teacher).__name__}")
        if not isinstance(teacher.get("name", ""), str | type(None)):
            raise bad("'teacher.name' must be a string")
        if not isinstance(teacher.get("settings") or {}, dict):
            raise bad("'teacher.settings' must be an object")
    for key in _SUMMARY_OBJECTS:
        if summary.get(key) is not None and not isinstance(summary[key], dict):
            raise bad(f"'{key}' must be an object, got {type(summary[key]).__name__}")
    for key in _SUMMARY_TEXTS:
        if summary.get(key) is not None and not isinstance(summary[key], str):
            raise bad(f"'{key}' must be a string, got {type(summary[key]).__name__}")
    for key in _SUMMARY_COUNTS:
        if summary.get(key) is not None and not _is_count(summary[key]):
            raise bad(f"'{key}' must be a whole number, got {summary[key]!r}")
    line_break_id = summary.get("line_break_id")
    if line_break_id is not None and not _is_count(line_break_id):
        raise bad(f"'line_break_id' must be a token id (a whole number) or null, got {line_break_id!r}")
    members = summary.get("members")
    if members is not None:
        if not isinstance(members, list):
            raise bad(f"'members' must be a list of objects, got {type(members).__name__}")
        for member in members:
            if not (
                isinstance(member, dict)
                and _is_count(member.get("seed"))
                and _is_count(member.get("epochs_run"))
                and (member.get("best_epoch") is None or _is_count(member["best_epoch"]))
            ):
                raise bad(
                    f"each of 'members' must be an object with whole-number 'seed' and 'epochs_run', got {member!r}"
                )
    try:  # the summary goes into the manifest: it must be strict JSON (no NaN or Infinity)
        json.dumps(summary, allow_nan=False)
    except ValueError:
        raise InvalidInputError(
            f"{path}: the training summary holds NaN or Infinity (its losses, if the training "
            "diverged; such a model scores NaN): retrain the model"
        ) from None
    try:  # what the manifest and the model card make of it, tried now rather than after converting
        model_card(
            build_manifest(
                model_version="check",
                max_seq_len=1,
                max_question_len=1,
                default_rate=0.33,
                mode="check",
                gates=[],
                parity={},
                training=summary,
                teacher_agreement=None,
                seed=0,
                tensorflow_version="check",
                selection=SelectionWeights(0.0, 0.0),
            )
        )
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        raise bad(f"the model card cannot be made of it ({type(err).__name__}: {err})") from None


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_vocab_size(training: dict[str, Any], size: int, path: Path) -> None:
    """``InvalidInputError`` when ``--vocab`` is not the size of the vocabulary the student was
    trained with (its training summary's ``architecture.config.vocab_size``). A larger one is also
    caught by ``check_vocab_fits``; a smaller one is not: the model reads its ids, but they name
    other words, so the bundle would tokenize most words to [UNK] and still pass every gate (the
    gates compare the model with itself on that same tokenizer)."""
    config = (training.get("architecture") or {}).get("config")
    trained = config.get("vocab_size") if isinstance(config, dict) else None
    if _is_count(trained) and trained != size:
        raise InvalidInputError(
            f"--vocab {path} has {size:,} words, but the student was trained on a {trained:,}-word "
            "vocabulary (its training summary's architecture); pass the --vocab it was trained with"
        )


def check_teacher(meta: dict[str, Any], path: Path, teacher: dict[str, Any]) -> None:
    """``InvalidInputError`` when the labels file at ``path`` was made by another teacher than the
    student's (``teacher``, from its training summary), or by the same one with other settings:
    the agreement measured on it would be credited, in the manifest and the model card, to a
    teacher that did not give those scores."""
    from splitinfer.converters.labels import label_teacher, settings_differ

    want_name = str(teacher.get("name") or "unknown")
    want = teacher.get("settings") or {}
    name, settings = label_teacher(meta)
    settings = settings if isinstance(settings, dict) else {}
    if name != want_name:
        raise InvalidInputError(
            f"--teacher-data {path} was labelled by teacher {name!r}, but the student was distilled from "
            f"{want_name!r} (its training summary); pass held-out labels of {want_name!r}"
        )
    differ = settings_differ(want, settings)
    if differ:
        changes = ", ".join(f"{k}: {want.get(k)!r} for the student, {settings.get(k)!r} here" for k in differ)
        raise InvalidInputError(
            f"--teacher-data {path} was labelled by teacher {name!r} with other settings than the student's "
            f"({changes}); pass held-out labels made with the student's teacher settings"
        )


def teacher_prompts(
    paths: list[Path],
    tokenizer: WordPieceTokenizer,
    source: Source,
    line_break_id: int | None,
    training: dict[str, Any],
) -> list[Prompt]:
    """The held-out prompts of ``--teacher-data`` the agreement with the teacher is measured on.

    ``InvalidInputError`` when a file was labelled by another teacher than the student's
    (``check_teacher``; not checked without a training summary, whose manifest names no teacher),
    or when the files hold no held-out prompt: the manifest and the model card say the agreement
    is on prompts never trained on, and a train-split prompt was trained on."""
    prompts, _ = heldback_prompts(
        paths, tokenizer, source.max_question_len, 10**9, line_break_id, training.get("teacher") or None
    )
    heldout = [p for p in prompts if p.split != "train"]
    if not heldout:
        raise InvalidInputError(
            f"--teacher-data {', '.join(map(str, paths))}: no held-out prompts (every one is of the train "
            "split, which the student was trained on); pass the held-out labels of 'splitinfer distill "
            "label --split heldout'"
        )
    return heldout
