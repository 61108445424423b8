"""Align a compressed text back to the original words (LLMLingua-2's label construction).

The LLM is told to delete words only, but models paraphrase, repeat or invent now and then. So
each word of the compressed text is looked for in the original, in order: from just after the
previous match, up to ``lookahead`` words ahead. A found word marks that original word *kept*; a
word not found counts against the chunk. ``alignment`` (matched / compressed words) tells how
faithful the answer was; the caller drops chunks below a threshold (0.9 by default), as
LLMLingua-2 filters samples whose compression drifts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from splitinfer.sdk._selection import normalize_word


@dataclass(frozen=True)
class Alignment:
    """Which original words the compressed text kept, and how much of it matched at all."""

    kept: np.ndarray  # bool, one per original word
    matched: int  # compressed words found in the original, in order
    compressed: int  # words in the compressed text

    @property
    def ratio(self) -> float:
        """Matched share of the compressed words (1.0 for an empty compression)."""
        return self.matched / self.compressed if self.compressed else 1.0


def align(original: Sequence[str], compressed: Sequence[str], lookahead: int = 48) -> Alignment:
    """Greedy in-order alignment of ``compressed`` words onto ``original`` words (see module doc).

    Words are compared after ``normalize_word`` (edge punctuation stripped, case-folded); a
    compressed word that is only punctuation is skipped, it neither matches nor counts.
    """
    keys = [normalize_word(w) for w in original]
    kept = np.zeros(len(original), dtype=bool)
    position = matched = counted = 0
    for word in compressed:
        key = normalize_word(word)
        if not key:
            continue
        counted += 1
        for i in range(position, min(len(keys), position + lookahead)):
            if keys[i] == key:
                kept[i] = True
                matched += 1
                position = i + 1
                break
    return Alignment(kept=kept, matched=matched, compressed=counted)
