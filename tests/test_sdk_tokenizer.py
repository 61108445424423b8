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


def test_a_piece_over_100_characters_is_wordpieced_100_at_a_time() -> None:
    # BERT makes it one [UNK]: a 20,000-character DNA sequence cost the budget one token.
    tokenizer = WordPieceTokenizer.from_file(VOCAB_PATH)
    dna = "acgtt" * 50
    slices = [dna[:100], dna[100:200], dna[200:]]
    assert tokenizer.encode_word(dna) == tuple(i for s in slices for i in tokenizer.encode_word(s))
    assert len(tokenizer.encode_word(dna)) > 50 and tokenizer.unk_id not in tokenizer.encode_word(dna)
    # A slice that cannot be matched is one [UNK]; the slices around it keep their tokens.
    mixed = "ab" * 60 + "\u2603" + "cd" * 60  # the snowman sits in the second slice
    ids = tokenizer.encode_word(mixed)
    assert ids == (*tokenizer.encode_word(mixed[:100]), tokenizer.unk_id, *tokenizer.encode_word(mixed[200:]))
