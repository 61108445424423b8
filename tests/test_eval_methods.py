"""Every method is held to the same selection rules; only the word scores differ."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pytest

from splitinfer.evaluation.build import MemoTeacher, default_tokenizer, parse_methods, parse_rates
from splitinfer.evaluation.methods import (
    KeepAll,
    ScoredMethod,
    layout,
    random_scorer,
    teacher_scorer,
    truncate_scorer,
)
from splitinfer.sdk._errors import InvalidInputError
from splitinfer.sdk._selection import token_budget

CONTEXT = (
    "The committee met on 12 March 2021 in Geneva. Its chair, Amelia Hartwell, opened the session "
    "with a short review of the previous year. Delegates from forty countries discussed water rights, "
    "fisheries and the protection of wetlands along the river basin. After two days of talks the "
    "delegates agreed on a shared monitoring network, funded by a levy of 0.3 percent on water sales. "
    "The next meeting will take place in Lisbon, where the network's first results will be presented."
)


@dataclass
class Case:
    id: str = "case-1"
    question: str = "Who chaired the committee?"
    context: str = CONTEXT
    answers: list[str] = field(default_factory=lambda: ["Amelia Hartwell"])
    verbatim: str = ""


class FakeTeacher:
    """Scores the words of the answer sentence highest, and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def score(self, question: str, context: str) -> np.ndarray:
        self.calls += 1
        words = context.split()
        return np.array([1.0 if w.strip(",.") in {"Amelia", "Hartwell", "chair"} else 0.1 for w in words])


@pytest.fixture(scope="module")
def tokenizer():
    return default_tokenizer()


def _methods():
    return [
        ScoredMethod("teacher", teacher_scorer(FakeTeacher())),
        ScoredMethod("random", random_scorer(seed=0)),
        ScoredMethod("truncate", truncate_scorer),
    ]


@pytest.mark.parametrize("rate", [0.1, 0.2, 0.33, 0.5])
def test_every_method_gets_the_same_token_budget_and_keeps_the_same_forced_words(tokenizer, rate) -> None:
    lay = layout(CONTEXT, tokenizer)
    budget = token_budget(lay.total_tokens, rate)
    forced = set(np.flatnonzero(lay.forced).tolist())
    largest_word = int(lay.token_counts.max())
    for method in _methods():
        kept = method.condense(Case(), lay, rate).kept
        assert forced <= set(kept.tolist()), method.name
        used = lay.tokens(kept)
        # Forced words may overshoot a tiny budget; otherwise the budget is filled up to one word.
        assert used <= max(budget, int(lay.token_counts[lay.forced].sum())), method.name
        assert used > budget - largest_word, method.name


def test_numbers_are_forced_only_with_keep_digits(tokenizer) -> None:
    with_digits = layout(CONTEXT, tokenizer, keep_digits=True)
    without = layout(CONTEXT, tokenizer, keep_digits=False)
    forced_words = [w for w, f in zip(with_digits.words, with_digits.forced, strict=True) if f]
    assert forced_words == ["12", "2021", "0.3"]
    assert not without.forced.any()


def test_truncate_keeps_the_first_words(tokenizer) -> None:
    lay = layout(CONTEXT, tokenizer, keep_digits=False)
    kept = ScoredMethod("truncate", truncate_scorer).condense(Case(), lay, 0.2).kept
    assert kept.tolist() == list(range(len(kept)))


def test_random_is_reproducible_for_a_case_and_differs_between_cases(tokenizer) -> None:
    lay = layout(CONTEXT, tokenizer, keep_digits=False)
    first = ScoredMethod("random", random_scorer(seed=0)).condense(Case(), lay, 0.3).kept
    again = ScoredMethod("random", random_scorer(seed=0)).condense(Case(), lay, 0.3).kept
    other = ScoredMethod("random", random_scorer(seed=0)).condense(Case(id="case-2"), lay, 0.3).kept
    assert first.tolist() == again.tolist()
    assert first.tolist() != other.tolist()


def test_the_teacher_scores_a_case_once_for_all_rates(tokenizer) -> None:
    teacher = FakeTeacher()
    method = ScoredMethod("teacher", teacher_scorer(teacher))
    lay = layout(CONTEXT, tokenizer)
    kept = [method.condense(Case(), lay, rate).kept for rate in (0.1, 0.2, 0.5)]
    assert teacher.calls == 1
    assert {"chair,", "Amelia"} <= {lay.words[i] for i in kept[0]}
    assert {"chair,", "Amelia", "Hartwell,"} <= {lay.words[i] for i in kept[1]}


def test_a_scorer_with_the_wrong_number_of_scores_is_an_error(tokenizer) -> None:
    method = ScoredMethod("broken", lambda case, lay: np.zeros(3))
    with pytest.raises(ValueError, match="gave 3 scores for"):
        method.condense(Case(), layout(CONTEXT, tokenizer), 0.5)


def test_none_keeps_every_word(tokenizer) -> None:
    lay = layout(CONTEXT, tokenizer)
    assert lay.text(KeepAll().condense(Case(), lay, 0.1).kept) == CONTEXT


def test_rates_are_parsed_sorted_and_checked() -> None:
    assert parse_rates("0.5, 0.1,0.2,0.1") == (0.1, 0.2, 0.5)
    with pytest.raises(InvalidInputError, match="outside"):
        parse_rates("0.2,1.5")
    with pytest.raises(InvalidInputError, match="not a number"):
        parse_rates("0.2,fast")


def test_methods_are_parsed_in_order_and_unknown_names_rejected() -> None:
    assert parse_methods("random, none") == ("random", "none")
    with pytest.raises(InvalidInputError, match="'magic'"):
        parse_methods("random,magic")
    with pytest.raises(InvalidInputError, match="twice"):
        parse_methods("random,random")


def test_a_remembered_teacher_score_is_timed_at_what_computing_it_cost(tokenizer) -> None:
    class SlowTeacher(FakeTeacher):
        def score(self, question: str, context: str) -> np.ndarray:
            time.sleep(0.02)
            return super().score(question, context)

    slow = SlowTeacher()
    memo = MemoTeacher(slow)
    first = ScoredMethod("teacher", teacher_scorer(memo)).condense(Case(), layout(CONTEXT, tokenizer), 0.2)
    again = ScoredMethod("teacher", teacher_scorer(memo)).condense(Case(), layout(CONTEXT, tokenizer), 0.2)
    assert slow.calls == 1
    assert first.ms >= 20.0 and again.ms >= 20.0
    assert again.kept.tolist() == first.kept.tolist()
