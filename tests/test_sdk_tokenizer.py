"""The SDK's WordPiece tokenizer: its ASCII shortcut gives the pieces of the general path.

The golden vectors (``test_android_core``) pin whole prompts; these check the shortcut on any
ASCII word, including control characters, whitespace and punctuation runs.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from sdk_bundles import VOCAB_PATH

from splitinfer.sdk._tokenizer import WordPieceTokenizer, basic_pieces, unicode_pieces

ASCII = st.text(alphabet=st.characters(max_codepoint=127), max_size=40)
# Words as prompts have them: letters, digits and punctuation, now and then a control character.
WORDISH = st.text(alphabet=st.sampled_from("aZ09._-'()[]:,\"$%/\x00\x07\x7f\t"), max_size=24)


@settings(max_examples=600, deadline=None)
@given(st.one_of(ASCII, WORDISH))
def test_the_ascii_shortcut_gives_the_pieces_of_the_general_path(word: str) -> None:
    assert basic_pieces(word) == unicode_pieces(word)


def test_words_that_are_not_ascii_take_the_general_path() -> None:
    assert basic_pieces("Café-Noël") == ["cafe", "-", "noel"]
    assert basic_pieces("東京") == ["東", "京"]
    assert basic_pieces("naïve\u200b") == unicode_pieces("naïve\u200b")


def test_encoding_is_the_same_through_either_path() -> None:
    tokenizer = WordPieceTokenizer.from_file(VOCAB_PATH)
    words = ["Condensing", "don't", "U.S.", "[3](Title:", "1,234.5", "e-mail", "ABC_def", "x\x00y"]
    general = [tuple(i for piece in unicode_pieces(w) for i in tokenizer._wordpiece(piece)) for w in words]
    assert tokenizer.encode_words(words) == general
    assert tokenizer.decode(tokenizer.encode_word("Don't")) == ["don", "'", "t"]
