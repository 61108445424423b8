"""Cut a context's words into segments (sentences, document headers) a sentence encoder can read.

The device SDK smooths word scores over these segments (``_selection.smooth_scores``) and the
teachers read them, so both cut a text the same way; the Android core ports this module exactly.
Works on the words of ``split_words`` so every segment is a word range ``[start, end)`` and
segment scores map back to words exactly. Rules:

- a line (a gap holding a line feed or a carriage return ends it; other Unicode line breaks do not) is a
  *document*; blank lines separate paragraphs the same way;
- a line that starts ``Document [n](Title: ...)`` (the multi-document QA layout) has that header
  as a segment of its own, and the title (without the wrapper) is remembered for the document;
- a *title line* heads the line under it: a line of at most ``TITLE_MAX_WORDS`` words that
  starts the text or follows a blank line, is followed by exactly one line break and another
  line, holds a character other than ASCII punctuation and does not end in ``.``, ``!``, ``?``,
  ``;``, ``,`` or ``:`` (a heading, a document title, ``## Markdown``; not a lead-in such as
  ``Context:``). It becomes the header segment of the next line's document, and its words
  (without leading ``#``) that document's title, as a ``Document [n](Title: ...)`` header's
  would;
- inside a line, a sentence ends at a word ending in ``.``, ``!`` or ``?`` (closing quotes and
  brackets aside) when the next word starts with a capital letter, a digit or an opening quote,
  unless the word looks like an abbreviation (``U.S.``, ``Mr.``, a single initial);
- a sentence also ends at a word ending in a full stop of a script without capitals (``\u3002``,
  ``\uff01``, ``\uff1f``, ``\uff61`` of Chinese and Japanese, the Devanagari dandas, the Arabic
  question mark and full stop), quotes and brackets aside, whatever word follows: with no
  capitals to look for, a Chinese paragraph would otherwise be one sentence (an opening bracket
  run into the stop, as in ``\uff1f\u300c``, stays with the sentence that ends);
- a segment longer than ``max_words`` words or ``max_tokens`` tokens is cut into equal pieces,
  so a JSON line of key-value pairs or a run-on list still gets local scores.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from splitinfer.sdk._unicode import is_decimal, is_digit, is_upper

_HEADER_TAIL = "](Title:"  # the header's second word is "[n](Title:", n decimal digits
TITLE_MAX_WORDS = 12
# A title line does not end like a sentence, a clause or a lead-in ("Context:").
_NOT_TITLE_END = ".!?;,:"
# A line of these alone ("{", "---", "```") is structure, not a title.
_ASCII_PUNCTUATION = frozenset(string.punctuation)

# Closing and opening quotes and brackets, CJK corner brackets and full-width ones included.
_CLOSERS = "\"')]}\u201d\u2019\u00bb\u300d\u300f\uff09\u3011\u3015\u300b\u3009"
OPENERS = "\"'([{\u201c\u2018\u00ab\u300c\u300e\uff08\u3010\u3014\u300a\u3008"
# Full stops of scripts without capitals: the ideographic and full-width ones, the Devanagari
# dandas, the Arabic question mark and full stop.
_UNCASED_STOPS = "\u3002\uff01\uff1f\uff61\u0964\u0965\u061f\u06d4"
# A word ending otherwise never ends a sentence.
_MAY_END = frozenset(".!?" + _UNCASED_STOPS + _CLOSERS + OPENERS)
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "jr",
        "sr",
        "vs",
        "etc",
        "no",
        "inc",
        "ltd",
        "co",
        "corp",
        "gen",
        "col",
        "lt",
        "sgt",
        "fig",
        "approx",
    ]
)


@dataclass(frozen=True)
class Segment:
    """Words ``[start, end)`` of document ``doc``; ``header`` for a ``Document [n](Title: ...)`` header."""

    start: int
    end: int
    doc: int
    header: bool = False


def _header_end(words: Sequence[str], start: int, end: int) -> int:
    """End of a ``Document [n](Title: ...)`` header starting at ``start``, or ``start`` if none."""
    if end - start < 3 or not is_header_index(words, start + 1):
        return start
    depth = 1
    for i in range(start + 2, min(end, start + 40)):
        depth += words[i].count("(") - words[i].count(")")
        if depth <= 0:
            return i + 1
    return start


def is_header_index(words: Sequence[str], i: int) -> bool:
    """Whether ``words[i]`` is the ``[n](Title:`` of a ``Document [n](Title: ...)`` header.

    The index numbers the documents of the multi-document layout; ``forced_mask`` does not force
    it as a number (see there).
    """
    if not (0 < i < len(words) and words[i - 1] == "Document"):
        return False
    word = words[i]
    return word.startswith("[") and word.endswith(_HEADER_TAIL) and is_decimal(word[1 : -len(_HEADER_TAIL)])


def _ends_sentence(word: str, following: str) -> bool:
    uncased = word.rstrip(_CLOSERS + OPENERS)
    if uncased and uncased[-1] in _UNCASED_STOPS:
        return True
    core = word.rstrip(_CLOSERS)
    if not core or core[-1] not in ".!?":
        return False
    stem = core[:-1]
    if core[-1] == "." and ("." in stem or len(stem) <= 1 or stem.lower() in _ABBREVIATIONS):
        return False
    nxt = following.lstrip(OPENERS)
    if not nxt:
        return False
    return is_upper(nxt[0]) or is_digit(nxt[0]) or nxt != following


def line_breaks(gap: str) -> int:
    """Line breaks in a gap: ``\n``, ``\r`` and ``\r\n`` count one each."""
    return gap.count("\n") + gap.count("\r") - gap.count("\r\n")


def _is_title_line(words: Sequence[str], gaps: Sequence[str], start: int, end: int) -> bool:
    """Whether words ``[start, end)``, a whole line that is not the last, are a title line."""
    if end - start > TITLE_MAX_WORDS or end >= len(words):
        return False
    if start > 0 and line_breaks(gaps[start - 1]) < 2:
        return False
    if line_breaks(gaps[end - 1]) != 1 or words[end - 1][-1] in _NOT_TITLE_END:
        return False
    return any(ch not in _ASCII_PUNCTUATION for word in words[start:end] for ch in word)


def _cut(
    start: int, end: int, costs: Sequence[int], max_words: int, max_tokens: int
) -> list[tuple[int, int]]:
    words = end - start
    tokens = sum(costs[start:end])
    pieces = max(1, -(-words // max_words), -(-tokens // max_tokens))
    pieces = min(pieces, words)
    bounds = [start + round(k * words / pieces) for k in range(pieces + 1)]
    return [(a, b) for a, b in pairwise(bounds) if b > a]


def segment_words(
    words: Sequence[str],
    gaps: Sequence[str],
    token_counts: Sequence[int],
    max_words: int = 48,
    max_tokens: int = 96,
) -> tuple[list[Segment], list[str]]:
    """The segments covering every word, in order, and each document's title ("" when none)."""
    segments: list[Segment] = []
    titles: list[str] = []
    n = len(words)
    # The device runs this on every condense: find line ends and sentence ends in one pass each,
    # testing the full sentence rule only on words whose last character can end a sentence.
    line_ends = [i for i in range(n - 1) if "\n" in gaps[i] or "\r" in gaps[i]] + ([n - 1] if n else [])
    stops = [j for j in range(n - 1) if words[j][-1:] in _MAY_END and _ends_sentence(words[j], words[j + 1])]
    next_stop = 0
    line_start = 0
    heading: tuple[int, int] | None = None  # a title line waiting for the line it heads
    for i in line_ends:
        doc = len(titles)
        body = _header_end(words, line_start, i + 1)
        if heading is None and body == line_start and _is_title_line(words, gaps, line_start, i + 1):
            heading = (line_start, i + 1)
            line_start = i + 1
            continue
        title = ""
        if heading is not None:
            segments.append(Segment(heading[0], heading[1], doc, header=True))
            title = " ".join(words[heading[0] : heading[1]]).lstrip("#").strip()
            heading = None
        if body > line_start:
            segments.append(Segment(line_start, body, doc, header=True))
            title = " ".join(words[line_start + 2 : body])[:-1].strip()
        titles.append(title)
        while next_stop < len(stops) and stops[next_stop] < body:
            next_stop += 1
        sent_start = body
        while sent_start <= i:
            if next_stop < len(stops) and stops[next_stop] < i:
                end = stops[next_stop] + 1
                next_stop += 1
            else:
                end = i + 1
            for a, b in _cut(sent_start, end, token_counts, max_words, max_tokens):
                segments.append(Segment(a, b, doc))
            sent_start = end
        line_start = i + 1
    return segments, titles
