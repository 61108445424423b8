"""Selection rules: from word scores to the words that are kept. Pure functions, numpy in and out.

These rules are the contract between the Python SDK, the release pipeline and the Java port on
Android; golden vectors written from this module pin them down. Each step is one function:

1. ``chunk_words``: cut a long text into model windows without splitting a word.
2. ``word_scores``: token scores -> word scores (the mean of the word's tokens).
3. ``forced_mask``: words that are kept whatever their score.
4. ``token_budget``: how many tokens the condensed text may have.
5. ``select``: which words are kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

from splitinfer.sdk._errors import InvalidInputError

# Characters stripped from both ends of a word before it is compared with a forced word.
_ASCII_DIGIT = re.compile("[0-9]")
EDGE_PUNCTUATION = "\"'()[]{}<>.,;:!?`\u201c\u201d\u2018\u2019\u00ab\u00bb"


def chunk_words(token_counts: Sequence[int], max_tokens: int) -> list[tuple[int, int]]:
    """Split words into consecutive windows of at most ``max_tokens`` tokens, never inside a word.

    Returns ``(start, end)`` word-index ranges covering every word. A single word longer than
    the window gets a window of its own (the model then sees only its first ``max_tokens``
    tokens). No words, no windows.
    """
    if max_tokens <= 0:
        raise ValueError("max_tokens must be positive")
    windows: list[tuple[int, int]] = []
    start, used = 0, 0
    for i, count in enumerate(token_counts):
        if used + count > max_tokens and i > start:
            windows.append((start, i))
            start, used = i, 0
        used += count
    if start < len(token_counts):
        windows.append((start, len(token_counts)))
    return windows


def word_scores(token_scores: np.ndarray, token_counts: Sequence[int]) -> np.ndarray:
    """Mean token score of each word (float32); a word with no tokens scores 0."""
    counts = np.asarray(token_counts, dtype=np.int64)
    scores = np.asarray(token_scores, dtype=np.float32)
    if scores.shape[0] != counts.sum():
        raise ValueError(f"{scores.shape[0]} token scores for {counts.sum()} tokens")
    out = np.zeros(len(counts), dtype=np.float32)
    nonempty = counts > 0
    if nonempty.any():
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))[nonempty]
        sums = np.add.reduceat(scores, starts) if scores.size else np.zeros(0, np.float32)
        out[nonempty] = sums / counts[nonempty]
    return out


def normalize_word(word: str) -> str:
    """A word as forced words are matched: edge punctuation stripped, case-folded."""
    return word.strip(EDGE_PUNCTUATION).casefold()


def forced_mask(words: Sequence[str], force: Iterable[str] = (), keep_digits: bool = True) -> np.ndarray:
    """Which words are always kept.

    A word is forced when it matches a ``force`` entry (both normalised by ``normalize_word``;
    an entry of several words forces each of them wherever it occurs), or, with
    ``keep_digits``, when it contains an ASCII digit (numbers, dates, IDs, amounts).
    """
    wanted = {normalize_word(part) for entry in force for part in entry.split()}
    wanted.discard("")
    has_digit = _ASCII_DIGIT.search if keep_digits else (lambda _word: None)
    return np.fromiter(
        (has_digit(word) is not None or (bool(wanted) and normalize_word(word) in wanted) for word in words),
        dtype=bool,
        count=len(words),
    )


def token_budget(total_tokens: int, rate: float | None = None, target_tokens: int | None = None) -> int:
    """Tokens the condensed text may have: ``target_tokens`` if given, else ``round(rate * total)``.

    Rounds half up. Raises ``InvalidInputError`` for a rate outside (0, 1] or a negative target.
    """
    if target_tokens is not None:
        if target_tokens < 0:
            raise InvalidInputError(f"target_tokens must be >= 0, got {target_tokens}")
        return min(int(target_tokens), total_tokens)
    if rate is None or not (0.0 < rate <= 1.0):
        raise InvalidInputError(f"rate must be in (0, 1], got {rate}; e.g. 0.33 keeps a third of the tokens")
    return min(int(np.floor(rate * total_tokens + 0.5)), total_tokens)


def select(scores: np.ndarray, token_counts: Sequence[int], forced: np.ndarray, budget: int) -> np.ndarray:
    """Indices (ascending, int32) of the kept words.

    Every forced word is kept, even past the budget. The other words are taken best score first
    (ties: the earlier word first); a word is taken when its tokens still fit in what is left of
    the budget, else passed over for smaller ones further down, until the budget is spent. Words
    without tokens are never taken unless forced.
    """
    scores = np.asarray(scores, dtype=np.float32)
    counts = np.asarray(token_counts, dtype=np.int64)
    forced = np.asarray(forced, dtype=bool)
    if not (scores.shape == counts.shape == forced.shape):
        raise ValueError("scores, token_counts and forced must have one entry per word")
    keep = forced.copy()
    left = budget - int(counts[forced].sum())
    # Stable sort on -score keeps the earlier word first among equal scores.
    for i in np.argsort(-scores, kind="stable"):
        if left <= 0:
            break
        if keep[i] or counts[i] == 0 or counts[i] > left:
            continue
        keep[i] = True
        left -= int(counts[i])
    return np.flatnonzero(keep).astype(np.int32)
