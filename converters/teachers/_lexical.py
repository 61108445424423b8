"""Lexical signals that need no corpus: word rarity and question-word overlap.

Rarity comes from the WordPiece vocabulary itself: BERT's vocabulary lists whole words roughly
by frequency (``the`` is the first word, at id 1996), so a word's position is a Zipf rank and
``log(rank)`` behaves like an IDF. A word the vocabulary lacks (split into several pieces) is
rarer than any listed word. Numbers are treated as rare: they carry facts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from splitinfer.sdk._tokenizer import WordPieceTokenizer

FIRST_WORD_ID = 1996  # "the" in the BERT uncased vocabulary: whole words start here
_RARE_RANK = 30000
_TERM_RE = re.compile(r"[^\W_]+", re.UNICODE)


def terms(word: str) -> list[str]:
    """Lower-cased alphanumeric runs of a word (``"Röntgen's,"`` -> ``["röntgen", "s"]``)."""
    return _TERM_RE.findall(word.lower())


def stem(term: str) -> str:
    """A crude English stem so ``prize``/``prizes`` and ``won``/``won`` match."""
    for suffix in ("ies", "es", "s"):
        if len(term) > len(suffix) + 3 and term.endswith(suffix):
            return term[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return term


class Rarity:
    """Rarity in [0, 1] of terms and words, from the tokenizer vocabulary's order."""

    def __init__(self, tokenizer: WordPieceTokenizer) -> None:
        self._tokenizer = tokenizer
        self._cache: dict[str, float] = {}

    def term(self, term: str) -> float:
        hit = self._cache.get(term)
        if hit is None:
            if term.isdigit() or any(ch.isdigit() for ch in term):
                hit = 1.0
            else:
                ids = self._tokenizer.encode_word(term)
                if len(ids) == 1 and ids[0] >= FIRST_WORD_ID:
                    rank = ids[0] - FIRST_WORD_ID + 1
                    hit = min(1.0, math.log1p(rank) / math.log1p(_RARE_RANK))
                else:
                    hit = 1.0 if ids else 0.0
            self._cache[term] = hit
        return hit

    def word(self, word: str) -> float:
        """The rarity of a word's rarest term; punctuation alone is 0."""
        return max((self.term(t) for t in terms(word)), default=0.0)

    def words(self, words: Sequence[str]) -> list[float]:
        return [self.word(w) for w in words]


def question_terms(question: str, rarity: Rarity, floor: float = 0.3) -> dict[str, float]:
    """Stemmed content terms of the question with their rarity (terms rarer than ``floor``)."""
    out: dict[str, float] = {}
    for term in terms(question):
        weight = rarity.term(term)
        if weight >= floor:
            out[stem(term)] = max(weight, out.get(stem(term), 0.0))
    return out
