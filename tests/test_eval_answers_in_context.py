"""``splitinfer eval`` on a qa file whose answers are not all in their contexts (a computed
number, an answer written otherwise): it says how many, since no method can keep them and the
answer retention of every row is lower for it."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import exit_code


def _write(path: Path, answers: list[str]) -> Path:
    records = [
        {"question": f"How many apples in crate {i}?", "context": f"Crate {i} holds 4 apples and 3 pears.",
         "answers": [answer]}
        for i, answer in enumerate(answers)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _eval(capsys, data: Path) -> tuple[int, dict, str]:
    argv = ["eval", "--format", "qa", "--data", str(data), "--methods", "none", "--json"]
    code = exit_code(argv)
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err.strip()


def test_answers_missing_from_their_contexts_are_counted_in_a_warning(tmp_path: Path, capsys) -> None:
    code, doc, err = _eval(capsys, _write(tmp_path / "sums.jsonl", ["4 apples", "7", "seven", "4"]))
    assert code == 0 and doc["results"][0]["answer_retention"] == 0.5
    assert err.startswith("splitinfer eval: warning: 2 of 4 cases hold no gold answer in their context")
    assert "such as qa-1, answers ['7']" in err and "the none row is the most any method keeps" in err


def test_no_warning_when_every_answer_is_in_its_context(tmp_path: Path, capsys) -> None:
    code, doc, err = _eval(capsys, _write(tmp_path / "found.jsonl", ["4 apples", "3 pears", "The 4 apples"]))
    assert code == 0 and doc["results"][0]["answer_retention"] == 1.0 and err == ""
