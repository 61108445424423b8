"""The minilm teacher: question-aware word scores from all-MiniLM-L6-v2 (the real model, on CPU)."""

from __future__ import annotations

import re
import string
from pathlib import Path

import numpy as np
import pytest
from teacher_cases import CONTEXT, QUESTION

from splitinfer.converters.teachers import Teacher, get_teacher
from splitinfer.converters.teachers.minilm import MiniLMTeacher
from splitinfer.sdk._selection import forced_mask, select, token_budget
from splitinfer.sdk._text import join_words, split_words

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="module")
def teacher() -> MiniLMTeacher:
    return MiniLMTeacher()


@pytest.fixture(scope="module")
def scores(teacher: MiniLMTeacher) -> np.ndarray:
    return teacher.score(QUESTION, CONTEXT)


def _condense(
    teacher: MiniLMTeacher, context: str, scores: np.ndarray, rate: float, digits: bool = True
) -> str:
    words, gaps = split_words(context)
    counts = [len(p) for p in teacher.tokenizer.encode_words(words)]
    kept = select(
        scores, counts, forced_mask(words, keep_digits=digits), token_budget(sum(counts), rate=rate)
    )
    return join_words(words, gaps, kept)


def test_minilm_is_a_teacher_built_by_name() -> None:
    teacher = get_teacher("minilm", region_weight=0.8)
    assert isinstance(teacher, Teacher) and teacher.settings()["region_weight"] == 0.8


def test_one_score_in_the_unit_interval_per_word(scores: np.ndarray) -> None:
    assert scores.shape == (len(split_words(CONTEXT)[0]),) and scores.dtype == np.float32
    assert float(scores.min()) >= 0.0 and float(scores.max()) <= 1.0


def test_the_sentence_that_answers_ranks_above_the_distractors(
    teacher: MiniLMTeacher, scores: np.ndarray
) -> None:
    words = split_words(CONTEXT)[0]
    answer = words.index("Röntgen")
    everest = words.index("Everest")
    bread = words.index("staple")
    assert scores[answer] > scores[everest] and scores[answer] > scores[bread]
    # Digits are not forced here: in so short a context the "[n](Title:" headers would eat the budget.
    assert "Wilhelm Conrad Röntgen" in _condense(teacher, CONTEXT, scores, 0.2, digits=False)


def test_inside_the_relevant_sentence_function_words_go_first(scores: np.ndarray) -> None:
    words = split_words(CONTEXT)[0]
    start = words.index("awarded")
    assert scores[words.index("Röntgen", start)] > scores[words.index("to", start)]
    assert scores[words.index("Wilhelm", start)] > scores[words.index("was", start - 3)]


def test_a_question_about_another_document_moves_the_scores(
    teacher: MiniLMTeacher, scores: np.ndarray
) -> None:
    other = teacher.score("what is bread made from", CONTEXT)
    words = split_words(CONTEXT)[0]
    assert other[words.index("flour")] > other[words.index("Röntgen")]
    assert not np.allclose(other, scores)


def test_the_same_inputs_give_the_same_scores(teacher: MiniLMTeacher, scores: np.ndarray) -> None:
    np.testing.assert_allclose(teacher.score(QUESTION, CONTEXT), scores, atol=1e-5)


def test_an_empty_context_has_no_scores(teacher: MiniLMTeacher) -> None:
    assert teacher.score("anything?", "  \n ").shape == (0,)


def _normalise(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.skipif(not (SHARED / "nq-open-train.jsonl.gz").is_file(), reason="../shared/data is absent")
def test_on_hard_nq_cases_the_answer_survives_a_third(teacher: MiniLMTeacher) -> None:
    from splitinfer.converters.corpus import load_cases

    cases = load_cases("nq", SHARED / "nq-open-train.jsonl.gz", split="train", limit=12)
    kept = 0
    for case in cases:
        text = _normalise(_condense(teacher, case.context, teacher.score(case.question, case.context), 0.33))
        kept += any(_normalise(a) in text for a in case.answers)
    assert kept >= 10
