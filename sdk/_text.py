"""Words: the unit the condenser keeps or drops.

A *word* is a maximal run of characters that are not whitespace, punctuation included
("Paris," is one word), so a kept word keeps its punctuation and a dropped word takes its
punctuation with it. Each word remembers the whitespace that followed it in the original, and
the condensed text is every kept word followed by its own whitespace, so kept words keep their
original order and spacing (newlines and indentation included). Whitespace before the first word
is dropped, and the result never ends in whitespace.

Whitespace is the fixed set below (the characters for which Python's ``str.isspace()`` is true),
listed explicitly so the Java port on Android agrees character for character.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_WORD_RE = re.compile("([^" + re.escape(WHITESPACE) + "]+)([" + re.escape(WHITESPACE) + "]*)")


def split_words(text: str) -> tuple[list[str], list[str]]:
    """Split ``text`` into words and the whitespace that follows each word.

    Returns ``(words, gaps)`` of equal length; ``gaps[i]`` is the whitespace after ``words[i]``
    (empty for the last word when the text does not end in whitespace).
    """
    pairs = _WORD_RE.findall(text)
    return [word for word, _ in pairs], [gap for _, gap in pairs]


def join_words(words: Sequence[str], gaps: Sequence[str], kept: Sequence[int]) -> str:
    """The condensed text: each kept word (indices ascending) followed by its own whitespace."""
    return "".join(words[i] + gaps[i] for i in kept).rstrip(WHITESPACE)
