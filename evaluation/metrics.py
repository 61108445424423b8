"""What a condensed prompt is judged on. Pure functions of strings, no model.

- **Answer retention**: a gold answer survives in the condensed context. Both sides are
  normalised the way the SQuAD evaluation script does it (lower case, punctuation and the
  articles a/an/the removed, whitespace collapsed), and the answer must appear as a run of whole
  normalised words ("1" is not found in "1901").
- **Answer accuracy** (``--answer``): the same test applied to a model's answer: the answer
  contains a gold answer.
- **Numbers kept**: the numbers of the context (the part that is condensed; a maths problem's
  target question is sent verbatim and never counted) that are still in the condensed context,
  counted with multiplicity. The index of
  a ``Document [n](Title: ...)`` header is not one of them: it numbers the layout, and the SDK
  does not force it (``sdk._selection.forced_mask``).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence

from splitinfer.sdk._segments import is_header_index
from splitinfer.sdk._text import split_words

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)
# An integer or decimal with optional thousands separators; a sign or currency is not part of it.
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def normalize_answer(text: str) -> str:
    """SQuAD answer normalisation: lower-case, drop punctuation, drop a/an/the, collapse spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    """Whether some gold answer (normalised) occurs in ``text`` (normalised) as whole words.

    An answer that normalises to nothing (e.g. "the") never counts as found.
    """
    haystack = f" {normalize_answer(text)} "
    for answer in answers:
        needle = normalize_answer(answer)
        if needle and f" {needle} " in haystack:
            return True
    return False


def numbers(text: str) -> Counter[str]:
    """The numbers written in ``text`` with their counts; separators are kept ("1,000" != "1000").

    Document header indices are left out (see the module doc).
    """
    words, _ = split_words(text)
    return Counter(
        number
        for i, word in enumerate(words)
        if not is_header_index(words, i)
        for number in _NUMBER.findall(word)
    )


def numbers_kept(reference: str, condensed: str) -> tuple[int, int]:
    """``(kept, total)``: how many of the number occurrences of ``reference`` are in ``condensed``.

    A number written three times in the reference counts three times and is kept as often as it
    occurs in the condensed text (at most three). ``total`` is 0 when the reference has none.
    """
    wanted = numbers(reference)
    have = numbers(condensed)
    kept = sum(min(count, have[number]) for number, count in wanted.items())
    return kept, sum(wanted.values())


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100, linear interpolation) or ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def mean(values: Iterable[float]) -> float | None:
    """Arithmetic mean, or ``None`` when there is nothing to average (so "n/a" is not "0%")."""
    items = list(values)
    return sum(items) / len(items) if items else None
