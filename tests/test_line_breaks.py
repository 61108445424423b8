"""Line breaks as model input: a bundle with ``line_break_id`` reads that id before each word
that starts a line; labels record where lines break; ``distill train --line-breaks`` learns with
them and ``convert`` tells the SDK."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from sdk_bundles import build_test_bundle

from splitinfer.converters.labels import LabelRecord, read_labels, word_breaks, write_labels
from splitinfer.converters.windows import check_line_breaks, default_tokenizer, encode_prompt, prompt_windows
from splitinfer.sdk import Condenser
from splitinfer.sdk._bundle import read_bundle, write_bundle
from splitinfer.sdk._errors import BundleError, InvalidInputError
from splitinfer.sdk._segments import line_breaks
from splitinfer.sdk._selection import line_break_marks, model_tokens
from splitinfer.sdk._text import join_words, split_words

SEP = 102
PARAGRAPHS = "Rivers\nThe Nile is long.\n\n\nLakes\r\nBaikal is deep.\rIt is old. Very old."


def test_marks_count_the_line_breaks_before_each_word_at_most_two() -> None:
    words, gaps = split_words(PARAGRAPHS)
    assert words[:2] == ["Rivers", "The"]
    marks = line_break_marks(gaps)
    # Rivers: the first word, nothing before it; Lakes: three line breaks (a blank line), capped
    # at two; Baikal: \r\n is one line break; It: a lone \r is one too.
    assert list(zip(words, marks, strict=True)) == [
        ("Rivers", 0), ("The", 1), ("Nile", 0), ("is", 0), ("long.", 0), ("Lakes", 2),
        ("Baikal", 1), ("is", 0), ("deep.", 0), ("It", 1), ("is", 0), ("old.", 0), ("Very", 0), ("old.", 0),
    ]  # fmt: skip
    assert line_break_marks([]) == []
    assert line_break_marks([""]) == [0]


def test_model_tokens_put_the_id_before_a_word_s_own_tokens() -> None:
    ids = [(5,), (6, 7), (8,)]
    assert model_tokens(ids, [0, 2, 1], SEP) == [(5,), (SEP, SEP, 6, 7), (SEP, 8)]
    assert model_tokens(ids, [0, 2, 1], None) == ids


def test_kept_words_of_different_lines_stay_on_different_lines() -> None:
    words, gaps = split_words(PARAGRAPHS)
    at = {w: i for i, w in reversed(list(enumerate(words)))}  # first index of each word
    # A kept word before dropped ones takes the gap of theirs with the most line breaks: the
    # blank lines between "long." and "Lakes", \r\n and \r as written; its own gap otherwise.
    assert join_words(words, gaps, [at["Rivers"], at["Nile"], at["Baikal"]]) == "Rivers\nNile\n\n\nBaikal"
    assert join_words(words, gaps, [at["The"], at["Lakes"], at["It"]]) == "The\n\n\nLakes\r\nIt"
    assert join_words(words, gaps, [at["Nile"], at["long."]]) == "Nile long."
    assert join_words(words, gaps, [at["It"], 13]) == "It old."
    assert join_words(words, gaps, [at["Rivers"]]) == "Rivers" and join_words(words, gaps, []) == ""
    # A line separator (U+2028) is whitespace but ends no line, as for the segments.
    words, gaps = split_words("a b\u2028c d")
    assert join_words(words, gaps, [0, 3]) == "a d"


def test_the_condenser_keeps_the_lines_of_what_it_keeps() -> None:
    condenser = Condenser.default()
    text = "\n".join(
        f"Document [{i}](Title: Place {i}) Place {i} lies on a river. It has an old bridge and a market."
        for i in range(12)
    )
    result = condenser.condense(text, "Which place has a bridge?", rate=0.2, keep_digits=False)
    words, gaps = split_words(text)
    kept = result.kept_indices.tolist()
    assert result.text == join_words(words, gaps, kept)
    out_words, out_gaps = split_words(result.text)
    assert out_words == [words[i] for i in kept] and len(kept) > 12
    for k, (i, j) in enumerate(pairwise(kept)):
        # Consecutive kept words are on different lines exactly when they were.
        assert (line_breaks(out_gaps[k]) > 0) == any(line_breaks(g) for g in gaps[i:j]), (words[i], words[j])


def _windows_seen(condenser: Condenser, monkeypatch: pytest.MonkeyPatch) -> list[np.ndarray]:
    seen: list[np.ndarray] = []
    score = condenser._runner.score

    def spy(window: np.ndarray, question: np.ndarray) -> np.ndarray:
        seen.append(window.copy())
        return score(window, question)

    monkeypatch.setattr(condenser._runner, "score", spy)
    return seen


@pytest.fixture(scope="module")
def line_break_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_test_bundle(tmp_path_factory.mktemp("lb") / "lb.tflite", line_break_id=SEP)


@pytest.fixture(scope="module")
def plain_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_test_bundle(tmp_path_factory.mktemp("plain") / "plain.tflite")


def test_a_bundle_with_a_line_break_id_reads_it_at_line_starts_but_budgets_count_words_only(
    line_break_bundle: Path, plain_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads, plain = Condenser.load(line_break_bundle), Condenser.load(plain_bundle)
    assert reads.line_break_id == SEP and plain.line_break_id is None
    seen_reads, seen_plain = _windows_seen(reads, monkeypatch), _windows_seen(plain, monkeypatch)
    a = reads.condense(PARAGRAPHS, "how deep is Baikal?", rate=0.5)
    b = plain.condense(PARAGRAPHS, "how deep is Baikal?", rate=0.5)
    tokenizer = reads.tokenizer
    words, gaps = split_words(PARAGRAPHS)
    ids = tokenizer.encode_words(words)
    expected = [t for word in model_tokens(ids, line_break_marks(gaps), SEP) for t in word]
    (window,) = seen_reads
    assert window[: len(expected)].tolist() == expected and not window[len(expected) :].any()
    assert list(window).count(SEP) == 5 and SEP not in seen_plain[0]
    # The ids are read, not counted: the same tokens, budget and count either way.
    assert a.original_tokens == b.original_tokens == sum(map(len, ids))
    assert a.condensed_tokens <= round(0.5 * a.original_tokens) + 1
    assert reads.count_tokens(PARAGRAPHS) == plain.count_tokens(PARAGRAPHS)


def test_line_break_ids_take_room_in_the_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small = Condenser.load(
        build_test_bundle(tmp_path / "lb16.tflite", max_seq_len=16, max_question_len=8, line_break_id=SEP)
    )
    seen = _windows_seen(small, monkeypatch)
    text = "\n\n".join(["alpha beta gamma delta"] * 6)  # 24 tokens + 10 line-break ids
    small.condense(text, "beta?", rate=0.5)
    assert sum(int((w != 0).sum()) for w in seen) == 24 + 10
    assert all(int((w != 0).sum()) <= 16 for w in seen) and len(seen) == 3


@pytest.mark.parametrize("value", [True, -1, 30522, "102", 1.5])
def test_a_line_break_id_that_is_no_token_of_the_vocabulary_is_refused_at_load(
    plain_bundle: Path, tmp_path: Path, value: object
) -> None:
    bundle = read_bundle(plain_bundle)
    bad = write_bundle(
        tmp_path / "bad.tflite", bundle.model, bundle.vocab, {**bundle.manifest, "line_break_id": value}
    )
    with pytest.raises(
        BundleError, match=r"line_break_id must be a token id of its vocabulary \(0 to 30521\)"
    ):
        Condenser.load(bad)


def test_labels_record_where_lines_break_and_read_it_back(tmp_path: Path) -> None:
    words, gaps = split_words(PARAGRAPHS)
    breaks = word_breaks(gaps)
    assert breaks == [[1, 1], [5, 3], [6, 1], [9, 1]]
    record = LabelRecord("c-0", "toy", "train", "q", words, [0.5] * len(words), ["Baikal"], breaks)
    path = tmp_path / "labels.jsonl"
    write_labels(path, {"teacher": "t", "line_breaks": True}, [record])
    meta, (back,) = read_labels(path)
    assert meta["line_breaks"] is True and back.breaks == breaks
    old = LabelRecord("c-1", "toy", "train", "q", words, [0.5] * len(words), [])
    assert "breaks" not in json.loads(old.to_json())


@pytest.mark.parametrize("breaks", [[[0, 1]], [[14, 1]], [[3, 0]], [[2]], [[2, True]], "1,2", [[2, 1.0]]])
def test_a_labels_record_with_malformed_breaks_is_refused_naming_the_field(
    tmp_path: Path, breaks: object
) -> None:
    words = split_words(PARAGRAPHS)[0]
    record = {"id": "c", "source": "s", "split": "train", "question": "q", "words": words}
    record |= {"scores": [0.1] * len(words), "answers": [], "breaks": breaks}
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"_meta": {"teacher": "t"}}) + "\n" + json.dumps(record) + "\n")
    with pytest.raises(
        InvalidInputError, match=r"'breaks' must be a list of \[word index, line breaks\] pairs"
    ):
        read_labels(path)


def test_the_student_s_windows_hold_the_ids_its_budget_counts_do_not() -> None:
    tokenizer = default_tokenizer()
    words, gaps = split_words(PARAGRAPHS)
    record = {"words": words, "scores": [0.5] * len(words), "question": "q", "breaks": word_breaks(gaps)}
    reads = encode_prompt(tokenizer, record, 8, line_break_id=SEP)
    plain = encode_prompt(tokenizer, record, 8)
    assert np.array_equal(reads.counts, plain.counts)
    assert reads.model_counts.sum() == plain.counts.sum() + 5
    windows, spans = prompt_windows(reads, 64)
    assert spans == [(0, len(words), int(reads.model_counts.sum()))]
    expected = [
        t for w in model_tokens(tokenizer.encode_words(words), line_break_marks(gaps), SEP) for t in w
    ]
    assert windows[0, : len(expected)].tolist() == expected


def test_labels_that_do_not_record_line_breaks_are_refused_for_a_student_that_reads_them() -> None:
    check_line_breaks({"line_breaks": True}, "new.jsonl")
    with pytest.raises(InvalidInputError, match=r"old\.jsonl: these labels do not record where lines break"):
        check_line_breaks({"teacher": "minilm"}, "old.jsonl")


def test_resuming_labels_made_before_line_breaks_were_recorded_is_refused(tmp_path: Path) -> None:
    from splitinfer.converters.labels import LabelsWriter

    path = tmp_path / "old.jsonl"
    words = ["a", "b"]
    write_labels(
        path, {"teacher": "t", "format": "nq"}, [LabelRecord("c", "s", "train", "q", words, [0.1, 0.2], [])]
    )
    with pytest.raises(
        InvalidInputError, match=r"labelled by an older splitinfer.*label again into a new --output"
    ):
        LabelsWriter(path, {"teacher": "t", "format": "nq", "line_breaks": True}, resume=True)


def test_a_student_trained_with_line_breaks_converts_to_a_bundle_that_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("tensorflow")
    from dataclasses import replace

    from test_student_support import tiny_options
    from test_student_support import write_labels as toy_labels

    from splitinfer.cli.main import main
    from splitinfer.converters.train import train

    old, labels = toy_labels(tmp_path / "old.jsonl", line_breaks=False), toy_labels(tmp_path / "lb.jsonl")
    model = tmp_path / "student.keras"
    with pytest.raises(InvalidInputError, match="do not record where lines break"):
        train(tiny_options(old, model, epochs=1))  # reading line breaks is the default
    assert train(replace(tiny_options(old, model, epochs=1), line_breaks=False))["line_break_id"] is None
    summary = train(tiny_options(labels, model, epochs=1))
    assert summary["line_break_id"] == SEP
    bundle = tmp_path / "condenser.tflite"
    code = main(
        ["convert", str(model), "--output", str(bundle), "--mode", "float32", "--parity-data", str(labels)]
    )
    assert code == 0
    condenser = Condenser.load(bundle)
    assert (
        condenser.manifest["line_break_id"] == SEP and "line_break_id" not in condenser.manifest["training"]
    )
    assert "Line breaks: token id 102" in read_bundle(bundle).files["model_card.md"].decode()
    seen = _windows_seen(condenser, monkeypatch)
    condenser.condense(
        "The capital of France is Paris.\n\nMarkets sell bread.", "capital of France?", rate=0.5
    )
    assert list(seen[0]).count(SEP) == 2
