"""``splitinfer distill label`` and the labels file it writes (the input of ``distill train``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import exit_code

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
    meta, records = read_labels(out)
    assert [r.id for r in records] == ["qa-0", "qa-1", "qa-2"] and meta["count"] == 3


def test_resuming_with_another_teacher_setting_is_refused(tmp_path: Path, capsys) -> None:
    out = tmp_path / "labels.jsonl"
    write_labels(
        out, {"teacher": "minilm", "settings": {"region_weight": 0.1}, "format": "qa", "split": "all"}, []
    )
    assert _label(_qa(tmp_path / "qa.jsonl", 1), out, "--resume") == 2
    err = capsys.readouterr().err
    assert "different teacher settings (" in err and "region_weight: 0.1 then, 0.9 now" in err


def _labelled(out: Path, ids: list[int], count: int) -> None:
    meta = {"teacher": "minilm", "format": "qa", "split": "all", "line_breaks": True, "count": count}
    records = [LabelRecord(f"qa-{i}", "qa", "all", f"question {i}?", ["a"], [0.5], ["x"]) for i in ids]
    write_labels(out, meta, records)


def test_resuming_a_file_that_holds_more_cases_than_this_run_labels_is_refused(
    tmp_path: Path, capsys
) -> None:
    # Training reads every record of a file: resuming three labelled cases with --limit 2 must not
    # leave a file of three that the run's flags call two.
    out = tmp_path / "labels.jsonl"
    _labelled(out, [0, 1, 2], 3)
    before = out.read_bytes()
    assert _label(_qa(tmp_path / "qa.jsonl", 3), out, "--resume", "--limit", "2") == 2
    err = capsys.readouterr().err
    assert "holds 1 labelled case(s) that this run would not label (such as 'qa-2')" in err
    assert "larger --limit" in err and out.read_bytes() == before


def test_resuming_over_the_cases_already_done_keeps_them_and_records_the_runs_count(
    tmp_path: Path, capsys
) -> None:
    out = tmp_path / "labels.jsonl"
    _labelled(out, [0, 1], 5)  # a run over 5 cases stopped after 2; resumed now over those 2 alone
    records = read_labels(out)[1]
    assert _label(_qa(tmp_path / "qa.jsonl", 2), out, "--resume") == 0
    assert "0 cases" in capsys.readouterr().out
    meta, after = read_labels(out)
    assert meta["count"] == 2 and after == records


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


def test_a_layout_is_refused_for_data_that_is_not_nq(tmp_path: Path, capsys) -> None:
    out = tmp_path / "labels.jsonl"
    assert _label(_qa(tmp_path / "qa.jsonl", 1), out, "--layout", "titles") == 2
    assert "--layout is for --format nq" in capsys.readouterr().err and not out.exists()
    assert _label(_qa(tmp_path / "qa.jsonl", 1), out, "--questions", "swapped") == 2
    assert "--questions is for --format nq" in capsys.readouterr().err and not out.exists()


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


def test_an_interrupted_last_line_is_skipped_and_cut_on_resume(tmp_path: Path, capsys) -> None:
    out = tmp_path / "l.jsonl"
    write_labels(out, {"teacher": "t"}, [_record(0, ["a"], [0.5])])
    with out.open("a") as stream:
        stream.write('{"id": "c1", "words": ["b"')
    assert [r.id for r in read_labels(out)[1]] == ["c0"]
    assert (
        "l.jsonl:3: the last line is cut short (an interrupted write?); it is skipped"
        in capsys.readouterr().err
    )
    with LabelsWriter(out, {"teacher": "t"}, resume=True) as writer:
        assert writer.done == {"c0"}
        writer.write(_record(1, ["b"], [0.25]))
    assert [r.id for r in read_labels(out)[1]] == ["c0", "c1"]


def test_a_whole_last_record_without_its_newline_is_read(tmp_path: Path, capsys) -> None:
    # A file written by jq or a script often ends without a newline: its last record counts.
    out = tmp_path / "l.jsonl"
    write_labels(out, {"teacher": "t"}, [_record(0, ["a"], [0.5]), _record(1, ["b"], [0.25])])
    out.write_bytes(out.read_bytes().rstrip(b"\n"))
    assert [r.id for r in read_labels(out)[1]] == ["c0", "c1"]
    assert capsys.readouterr().err == ""


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


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--limit", "0"], "--limit must be at least 1 case, got 0"),
        (["--offset", "3"], "--offset 3 is past the end of the data: "),
        (["--offset", "7", "--limit", "2"], "qa.jsonl has 3 cases of --split all; use an --offset below 3"),
    ],
)
def test_a_run_with_nothing_to_label_exits_2_and_writes_no_file(
    tmp_path: Path, capsys, extra: list[str], message: str
) -> None:
    out = tmp_path / "labels.jsonl"
    assert _label(_qa(tmp_path / "qa.jsonl", 3), out, *extra) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and not out.exists()


def test_overwrite_refuses_to_write_the_labels_over_the_data_file(tmp_path: Path, capsys) -> None:
    data = _qa(tmp_path / "qa.jsonl", 2)
    before = data.read_bytes()
    assert _label(data, data, "--overwrite") == 2
    assert "--output" in capsys.readouterr().err and data.read_bytes() == before
    assert _label(data, tmp_path / "." / "qa.jsonl", "--resume") == 2
    assert "is the --data file" in capsys.readouterr().err and data.read_bytes() == before


@pytest.mark.parametrize("output", ["/proc/labels.jsonl", "{tmp}/file.txt/labels.jsonl"])
def test_an_output_that_cannot_be_written_exits_2_before_any_case_is_built(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch, output: str
) -> None:
    import splitinfer.converters.corpus as corpus

    def no_cases(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cases were built before --output was checked")

    monkeypatch.setattr(corpus, "build_cases", no_cases)
    (tmp_path / "file.txt").write_text("a file, not a folder")
    out = Path(output.replace("{tmp}", str(tmp_path)))
    assert _label(_qa(tmp_path / "qa.jsonl", 1), out) == 2
    err = capsys.readouterr().err.strip()
    assert "--output" in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_a_run_that_fails_before_its_first_label_leaves_the_old_file_or_none(tmp_path: Path) -> None:
    new, old = tmp_path / "new.jsonl", tmp_path / "old.jsonl"
    write_labels(old, {"teacher": "t"}, [_record(0, ["a"], [0.5])])
    before = old.read_bytes()
    for path, overwrite in ((new, False), (old, True)):
        with pytest.raises(RuntimeError), LabelsWriter(path, {"teacher": "t2"}, overwrite=overwrite):
            raise RuntimeError("the teacher could not start")
    assert not new.exists() and old.read_bytes() == before
    with LabelsWriter(old, {"teacher": "t2"}, overwrite=True) as writer:
        writer.write(_record(1, ["b"], [0.25]))
    meta, records = read_labels(old)
    assert meta == {"teacher": "t2"} and [r.id for r in records] == ["c1"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


class _EchoTeacher:
    """Scores every word 0.5, instantly."""

    name = "echo"

    def settings(self) -> dict:
        return {}

    def score(self, question: str, context: str):
        import numpy as np

        return np.full(len(split_words(context)[0]), 0.5, dtype=np.float32)


def test_the_progress_bar_is_drawn_only_when_stderr_is_a_terminal(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from splitinfer.converters.corpus import build_cases
    from splitinfer.converters.labels import label_corpus

    cases = build_cases("qa", _qa(tmp_path / "qa.jsonl", 2), split=None)
    label_corpus(_EchoTeacher(), cases, tmp_path / "a.jsonl", {"teacher": "echo"}, progress=True)
    assert capsys.readouterr().err == ""  # stderr is not a terminal here (as in CI)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    label_corpus(_EchoTeacher(), cases, tmp_path / "b.jsonl", {"teacher": "echo"}, progress=True)
    assert "label echo" in capsys.readouterr().err
    label_corpus(_EchoTeacher(), cases, tmp_path / "c.jsonl", {"teacher": "echo"}, progress=False)
    assert capsys.readouterr().err == ""


def test_help_states_the_exit_codes(capsys) -> None:
    assert exit_code(["distill", "label", "--help"]) == 0
    out = capsys.readouterr().out
    assert "exit codes:" in out and all(f"\n  {code}  " in out for code in range(4))
