"""Structured prompts: verbatim parts are never touched, and each part can have its own rate."""

from __future__ import annotations

import numpy as np
import pytest

from splitinfer.sdk import Condenser, InvalidInputError, Part
from splitinfer.sdk._text import split_words

pytest_plugins = ["sdk_bundles"]

SYSTEM = 'You are a careful assistant.\nAnswer in JSON:  {"answer": "...", "source": 0}\n'
CODE = "def area(r):\n    return 3.14159 * r ** 2\n"
DOCS = " ".join(
    f"Report {chr(65 + i % 26)} says the harbour bridge needs paint and the trees need water."
    for i in range(40)
)
NOTES = " ".join(
    "The meeting ended late and everyone went home along the quiet river road ." for _ in range(20)
)


def test_verbatim_parts_are_copied_character_for_character_at_any_rate(condenser: Condenser) -> None:
    result = condenser.condense_parts(
        [Part(SYSTEM, keep_verbatim=True), Part(DOCS), Part(CODE, keep_verbatim=True)], rate=0.05
    )
    assert result.parts[0] == SYSTEM and result.parts[2] == CODE
    assert result.text.startswith(SYSTEM + "\n\n") and result.text.endswith("\n\n" + CODE)
    assert len(result.parts[1]) < 0.2 * len(DOCS)


def test_each_part_can_have_its_own_rate(condenser: Condenser) -> None:
    result = condenser.condense_parts([Part(DOCS, rate=0.2), Part(NOTES, rate=0.8)], keep_digits=False)
    for part, rate in ((0, 0.2), (1, 0.8)):
        text = (DOCS, NOTES)[part]
        achieved = condenser.count_tokens(result.parts[part]) / condenser.count_tokens(text)
        assert abs(achieved - rate) <= 0.1 * rate


def test_parts_without_a_rate_share_the_calls_rate_and_compete_for_it(condenser: Condenser) -> None:
    result = condenser.condense_parts([Part(DOCS), Part(NOTES)], rate=0.3, keep_digits=False)
    shared = condenser.count_tokens(DOCS) + condenser.count_tokens(NOTES)
    assert abs(result.condensed_tokens / shared - 0.3) <= 0.03


def test_target_tokens_budgets_the_whole_result_verbatim_parts_first(condenser: Condenser) -> None:
    result = condenser.condense_parts(
        [Part(SYSTEM, keep_verbatim=True), Part(DOCS)], target_tokens=150, keep_digits=False
    )
    assert 135 <= result.condensed_tokens <= 150
    assert result.parts[0] == SYSTEM


def test_kept_indices_count_words_across_parts_and_cover_verbatim_parts(condenser: Condenser) -> None:
    result = condenser.condense_parts([Part(SYSTEM, keep_verbatim=True), Part(DOCS)], rate=0.3)
    system_words = len(split_words(SYSTEM)[0])
    assert result.words == system_words + len(split_words(DOCS)[0])
    assert result.kept_mask[:system_words].all()
    assert np.array_equal(np.flatnonzero(result.kept_mask), result.kept_indices)


def test_parts_that_condense_to_nothing_leave_no_empty_separator(condenser: Condenser) -> None:
    result = condenser.condense_parts(
        [Part("   "), Part(SYSTEM, keep_verbatim=True), Part("")], separator="\n---\n"
    )
    assert result.text == SYSTEM


def test_a_separators_tokens_count_once_per_join(condenser: Condenser) -> None:
    parts = [Part(SYSTEM, keep_verbatim=True), Part(DOCS), Part("   ")]
    plain = condenser.condense_parts(parts, rate=0.3)
    ruled = condenser.condense_parts(parts, rate=0.3, separator="\n---\n")  # "---" is 3 tokens
    assert ruled.condensed_tokens == plain.condensed_tokens + 3 == len(condenser.tokenizer.encode(ruled.text))
    assert ruled.original_tokens == plain.original_tokens + 3  # two parts hold words: one join


def test_condense_is_a_single_shared_part(condenser: Condenser) -> None:
    whole = condenser.condense(DOCS, "what needs paint?", rate=0.3)
    parts = condenser.condense_parts([Part(DOCS)], "what needs paint?", rate=0.3)
    assert whole.text == parts.text


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ("just a string", "parts must be a list of Part"),
        (
            [Part("ok"), "not a part"],
            r"parts\[1\] must be a Part, got str; wrap text as Part\('not a part'\)",
        ),
        ([Part("ok"), Part("x", rate=2.0)], r"parts\[1\]\.rate must be in \(0, 1\]"),
        ([Part(b"bytes")], r"parts\[0\]\.text must be a str"),
    ],
)
def test_bad_parts_are_refused_naming_the_part(condenser: Condenser, parts: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        condenser.condense_parts(parts)  # type: ignore[arg-type]


def test_a_separator_that_is_not_text_is_refused(condenser: Condenser) -> None:
    with pytest.raises(InvalidInputError, match="separator is not valid Unicode"):
        condenser.condense_parts([Part("a b c")], separator="\ud800")
    with pytest.raises(InvalidInputError, match="separator must be a str"):
        condenser.condense_parts([Part("a b c")], separator=3)


def test_a_verbatim_part_with_a_rate_is_refused_not_silently_kept_whole(condenser: Condenser) -> None:
    with pytest.raises(InvalidInputError, match=r"parts\[1\] is kept verbatim and has a rate \(0.1\)"):
        condenser.condense_parts([Part("a b c"), Part("keep me", keep_verbatim=True, rate=0.1)])
