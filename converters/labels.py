"""The labels file: a teacher's word scores for a corpus, the input of ``splitinfer distill train``.

JSON Lines, UTF-8. The first line is the header, then one line per labelled case::

    {"_meta": {"teacher": "minilm", "settings": {...}, "format": "nq", "split": "train",
               "data": "nq-open-train.jsonl.gz", "count": 1353}}
    {"id": "nq-0", "source": "nq", "split": "train", "question": "...",
     "words": ["Document", "[1](Title:", ...], "scores": [0.1234, ...], "answers": ["..."],
     "breaks": [[57, 1], ...]}

- ``words`` are ``split_words(context)[0]``: joining them with their original whitespace gives the
  context back, and the student tokenizes them word by word with the SDK tokenizer.
- ``breaks`` lists ``[i, n]`` for each word ``i`` that starts a line: ``n`` line breaks in the
  whitespace before it (``\n``, ``\r`` and ``\r\n`` count one each), what a student that reads
  line breaks needs (``splitinfer distill train --line-breaks``). Files with it say
  ``"line_breaks": true`` in their header; older files lack both.
- ``scores`` has one float in [0, 1] per word (4 decimals); higher = keep first.
- ``count`` is how many cases the run set out to label; the file may hold fewer while a run is in
  progress or after a crash (``--resume`` completes it). A run resumed over more cases (a larger
  ``--limit``) extends the file and its ``count``; one over fewer cases than the file holds is
  refused, since training would read every record of the file, not the cases the run names.
- Every line is written whole and flushed, so a crash loses at most the line being written; a
  last line without its newline that is not whole JSON is such an interrupted write, which
  ``read_labels`` skips with a warning and ``LabelsWriter`` (resuming) cuts off. A whole record
  without its newline (a file written by another tool) is read.
- A new file (or one ``--overwrite`` replaces) appears in one step with its header and first
  record, so a run that fails before labelling anything leaves no file (or the old one) behind.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from splitinfer.sdk._errors import InvalidInputError, SplitinferError

RECORD_FIELDS = ("id", "source", "split", "question", "words", "scores", "answers")


@dataclass
class LabelRecord:
    """One labelled case: the context's words and the teacher's score for each."""

    id: str
    source: str
    split: str
    question: str
    words: list[str]
    scores: list[float]
    answers: list[str]
    breaks: list[list[int]] | None = None

    def to_json(self) -> str:
        data: dict[str, Any] = {name: getattr(self, name) for name in RECORD_FIELDS}
        data["scores"] = [round(float(s), 4) for s in self.scores]
        if self.breaks is not None:
            data["breaks"] = self.breaks
        return json.dumps(data, ensure_ascii=False)


def word_breaks(gaps: Sequence[str]) -> list[list[int]]:
    """``[i, n]`` for each word ``i`` after the first that starts a line, ``n`` its line breaks."""
    from splitinfer.sdk._segments import line_breaks

    return [[i + 1, n] for i, n in enumerate(map(line_breaks, gaps[:-1])) if n]


def _check_record(data: Any, where: str) -> LabelRecord:
    if not isinstance(data, dict):
        raise InvalidInputError(f"{where}: expected a JSON object")
    missing = [name for name in RECORD_FIELDS if name not in data]
    if missing:
        raise InvalidInputError(f"{where}: a label record lacks {', '.join(missing)}")
    words, scores = data["words"], data["scores"]
    if not isinstance(words, list) or not all(isinstance(w, str) and w and not w.isspace() for w in words):
        raise InvalidInputError(f"{where}: 'words' must be a list of non-empty, non-whitespace strings")
    if not isinstance(scores, list) or len(scores) != len(words):
        raise InvalidInputError(f"{where}: 'scores' must have one number per word ({len(words)} words)")
    for s in scores:
        if isinstance(s, bool) or not isinstance(s, int | float) or not (0.0 <= s <= 1.0) or math.isnan(s):
            raise InvalidInputError(f"{where}: every score must be a number in [0, 1], got {s!r}")
    for name in ("id", "source", "split", "question"):
        if not isinstance(data[name], str):
            raise InvalidInputError(f"{where}: '{name}' must be a string")
    if not isinstance(data["answers"], list) or not all(isinstance(a, str) for a in data["answers"]):
        raise InvalidInputError(f"{where}: 'answers' must be a list of strings")
    breaks = data.get("breaks")
    if breaks is not None and not (
        isinstance(breaks, list)
        and all(
            isinstance(b, list)
            and len(b) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) for x in b)
            and 0 < b[0] < len(words)
            and b[1] > 0
            for b in breaks
        )
    ):
        raise InvalidInputError(
            f"{where}: 'breaks' must be a list of [word index, line breaks] pairs, each index 1 to {len(words) - 1}"
        )
    return LabelRecord(**{name: data[name] for name in RECORD_FIELDS}, breaks=breaks)


def _whole_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:  # also UnicodeDecodeError
        return False
    return True


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    if path.is_dir():
        raise InvalidInputError(f"{path} is a folder, not a labels file; pass its files, e.g. {path}/*.jsonl")
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such labels file; make one with 'splitinfer distill label'")
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, start=1):
            if number == 1 and raw.startswith(b"\x1f\x8b"):
                raise InvalidInputError(
                    f"{path}: not a labels file but gzip-compressed data; decompress it (gunzip) and "
                    "pass the .jsonl"
                )
            if not raw.endswith(b"\n") and not _whole_json(raw):
                # An interrupted write (see the module doc); a whole record without its newline
                # (a file written by jq or a script) is read as any other line.
                print(
                    f"splitinfer: warning: {path}:{number}: the last line is cut short (an interrupted "
                    "write?); it is skipped ('splitinfer distill label --resume' completes the file)",
                    file=sys.stderr,
                )
                return
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInputError(
                    f"{path}:{number}: not UTF-8 text; a labels file is the JSONL of 'splitinfer distill label'"
                ) from None
            if number == 1:
                line = line.removeprefix("\ufeff")  # a byte order mark, as Windows editors write
            if line.strip():
                yield number, line


def iter_labels(path: str | Path) -> tuple[dict[str, Any], Iterator[LabelRecord]]:
    """The header's ``_meta`` dict and an iterator over the records, each validated as it is read."""
    path = Path(path)
    lines = _lines(path)
    try:
        _, first = next(lines)
        header = json.loads(first)
    except StopIteration:
        with path.open("rb") as stream:
            _check_head(path, stream.read(16))
        raise InvalidInputError(f"{path}: the labels file is empty") from None
    except json.JSONDecodeError as err:
        raise InvalidInputError(f"{path}:1: not valid JSON ({err.msg})") from None
    if not isinstance(header, dict) or not isinstance(header.get("_meta"), dict):
        raise InvalidInputError(f'{path}:1: a labels file starts with a {{"_meta": {{...}}}} header line')

    def records() -> Iterator[LabelRecord]:
        for number, line in lines:
            try:
                data = json.loads(line)
            except json.JSONDecodeError as err:
                raise InvalidInputError(f"{path}:{number}: not valid JSON ({err.msg})") from None
            yield _check_record(data, f"{path}:{number}")

    return header["_meta"], records()


def read_labels(path: str | Path) -> tuple[dict[str, Any], list[LabelRecord]]:
    """The header's ``_meta`` dict and every record, validated; clear errors name the line."""
    meta, records = iter_labels(path)
    return meta, list(records)


def write_labels(path: str | Path, meta: dict[str, Any], records: Sequence[LabelRecord]) -> None:
    """Write a whole labels file (header + records), replacing any file at ``path``."""
    with LabelsWriter(path, meta, overwrite=True) as writer:
        for record in records:
            writer.write(record)


class LabelsWriter:
    """Appends records to a labels file one whole, flushed line at a time (crash-safe, resumable).

    A new file gets the header first; it is made (atomically, replacing any old file) with the
    first record, or at ``close`` when no record came, and never when the ``with`` block fails
    before a record was written. With ``resume=True`` and an existing file, the whole file is
    read and checked first (a labels file, labelled with the same ``RESUME_KEYS`` as ``meta``) and
    only then is a trailing interrupted line cut off; ``done`` holds the ids already labelled so
    the caller can skip them. With ``ids`` as well (the cases this run labels), a file holding a
    case outside them is refused, and the header takes ``meta``'s ``count`` (rewritten in one
    step). An existing file is otherwise replaced only with ``overwrite``: a run started without
    ``--resume`` must not wipe labels that took hours to make.
    """

    def __init__(
        self,
        path: str | Path,
        meta: dict[str, Any],
        resume: bool = False,
        overwrite: bool = False,
        ids: Sequence[str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.done: set[str] = set()
        self.meta = meta
        self._closed = False
        if self.path.is_dir():
            raise InvalidInputError(
                f"--output {self.path} is a folder; give a file name such as labels.jsonl"
            )
        if resume and _started(self.path):
            old_meta, records = iter_labels(self.path)
            self.done = {r.id for r in records}
            _check_resumable(old_meta, meta, self.path)
            if ids is not None:
                _check_within(self.path, self.done, ids)
            self._repair_tail()
            self.meta = old_meta
            if ids is not None and "count" in meta and old_meta.get("count") != meta["count"]:
                self.meta = {**old_meta, "count": meta["count"]}
                self._rewrite_header()
            self._stream: IO[str] | None = self.path.open("a", encoding="utf-8")
            return
        if not resume and not overwrite and self.path.is_file() and self.path.stat().st_size > 0:
            raise InvalidInputError(
                f"{self.path} already exists; pass --resume to complete it, --overwrite to start it "
                "again, or write to a new --output"
            )
        self._stream = None
        self._pending = json.dumps({"_meta": meta}, ensure_ascii=False) + "\n"

    def _create(self, first: str) -> None:
        """Make the file, header and ``first`` lines in one step, then keep appending to it."""
        from splitinfer.sdk._bundle import atomic_write

        atomic_write(self.path, (self._pending + first).encode("utf-8"))
        self._stream = self.path.open("a", encoding="utf-8")

    def _repair_tail(self) -> None:
        data = self.path.read_bytes()
        if not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            with self.path.open("r+b") as stream:
                stream.truncate(cut)

    def _rewrite_header(self) -> None:
        """Replace the header line with ``self.meta``, the records untouched, in one step."""
        from splitinfer.sdk._bundle import atomic_write

        data = self.path.read_bytes()
        header = json.dumps({"_meta": self.meta}, ensure_ascii=False).encode("utf-8") + b"\n"
        atomic_write(self.path, header + data[data.index(b"\n") + 1 :])

    def write(self, record: LabelRecord) -> None:
        line = record.to_json() + "\n"
        if self._stream is None:
            self._create(line)
        else:
            self._stream.write(line)
            self._stream.flush()
        self.done.add(record.id)

    def close(self, failed: bool = False) -> None:
        """Close the file; a new file that got no record is made now (header only) unless
        ``failed``. Closing twice does nothing."""
        if self._closed:
            return
        self._closed = True
        if self._stream is None:
            if failed:
                return
            self._create("")
        assert self._stream is not None
        self._stream.close()

    def __enter__(self) -> LabelsWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(failed=exc_type is not None)


@dataclass
class LabelSummary:
    """What a labelling run did: counts, volume, time and (for LLM teachers) tokens billed."""

    labelled: int = 0
    skipped: int = 0
    failures: int = 0
    words: int = 0
    seconds: float = 0.0
    usage: dict[str, int] = field(default_factory=dict)
    output: str = ""
    first_failure: str = ""  # "case ID: why", the first case the teacher failed on

    def line(self) -> str:
        rate = self.labelled / self.seconds if self.seconds > 0 else 0.0
        # A run that labelled nothing leaves no file, or the one it resumed with no case added.
        if self.labelled:
            where = f"-> {self.output}"
        elif self.skipped:
            where = f"-> {self.output} (no case added)"
        else:
            where = f"-> nothing written to {self.output}"
        text = (
            f"labelled {self.labelled} cases ({self.words} words) in {self.seconds:.1f} s, {rate:.2f} cases/s; "
            f"{self.skipped} already done, {self.failures} failed {where}"
        )
        return text + _usage_text(self.usage)


# What decides which cases a run builds and how they are scored: a resumed run must match them.
RESUME_KEYS = (
    "teacher",
    "settings",
    "format",
    "split",
    "distractors",
    "layout",
    "questions",
    "data",
    "seed",
    "offset",
    "kinds",
    "line_breaks",
)


def _started(path: Path) -> bool:
    """Whether ``path`` holds at least one whole line (a file cut inside its header is not started)."""
    if not path.is_file():
        return False
    with path.open("rb") as stream:
        head = stream.read(1 << 16)
        while head and b"\n" not in head:
            more = stream.read(1 << 16)
            if not more:
                break
            head += more
    if b"\n" in head:
        return True
    _check_head(path, head)
    return False


def _check_head(path: Path, head: bytes) -> None:
    """``InvalidInputError`` unless ``head``, the start of a file with no whole line yet, is
    empty or the start of a labels header (a write cut inside the header)."""
    if head and not head.startswith(b'{"_meta"'):
        raise InvalidInputError(
            f"{path}: not a labels file (no header line); make one with 'splitinfer distill label'"
        )


# Teacher settings that change how fast it runs, not the scores it gives.
SPEED_SETTINGS = frozenset({"threads"})


def label_teacher(meta: dict[str, Any]) -> tuple[str, Any]:
    """The teacher's name and settings a labels file's ``_meta`` records: ``teacher`` as a name or
    as ``{"name", "settings"}``, the settings else under ``settings`` or ``teacher_settings``."""
    teacher = meta.get("teacher")
    name = teacher.get("name") if isinstance(teacher, dict) else teacher
    settings = (
        (teacher.get("settings") if isinstance(teacher, dict) else None)
        or meta.get("settings")
        or meta.get("teacher_settings")
        or {}
    )
    return str(name or "unknown"), settings


def settings_differ(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The teacher settings, speed aside (``SPEED_SETTINGS``), on which two labellings differ."""
    return sorted(k for k in {*old, *new} - SPEED_SETTINGS if old.get(k) != new.get(k))


def _check_resumable(old: dict[str, Any], new: dict[str, Any], path: Path) -> None:
    for key in RESUME_KEYS:
        if key == "settings" and isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            differ = settings_differ(old[key], new[key])
            if differ:
                changes = ", ".join(f"{k}: {old[key].get(k)!r} then, {new[key].get(k)!r} now" for k in differ)
                _refuse(path, f"teacher settings ({changes})")
        elif key == "line_breaks" and new.get(key) and not old.get(key):
            raise InvalidInputError(
                f"{path} was labelled by an older splitinfer, whose records do not say where lines break; "
                "label again into a new --output (or with --overwrite)"
            )
        elif key in new and key in old and old[key] != new[key]:  # older headers lack some keys
            _refuse(path, f"{key} ({old.get(key)!r} then, {new.get(key)!r} now)")


def _check_within(path: Path, done: set[str], ids: Sequence[str]) -> None:
    """Refuse to resume ``path`` when it holds a case outside ``ids``, the cases this run labels
    (it was made with a larger ``--limit``, or from other data under the same file name):
    training reads every record of a file, so the file would not be what this run names."""
    extra = done - set(ids)
    if extra:
        first = min(extra)
        raise InvalidInputError(
            f"{path} holds {len(extra)} labelled case(s) that this run would not label (such as "
            f"{first!r}): it was made with a larger --limit or other data. Resume with the flags it "
            "was made with, or write to a new --output"
        )


def _refuse(path: Path, what: str) -> None:
    raise InvalidInputError(
        f"{path} was labelled with a different {what}; resume with the same flags or write to a new --output"
    )


def label_corpus(
    teacher: Any,
    cases: Sequence[Any],
    output: str | Path,
    meta: dict[str, Any],
    resume: bool = False,
    progress: bool = True,
    overwrite: bool = False,
) -> LabelSummary:
    """Score every case with ``teacher`` and append its record to ``output`` as soon as it is done.

    With ``resume``, cases whose id is already in ``output`` are skipped (the header must match
    ``meta``: same teacher, settings, format and split). A case the teacher fails on (a
    ``SplitinferError``: drifting LLM answer, server that gave up) is counted and left out; a run
    again with ``resume`` retries it. An error that stops the teacher itself (an ``EndpointError``
    of the llm teacher) stops the run; the cases written so far stay.
    """
    from splitinfer.converters._progress import progress as progress_bar

    started = time.monotonic()
    summary = LabelSummary(output=str(output))
    meta = {**meta, "line_breaks": True}  # every record says where its lines break
    ids = [case.id for case in cases]
    with LabelsWriter(output, meta, resume=resume, overwrite=overwrite, ids=ids) as writer:
        todo = [case for case in cases if case.id not in writer.done]
        summary.skipped = len(cases) - len(todo)
        # On a terminal a bar, in a log a line a minute (_progress), never with progress=False.
        bar = progress_bar(total=len(todo), unit="case", desc=f"label {teacher.name}", enabled=progress)
        try:
            _label_all(teacher, todo, writer, bar, summary)
        except SplitinferError as err:
            bar.close()
            done = summary.labelled + summary.skipped
            kept = (
                f"the {done} cases labelled so far are kept in {output}: run again with --resume"
                if done
                else "no case was labelled, so nothing was written: run again once that is fixed"
            )
            raise type(err)(f"{err}; {kept}{_usage_text(_endpoint_usage(teacher))}") from None
        except KeyboardInterrupt:
            bar.close()
            done = summary.labelled + summary.skipped
            kept = f"; they are kept in {output}: run again with --resume to go on" if done else ""
            failed = f" ({summary.failures} failed)" if summary.failures else ""
            print(
                f"stopped after {summary.labelled} cases{failed}{kept}{_usage_text(_endpoint_usage(teacher))}",
                file=sys.stderr,
            )
            raise
        bar.close()
        if summary.failures and not summary.labelled:
            # Every case failed: a run that labelled nothing leaves no file (or the old one).
            writer.close(failed=True)
    summary.usage = _endpoint_usage(teacher)
    summary.seconds = time.monotonic() - started
    return summary


def _endpoint_usage(teacher: Any) -> dict[str, int]:
    """What a teacher with an endpoint (``usage()``) has spent so far; ``{}`` for the others."""
    usage = getattr(teacher, "usage", None)
    return dict(usage()) if callable(usage) else {}


def _usage_text(usage: dict[str, int]) -> str:
    """``usage`` as the end of a summary line ("; endpoint usage: chunks 3, ..."), "" when empty."""
    return ("; endpoint usage: " + ", ".join(f"{k} {v}" for k, v in sorted(usage.items()))) if usage else ""


def _label_all(teacher: Any, todo: list[Any], writer: LabelsWriter, bar: Any, summary: LabelSummary) -> None:
    from splitinfer.converters.teachers.base import score_stream
    from splitinfer.sdk._text import split_words

    for index, result in score_stream(teacher, [(c.question, c.context) for c in todo]):
        case = todo[index]
        bar.update(1)
        if isinstance(result, Exception):
            summary.failures += 1
            summary.first_failure = summary.first_failure or f"case {case.id}: {result}"
            bar.write(f"case {case.id}: {result}", file=sys.stderr)
            continue
        words, gaps = split_words(case.context)
        if len(result) != len(words):
            raise RuntimeError(f"teacher {teacher.name} gave {len(result)} scores for {len(words)} words")
        writer.write(
            LabelRecord(
                id=case.id,
                source=case.source,
                split=case.split,
                question=case.question,
                words=words,
                scores=[float(s) for s in result],
                answers=list(case.answers),
                breaks=word_breaks(gaps),
            )
        )
        summary.labelled += 1
        summary.words += len(words)
