"""The pure parts teachers are built from: segments, rarity, alignment."""

from __future__ import annotations

import numpy as np

from splitinfer.converters.teachers._align import align
from splitinfer.converters.teachers._lexical import Rarity, question_terms
from splitinfer.converters.teachers.minilm import MiniLMTeacher
from splitinfer.sdk._segments import segment_words
from splitinfer.sdk._text import split_words


def _segments(text: str, max_words: int = 48):
    words, gaps = split_words(text)
    segments, titles = segment_words(words, gaps, [1] * len(words), max_words=max_words, max_tokens=10_000)
    return [" ".join(words[s.start : s.end]) for s in segments], segments, titles


def test_document_header_is_its_own_segment_and_gives_the_title() -> None:
    text = "Document [1](Title: Fire (Safety) Order) The order applies. It was made in 2005.\nDocument [2](Title: X) Y."
    texts, segments, titles = _segments(text)
    assert texts[0] == "Document [1](Title: Fire (Safety) Order)" and segments[0].header
    assert texts[1:3] == ["The order applies.", "It was made in 2005."]
    assert titles == ["Fire (Safety) Order", "X"]
    assert [s.doc for s in segments] == [0, 0, 0, 1, 1]


def test_sentences_do_not_end_at_abbreviations_or_initials() -> None:
    texts, _, _ = _segments("Mr. Smith went to the U.S. in May. J. Doe stayed. He said (Yes.) Then left.")
    assert texts == ["Mr. Smith went to the U.S. in May.", "J. Doe stayed.", "He said (Yes.)", "Then left."]


def test_full_stops_of_scripts_without_capitals_end_sentences() -> None:
    # Chinese and Japanese put no space after a full stop and have no capitals to look for.
    words, gaps = split_words(
        "金门大桥很长。它在旧金山\uff01你去过吗\uff1f「東京は大きい。」次の文です。終わり"
    )
    segments, _ = segment_words(words, gaps, [1] * len(words))
    assert ["".join(words[s.start : s.end]) for s in segments] == [
        "金门大桥很长。",
        "它在旧金山\uff01",
        "你去过吗\uff1f「",
        "東京は大きい。」",
        "次の文です。",
        "終わり",
    ]
    texts, _, _ = _segments("यह वाक्य है। दूसरा वाक्य॥ هل هذا؟ نعم\u06d4 end")
    assert texts == ["यह वाक्य है।", "दूसरा वाक्य॥", "هل هذا؟", "نعم\u06d4", "end"]


def test_long_runs_are_cut_into_equal_pieces() -> None:
    _, segments, _ = _segments(" ".join(f"w{i}" for i in range(100)), max_words=30)
    assert [s.end - s.start for s in segments] == [25, 25, 25, 25]
    assert segments[-1].end == 100


def test_every_word_belongs_to_exactly_one_segment() -> None:
    text = "A b. C d!\n\nDocument [3](Title: T) e f? G h\nlast"
    words, _ = split_words(text)
    _, segments, _ = _segments(text)
    covered = [i for s in segments for i in range(s.start, s.end)]
    assert covered == list(range(len(words)))


def test_rarity_follows_vocabulary_order_and_numbers_are_rare() -> None:
    rarity = Rarity(MiniLMTeacher().tokenizer)
    assert rarity.word("the") < rarity.word("physics") < rarity.word("Röntgen,")
    assert rarity.word("1901") == 1.0 and rarity.word("--") == 0.0


def test_question_terms_are_stemmed_and_skip_the_commonest_words() -> None:
    rarity = Rarity(MiniLMTeacher().tokenizer)
    found = question_terms("who got the first nobel prize in physics", rarity)
    assert {"nobel", "prize", "physic"} <= set(found)
    assert not {"the", "in"} & set(found)
    assert found["nobel"] > found["who"]


def test_alignment_marks_the_kept_words_in_order() -> None:
    result = align(["The", "cat,", "sadly,", "sat", "on", "the", "mat."], ["cat", "sat", "mat"])
    assert result.kept.tolist() == [False, True, False, True, False, False, True]
    assert result.ratio == 1.0


def test_alignment_of_a_repeated_word_takes_the_next_occurrence() -> None:
    result = align(["the", "a", "the", "b", "the"], ["the", "the"])
    assert np.flatnonzero(result.kept).tolist() == [0, 2]


def test_alignment_counts_words_the_original_lacks_or_reorders() -> None:
    result = align(["one", "two", "three", "four"], ["four", "one", "banana"])
    assert result.matched == 1 and result.compressed == 3
    assert result.kept.tolist() == [False, False, False, True]


def test_alignment_does_not_look_past_the_lookahead() -> None:
    result = align(["x"] * 10 + ["target"], ["target"], lookahead=5)
    assert result.matched == 0 and not result.kept.any()


def test_alignment_follows_a_deletion_longer_than_the_lookahead() -> None:
    # A faithful compression that drops a whole passage (more words than the lookahead).
    original = ["Title:", "Bridge."] + [f"filler{i}" for i in range(60)] + ["It", "opened", "in", "1932."]
    result = align(original, ["Title:", "Bridge.", "opened", "1932"], lookahead=48)
    assert result.ratio == 1.0
    assert np.flatnonzero(result.kept).tolist() == [0, 1, 63, 65]
