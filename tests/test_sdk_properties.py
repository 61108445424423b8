"""Property-based tests of condense(): any text, any rate, prompts of 150 to 5,000 tokens, 1 MB.

Properties that hold for every input:
- the result is the kept words, in order, each with its original following whitespace;
- forced words (``force`` entries, words with digits) are always kept;
- with forced words inside the budget, the condensed tokens never exceed the budget and the
  achieved rate is within 10% of the requested one (prompts of 150 to 5,000 tokens);
- with forced words over the budget, only forced words are kept.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from splitinfer.sdk import Condenser, CondenseResult
from splitinfer.sdk._selection import normalize_word, token_budget
from splitinfer.sdk._text import WHITESPACE, join_words, split_words

pytest_plugins = ["sdk_bundles"]

PROPERTY = settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])

POOL = [
    "the",
    "a",
    "of",
    "bridge",
    "river",
    "road",
    "harbour",
    "opened",
    "engineers",
    "paint",
    "trees",
    "committee",
    "said",
    "that",
    "was",
    "Paris,",
    "(London)",
    "'quoted'",
    "end.",
    "question?",
    "naïve",
    "Zürich",
    "données",
    "façade",
    "東京",
    "北京大学",
    "Москва",
    "co-operate",
    "e-mail",
    "state-of-the-art",
    "U.S.A.",
    "🙂",
    "✓",
    "½",
    "x=y+1;",
    "3.50",
    "1932",
    "#42",
    "ID-7781",
    "2024-05-01",
]
gaps = st.sampled_from([" ", " ", " ", "\n", "  ", "\t", "\n\n", "\u3000"])


@st.composite
def prompts(draw: st.DrawFn, min_words: int, max_words: int) -> str:
    picked = draw(st.lists(st.sampled_from(POOL), min_size=min_words, max_size=max_words))
    spacing = draw(st.lists(gaps, min_size=len(picked), max_size=len(picked)))
    return "".join(w + g for w, g in zip(picked, spacing, strict=True))


def assert_is_kept_words_in_order(text: str, result: CondenseResult) -> None:
    all_words, all_gaps = split_words(text)
    kept = result.kept_indices.tolist()
    assert kept == sorted(set(kept))
    assert result.text == join_words(all_words, all_gaps, kept)
    assert result.words == len(all_words)
    assert 0 <= result.condensed_tokens <= result.original_tokens


def assert_forced_kept(text: str, result: CondenseResult, force: list[str], keep_digits: bool = True) -> None:
    wanted = {normalize_word(w) for entry in force for w in entry.split()} - {""}
    mask = result.kept_mask
    for i, word in enumerate(split_words(text)[0]):
        if (keep_digits and any("0" <= ch <= "9" for ch in word)) or normalize_word(word) in wanted:
            assert mask[i], f"forced word {word!r} was dropped"


@PROPERTY
@given(text=st.text(max_size=3000), rate=st.floats(0.01, 1.0), question=st.text(max_size=100))
def test_any_unicode_text_condenses_to_its_kept_words_in_order(
    condenser: Condenser, text: str, rate: float, question: str
) -> None:
    result = condenser.condense(text, question, rate=rate)
    assert_is_kept_words_in_order(text, result)
    assert_forced_kept(text, result, [])


@PROPERTY
@given(
    text=st.text(alphabet="金门大桥售价美元会议室和都在楼年0123456789ABCxyz\uff0c。、 ", max_size=300),
    rate=st.floats(0.01, 1.0),
)
def test_text_without_spaces_condenses_to_as_many_tokens_as_it_says(
    condenser: Condenser, text: str, rate: float
) -> None:
    # Chinese and Japanese put no spaces between words: kept words that were not neighbours must
    # not run into one word the model and the server would read (and count) otherwise.
    result = condenser.condense(text, rate=rate)
    assert_is_kept_words_in_order(text, result)
    assert condenser.count_tokens(result.text) == result.condensed_tokens


def test_kept_numbers_of_a_text_without_spaces_stay_apart(condenser: Condenser) -> None:
    assert condenser.condense("售价999美元\uff0c折扣价499美元。", "多少钱\uff1f", rate=0.1).text == "999 499"
    result = condenser.condense("Apple和Google都是公司。", force=["Apple", "Google"], rate=0.01)
    assert result.text == "Apple Google" and condenser.count_tokens(result.text) == result.condensed_tokens
    assert join_words(*split_words("1958年 opened here"), [0, 3]) == "1958 here"  # the stretch's own space
    assert join_words(*split_words("金门大桥499"), [0, 4]) == "金499"  # an ideograph is a token alone


@PROPERTY
@given(text=st.text(alphabet=WHITESPACE, max_size=200), rate=st.floats(0.01, 1.0))
def test_empty_or_whitespace_only_text_condenses_to_nothing(
    condenser: Condenser, text: str, rate: float
) -> None:
    result = condenser.condense(text, rate=rate)
    assert (result.text, result.original_tokens, result.achieved_rate) == ("", 0, 1.0)


@PROPERTY
@given(
    text=prompts(100, 3500),
    rate=st.floats(0.1, 0.9),
    question=st.sampled_from(["", "when did the bridge open?"]),
)
def test_achieved_rate_is_within_ten_percent_for_150_to_5000_tokens(
    condenser: Condenser, text: str, rate: float, question: str
) -> None:
    total = condenser.count_tokens(text)
    assume(150 <= total <= 5000)
    result = condenser.condense(text, question, rate=rate)
    assert_is_kept_words_in_order(text, result)
    assert_forced_kept(text, result, [])
    budget = token_budget(total, rate)
    if result.forced_tokens <= budget:
        assert result.condensed_tokens <= budget
        assert abs(result.achieved_rate - rate) <= 0.1 * rate
    else:
        assert result.condensed_tokens == result.forced_tokens


@PROPERTY
@given(text=prompts(20, 800), data=st.data(), keep_digits=st.booleans())
def test_forced_words_are_always_kept(
    condenser: Condenser, text: str, data: st.DataObject, keep_digits: bool
) -> None:
    force = data.draw(st.lists(st.sampled_from(split_words(text)[0]), max_size=5))
    result = condenser.condense(text, rate=0.05, force=force, keep_digits=keep_digits)
    assert_forced_kept(text, result, force, keep_digits)


@settings(
    deadline=None, max_examples=3, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(snippet=st.text(min_size=1, max_size=300).filter(str.strip), rate=st.floats(0.1, 0.9))
def test_a_one_megabyte_prompt_condenses_at_the_requested_rate(
    condenser: Condenser, snippet: str, rate: float
) -> None:
    rng = np.random.default_rng(len(snippet))
    pieces = [snippet, *POOL]
    text_parts: list[str] = []
    size = 0
    while size < 1_000_000:
        piece = pieces[int(rng.integers(len(pieces)))]
        text_parts.append(piece)
        size += len(piece.encode()) + 1
    text = " ".join(text_parts)
    result = condenser.condense(text, rate=rate, keep_digits=False)
    assert_is_kept_words_in_order(text, result)
    budget = token_budget(result.original_tokens, rate)
    assert result.condensed_tokens <= budget
    assert abs(result.achieved_rate - rate) <= 0.1 * rate
