"""The Unicode table of the SDK and the Java core, and a sweep that checks the Java tokenizer.

The tokenizer, the forced-word rules and the sentence rules need Unicode answers that Python's
``unicodedata`` and Java's ``Character`` give from their own Unicode versions: general
categories, ``str.lower()`` with its final-sigma rule, ``str.casefold()``, ``isupper``,
``isdigit``, ``isdecimal``. Python's change with the interpreter (Unicode 13.0 in 3.10 to 15.1 in
3.13), Java's with the JVM and, on Android, with the ICU data of the device (Unicode 8 on Android
7), so a phone would drop a recent emoji that Python keeps as ``[UNK]``, or keep a mark that
Python strips. So both read one table, ``sdk/assets/unicode_tables.txt`` (``splitinfer.sdk._unicode``),
with a copy in ``core``'s resources. ``tables_text`` writes it from the running Python, only when
``make_golden.py --unicode-from-python`` asks (the committed one is Python 3.11's, Unicode 14.0).
(NFD is left to ``unicodedata`` and ``java.text.Normalizer``: decompositions of assigned
characters are stable across Unicode versions, and the sweep in the golden vectors checks it.)

Table lines (hex code points, inclusive ranges, ``#`` starts a comment):

- ``C lo hi``: control for the tokenizer: category C* except tab, LF and CR (dropped);
- ``P lo hi``: punctuation: category P* or ASCII 33-47, 58-64, 91-96, 123-126 (split off);
- ``M lo hi``: category Mn (stripped after NFD);
- ``I lo hi``: case-ignorable and ``K lo hi``: cased (and not case-ignorable), as
  ``str.lower()`` sees them when it picks the final sigma (U+03A3 -> U+03C2 or U+03C3);
- ``L cp seq``: ``chr(cp).lower()`` when it differs from ``chr(cp)``, ``seq`` comma separated;
- ``F cp seq``: ``chr(cp).casefold()`` when it differs from ``chr(cp)``;
- ``U lo hi``: ``chr(cp).isupper()``, ``D lo hi``: ``chr(cp).isdigit()`` and ``N lo hi``:
  ``chr(cp).isdecimal()`` (what ``re``'s ``\\d`` matches): the sentence rules of
  ``splitinfer.sdk._segments`` (Java's ``Character.isUpperCase``/``isDigit`` disagree: Roman
  numerals, superscript digits, and the JVM's Unicode version).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable, Iterator

from splitinfer.sdk._text import split_words
from splitinfer.sdk._tokenizer import WordPieceTokenizer, basic_pieces
from splitinfer.sdk._unicode import tables

MAX_CP = 0x10FFFF
SIGMA = "\u03a3"
FINAL_SIGMA = "\u03c2"


def _code_points() -> Iterator[int]:
    for cp in range(MAX_CP + 1):
        if not 0xD800 <= cp <= 0xDFFF:
            yield cp


def _ranges(pred: Callable[[int], bool]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    start = -1
    for cp in range(MAX_CP + 2):
        inside = cp <= MAX_CP and pred(cp)
        if inside and start < 0:
            start = cp
        elif not inside and start >= 0:
            ranges.append((start, cp - 1))
            start = -1
    return ranges


def _is_control(cp: int) -> bool:
    return cp not in (9, 10, 13) and unicodedata.category(chr(cp)).startswith("C")


def _is_punctuation(cp: int) -> bool:
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(chr(cp)).startswith("P")


def _is_mn(cp: int) -> bool:
    return unicodedata.category(chr(cp)) == "Mn"


def _final_sigma_after(cp: int) -> bool:
    # Python's rule: Σ is final after a cased letter, case-ignorable letters skipped. With cp
    # alone before Σ, it is final only if cp is cased and not ignorable.
    return (chr(cp) + SIGMA).lower()[-1] == FINAL_SIGMA


def _is_case_ignorable(cp: int) -> bool:
    # With "A" (cased) before cp, Σ is final when cp is skipped as ignorable (or cp is cased).
    return ("A" + chr(cp) + SIGMA).lower()[-1] == FINAL_SIGMA and not _final_sigma_after(cp)


def _hex_seq(text: str) -> str:
    return ",".join(format(ord(ch), "x") for ch in text)


def tables_text() -> str:
    """The whole table file, deterministic for a given Python/Unicode version."""
    lines = [
        "# Unicode data of the SDK's text rules (splitinfer.sdk._unicode) and of the Android core",
        "# (UnicodeTables.java): written from Python's unicodedata by android_demo/golden/make_golden.py",
        "# --unicode-from-python; do not edit. Hex code points; 'X lo hi' are inclusive ranges, 'X cp seq' mappings.",
        f"unidata {unicodedata.unidata_version}",
    ]
    for tag, pred in (
        ("C", _is_control),
        ("P", _is_punctuation),
        ("M", _is_mn),
        ("I", _is_case_ignorable),
        ("K", _final_sigma_after),
        ("U", lambda cp: chr(cp).isupper()),
        ("D", lambda cp: chr(cp).isdigit()),
        ("N", lambda cp: chr(cp).isdecimal()),
    ):
        lines.extend(f"{tag} {lo:x} {hi:x}" for lo, hi in _ranges(pred))
    for tag, fold in (("L", str.lower), ("F", str.casefold)):
        for cp in _code_points():
            mapped = fold(chr(cp))
            if mapped != chr(cp):
                lines.append(f"{tag} {cp:x} {_hex_seq(mapped)}")
    return "\n".join(lines) + "\n"


def sweep(tokenizer: WordPieceTokenizer, block: int = 4096, chunk: int = 16) -> dict[str, object]:
    """Fingerprints of the tokenizer over every code point, one per block of ``block`` code points.

    Each block's code points (surrogates left out) are cut into texts of ``chunk`` code points;
    each text is split into words and each word into basic pieces and token ids. The block's
    fingerprint is the first 16 hex digits of the sha256 of, per word, the pieces joined by
    U+0001, then U+0002, then the ids in decimal joined by ",", then U+0003 (UTF-8). A Java
    tokenizer that differs on any code point gives a different fingerprint for that block.
    """
    prints: list[str] = []
    for base in range(0, MAX_CP + 1, block):
        cps = [cp for cp in range(base, min(base + block, MAX_CP + 1)) if not 0xD800 <= cp <= 0xDFFF]
        digest = hashlib.sha256()
        for i in range(0, len(cps), chunk):
            text = "".join(chr(cp) for cp in cps[i : i + chunk])
            for word in split_words(text)[0]:
                pieces = "\x01".join(basic_pieces(word))
                ids = ",".join(str(t) for t in tokenizer.encode_word(word))
                digest.update(f"{pieces}\x02{ids}\x03".encode("utf-8", "surrogatepass"))
        prints.append(digest.hexdigest()[:16])
    return {
        "block": block,
        "chunk": chunk,
        "unidata": tables().unidata,
        "fingerprints": prints,
    }
