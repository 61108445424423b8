"""The measures `splitinfer eval` reports: SQuAD normalisation, answer retention, numbers kept."""

from __future__ import annotations

from collections import Counter

import pytest

from splitinfer.evaluation.metrics import (
    contains_answer,
    mean,
    normalize_answer,
    numbers,
    numbers_kept,
    percentile,
)


def test_normalisation_lowercases_and_drops_punctuation_articles_and_extra_spaces() -> None:
    assert normalize_answer("  The Eiffel   Tower, Paris! ") == "eiffel tower paris"
    assert normalize_answer("An apple a day") == "apple day"


def test_normalisation_keeps_accents_and_digits_as_squad_does() -> None:
    assert normalize_answer("Wilhelm Conrad Röntgen") == "wilhelm conrad röntgen"
    assert normalize_answer("150,782 SEK") == "150782 sek"


def test_an_answer_is_found_whatever_its_case_and_punctuation() -> None:
    context = "The first prize went to Wilhelm Conrad Röntgen, of Germany."
    assert contains_answer(context, ["wilhelm conrad röntgen"])


def test_an_answer_must_match_whole_words() -> None:
    assert not contains_answer("It was awarded in 1901.", ["1"])
    assert not contains_answer("the cathedral", ["cat"])
    assert contains_answer("It was awarded in 1901.", ["1901"])


def test_any_of_several_gold_answers_counts() -> None:
    assert contains_answer("born in New York City", ["Boston", "New York"])
    assert not contains_answer("born in New Jersey", ["Boston", "New York"])


def test_an_answer_that_normalises_to_nothing_is_never_found() -> None:
    assert not contains_answer("the end of the story", ["The", "  "])
    assert not contains_answer("anything", [])


def test_numbers_are_counted_with_their_separators() -> None:
    assert numbers("She paid $1,200.50 for 3 items, then 3 more.") == {"1,200.50": 1, "3": 2}


def test_numbers_kept_counts_each_occurrence_once() -> None:
    reference = "48 clips in April, half as many (24) in May; 48 in all? no, 72."
    assert numbers_kept(reference, "48 24 72") == (3, 4)
    assert numbers_kept(reference, "48 48 24 72") == (4, 4)
    assert numbers_kept(reference, "no digits") == (0, 4)


def test_a_document_header_index_is_not_a_number_of_the_text() -> None:
    text = "Document [3](Title: 2014 Rose Bowl) It was played on 1 January.\nDocument [10](Title: Bowl) x"
    assert numbers(text) == Counter({"2014": 1, "1": 1})
    assert numbers_kept(text, "2014 1") == (2, 2)
    # Not a header: a bracketed number anywhere else is a number.
    assert numbers("See [3](Title: here") == Counter({"3": 1})


def test_numbers_kept_of_a_text_without_numbers_is_zero_of_zero() -> None:
    assert numbers_kept("no numbers here", "anything 12") == (0, 0)


def test_percentile_interpolates_and_is_none_for_no_values() -> None:
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0], 50) == pytest.approx(1.5)
    assert percentile([], 50) is None


def test_mean_of_nothing_is_none_not_zero() -> None:
    assert mean([]) is None
    assert mean([1.0, 0.0, 1.0, 1.0]) == 0.75
