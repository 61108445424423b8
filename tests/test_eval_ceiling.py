"""The agreement ceiling: the minilm teacher with cheaper encoders, scored like the student."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from teacher_cases import CONTEXT, QUESTION

from splitinfer.converters.teachers.minilm import MiniLMTeacher
from splitinfer.evaluation import ceiling
from splitinfer.evaluation.ceiling import Variant, make_teacher, measure, parse_variants
from splitinfer.sdk._errors import InvalidInputError


def test_variants_parse_in_order() -> None:
    names = [v.name for v in parse_variants("student, int8,layers:3,static,bfloat16,student-segments")]
    assert names == ["student", "int8", "layers:3", "static", "bfloat16", "student-segments"]
    assert parse_variants("layers:6")[0].layers == 6


@pytest.mark.parametrize("bad", ["fp8", "layers:0", "layers:7", "layers:x", "layers", ""])
def test_an_unknown_variant_is_named(bad: str) -> None:
    with pytest.raises(InvalidInputError, match="--variants"):
        parse_variants(bad)


def test_bad_flags_exit_2_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert ceiling.main(["--variants", "layers:9"]) == 2
    assert "layers:9" in capsys.readouterr().err
    assert ceiling.main(["--limit", "0"]) == 2
    assert "--limit" in capsys.readouterr().err


def test_a_bundle_that_is_not_one_exits_2_before_the_teacher_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Cases that cost nothing to load, so only the bundle can fail.
    monkeypatch.setattr(ceiling, "load_cases", lambda limit, data: [])
    bad = tmp_path / "student.tflite"
    bad.write_bytes(b"not a model at all")
    assert ceiling.main(["--variants", "int8,student", "--model", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "student.tflite" in err and "Traceback" not in err


def test_the_full_encoder_is_the_teacher_and_a_cut_one_is_not() -> None:
    full = make_teacher(Variant("layers:6", layers=6)).score(QUESTION, CONTEXT)
    reference = MiniLMTeacher().score(QUESTION, CONTEXT)
    np.testing.assert_allclose(full, reference, atol=1e-6)
    for variant in (Variant("layers:1", layers=1), Variant("int8")):
        scores = make_teacher(variant).score(QUESTION, CONTEXT)
        assert scores.shape == reference.shape
        assert not np.allclose(scores, reference, atol=1e-4), variant.name


def test_measure_scores_each_variant_against_the_teacher() -> None:
    cases = [
        SimpleNamespace(id="nq-a", question=QUESTION, context=CONTEXT, answers=["Wilhelm Conrad Röntgen"]),
        SimpleNamespace(id="nq-b", question="where is mount everest", context=CONTEXT, answers=["Himalayas"]),
    ]
    runner = ceiling.load_student(None)
    result = measure(
        cases,
        [Variant("layers:6", layers=6), Variant("student"), Variant("device")],
        0.33,
        runner,
        line_break_id=ceiling.load_line_break_id(None),
    )
    assert result["cases"] == {"nq": 2, "essay": 0, "kv": 0, "gsm8k": 0}
    full, student, device = result["rows"]
    assert full["variant"] == "layers:6" and full["f1"] == 1.0 and full["f1_by_source"] == {"nq": 1.0}
    assert student["variant"] == "student" and 0.0 < student["f1"] <= 1.0
    assert student["ms_per_case"] > 0.0
    assert device["variant"] == "device" and 0.0 < device["f1"] <= 1.0
    # Answers kept: the full encoder's are the teacher's; each is a share of the two cases.
    assert full["answers_kept"] == result["teacher_answers_kept"]
    for row in (student, device):
        assert set(row["answers_kept"]) == {"forced", "free"}
        for by_rate in row["answers_kept"].values():
            assert set(by_rate) == {"0.1", "0.2"} and set(by_rate.values()) <= {0.0, 50.0, 100.0}


def test_the_device_variant_keeps_the_words_the_condenser_keeps() -> None:
    from splitinfer.converters.agreement import keep_mask
    from splitinfer.converters.labels import word_breaks
    from splitinfer.converters.windows import default_tokenizer, encode_prompt
    from splitinfer.sdk import Condenser
    from splitinfer.sdk._text import split_words

    context = CONTEXT + (
        "\nDocument [4](Title: Alps) The Alps are a mountain range in Europe. Mont Blanc is their highest "
        "peak, on the border of France and Italy. Many climbers visit it every summer.\nDocument [5](Title: "
        "Nepal) Nepal is a country in South Asia. Its capital is Kathmandu. The country has eight of the ten "
        "highest mountains in the world, and tourism is a large industry."
    )
    cases = [SimpleNamespace(id="nq-a", question=QUESTION, context=context)]
    runner = ceiling.load_student(None)
    words, gaps = split_words(context)
    record = {"id": "nq-a", "source": "nq", "split": "heldout", "words": words, "scores": [0.0] * len(words)}
    record |= {"question": QUESTION, "breaks": word_breaks(gaps)}
    # The prompt as the bundle's model reads it (line breaks too, if it reads them).
    prompts = [
        encode_prompt(default_tokenizer(), record, runner.max_question_len, ceiling.load_line_break_id(None))
    ]
    scores = ceiling.device_scores(cases, prompts, runner, ceiling.load_selection(None))[0]
    kept, _ = keep_mask(scores, prompts[0].counts, words, 0.33)
    condensed = Condenser.default().condense(context, QUESTION, rate=0.33)
    assert np.flatnonzero(kept).tolist() == condensed.kept_indices.tolist()
    # ...which here are not the words the unsmoothed scores keep: the variants measure two things.
    unsmoothed, _ = keep_mask(ceiling.student_scores(prompts, runner)[0], prompts[0].counts, words, 0.33)
    assert not np.array_equal(unsmoothed, kept)


def test_answers_kept_choose_words_as_eval_does() -> None:
    from splitinfer.sdk._text import split_words

    context = CONTEXT + " It was first given in 1901."
    words, _ = split_words(context)
    answer = [i for i, w in enumerate(words) if w in ("Wilhelm", "Conrad", "Röntgen")]
    year = words.index("1901.")
    on_answer = np.zeros(len(words), dtype=np.float32)
    on_answer[answer] = 1.0
    elsewhere = 1.0 - on_answer
    name = SimpleNamespace(id="nq-a", question=QUESTION, context=context, answers=["Wilhelm Conrad Röntgen"])
    when = SimpleNamespace(id="nq-b", question="when was it first given", context=context, answers=["1901"])
    kept = ceiling.answers_kept([name], [on_answer])
    assert kept == {"forced": {"0.1": 100.0, "0.2": 100.0}, "free": {"0.1": 100.0, "0.2": 100.0}}
    kept = ceiling.answers_kept([name], [elsewhere])
    assert kept == {"forced": {"0.1": 0.0, "0.2": 0.0}, "free": {"0.1": 0.0, "0.2": 0.0}}
    # A number survives low scores only when numbers are forced, as in eval's default.
    low_year = np.ones(len(words), dtype=np.float32)
    low_year[year] = 0.0
    kept = ceiling.answers_kept([when, name], [low_year, on_answer], rates=(0.1,))
    assert kept == {"forced": {"0.1": 100.0}, "free": {"0.1": 50.0}}


def test_answers_kept_count_nq_cases_with_answers_only() -> None:
    scores = [np.ones(3, dtype=np.float32)]
    essay = SimpleNamespace(id="essay-1", question="q", context="one two three", answers=["two"])
    unanswered = SimpleNamespace(id="nq-c", question="q", context="one two three")
    assert ceiling.answers_kept([essay], scores) is None
    assert ceiling.answers_kept([unanswered], scores) is None


def test_the_teacher_comes_from_the_eval_cache_and_the_variants_never_do(tmp_path) -> None:
    from splitinfer.evaluation.cache import EvalCache

    cases = [
        SimpleNamespace(id="nq-a", question=QUESTION, context=CONTEXT, answers=["Wilhelm Conrad Röntgen"])
    ]
    cache = EvalCache(tmp_path / "eval.sqlite")
    first = measure(cases, [Variant("layers:1", layers=1)], 0.33, cache=cache)
    assert cache.counts()["scores"] == 1  # the teacher's; the cut encoder's are not stored
    again = measure(cases, [Variant("layers:1", layers=1)], 0.33, cache=cache)

    def timeless(result: dict) -> list[dict]:
        return [{**row, "ms_per_case": None} for row in result["rows"]]

    assert timeless(again) == timeless(first)
    assert again["teacher_ms_per_case"] == first["teacher_ms_per_case"]
    assert ceiling.make_teacher(Variant("layers:1", layers=1)).fingerprint is None


def test_segment_order_ranks_segments_by_one_scorer_and_words_by_the_other() -> None:
    seg = SimpleNamespace
    segments = [seg(start=0, end=3), seg(start=3, end=5), seg(start=5, end=8)]
    # outer: segment means 0.5, 0.9, 0.1 -> order 1, 0, 2 (one high word does not lift the last)
    outer = np.array([0.5, 0.5, 0.5, 0.9, 0.9, 0.0, 0.0, 0.3], dtype=np.float32)
    # inner: inside each segment, the reverse of text order, but for a tie in the last
    inner = np.array([0.1, 0.2, 0.3, 0.4, 0.8, 0.5, 0.5, 0.0], dtype=np.float32)
    order = np.argsort(-ceiling.segment_order(outer, inner, segments), kind="stable").tolist()
    assert order == [4, 3, 2, 1, 0, 5, 6, 7]
    # Equal segment means keep text order.
    flat = np.zeros(8, dtype=np.float32)
    assert np.argsort(-ceiling.segment_order(flat, flat, segments), kind="stable").tolist() == list(range(8))


def test_the_hybrids_take_segments_from_one_scorer_and_words_from_the_other() -> None:
    from splitinfer.sdk._text import split_words

    cases = [
        SimpleNamespace(id="nq-a", question=QUESTION, context=CONTEXT, answers=["Wilhelm Conrad Röntgen"])
    ]
    runner = ceiling.load_student(None)
    result = measure(
        cases,
        [Variant("teacher-segments"), Variant("student-segments")],
        0.33,
        runner,
        line_break_id=ceiling.load_line_break_id(None),
    )
    rows = {row["variant"]: row for row in result["rows"]}
    assert set(rows) == {"teacher-segments", "student-segments"}
    for row in rows.values():
        assert 0.0 < row["f1"] <= 1.0 and set(row["answers_kept"]) == {"forced", "free"}
    # The teacher's segments tile the context's words, so every word gets a place in the order.
    words, _ = split_words(CONTEXT)
    counts = np.array([len(p) for p in MiniLMTeacher().tokenizer.encode_words(words)])
    segments = ceiling.teacher_segments(CONTEXT, counts)
    assert segments[0].start == 0 and segments[-1].end == len(words)
    assert all(a.end == b.start for a, b in pairwise(segments))
    assert rows["teacher-segments"]["f1"] != rows["student-segments"]["f1"]
