"""Align a compressed text back to the original words (LLMLingua-2's label construction).

The LLM is told to delete words only, but models paraphrase, repeat or invent now and then. So
each word of the compressed text is looked for in the original, in order: from just after the
previous match, up to ``lookahead`` words ahead; farther only when the next compressed word
follows it there too, or, for the last word, when the word before it matched (a long deletion,
such as a whole passage the question does not need, then still aligns). A found word marks that
original word *kept*; a word not found counts against the chunk. ``alignment`` (matched /
compressed words) tells how faithful the answer was; the caller drops chunks below a threshold
(0.9 by default), as LLMLingua-2 filters samples whose compression drifts.
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
    wanted = [key for key in (normalize_word(w) for w in compressed) if key]
    position = matched = 0
    previous_hit = False
    for j, key in enumerate(wanted):
        hit = _find(keys, key, position, position + lookahead)
        if hit is None and j + 1 < len(wanted):
            # A long deletion: a farther match counts when the next word follows it closely.
            start = position
            while (hit := _find(keys, key, start, len(keys))) is not None:
                if _find(keys, wanted[j + 1], hit + 1, hit + 1 + lookahead) is not None:
                    break
                start = hit + 1
        elif hit is None and previous_hit:
            # The last word after a long deletion: no next word can confirm it, the previous one does.
            hit = _find(keys, key, position, len(keys))
        previous_hit = hit is not None
        if hit is not None:
            kept[hit] = True
            matched += 1
            position = hit + 1
    return Alignment(kept=kept, matched=matched, compressed=len(wanted))


def _find(keys: Sequence[str], key: str, start: int, stop: int) -> int | None:
    for i in range(start, min(len(keys), stop)):
        if keys[i] == key:
            return i
    return None
