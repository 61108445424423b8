"""Teacher-labelled prompts as the model sees them: token windows, exactly as the device cuts them.

The student must be trained and judged on the inputs the SDK's ``Condenser`` gives the model, so
this module repeats its steps with the SDK's own functions (``split_words``, the WordPiece
tokenizer, ``chunk_words``, ``word_scores``):

- question ids: the tokens of the question's words, in order, the first ``max_question_len`` of
  them, padded with 0;
- windows: ``chunk_words(counts, max_seq_len)``; a window holds its words' tokens from the start,
  padded with 0; a single word longer than the window is cut to the window (its score is the mean
  over the tokens the model saw);
- word scores: the mean of a word's token scores;
- line breaks (a student that reads them, ``line_break_id``): the id goes before the tokens of
  each word the labels record as starting a line (``model_tokens``), and counts as one of that
  word's tokens for the model (windows, targets, word scores) but not for budgets (``counts``).

Labels files are those of ``splitinfer distill label`` (format in ``converters.labels``): one
teacher score per word of each prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from splitinfer.sdk._selection import (
    MAX_LINE_BREAK_MARKS,
    chunk_words,
    model_tokens,
    question_input,
    word_scores,
)
from splitinfer.sdk._tokenizer import WordPieceTokenizer

VOCAB_PATH = Path(__file__).resolve().parents[1] / "sdk" / "assets" / "vocab.txt"

# A batch scorer: context ids [n, max_seq_len] and question ids [n, max_question_len] (int32) in,
# token scores [n, max_seq_len] (float32) out.
BatchScorer = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class Prompt:
    """One labelled prompt, tokenized: ``counts[i]`` tokens for word ``i`` (what budgets count),
    ``model_counts[i]`` of them as the model reads it (line-break ids included), ``ids`` all
    the model reads."""

    id: str
    source: str
    split: str
    words: list[str]
    teacher: np.ndarray
    counts: np.ndarray
    ids: np.ndarray
    question_ids: np.ndarray
    model_counts: np.ndarray


def default_tokenizer() -> WordPieceTokenizer:
    """The SDK's tokenizer over the vocabulary the bundled condenser ships."""
    return WordPieceTokenizer.from_file(VOCAB_PATH)


def question_ids(tokenizer: WordPieceTokenizer, question: str, max_question_len: int) -> np.ndarray:
    """The question's token ids as the Condenser gives them to the model (``question_tokens``),
    padded with 0."""
    return question_input(tokenizer.encode(question or ""), max_question_len)


def record_marks(record: dict[str, Any]) -> list[int]:
    """Line-break ids before each word of a labels record (its ``breaks``, capped as the device
    caps them, ``line_break_marks``)."""
    marks = [0] * len(record["words"])
    for index, count in record.get("breaks") or ():
        marks[index] = min(count, MAX_LINE_BREAK_MARKS)
    return marks


def encode_prompt(
    tokenizer: WordPieceTokenizer,
    record: dict[str, Any],
    max_question_len: int,
    line_break_id: int | None = None,
) -> Prompt:
    """Tokenize one labels record (see the module docstring)."""
    words = [str(w) for w in record["words"]]
    encoded = tokenizer.encode_words(words)
    counts = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    if line_break_id is not None:
        encoded = model_tokens(encoded, record_marks(record), line_break_id)
    model_counts = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    ids = np.fromiter(chain.from_iterable(encoded), dtype=np.int32, count=int(model_counts.sum()))
    return Prompt(
        id=str(record.get("id", "")),
        source=str(record.get("source", "")),
        split=str(record.get("split", "train")),
        words=words,
        teacher=np.asarray(record["scores"], dtype=np.float32),
        counts=counts,
        ids=ids,
        question_ids=question_ids(tokenizer, str(record.get("question") or ""), max_question_len),
        model_counts=model_counts,
    )


def prompt_windows(prompt: Prompt, max_seq_len: int) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """The prompt's windows ``[n, max_seq_len]`` int32 and, per window, ``(first word, end word, size)``.

    ``size`` is how many leading positions of the window hold tokens; windows of words without
    tokens are skipped, as the Condenser skips them.
    """
    counts = prompt.model_counts
    starts = np.cumsum(counts) - counts
    rows: list[np.ndarray] = []
    spans: list[tuple[int, int, int]] = []
    for first, end in chunk_words(counts.tolist(), max_seq_len):
        begin = int(starts[first])
        size = min(int(starts[end - 1] + counts[end - 1]) - begin, max_seq_len)
        if size == 0:
            continue
        row = np.zeros(max_seq_len, dtype=np.int32)
        row[:size] = prompt.ids[begin : begin + size]
        rows.append(row)
        spans.append((first, end, size))
    windows = np.stack(rows) if rows else np.zeros((0, max_seq_len), dtype=np.int32)
    return windows, spans


def token_targets(
    prompt: Prompt, spans: Sequence[tuple[int, int, int]], word_target: np.ndarray, max_seq_len: int
) -> np.ndarray:
    """Per window, each token's target = its word's ``word_target``; padding is -1 (ignored)."""
    out = np.full((len(spans), max_seq_len), -1.0, dtype=np.float32)
    clipped = np.minimum(prompt.model_counts, max_seq_len)
    for row, (first, end, size) in enumerate(spans):
        out[row, :size] = np.repeat(word_target[first:end], clipped[first:end])[:size]
    return out


def score_prompt(prompt: Prompt, scorer: BatchScorer, max_seq_len: int) -> np.ndarray:
    """Word scores of one prompt under ``scorer``, as the Condenser computes them."""
    windows, spans = prompt_windows(prompt, max_seq_len)
    if not spans:
        return np.zeros(len(prompt.words), dtype=np.float32)
    questions = np.repeat(prompt.question_ids[None, :], len(spans), axis=0)
    token_scores = np.asarray(scorer(windows, questions), dtype=np.float32)
    flat = np.concatenate([token_scores[row, :size] for row, (_, _, size) in enumerate(spans)])
    return word_scores(flat, np.minimum(prompt.model_counts, max_seq_len))


def score_prompts(prompts: Sequence[Prompt], scorer: BatchScorer, max_seq_len: int) -> list[np.ndarray]:
    """Word scores of every prompt, with one ``scorer`` call over all their windows."""
    cut = [prompt_windows(p, max_seq_len) for p in prompts]
    windows = [w for w, spans in cut if spans]
    if not windows:
        return [np.zeros(len(p.words), dtype=np.float32) for p in prompts]
    questions = [
        np.repeat(p.question_ids[None, :], len(spans), axis=0)
        for p, (_, spans) in zip(prompts, cut, strict=True)
        if spans
    ]
    token_scores = np.asarray(scorer(np.concatenate(windows), np.concatenate(questions)), dtype=np.float32)
    out, row = [], 0
    for prompt, (_, spans) in zip(prompts, cut, strict=True):
        mine = token_scores[row : row + len(spans)]
        row += len(spans)
        out.append(score_prompt(prompt, lambda c, q, m=mine: m, max_seq_len))
    return out


def read_label_records(path: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(meta, records)`` of a labels file (``converters.labels``: validated, clear errors)."""
    from dataclasses import asdict

    from splitinfer.converters.labels import read_labels

    meta, records = read_labels(path)
    return dict(meta), [asdict(r) for r in records]


def load_prompts(
    paths: Iterable[str | Path],
    tokenizer: WordPieceTokenizer,
    max_question_len: int,
    line_break_id: int | None = None,
) -> tuple[list[dict[str, Any]], list[Prompt]]:
    """Every prompt of every labels file, tokenized, and each file's ``_meta``. With
    ``line_break_id``, every file must record line breaks (``check_line_breaks``)."""
    metas: list[dict[str, Any]] = []
    prompts: list[Prompt] = []
    for path in paths:
        meta, records = read_label_records(path)
        if line_break_id is not None:
            check_line_breaks(meta, path)
        metas.append({"file": Path(path).name, "records": len(records), **meta})
        prompts.extend(encode_prompt(tokenizer, r, max_question_len, line_break_id) for r in records)
    return metas, prompts


TRAIN_WITHOUT_LINE_BREAKS = "train a student that reads no line breaks (--no-line-breaks)"


def check_line_breaks(
    meta: dict[str, Any], path: str | Path, other_fix: str = TRAIN_WITHOUT_LINE_BREAKS
) -> None:
    """``InvalidInputError`` when a labels file does not record where lines break (labelled
    before its records had ``breaks``): a student that reads line breaks would learn from prompts
    without them (or be judged on them). The message offers labelling again or ``other_fix``."""
    if not meta.get("line_breaks"):
        from splitinfer.sdk._errors import InvalidInputError

        raise InvalidInputError(
            f"{path}: these labels do not record where lines break (labelled by an older splitinfer); "
            f"label the corpus again, or {other_fix}"
        )
