"""Corpus builders: turn public QA data into long-prompt *cases* (question + long context).

Every part of the pipeline that reads the shared data builds its prompts here, so the teacher
labels, the student's training set and ``splitinfer eval`` see the same contexts and agree on
which records are held out.

Formats (``load_cases(format, path, ...)``):

- ``nq``: "lost in the middle" NQ-open lines ``{"question", "answers", "ctxs": [{"title", "text",
  "isgold", ...}]}``. The context is 10 documents: the record's gold passage plus 9 distractors,
  the gold one at position ``index % 10`` (``index`` = the record's line number from 0, so the
  position cycles 0..9 through the file), each formatted ``Document [i](Title: {title}) {text}``
  (``i`` from 1) and joined with ``"\\n"``. Distractors are gold passages of *other* records of the
  same file: ``"hard"`` = the 9 that BM25 ranks highest for the question (title + text indexed),
  ``"random"`` = 9 drawn with a seeded generator; passages whose text equals the gold passage's,
  and repeats, are skipped. With hard distractors a ``seed`` other than 0 rearranges the same 10
  documents (seeded order, gold at a seeded position) and suffixes the case id with ``~s{seed}``:
  more training prompts from the same records, each passage at other places in the model's
  windows. Evaluation uses seed 0.

  ``layout`` says how the ten documents are written (``NQ_LAYOUTS``): ``"documents"`` (the
  default, above: the "lost in the middle" prompt), ``"titles"`` (each document its title on a
  line of its own, then its text: ``{title}\n{text}``, documents apart by a blank line: a
  retrieval prompt without the numbered wrapper) or ``"plain"`` (the texts alone, apart by a blank
  line: paragraphs with no titles). A layout other than ``"documents"`` suffixes the case id with
  ``~{layout}``. The documents, their order and the split do not depend on the layout.

  ``questions="swapped"`` keeps each context and asks, in place of the record's own question,
  the question of one of its distractors: that passage is another record's gold one, so the
  context holds its answer (the other record's answers). The distractor is drawn (seeded by the
  record, the same in every arrangement and layout) among those whose record is of the same
  split, so a context never carries a question of the other split; the case id gets
  ``~q{record}``. Same ten documents, another question: what a question-aware condenser keeps
  should follow the question, not the documents.
- ``gsm8k``: ``{"question", "answer"}`` lines (the answer ends with ``#### N``). The context is 8
  solved problems of the same file, drawn with a seeded generator from the other records, each
  ``"Question: {q}\\nLet's think step by step\\n{answer}\\n\\n"``; the target problem is the
  question and ``verbatim`` (it must reach the model untouched); ``answers = [N]``.
- ``qa``: ``{"question", "context", "answers"}`` lines, used as they are; an optional ``"id"``
  (a string or a whole number, one per record) names the case, else it is ``qa-{index}``.

Files may be gzip-compressed (detected from the content, not the name); a UTF-8 byte order mark
is ignored. A record that repeats an earlier one exactly is left out (stderr says how many were).
A question or context longer than a condenser takes (``MAX_INPUT_CHARS``) is refused. Building
is deterministic: the same file, flags and seed give the same cases, and a record's case does
not depend on ``split`` or ``limit``.

The held-out split is fixed for everyone (``is_heldout``): about 20% of the questions, chosen by a
hash of the question text, are never trained on and are what ``splitinfer eval`` reports on.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splitinfer.converters._bm25 import BM25Index
from splitinfer.converters._jsonl import json_kind, read_jsonl
from splitinfer.converters._synthetic import SYNTHETIC_KINDS, synthetic_cases
from splitinfer.sdk._errors import InvalidInputError
from splitinfer.sdk._inputs import MAX_INPUT_CHARS

__all__ = [
    "FORMATS",
    "NQ_LAYOUTS",
    "SYNTHETIC_KINDS",
    "Case",
    "build_cases",
    "is_heldout",
    "load_cases",
    "read_jsonl",
    "synthetic_cases",
]

FORMATS = ("nq", "gsm8k", "qa")
SPLITS = ("train", "heldout")
NQ_DOCUMENTS = 10
NQ_LAYOUTS = ("documents", "titles", "plain")
NQ_QUESTIONS = ("own", "swapped")
GSM8K_DEMONSTRATIONS = 8
_FINAL_ANSWER_RE = re.compile(r"####\s*(.+?)\s*$")


@dataclass
class Case:
    """One long prompt: a question, the context to condense, and the answers that must survive.

    ``verbatim`` is text that must reach the model untouched (the GSM8K target problem); it is
    not part of ``context``. ``documents`` are the context's documents when it has several
    (NQ), in order. ``where`` is the ``path:line`` of the record whose question it asks (empty
    for synthetic cases), for errors about it.
    """

    id: str
    source: str
    split: str
    question: str
    context: str
    answers: list[str]
    verbatim: str = ""
    documents: list[str] = field(default_factory=list)
    where: str = ""


def is_heldout(question: str) -> bool:
    """Whether a record belongs to the held-out split (never trained on): ~20% of questions."""
    return int(hashlib.sha1(question.encode("utf-8")).hexdigest(), 16) % 5 == 0


def split_of(question: str) -> str:
    return "heldout" if is_heldout(question) else "train"


def _field(record: dict[str, Any], name: str, kind: type, where: str) -> Any:
    value = record.get(name)
    if name not in record:
        present = ", ".join(sorted(k for k in record if not k.startswith("_"))) or "none"
        raise InvalidInputError(f"{where}: no field '{name}' (the line has: {present}); is --format right?")
    if not isinstance(value, kind):
        expected = "a string" if kind is str else f"a JSON {kind.__name__}"
        raise InvalidInputError(f"{where}: field '{name}' must be {expected}, got {json_kind(value)}")
    return value


def _answers(record: dict[str, Any], where: str) -> list[str]:
    answers = _field(record, "answers", list, where)
    if not all(isinstance(a, str) for a in answers):
        raise InvalidInputError(f"{where}: field 'answers' must be a list of strings")
    return answers


def _load_records(path: str | Path, fields: dict[str, type]) -> list[dict[str, Any]]:
    """The file's records, each with its ``_where`` (``path:line``), a repeat of an earlier
    record left out: it would count one prompt twice (and a GSM8K problem could be its own
    demonstration). How many were left out is said once on stderr."""
    records = []
    first_seen: dict[bytes, int] = {}
    repeats: list[tuple[int, int]] = []
    for number, record in read_jsonl(path):
        where = f"{path}:{number}"
        for name, kind in fields.items():
            _field(record, name, kind, where)
        digest = hashlib.sha1(json.dumps(record, sort_keys=True).encode("ascii")).digest()
        first = first_seen.setdefault(digest, number)
        if first != number:
            repeats.append((number, first))
            continue
        record["_where"] = where
        records.append(record)
    if not records:
        raise InvalidInputError(f"{path}: the file has no records")
    if repeats:
        (line, first), more = repeats[0], len(repeats) - 1
        _warn(
            f"{path}: skipped {len(repeats)} duplicate record(s), each the same as an earlier line "
            f"(line {line} repeats line {first}{f' and {more} more' if more else ''}); each is used once"
        )
    return records


@functools.cache
def _warn(message: str) -> None:
    """``message`` on stderr, once per process (eval builds a file's cases once per arrangement)."""
    print(f"splitinfer: warning: {message}", file=sys.stderr)


def _nq_passage(record: dict[str, Any]) -> tuple[str, str]:
    """The record's gold passage as ``(title, text)``; the first passage when none is marked gold."""
    where = record["_where"]
    ctxs = record["ctxs"]
    if not ctxs or not all(isinstance(c, dict) for c in ctxs):
        raise InvalidInputError(f"{where}: field 'ctxs' must be a non-empty list of passages")
    gold = next((c for c in ctxs if c.get("isgold")), ctxs[0])
    title, text = gold.get("title", ""), gold.get("text")
    if not isinstance(text, str) or not isinstance(title, str):
        raise InvalidInputError(f"{where}: a passage in 'ctxs' needs string 'title' and 'text'")
    if not text.strip():
        raise InvalidInputError(
            f"{where}: the {'gold' if gold.get('isgold') else 'first'} passage in 'ctxs' has an empty "
            "'text'; give it the passage that answers the question"
        )
    return title, text


def _hard_distractors(index: BM25Index, question: str, own: int, texts: list[str]) -> list[int]:
    chosen: list[int] = []
    seen = {texts[own]}
    for doc in index.ranking(question):
        doc = int(doc)
        if doc != own and texts[doc] not in seen:
            chosen.append(doc)
            seen.add(texts[doc])
            if len(chosen) == NQ_DOCUMENTS - 1:
                break
    return chosen


def _random_distractors(own: int, texts: list[str], seed: int) -> list[int]:
    order = [i for i in range(len(texts)) if i != own]
    random.Random(f"nq-random:{seed}:{own}").shuffle(order)
    chosen: list[int] = []
    seen = {texts[own]}
    for doc in order:
        if texts[doc] not in seen:
            chosen.append(doc)
            seen.add(texts[doc])
            if len(chosen) == NQ_DOCUMENTS - 1:
                break
    return chosen


def _nq_documents(layout: str, passages: list[tuple[str, str]], order: list[int]) -> tuple[list[str], str]:
    """The documents of one NQ context in ``layout``, and the separator that joins them."""
    if layout == "titles":
        return [f"{passages[doc][0]}\n{passages[doc][1]}" for doc in order], "\n\n"
    if layout == "plain":
        return [passages[doc][1] for doc in order], "\n\n"
    headed = [
        f"Document [{n}](Title: {passages[doc][0]}) {passages[doc][1]}" for n, doc in enumerate(order, 1)
    ]
    return headed, "\n"


def _swapped_question(records: list[dict[str, Any]], own: int, others: list[int]) -> int | None:
    """The record whose question a ``questions="swapped"`` case asks instead of record ``own``'s:
    one of the distractors (each another record's gold passage) of the same split, drawn by a
    generator seeded with ``own`` alone, so every arrangement and layout of a context asks the
    same question; ``None`` when no distractor's record is of that split."""
    split = split_of(records[own]["question"])
    same = [doc for doc in others if split_of(records[doc]["question"]) == split]
    return random.Random(f"swap:{own}").choice(same) if same else None


def _nq_cases(
    path: str | Path, distractors: str, seed: int, layout: str = "documents", questions: str = "own"
) -> Iterator[tuple[int, Case]]:
    if distractors not in ("hard", "random"):
        raise InvalidInputError(f"distractors must be 'hard' or 'random', got {distractors!r}")
    if layout not in NQ_LAYOUTS:
        raise InvalidInputError(f"layout must be one of {', '.join(NQ_LAYOUTS)}, got {layout!r}")
    if questions not in NQ_QUESTIONS:
        raise InvalidInputError(f"questions must be one of {', '.join(NQ_QUESTIONS)}, got {questions!r}")
    records = _load_records(path, {"question": str, "answers": list, "ctxs": list})
    passages = [_nq_passage(r) for r in records]
    texts = [text for _, text in passages]
    index = BM25Index([f"{title} {text}" for title, text in passages]) if distractors == "hard" else None
    if len(set(texts)) < NQ_DOCUMENTS:
        raise InvalidInputError(f"{path}: an nq file needs at least {NQ_DOCUMENTS} distinct passages")
    unswapped = 0
    for i, record in enumerate(records):
        question = record["question"]
        answers = _answers(record, record["_where"])
        if index is not None:
            others = _hard_distractors(index, question, i, texts)
        else:
            others = _random_distractors(i, texts, seed)
        order = list(others)
        case_id = f"nq-{i}"
        asked = record
        if questions == "swapped":
            swap = _swapped_question(records, i, others)
            if swap is None:
                unswapped += 1
                continue
            asked = records[swap]
            case_id = f"nq-{i}~q{swap}"
        if index is not None and seed:
            rng = random.Random(f"nq-hard-arrangement:{seed}:{i}")
            rng.shuffle(order)
            order.insert(rng.randrange(NQ_DOCUMENTS), i)
            case_id = f"{case_id}~s{seed}"
        else:
            order.insert(i % NQ_DOCUMENTS, i)
        documents, separator = _nq_documents(layout, passages, order)
        if layout != "documents":
            case_id = f"{case_id}~{layout}"
        yield (
            i,
            Case(
                id=case_id,
                source="nq",
                split=split_of(question),
                question=asked["question"],
                context=separator.join(documents),
                answers=answers if asked is record else _answers(asked, asked["_where"]),
                documents=documents,
                where=asked["_where"],
            ),
        )
    if unswapped:
        _warn(
            f"{path}: {unswapped} of {len(records)} records left out of --questions swapped: none of "
            "their distractors is a record of their own split, whose question they could ask"
        )


def _final_answer(answer: str, where: str) -> str:
    match = _FINAL_ANSWER_RE.search(answer.strip())
    if match is None:
        raise InvalidInputError(f"{where}: a gsm8k answer must end with '#### N' (the final number)")
    return match.group(1).replace(",", "")


def gsm8k_demonstration(question: str, answer: str) -> str:
    """One solved problem as it appears in the few-shot prompt."""
    return f"Question: {question}\nLet's think step by step\n{answer}\n\n"


def _gsm8k_cases(path: str | Path, seed: int) -> Iterator[tuple[int, Case]]:
    records = _load_records(path, {"question": str, "answer": str})
    if len(records) <= GSM8K_DEMONSTRATIONS:
        raise InvalidInputError(f"{path}: a gsm8k file needs more than {GSM8K_DEMONSTRATIONS} problems")
    for i, record in enumerate(records):
        answer = _final_answer(record["answer"], record["_where"])
        rng = random.Random(f"gsm8k-demos:{seed}:{i}")
        picks = rng.sample(range(len(records) - 1), GSM8K_DEMONSTRATIONS)
        demos = [records[p if p < i else p + 1] for p in picks]
        context = "".join(gsm8k_demonstration(d["question"], d["answer"]) for d in demos).rstrip()
        question = record["question"]
        yield (
            i,
            Case(
                id=f"gsm8k-{i}",
                source="gsm8k",
                split=split_of(question),
                question=question,
                context=context,
                answers=[answer],
                verbatim=question,
                where=record["_where"],
            ),
        )


def _qa_cases(path: str | Path) -> Iterator[tuple[int, Case]]:
    records = _load_records(path, {"question": str, "context": str, "answers": list})
    line_of_id: dict[str, str] = {}
    for i, record in enumerate(records):
        question = record["question"]
        where = record["_where"]
        if not record["context"].strip():
            raise InvalidInputError(f"{where}: the context is empty; nothing to condense")
        answers = _answers(record, where)
        case_id = _qa_id(record, i)
        if case_id in line_of_id:
            # Labels are resumed and trained on by id: a second record under one id would be lost.
            raise InvalidInputError(
                f"{where}: id {case_id!r} is also the id of the record at {line_of_id[case_id]}; give "
                "each record its own 'id' (records without one are numbered qa-0, qa-1, ...)"
            )
        line_of_id[case_id] = where
        yield (
            i,
            Case(
                id=case_id,
                source="qa",
                split=split_of(question),
                question=question,
                context=record["context"],
                answers=answers,
                where=where,
            ),
        )


def _qa_id(record: dict[str, Any], index: int) -> str:
    """A qa record's ``id`` as a string, ``qa-{index}`` when it has none (or null)."""
    value = record.get("id")
    if value is None:
        return f"qa-{index}"
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidInputError(
            f"{record['_where']}: field 'id' must be a string or a whole number, got {json_kind(value)}"
        )
    return str(value)


def load_cases(
    format: str,
    path: str | Path,
    distractors: str = "hard",
    split: str | None = None,
    limit: int | None = None,
    seed: int = 0,
    layout: str = "documents",
    questions: str = "own",
) -> list[Case]:
    """Build the cases of a data file.

    ``format`` is one of ``FORMATS``; ``distractors`` (``"hard"`` or ``"random"``),
    ``layout`` (``NQ_LAYOUTS``) and ``questions`` (``NQ_QUESTIONS``) apply to ``nq`` only;
    ``split`` keeps only ``"train"`` or ``"heldout"`` records (``None``: all);
    ``limit`` keeps the first ``limit`` cases after the split filter; ``seed`` drives the random
    choices (random distractors, GSM8K demonstrations). Raises ``InvalidInputError`` for an
    unknown format or split, a missing file, bad JSON (with its line number) or missing fields.
    """
    if split is not None and split not in SPLITS:
        raise InvalidInputError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    if limit is not None and limit < 0:
        raise InvalidInputError(f"limit must be >= 0, got {limit}")
    if layout != "documents" and format != "nq":
        raise InvalidInputError(f"layout {layout!r} is for format nq; format {format!r} has one layout")
    if questions != "own" and format != "nq":
        raise InvalidInputError(f"questions {questions!r} is for format nq; format {format!r} asks its own")
    if format == "nq":
        built = _nq_cases(path, distractors, seed, layout, questions)
    elif format == "gsm8k":
        built = _gsm8k_cases(path, seed)
    elif format == "qa":
        built = _qa_cases(path)
    else:
        raise InvalidInputError(f"unknown data format {format!r}; use one of {', '.join(FORMATS)}")
    cases: list[Case] = []
    for _, case in built:
        if limit is not None and len(cases) >= limit:
            break
        if split is None or case.split == split:
            _check_size(case)
            cases.append(case)
    return cases


def _check_size(case: Case) -> None:
    """Refuse a case no condenser could take, before a run spends minutes (and gigabytes) on it."""
    for name, text in (("question", case.question), ("context", case.context)):
        if len(text) > MAX_INPUT_CHARS:
            raise InvalidInputError(
                f"{case.where}: the {name} has {len(text):,} characters, more than the "
                f"{MAX_INPUT_CHARS:,} a condenser takes in one call; split it into several records"
            )


def _prose_of(path: str | Path) -> list[str]:
    """Passages of a data file (nq ``ctxs`` texts, qa ``context``), train-split records only."""
    texts: list[str] = []
    for _, record in read_jsonl(path):
        question = record.get("question")
        if isinstance(question, str) and is_heldout(question):
            continue
        for ctx in record.get("ctxs") or []:
            if isinstance(ctx, dict) and isinstance(ctx.get("text"), str):
                texts.append(ctx["text"])
        if isinstance(record.get("context"), str):
            texts.append(record["context"])
    return texts


def build_cases(
    format: str,
    data: str | Path | None,
    distractors: str = "hard",
    split: str | None = None,
    limit: int | None = None,
    seed: int = 0,
    kinds: str = "essay,kv",
    layout: str = "documents",
    questions: str = "own",
) -> list[Case]:
    """The cases ``splitinfer distill label`` labels: ``load_cases``, or synthetic ones.

    ``format="synthetic"`` makes ``limit`` cases (default 200) shared evenly among ``kinds``
    (comma-separated ``SYNTHETIC_KINDS``); essays take their prose from ``data`` when given (the
    passages of its train-split records), then ``split`` filters them.
    """
    if format != "synthetic":
        if data is None:
            raise InvalidInputError(
                f"--data is required for format {format!r} (e.g. the file in ../shared/data)"
            )
        return load_cases(
            format,
            data,
            distractors=distractors,
            split=split,
            limit=limit,
            seed=seed,
            layout=layout,
            questions=questions,
        )
    if layout != "documents":
        raise InvalidInputError(f"layout {layout!r} is for format nq; synthetic prompts have one layout")
    if questions != "own":
        raise InvalidInputError(f"questions {questions!r} is for format nq; synthetic prompts ask their own")
    wanted = [k.strip() for k in kinds.split(",") if k.strip()]
    if not wanted:
        raise InvalidInputError(f"give at least one synthetic kind ({', '.join(SYNTHETIC_KINDS)})")
    total = 200 if limit is None else limit
    texts = _prose_of(data) if data is not None else None
    cases: list[Case] = []
    for k, kind in enumerate(wanted):
        count = total // len(wanted) + (1 if k < total % len(wanted) else 0)
        cases.extend(synthetic_cases(kind, count, seed=seed, texts=texts))
    return [c for c in cases if split is None or c.split == split]
