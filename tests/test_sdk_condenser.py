"""Condenser.condense: what it keeps, how much, and how it refuses bad input."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest

from splitinfer.sdk import MAX_INPUT_CHARS, Condenser, InvalidInputError, Part
from splitinfer.sdk._text import split_words

pytest_plugins = ["sdk_bundles"]

FILLER = " ".join(
    [
        "The committee met on a cold morning to discuss the state of the old harbour bridge ,",
        "which had carried traffic across the river for many decades . Engineers reported that",
        "the steel was tired and the paint was peeling , while residents wrote letters asking",
        "for a quieter road and more trees along the water .",
    ]
).split()


def prose(words: int, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    return " ".join(rng.choice(FILLER, size=words))


def test_kept_words_keep_their_order_and_the_whitespace_that_followed_them(condenser: Condenser) -> None:
    text = "Alpha beta,  gamma\n\tdelta epsilon.\nzeta   eta theta iota kappa"
    result = condenser.condense(text, rate=0.5)
    words, gaps = split_words(text)
    kept = result.kept_indices.tolist()
    assert kept == sorted(kept) and 0 < len(kept) < len(words)
    # Each kept word is followed by its own whitespace, unless words dropped after it held line
    # breaks: then by the first of their gaps (its own counted) with the most, "\n" after "delta".
    expected = ""
    for i, j in zip(kept, [*kept[1:], len(words)], strict=True):
        stretch = gaps[i:j] if j < len(words) else [gaps[i]]
        most = max(g.count("\n") for g in stretch)
        expected += words[i] + (gaps[i] if most == 0 else next(g for g in stretch if g.count("\n") == most))
    assert result.text == expected.rstrip()
    # The case above happens here (the rule is exercised, not only its absence).
    assert any("\n" not in gaps[i] and any("\n" in g for g in gaps[i + 1 : j]) for i, j in pairwise(kept))


@pytest.mark.parametrize("rate", [0.1, 0.25, 0.33, 0.5, 0.8])
def test_achieved_rate_is_within_ten_percent_of_the_requested_rate(condenser: Condenser, rate: float) -> None:
    result = condenser.condense(prose(1500), rate=rate, keep_digits=False)
    assert abs(result.achieved_rate - rate) <= 0.1 * rate
    assert result.condensed_tokens <= round(rate * result.original_tokens)


def test_target_tokens_caps_the_condensed_tokens(condenser: Condenser) -> None:
    result = condenser.condense(prose(800), target_tokens=200)
    assert 180 <= result.condensed_tokens <= 200
    assert result.target_tokens == 200 and result.rate is None


def test_the_bundle_default_rate_applies_when_neither_rate_nor_target_is_given(condenser: Condenser) -> None:
    result = condenser.condense(prose(600), keep_digits=False)
    assert result.rate == condenser.default_rate == 0.5
    assert abs(result.achieved_rate - 0.5) <= 0.05


def test_forced_words_and_numbers_survive_a_tiny_rate(condenser: Condenser) -> None:
    text = prose(400) + " The toll was 3.50 euros and the engineer was Ms. Okafor (lead) in 1987."
    result = condenser.condense(text, rate=0.05, force=["okafor", "euros"])
    kept = result.text.split()
    for word in ("3.50", "euros", "Okafor", "1987."):
        assert word in kept
    assert result.forced_tokens > 0


def test_numbers_can_be_dropped_when_keep_digits_is_off(condenser: Condenser) -> None:
    numbers = " ".join(str(n) for n in range(1000, 1300))
    with_digits = condenser.condense(numbers, rate=0.1)
    without = condenser.condense(numbers, rate=0.1, keep_digits=False)
    assert with_digits.condensed_tokens == with_digits.original_tokens
    assert without.condensed_tokens <= round(0.1 * without.original_tokens)


def test_a_document_header_index_is_not_forced_but_the_numbers_of_the_documents_are(
    condenser: Condenser,
) -> None:
    docs = [
        f"Document [{i}](Title: {title}) {prose(60, seed=i)} It opened in {1900 + i}."
        for i, title in enumerate(["Rhine", "Danube", "Seine", "Loire", "Elbe", "Oder"], start=1)
    ]
    result = condenser.condense("\n".join(docs), "When did the Elbe open?", rate=0.05)
    kept = result.text.split()
    for i in range(1, 7):
        assert f"{1900 + i}." in kept
    # Before, every "[n](Title:" was forced too: six of them, kept whatever their documents.
    assert sum(word.endswith("](Title:") for word in kept) < 6
    forced = condenser.condense("\n".join(docs), rate=0.05, force=["[3](Title:"]).text.split()
    assert "[3](Title:" in forced


def test_the_question_steers_what_is_kept(condenser: Condenser) -> None:
    text = prose(300, seed=1) + " The keeper fed the zebra daily . " + prose(300, seed=2)
    without = condenser.condense(text, rate=0.1, keep_digits=False)
    asked = condenser.condense(text, "zebra food?", rate=0.1, keep_digits=False)
    assert "zebra" not in without.text.split()
    assert "zebra" in asked.text.split()


def test_a_long_question_is_read_by_its_first_and_last_tokens(condenser: Condenser) -> None:
    # A polite preamble longer than the model's question input used to push the real ask out.
    text = prose(300, seed=1) + " The keeper fed the zebra daily . " + prose(300, seed=2)
    long = condenser.condense(
        text, "please answer carefully " * 30 + "zebra food?", rate=0.1, keep_digits=False
    )
    assert long.question_truncated
    assert "zebra" in long.text.split()
    assert not condenser.condense(text, "zebra food?", rate=0.1).question_truncated


def test_chinese_without_spaces_condenses_ideograph_by_ideograph(condenser: Condenser) -> None:
    sentence = "金门大桥在旧金山。它横跨金门海峡。这座桥由施特劳斯设计。"
    result = condenser.condense(sentence * 30, "谁设计了这座桥?", rate=0.3, force=["施特劳斯"])
    assert 0.27 <= result.achieved_rate <= 0.33
    assert result.text.count("施") == 30  # the forced entry's ideographs, wherever they occur
    assert condenser.condense(sentence * 30, rate=0.99).text  # no longer one word over any budget


def test_japanese_kana_condense_kana_by_kana(condenser: Condenser) -> None:
    # BERT leaves a run of kana whole: this paragraph was one word of 560 tokens, dropped whole at
    # any rate under 1 (an empty context), and forced whole where it held a digit.
    kana = "わたしはきのうとうきょうへいきました。そこでともだちにあいました。とてもたのしかったです。" * 20
    assert len(split_words(kana)[0]) == len(kana)
    result = condenser.condense(kana, "だれにあいましたか", rate=0.2)
    assert result.text and 0.18 <= result.achieved_rate <= 0.2
    with_digit = "きょうはいいてんきです。" * 30 + "かいぎは3じからです。" + "あしたもはれるでしょう。" * 30
    forced = condenser.condense(with_digit, rate=0.1)
    assert "3" in forced.text and forced.achieved_rate <= 0.1


def test_forced_words_match_possessives_compounds_and_markup(condenser: Condenser) -> None:
    text = (
        "Strauss's team, the Strauss-designed towers, Strauss\u2014who was famous\u2014and \u00abStrauss\u00bb, "
        "Strauss\u2026 **Strauss** over TCP/IP; Straussian and Strausses are other words."
    )
    kept = condenser.condense(text, force=["Strauss", "IP"], target_tokens=0).text.split()
    assert kept == [
        "Strauss's",
        "Strauss-designed",
        "Strauss\u2014who",
        "\u00abStrauss\u00bb,",
        "Strauss\u2026",
        "**Strauss**",
        "TCP/IP;",
    ]


def test_a_force_entry_of_several_words_forces_them_where_they_stand_together(condenser: Condenser) -> None:
    text = (
        "The court in The Hague ruled on the case. The judges said the appeal was late and the fine "
        "stands. The Hague's judges met; the New York-based firm left New\nYork for the coast."
    )
    kept = condenser.condense(text, force=["The Hague", "new york"], target_tokens=0).text.split()
    # Not every "the", "new" or "york": the phrases, possessive, compound and line break included.
    assert kept == ["The", "Hague", "The", "Hague's", "New", "York-based", "New", "York"]
    # CJK: each ideograph is a word, and the entry's ideographs are forced only where they follow each other.
    cjk = "北方很冷。京剧好。我去过北京。"
    assert condenser.condense(cjk, force=["北京"], target_tokens=0).text == "北京"
    # A phrase does not run from one part into the next.
    split = condenser.condense_parts(
        [Part("left The"), Part("Hague right")], force=["The Hague"], target_tokens=0
    )
    assert split.text == ""
    joined = condenser.condense_parts([Part("left The Hague right")], force=["The Hague"], target_tokens=0)
    assert joined.text == "The Hague"


def test_forced_words_match_behind_symbols_other_quotes_and_invisible_characters(
    condenser: Condenser,
) -> None:
    text = (
        "\u201eStrauss\u201c and @Strauss, $Strauss, ~Strauss~, Strauss\u2122, \u300cStrauss\u300d, "
        "Strauss\u200b and Strau\u00adss; C# and C++ and c stay apart."
    )
    kept = condenser.condense(text, force=["Strauss", "C#"], target_tokens=0).text.split()
    assert kept == [
        "\u201eStrauss\u201c",
        "@Strauss,",
        "$Strauss,",
        "~Strauss~,",
        "Strauss\u2122,",
        "\u300cStrauss\u300d,",
        "Strauss\u200b",
        "Strau\u00adss;",
        "C#",  # "#" and "+" are no edge: C# is not C++ nor c
    ]


def test_digits_of_any_script_are_kept(condenser: Condenser) -> None:
    text = "opened in \u0661\u0669\u0663\u0667, \uff11\uff19\uff13\uff17, \u0967\u096f\u0969\u096d and 1937, not \u00b2"
    kept = condenser.condense(text, target_tokens=0).text.split()
    assert kept == [
        "\u0661\u0669\u0663\u0667,",
        "\uff11\uff19\uff13\uff17,",
        "\u0967\u096f\u0969\u096d",
        "1937,",
    ]


def test_a_budget_covering_every_token_gives_the_text_back_whole(condenser: Condenser) -> None:
    text = "alpha \u200b beta \u00ad gamma \u2060 delta"  # words without any token
    assert condenser.condense(text, rate=1.0).text == text
    assert "\u200b" not in condenser.condense(text, rate=0.5).text


def test_the_same_input_gives_the_same_result(condenser: Condenser) -> None:
    text = prose(1200, seed=3)
    first = condenser.condense(text, "where is the bridge?", rate=0.3)
    second = condenser.condense(text, "where is the bridge?", rate=0.3)
    assert first.text == second.text
    assert np.array_equal(first.kept_indices, second.kept_indices)


@pytest.mark.parametrize("text", ["", "   ", "\n\t \u3000\n"])
def test_empty_or_whitespace_context_gives_empty_text_and_rate_one(condenser: Condenser, text: str) -> None:
    result = condenser.condense(text, rate=0.3)
    assert (result.text, result.words, result.original_tokens, result.condensed_tokens) == ("", 0, 0, 0)
    assert result.achieved_rate == 1.0


def test_result_reports_counts_version_and_time(condenser: Condenser) -> None:
    text = prose(500)
    result = condenser.condense(text, rate=0.4)
    assert result.words == len(text.split())
    assert result.original_tokens == condenser.count_tokens(text)
    assert result.condensed_tokens == condenser.count_tokens(result.text)
    assert result.kept_mask.sum() == len(result.kept_indices) == len(result.text.split())
    assert result.model_version == "test-cnn-1"
    assert result.ms > 0


def test_prompts_longer_than_a_window_are_scored_window_by_window(small_window_bundle_path) -> None:
    small = Condenser.load(small_window_bundle_path)
    text = prose(700)
    assert small.count_tokens(text) > 40 * small.max_seq_len
    result = small.condense(text, rate=0.3, keep_digits=False)
    assert abs(result.achieved_rate - 0.3) <= 0.03


def test_a_word_longer_than_the_window_is_scored_by_the_tokens_the_model_sees(
    small_window_bundle_path,
) -> None:
    small = Condenser.load(small_window_bundle_path)
    giant = "-".join(["bridge"] * 30)  # 59 tokens, the window holds 16
    result = small.condense(f"one {giant} two three", rate=1.0)
    assert result.text == f"one {giant} two three"
    assert result.original_tokens == 62


class _NotText:
    pass


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"context": 42}, "context must be a str, got int"),
        ({"context": b"caf\xc3\xa9"}, "decode it first"),
        ({"context": b"caf\xe9 au lait"}, "not valid UTF-8 (byte 0xe9 at offset 3)"),
        ({"context": "caf\udce9"}, "lone surrogate U+DCE9 at character 3"),
        ({"context": "x", "question": _NotText()}, "question must be a str"),
        ({"context": "x", "rate": 0}, "rate must be in (0, 1]"),
        ({"context": "x", "rate": 1.5}, "rate must be in (0, 1]"),
        ({"context": "x", "rate": math.nan}, "rate must be in (0, 1]"),
        ({"context": "x", "rate": True}, "rate must be a number"),
        ({"context": "x", "rate": 0.5, "target_tokens": 10}, "not both"),
        ({"context": "x", "target_tokens": -1}, "target_tokens must be >= 0"),
        ({"context": "x", "target_tokens": 2.5}, "target_tokens must be an integer"),
        ({"context": "x", "force": [3]}, "force must contain only str"),
        ({"context": "x", "force": b"bridge"}, "force must be a list of str, got bytes; decode it first"),
        ({"context": "x", "rate": 10**400}, "got 10000000000000000000...(401 characters)"),
    ],
)
def test_bad_arguments_raise_invalid_input_saying_what_to_fix(
    condenser: Condenser, kwargs: dict, message: str
) -> None:
    with pytest.raises(InvalidInputError) as err:
        condenser.condense(**kwargs)
    assert message in str(err.value)


def test_input_beyond_the_documented_maximum_is_refused(condenser: Condenser) -> None:
    with pytest.raises(InvalidInputError, match="split it"):
        condenser.condense("a" * (MAX_INPUT_CHARS + 1))


def test_a_single_string_force_counts_as_one_entry(condenser: Condenser) -> None:
    result = condenser.condense(prose(200) + " Okafor", rate=0.05, force="Okafor")
    assert "Okafor" in result.text.split()


def test_a_rate_keeps_at_least_one_token_of_a_short_text(condenser: Condenser) -> None:
    # 0.33 of one token rounds to none: a context sent empty is not what a rate asks for.
    assert condenser.condense("Paris", rate=0.33).text == "Paris"
    assert condenser.condense("Paris", target_tokens=0).text == ""  # a budget of none is asked for
