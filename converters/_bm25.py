"""A small Okapi BM25 index over a fixed list of documents (exact, deterministic, numpy).

Used to pick *hard* distractors: the passages of other records that a retriever would rank
highest for a question. ``rank_bm25`` computes the same scores but loops over every document for
every query term; this index keeps postings per term, so scoring one query touches only the
documents that contain its terms (the whole NQ file is indexed in well under a second).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

_TERM_RE = re.compile(r"\w+", re.UNICODE)


def terms(text: str) -> list[str]:
    """Lower-cased alphanumeric runs of ``text``: the terms BM25 matches."""
    return _TERM_RE.findall(text.lower())


class BM25Index:
    """Okapi BM25 (``k1``, ``b``) with the non-negative IDF ``log(1 + (N - df + 0.5) / (df + 0.5))``."""

    def __init__(self, documents: Sequence[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.size = len(documents)
        lengths = np.zeros(self.size, dtype=np.float64)
        postings: dict[str, list[tuple[int, int]]] = {}
        for doc_id, text in enumerate(documents):
            counts = Counter(terms(text))
            lengths[doc_id] = sum(counts.values())
            for term, tf in counts.items():
                postings.setdefault(term, []).append((doc_id, tf))
        avg = float(lengths.mean()) if self.size else 0.0
        norm = k1 * (1.0 - b + b * lengths / avg) if avg > 0 else np.full(self.size, k1)
        self._weights: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, plist in postings.items():
            ids = np.fromiter((d for d, _ in plist), dtype=np.int64, count=len(plist))
            tfs = np.fromiter((t for _, t in plist), dtype=np.float64, count=len(plist))
            idf = math.log(1.0 + (self.size - len(plist) + 0.5) / (len(plist) + 0.5))
            self._weights[term] = (ids, idf * tfs * (k1 + 1.0) / (tfs + norm[ids]))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for ``query`` (each distinct query term counted once)."""
        out = np.zeros(self.size, dtype=np.float64)
        for term in dict.fromkeys(terms(query)):
            hit = self._weights.get(term)
            if hit is not None:
                out[hit[0]] += hit[1]
        return out

    def ranking(self, query: str) -> np.ndarray:
        """Document ids, best first; ties broken by the lower id, so the order is deterministic."""
        return np.argsort(-self.scores(query), kind="stable")
