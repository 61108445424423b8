"""Records `splitinfer eval` and `distill label` must not use as they are: refused with exit 2 and
the file and line that hold them, or, for an exact repeat, left out with one line saying so."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from cli_support import exit_code

from splitinfer.converters.corpus import build_cases, is_heldout, load_cases
from splitinfer.sdk import MAX_INPUT_CHARS, InvalidInputError


def _qa(i: int, **fields: object) -> dict:
    record = {
        "question": f"Who painted mural number {i}?",
        "context": f"Mural {i} was painted by Painter{i} long ago in the old town hall.",
        "answers": [f"Painter{i}"],
    }
    return {**record, **fields}


def _write(path: Path, records: list[dict], gz: bool = False) -> Path:
    text = "".join(json.dumps(r) + "\n" for r in records).encode("utf-8")
    path.write_bytes(gzip.compress(text) if gz else text)
    return path


def _eval(capsys, fmt: str, data: Path, *extra: str) -> tuple[int, str, str]:
    argv = ["eval", "--format", fmt, "--data", str(data), "--methods", "random,none", "--rates", "0.5"]
    code = exit_code([*argv, *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err.strip()


def _label(capsys, data: Path, out: Path, *extra: str) -> tuple[int, str]:
    argv = ["distill", "label", "--format", "qa", "--data", str(data), "--split", "all", "--output", str(out)]
    code = exit_code([*argv, "--quiet", *extra])
    return code, capsys.readouterr().err.strip()


def test_a_context_no_condenser_takes_is_refused_before_any_case_runs(tmp_path, capsys) -> None:
    context = "word " * (MAX_INPUT_CHARS // 5 + 1)
    data = _write(tmp_path / "big.jsonl", [_qa(0), _qa(1, context=context)])
    out = tmp_path / "condensed.jsonl"
    code, stdout, err = _eval(capsys, "qa", data, "--output", str(out))
    assert code == 2 and stdout == "" and len(err.splitlines()) == 1
    assert f"{data}:2: the context has {len(context):,} characters, more than the {MAX_INPUT_CHARS:,}" in err
    assert "split it into several records" in err and not out.exists()


def test_the_labelling_set_has_no_case_a_condenser_could_not_take(tmp_path) -> None:
    # distill label would run the teacher on it for many minutes and gigabytes, for a prompt no
    # device condenses; build_cases is what it labels.
    question = "why? " * (MAX_INPUT_CHARS // 5 + 1)
    data = _write(tmp_path / "big.jsonl", [_qa(0, question=question)])
    with pytest.raises(
        InvalidInputError, match=rf"big\.jsonl:1: the question has {len(question):,} characters"
    ):
        build_cases("qa", data)


def test_an_exact_repeat_is_used_once_and_said_so(tmp_path, capsys) -> None:
    data = _write(tmp_path / "facts.jsonl", [_qa(0), _qa(1), _qa(0), _qa(2), _qa(1)])
    code, stdout, err = _eval(capsys, "qa", data, "--json")
    assert code == 0 and json.loads(stdout)["config"]["cases"] == 3
    assert err == (
        f"splitinfer: warning: {data}: skipped 2 duplicate record(s), each the same as an earlier line "
        "(line 3 repeats line 1 and 1 more); each is used once"
    )


def test_a_repeated_gsm8k_problem_is_never_its_own_demonstration(tmp_path) -> None:
    problems = [
        {"question": f"Tom has {i} apples. How many?", "answer": f"He has {i}.\n#### {i}"} for i in range(12)
    ]
    cases = load_cases("gsm8k", _write(tmp_path / "g.jsonl", problems + problems[:4]))
    assert len(cases) == 12
    assert all(case.question not in case.context for case in cases)


def test_two_records_under_one_id_are_refused_before_labelling(tmp_path, capsys) -> None:
    # distill train reads labels by id, and --resume skips ids already done: the second would be lost.
    data = _write(tmp_path / "qa.jsonl", [_qa(0, id="a"), _qa(1, id="b"), _qa(2, id="a")])
    out = tmp_path / "labels.jsonl"
    code, err = _label(capsys, data, out)
    assert code == 2 and len(err.splitlines()) == 1 and not out.exists()
    assert f"{data}:3: id 'a' is also the id of the record at {data}:1; give each record its own 'id'" in err


def test_records_with_a_null_id_are_numbered_like_those_without(tmp_path, capsys) -> None:
    data = _write(tmp_path / "qa.jsonl", [_qa(0, id=None), _qa(1, id=None), _qa(2, id=7)])
    out = tmp_path / "condensed.jsonl"
    assert _eval(capsys, "qa", data, "--output", str(out))[0] == 0
    ids = {json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()}
    assert ids == {"qa-0", "qa-1", "7"}


def test_an_id_that_is_not_a_string_or_number_is_named(tmp_path, capsys) -> None:
    data = _write(tmp_path / "qa.jsonl", [_qa(0), _qa(1, id={"n": 1})])
    code, _, err = _eval(capsys, "qa", data)
    assert code == 2 and f"{data}:2: field 'id' must be a string or a whole number, got an object" in err


def test_an_answers_error_names_the_line_of_the_record(tmp_path, capsys) -> None:
    data = tmp_path / "qa.jsonl"
    data.write_text(json.dumps(_qa(0)) + "\n\n" + json.dumps(_qa(1, answers=[])) + "\n", encoding="utf-8")
    code, _, err = _eval(capsys, "qa", data)
    assert code == 2 and len(err.splitlines()) == 1
    assert f"{data}:3: case qa-1 has an empty 'answers' list" in err


def test_an_nq_record_whose_gold_passage_is_empty_is_refused(tmp_path, capsys) -> None:
    records = [
        {
            "question": f"what is mural {i} known for",
            "answers": [f"answer{i}"],
            "ctxs": [{"title": f"Mural {i}", "text": f"Mural {i} is known for answer{i}.", "isgold": True}],
        }
        for i in range(12)
    ]
    records[4]["ctxs"][0]["text"] = "  "
    data = _write(tmp_path / "nq.jsonl.gz", records, gz=True)
    code, _, err = _eval(capsys, "nq", data, "--split", "all")
    assert code == 2 and len(err.splitlines()) == 1
    assert f"{data}:5: the gold passage in 'ctxs' has an empty 'text'" in err


def test_a_split_that_leaves_no_record_names_the_file(tmp_path, capsys) -> None:
    train = [_qa(i) for i in range(8) if not is_heldout(_qa(i)["question"])]
    data = _write(tmp_path / "train-only.jsonl", train)
    code, _, err = _eval(capsys, "qa", data, "--split", "heldout")
    assert code == 2 and len(err.splitlines()) == 1
    assert f"{data}: no records of --split heldout (" in err and "try --split all" in err
