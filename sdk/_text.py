"""Words: the unit the condenser keeps or drops.

A *word* is a maximal run of characters that are not whitespace, punctuation included
("Paris," is one word), so a kept word keeps its punctuation and a dropped word takes its
punctuation with it. A CJK ideograph (the ranges of ``CJK_RANGES``, as BERT's tokenizer has
them) or a Japanese kana (``KANA_RANGES``) is a word of its own, because Chinese and Japanese put
no spaces between words: a paragraph of Chinese is hundreds of words, not one word larger than
any budget ("金门大桥。" is the words "金", "门", "大", "桥" and "。", with no whitespace after
any of them). BERT leaves a run of kana whole, which made a paragraph of kana one word: over any
budget, dropped whole (an empty condensed text), or forced whole when it held a digit. Each kana
is one token either way (the vocabulary has no token of two kana), so the budgets count the same.
Each word remembers the whitespace that followed it in the original, and the condensed text is every kept word followed
by its own whitespace, so kept words keep their original order and spacing (newlines and
indentation included); where words after a kept word were dropped, it is followed instead by the
whitespace of that stretch with the most line breaks, so the kept words of different lines,
paragraphs and documents stay apart as they were (whitespace costs no tokens); where neither it
nor the stretch had any (text without spaces), a space keeps two kept words that were not
neighbours from running into one (``_bridge``). Whitespace before
the first word is dropped, and the result never ends in whitespace.

Whitespace is the fixed set below (the characters for which Python's ``str.isspace()`` is true),
listed explicitly so the Java port on Android agrees character for character.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence

from splitinfer.sdk._segments import line_breaks

WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
# CJK ideographs: the same ranges as the tokenizer's (BERT's ``_is_chinese_char``).
CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)
# Japanese kana: hiragana, katakana, katakana phonetic extensions, half-width katakana.
KANA_RANGES = (
    (0x3040, 0x309F),
    (0x30A0, 0x30FF),
    (0x31F0, 0x31FF),
    (0xFF66, 0xFF9F),
)
# Each a word (and for the tokenizer a piece) of its own.
_CJK = "".join(f"{chr(a)}-{chr(b)}" for a, b in CJK_RANGES + KANA_RANGES)
_SPACE = re.escape(WHITESPACE)
_WORD_RE = re.compile(f"([{_CJK}]|[^{_SPACE}{_CJK}]+)([{_SPACE}]*)")
_ASCII_WORD_RE = re.compile(f"([^{_SPACE}]+)([{_SPACE}]*)")  # the same split, quicker, for ASCII text
CJK_CHAR = re.compile(f"[{_CJK}]")


def split_words(text: str) -> tuple[list[str], list[str]]:
    """Split ``text`` into words and the whitespace that follows each word.

    Returns ``(words, gaps)`` of equal length; ``gaps[i]`` is the whitespace after ``words[i]``
    (empty for the last word when the text does not end in whitespace).
    """
    pairs = (_ASCII_WORD_RE if text.isascii() else _WORD_RE).findall(text)
    return [word for word, _ in pairs], [gap for _, gap in pairs]


def join_words(words: Sequence[str], gaps: Sequence[str], kept: Sequence[int]) -> str:
    """The condensed text: each kept word (indices ascending) followed by its own whitespace, or,
    when the words after it up to the next kept one were dropped, by the first gap among its own
    and theirs with the most line breaks (``_segments.line_breaks``; its own when none has any).

    A line that lost its last words still ends its line: "Paris is big.\nRome is old." keeping
    "Paris" and "Rome" gives "Paris\nRome", not "Paris Rome". A reader (the extractive backend
    cuts passages at line breaks, a language model reads documents by their lines) then sees the
    kept words of different documents apart. Only the original's whitespace is used.
    """
    lined = [j for j, gap in enumerate(gaps) if "\n" in gap or "\r" in gap]  # gaps that break a line
    out: list[str] = []
    last = len(kept) - 1
    for k, i in enumerate(kept):
        gap = gaps[i]
        if k < last and lined:
            # The line-breaking gaps from this word's own to the last dropped one's, if any.
            first, end = bisect_left(lined, i), bisect_left(lined, kept[k + 1])
            if first < end:
                gap = max((gaps[j] for j in lined[first:end]), key=line_breaks)  # the first of the most
        if not gap and k < last and kept[k + 1] > i + 1:
            gap = _bridge(words, gaps, i, kept[k + 1])
        out.append(words[i])
        out.append(gap)
    return "".join(out).rstrip(WHITESPACE)


def _bridge(words: Sequence[str], gaps: Sequence[str], i: int, after: int) -> str:
    """What joins kept word ``i`` to kept word ``after`` when the words between them were dropped
    and word ``i`` had no whitespace after it (text without spaces: "999美元折扣价499" keeping "999"
    and "499"): the first whitespace among the dropped words' gaps, else a space unless an
    ideograph or a kana stands at either edge. Glued, "999" and "499" would read, and tokenize,
    as one number; an ideograph or a kana is a token of its own, so "桥" and "499" need nothing
    between them."""
    for j in range(i + 1, after):
        if gaps[j]:
            return gaps[j]
    if CJK_CHAR.match(words[i][-1]) or CJK_CHAR.match(words[after][0]):
        return ""
    return " "
