"""The SDK's Unicode answers come from its frozen table, the same on every Python and on Android."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from splitinfer.sdk import _tokenizer, _unicode
from splitinfer.sdk._segments import segment_words
from splitinfer.sdk._selection import forced_mask, normalize_word
from splitinfer.sdk._text import split_words
from splitinfer.sdk._tokenizer import basic_pieces

REPO = Path(__file__).resolve().parents[1]
SAMPLE = (
    "Röntgen\u2019s naïve café in Zürich-based ΣΟΦΙΑΣ Ελλάδα Москва 日本語 ١٩٣٧ «quoted» — "
    "İstanbul ﬁnance Straße \u212a \u0130 e\u0301 \u200d\U0001f469\u200d\U0001f52c \U0001fa77 \u0e01\u0e34"
)


def _clear_caches() -> None:
    _tokenizer._KINDS.clear()
    normalize_word.cache_clear()
    _unicode.tables.cache_clear()


def test_the_android_core_ships_the_sdks_table_byte_for_byte() -> None:
    sdk = (REPO / "sdk/assets/unicode_tables.txt").read_bytes()
    core = (REPO / "android_demo/core/src/main/resources/dev/splitinfer/core/unicode_tables.txt").read_bytes()
    assert sdk == core
    assert _unicode.tables().unidata == "14.0.0"


def test_the_text_rules_ask_the_interpreter_for_nothing_but_nfd(monkeypatch: pytest.MonkeyPatch) -> None:
    # Python 3.10 / 3.12 / 3.13 answer from Unicode 13.0 / 15.0 / 15.1: had the SDK asked them, the
    # same text would be tokenized, forced and cut into sentences differently on each.
    words, gaps = split_words(SAMPLE + ". Ⅻ ends. ²nd")
    expected = (
        [basic_pieces(w) for w in words],
        forced_mask(words, ["zurich", "ΣΟΦΙΑΣ"]).tolist(),
        segment_words(words, gaps, [1] * len(words)),
    )
    _clear_caches()

    def refuse(*_args: object) -> str:
        raise AssertionError("the SDK asked the interpreter's unicodedata")

    for name in ("category", "decimal", "digit", "numeric", "lookup", "name"):
        monkeypatch.setattr(unicodedata, name, refuse)
    try:
        got = (
            [basic_pieces(w) for w in words],
            forced_mask(words, ["zurich", "ΣΟΦΙΑΣ"]).tolist(),
            segment_words(words, gaps, [1] * len(words)),
        )
    finally:
        _clear_caches()
    assert got == expected


def test_a_character_newer_than_the_table_is_unassigned_on_every_python() -> None:
    # U+1FA77 (light pink heart) is Unicode 15.0: unassigned in the table, so dropped as a control
    # character, as the Android core drops it; Python 3.12's own data would make it [UNK].
    assert basic_pieces("a\U0001fa77b") == ["ab"]
    # U+1FAE0 (melting face) is Unicode 14.0: assigned, a symbol, kept in the word (then [UNK]);
    # Python 3.10's own data would drop it.
    assert basic_pieces("a\U0001fae0b") == ["a\U0001fae0b"]


@pytest.mark.skipif(
    unicodedata.unidata_version != "14.0.0",
    reason=f"this Python has Unicode {unicodedata.unidata_version}; the table is Unicode 14.0 (Python 3.11)",
)
def test_the_table_says_what_python_3_11_says_for_every_code_point() -> None:
    table = _unicode.tables()
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        category = unicodedata.category(ch)
        assert (cp in table.control) == (category.startswith("C") and ch not in "\t\n\r"), hex(cp)
        assert (cp in table.mark) == (category == "Mn"), hex(cp)
        assert (cp in table.punctuation) == (
            category.startswith("P") or (ch.isascii() and not ch.isalnum() and 33 <= cp <= 126)
        ), hex(cp)
        assert table.is_upper(ch) == ch.isupper(), hex(cp)
        assert table.is_digit(ch) == ch.isdigit(), hex(cp)
        assert table.has_decimal(ch) == ch.isdecimal(), hex(cp)
        assert table.lower(ch) == ch.lower(), hex(cp)
        assert table.casefold(ch) == ch.casefold(), hex(cp)
        assert table.lower(f"A{ch}\u03a3") == f"A{ch}\u03a3".lower(), hex(cp)
        assert table.lower(f"\u03a3{ch}") == f"\u03a3{ch}".lower(), hex(cp)


def test_a_damaged_table_is_refused_with_its_line() -> None:
    with pytest.raises(ValueError, match="line 3: ranges must be sorted"):
        _unicode.UnicodeTables("unidata 14.0.0\nC 10 20\nC 15 30\n")
    with pytest.raises(ValueError, match="line 2: unknown line"):
        _unicode.UnicodeTables("unidata 14.0.0\nQ 1 2\n")
    with pytest.raises(ValueError, match="no 'unidata' line"):
        _unicode.UnicodeTables("C 0 8\n")


def test_english_text_is_condensed_without_loading_the_table() -> None:
    from splitinfer.sdk import Condenser

    condenser = Condenser.default()
    _clear_caches()
    text = 'Document [1](Title: Bridge) The bridge "reopened" on 14 April 2019. Mr. Lee said: Great!\nNext.'
    condenser.condense(text, "When did the bridge reopen?", rate=0.5, force=["Lee"])
    assert _unicode.tables.cache_info().currsize == 0
    condenser.condense(text + " Zürich.", "When?", rate=0.5)
    assert _unicode.tables.cache_info().currsize == 1
