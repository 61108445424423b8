"""The Unicode answers the text rules need, read from a table that ships with the SDK.

The tokenizer, the forced-word rules and the sentence rules ask Unicode questions of non-ASCII
text: is this character a control character, punctuation, a non-spacing mark, upper case, a
digit; what is its lower case or case folding. Python's ``unicodedata`` and ``str`` answer from
the interpreter's Unicode version (13.0 in Python 3.10, 14.0 in 3.11, 15.0 in 3.12, 15.1 in
3.13), so the same text would be tokenized and condensed differently on two Pythons: a
character that one version leaves unassigned is dropped there as a control character and kept
as ``[UNK]`` by the other; the token totals, and so the budgets and the kept words, differ (on
3.12, 4,447 code points tokenized differently from 3.11). The Android core has the same problem
with the phone's ICU data.

So both read one frozen table, ``assets/unicode_tables.txt`` (the Android core ships a byte-for-byte
copy), written from Python 3.11's ``unicodedata`` by ``android_demo/golden/make_golden.py
--unicode-from-python``; ``android_demo/golden/unicode_tables.py`` documents its lines. ASCII
text never reaches it: its answers are the same in every version. NFD decomposition is left to
``unicodedata`` (decompositions of assigned characters never change).

Everything here is loaded on first use of a non-ASCII word, once per process (~40 ms here).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import cache, lru_cache
from importlib import resources

CAPITAL_SIGMA, SMALL_SIGMA, FINAL_SIGMA = "\u03a3", "\u03c3", "\u03c2"
_RANGE_TAGS = "CPMIKUDN"
_ASCII_DIGIT = re.compile("[0-9]")


class Ranges:
    """Sorted, disjoint, inclusive code-point ranges; ``cp in ranges`` by binary search."""

    __slots__ = ("_hi", "_lo")

    def __init__(self, pairs: list[tuple[int, int]]) -> None:
        self._lo = [lo for lo, _ in pairs]
        self._hi = [hi for _, hi in pairs]

    def __contains__(self, cp: int) -> bool:
        k = bisect_right(self._lo, cp) - 1
        return k >= 0 and cp <= self._hi[k]


def _char_class(pairs: list[tuple[int, int]]) -> str:
    """A regular-expression character class of exactly these code points, whatever Python's own
    Unicode data says about them."""
    return "[" + "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in pairs) + "]"


class UnicodeTables:
    """The parsed table: category classes, case mappings and the final-sigma context."""

    def __init__(self, text: str, source: str = "unicode_tables.txt") -> None:
        pairs: dict[str, list[tuple[int, int]]] = {tag: [] for tag in _RANGE_TAGS}
        maps: dict[str, dict[int, str]] = {"L": {}, "F": {}}
        self.unidata = ""
        for number, line in enumerate(text.splitlines(), 1):
            if not line or line.startswith("#"):
                continue
            fields = line.split(" ")
            try:
                if fields[0] == "unidata" and len(fields) == 2:
                    self.unidata = fields[1]
                elif fields[0] in maps and len(fields) == 3:
                    maps[fields[0]][int(fields[1], 16)] = "".join(
                        chr(int(h, 16)) for h in fields[2].split(",")
                    )
                elif fields[0] in pairs and len(fields) == 3:
                    lo, hi = int(fields[1], 16), int(fields[2], 16)
                    ranges = pairs[fields[0]]
                    if hi < lo or (ranges and lo <= ranges[-1][1]):
                        raise ValueError("ranges must be sorted and disjoint")
                    ranges.append((lo, hi))
                else:
                    raise ValueError("unknown line")
            except ValueError as exc:
                raise ValueError(f"{source} line {number}: {exc}: {line!r}") from None
        if not self.unidata:
            raise ValueError(f"{source}: no 'unidata' line")
        self.control = Ranges(pairs["C"])  # category C* but tab, LF and CR
        self.punctuation = Ranges(pairs["P"])  # category P* and BERT's ASCII punctuation
        self.mark = Ranges(pairs["M"])  # category Mn
        self.decimal = re.compile(_char_class(pairs["N"]))  # str.isdecimal(), what re's \d matches
        # A class of many ranges is slow to search; words repeat, so remember them.
        self._has_decimal = lru_cache(maxsize=1 << 16)(lambda text: self.decimal.search(text) is not None)
        self.case_ignorable = Ranges(pairs["I"])
        self.cased = Ranges(pairs["K"])
        self.upper = Ranges(pairs["U"])  # str.isupper()
        self.digit = Ranges(pairs["D"])  # str.isdigit()
        self._lower = maps["L"]  # str.translate tables: code point -> mapped text
        self._casefold = maps["F"]

    def is_upper(self, ch: str) -> bool:
        return ord(ch) in self.upper

    def is_digit(self, ch: str) -> bool:
        return ord(ch) in self.digit

    def has_decimal(self, text: str) -> bool:
        """Whether ``text`` holds a decimal digit of any script (``re.search(r"\\d", text)``)."""
        return self._has_decimal(text)

    def is_decimal(self, text: str) -> bool:
        """``text.isdecimal()``: not empty and every character a decimal digit."""
        return bool(text) and self.decimal.sub("", text) == ""

    def lower(self, text: str) -> str:
        """``text.lower()``, final sigma included."""
        if CAPITAL_SIGMA not in text:
            return text.translate(self._lower)
        return "".join(
            (FINAL_SIGMA if self._final_sigma(text, i) else SMALL_SIGMA)
            if ch == CAPITAL_SIGMA
            else ch.translate(self._lower)
            for i, ch in enumerate(text)
        )

    def casefold(self, text: str) -> str:
        """``text.casefold()`` (full case folding, character by character)."""
        return text.translate(self._casefold)

    def _final_sigma(self, text: str, i: int) -> bool:
        # CPython's handle_capital_sigma: final after a cased letter and not before one,
        # case-ignorable letters skipped on both sides.
        j = i - 1
        while j >= 0 and ord(text[j]) in self.case_ignorable:
            j -= 1
        if j < 0 or ord(text[j]) not in self.cased:
            return False
        j = i + 1
        while j < len(text) and ord(text[j]) in self.case_ignorable:
            j += 1
        return j == len(text) or ord(text[j]) not in self.cased


@cache
def tables() -> UnicodeTables:
    """The SDK's table (parsed once)."""
    source = resources.files("splitinfer.sdk").joinpath("assets/unicode_tables.txt")
    return UnicodeTables(source.read_text(encoding="ascii"))


# The callers' entry points. ASCII text is answered here, without loading the table, so English
# prompts never pay for it.


def has_decimal(text: str) -> bool:
    """Whether ``text`` holds a decimal digit of any script."""
    if text.isascii():
        return _ASCII_DIGIT.search(text) is not None
    return tables().has_decimal(text)


def is_decimal(text: str) -> bool:
    """``text.isdecimal()`` by the table."""
    if text.isascii():
        return text.isdecimal()
    return tables().is_decimal(text)


def is_upper(ch: str) -> bool:
    """``ch.isupper()`` by the table, for one character."""
    return ch.isupper() if ch.isascii() else tables().is_upper(ch)


def is_digit(ch: str) -> bool:
    """``ch.isdigit()`` by the table, for one character."""
    return ch.isdigit() if ch.isascii() else tables().is_digit(ch)


def casefold(text: str) -> str:
    """``text.casefold()`` by the table."""
    return text.lower() if text.isascii() else tables().casefold(text)
