"""``splitinfer distill label`` and the labels file it writes (the input of ``distill train``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from splitinfer.cli.main import main
from splitinfer.converters.labels import LabelRecord, LabelsWriter, read_labels, write_labels
from splitinfer.sdk._errors import InvalidInputError
from splitinfer.sdk._text import split_words

CONTEXTS = [
    "Paris is the capital of France. The Seine flows through it.\nBerlin is the capital of Germany.",
    "Water boils at one hundred degrees. Ice melts at zero degrees.",
    "The violin has four strings. The cello is larger than the violin.",
]


def _qa(path: Path, n: int) -> Path:
    records = [{"question": f"question {i}?", "context": CONTEXTS[i % 3], "answers": ["x"]} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _label(data: Path, out: Path, *extra: str) -> int:
    args = ["distill", "label", "--format", "qa", "--data", str(data), "--split", "all", "--output", str(out)]
    return main([*args, "--quiet", *extra])


def _record(i: int, words: list[str], scores: list[float]) -> LabelRecord:
    return LabelRecord(f"c{i}", "qa", "train", "q?", words, scores, ["a"])


@pytest.mark.slow
def test_minilm_labels_every_word_of_every_case_then_resume_adds_only_new_ones(
    tmp_path: Path, capsys
) -> None:
    out = tmp_path / "labels.jsonl"
    assert _label(_qa(tmp_path / "qa.jsonl", 2), out) == 0
    meta, records = read_labels(out)
    assert meta["teacher"] == "minilm" and meta["format"] == "qa" and meta["count"] == 2
    assert meta["settings"]["model"].endswith("all-MiniLM-L6-v2") and meta["data"] == "qa.jsonl"
    for record, context in zip(records, CONTEXTS, strict=False):
        assert record.words == split_words(context)[0] and len(record.scores) == len(record.words)
        assert all(0.0 <= s <= 1.0 and round(s, 4) == s for s in record.scores)
    capsys.readouterr()
    assert _label(_qa(tmp_path / "qa.jsonl", 3), out, "--resume") == 0
    printed = capsys.readouterr().out
    assert "labelled 1 cases" in printed and "2 already done" in printed
    assert [r.id for r in read_labels(out)[1]] == ["qa-0", "qa-1", "qa-2"]


def test_resuming_with_another_teacher_setting_is_refused(tmp_path: Path, capsys) -> None:
    out = tmp_path / "labels.jsonl"
    write_labels(
        out, {"teacher": "minilm", "settings": {"region_weight": 0.1}, "format": "qa", "split": "all"}, []
    )
    assert _label(_qa(tmp_path / "qa.jsonl", 1), out, "--resume") == 2
    err = capsys.readouterr().err
    assert "different teacher settings (" in err and "region_weight: 0.1 then, 0.9 now" in err


def test_an_existing_labels_file_is_kept_unless_resume_or_overwrite_is_given(tmp_path: Path, capsys) -> None:
    out = tmp_path / "labels.jsonl"
    write_labels(out, {"teacher": "minilm"}, [_record(0, ["a"], [0.5])])
    before = out.read_bytes()
    assert _label(_qa(tmp_path / "qa.jsonl", 1), out) == 2
    assert "already exists; pass --resume" in capsys.readouterr().err and out.read_bytes() == before
    assert _label(tmp_path / "qa.jsonl", out, "--resume", "--overwrite") == 2
    assert "choose one" in capsys.readouterr().err and out.read_bytes() == before


def test_resuming_cases_built_another_way_is_refused(tmp_path: Path, capsys) -> None:
    from splitinfer.converters.teachers import get_teacher

    out = tmp_path / "labels.jsonl"
    meta = {
        "teacher": "minilm",
        "settings": get_teacher("minilm").settings(),
        "format": "qa",
        "split": "all",
        "distractors": None,
        "data": "qa.jsonl",
        "offset": 0,
        "seed": 1,
        "kinds": None,
    }
    write_labels(out, meta, [])
    assert _label(_qa(tmp_path / "qa.jsonl", 1), out, "--resume") == 2
    assert "different seed (1 then, 0 now)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "content",
    [b"my notes\nthe last line, without its newline", b"\x1f\x8b\x08\x00binary gzip bytes\xff\xfe"],
)
def test_resume_leaves_a_file_that_is_not_labels_untouched(tmp_path: Path, capsys, content: bytes) -> None:
    out = tmp_path / "notes.txt"
    out.write_bytes(content)
    assert _label(_qa(tmp_path / "qa.jsonl", 1), out, "--resume") == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and ("not valid JSON" in err or "not a labels file" in err)
    assert out.read_bytes() == content


def test_a_format_that_needs_data_says_so(tmp_path: Path, capsys) -> None:
    assert main(["distill", "label", "--format", "nq", "--output", str(tmp_path / "o.jsonl")]) == 2
    assert "--data is required" in capsys.readouterr().err


def test_a_missing_data_file_exits_2(tmp_path: Path, capsys) -> None:
    assert _label(tmp_path / "absent.jsonl", tmp_path / "o.jsonl") == 2
    assert "no such file" in capsys.readouterr().err


def test_distill_without_a_subcommand_says_what_to_do(capsys) -> None:
    assert main(["distill"]) == 2
    assert "distill label" in capsys.readouterr().err


def test_labels_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "l.jsonl"
    write_labels(out, {"teacher": "t"}, [_record(0, ["a", "b"], [0.12345, 1.0])])
    meta, [record] = read_labels(out)
    assert meta == {"teacher": "t"} and record.scores == [0.1235, 1.0] and record.words == ["a", "b"]


def test_an_interrupted_last_line_is_skipped_and_cut_on_resume(tmp_path: Path) -> None:
    out = tmp_path / "l.jsonl"
    write_labels(out, {"teacher": "t"}, [_record(0, ["a"], [0.5])])
    with out.open("a") as stream:
        stream.write('{"id": "c1", "words": ["b"')
    assert [r.id for r in read_labels(out)[1]] == ["c0"]
    with LabelsWriter(out, {"teacher": "t"}, resume=True) as writer:
        assert writer.done == {"c0"}
        writer.write(_record(1, ["b"], [0.25]))
    assert [r.id for r in read_labels(out)[1]] == ["c0", "c1"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scores": [0.5]}, "one number per word"),
        ({"scores": [0.5, 1.5]}, r"in \[0, 1\]"),
        ({"words": ["a", " "]}, "non-whitespace"),
        ({"answers": "a"}, "list of strings"),
    ],
)
def test_a_bad_record_is_named_by_line(tmp_path: Path, change: dict, message: str) -> None:
    record = {"id": "c", "source": "qa", "split": "train", "question": "q", "words": ["a", "b"]}
    record |= {"scores": [0.1, 0.2], "answers": ["a"]}
    record.update(change)
    out = tmp_path / "l.jsonl"
    out.write_text(json.dumps({"_meta": {}}) + "\n" + json.dumps(record) + "\n")
    with pytest.raises(InvalidInputError, match=f"l.jsonl:2: .*{message}"):
        read_labels(out)


def test_a_file_without_the_header_is_rejected(tmp_path: Path) -> None:
    out = tmp_path / "l.jsonl"
    out.write_text('{"id": "c"}\n')
    with pytest.raises(InvalidInputError, match="_meta"):
        read_labels(out)


def test_synthetic_cases_are_not_sliced_by_offset(tmp_path: Path, capsys) -> None:
    out = tmp_path / "labels.jsonl"
    args = ["distill", "label", "--format", "synthetic", "--offset", "4", "--limit", "4", "-o", str(out)]
    assert main(args) == 2
    assert "another --seed" in capsys.readouterr().err and not out.exists()
