"""Teacher scores kept on disk: reused while the teacher is the same, never across a change of it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from splitinfer.cli.main import main as cli_main
from splitinfer.converters.teachers.base import source_fingerprint
from splitinfer.converters.teachers.minilm import MiniLMTeacher
from splitinfer.evaluation.build import MemoTeacher
from splitinfer.evaluation.teacher_cache import TeacherScoreCache, case_key
from splitinfer.sdk._errors import InvalidInputError

QUESTION = "Who chaired the committee?"
CONTEXT = "The committee met in Geneva. Its chair, Amelia Hartwell, opened the session."


class CountingTeacher:
    """Scores each word by its length, and counts its calls."""

    name = "counting"

    def __init__(self, fingerprint: str | None = "v1") -> None:
        self.calls = 0
        if fingerprint is not None:
            self.fingerprint = lambda: fingerprint

    def score(self, question: str, context: str) -> np.ndarray:
        self.calls += 1
        return np.array([len(w) / 10 for w in context.split()], dtype=np.float64)


def test_scores_and_their_time_come_back_exactly_after_the_file_is_reopened(tmp_path: Path) -> None:
    path = tmp_path / "scores.sqlite"
    scores = np.array([0.1, 1 / 3, 0.999999, 0.0], dtype=np.float32)
    cache = TeacherScoreCache(path)
    cache.put("k", scores, 1234.5)
    cache.close()
    again = TeacherScoreCache(path)
    got, ms = again.get("k")
    assert got.dtype == np.float32 and got.tolist() == scores.tolist() and ms == 1234.5
    assert again.get("other") is None and len(again) == 1


def test_a_case_key_changes_with_the_fingerprint_the_question_and_the_context() -> None:
    base = case_key("v1", "q", "c")
    assert len({base, case_key("v2", "q", "c"), case_key("v1", "q2", "c"), case_key("v1", "q", "c2")}) == 4
    # The parts are length-prefixed: moving text from the question to the context is another case.
    assert case_key("v1", "ab", "c") != case_key("v1", "a", "bc")


def test_a_second_run_reuses_every_score_and_reports_what_computing_it_took(tmp_path: Path) -> None:
    path = tmp_path / "scores.sqlite"
    teacher = CountingTeacher()
    first = MemoTeacher(teacher, TeacherScoreCache(path))
    scores = first.score(QUESTION, CONTEXT)
    computed_ms = first.last_ms
    assert (first.computed, first.reused, teacher.calls) == (1, 0, 1)

    # A new process: a fresh memo, the same file.
    second = MemoTeacher(teacher, TeacherScoreCache(path), memo={})
    assert second.score(QUESTION, CONTEXT).tolist() == scores.tolist()
    assert (second.computed, second.reused, teacher.calls) == (0, 1, 1)
    assert second.last_ms == computed_ms


def test_a_changed_teacher_scores_afresh_and_one_without_a_fingerprint_is_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "scores.sqlite"
    MemoTeacher(CountingTeacher("v1"), TeacherScoreCache(path)).score(QUESTION, CONTEXT)
    changed = CountingTeacher("v2")
    memo = MemoTeacher(changed, TeacherScoreCache(path), memo={})
    memo.score(QUESTION, CONTEXT)
    assert changed.calls == 1 and memo.computed == 1 and len(TeacherScoreCache(path)) == 2

    unmarked = CountingTeacher(fingerprint=None)
    MemoTeacher(unmarked, TeacherScoreCache(path), memo={}).score(QUESTION, CONTEXT)
    MemoTeacher(unmarked, TeacherScoreCache(path), memo={}).score(QUESTION, CONTEXT)
    assert unmarked.calls == 2 and len(TeacherScoreCache(path)) == 2


def test_a_file_that_is_not_a_teacher_score_cache_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(InvalidInputError, match="not a teacher-score file"):
        TeacherScoreCache(junk)
    assert junk.read_bytes() == bytes(range(256)) * 20

    foreign = tmp_path / "app.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    with pytest.raises(InvalidInputError, match="an SQLite file of something else"):
        TeacherScoreCache(foreign)
    with sqlite3.connect(foreign) as db:
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == [("notes",)]

    with pytest.raises(InvalidInputError, match="a folder"):
        TeacherScoreCache(tmp_path)
    with pytest.raises(InvalidInputError, match="does not exist"):
        TeacherScoreCache(tmp_path / "missing" / "scores.sqlite")


def test_the_minilm_fingerprint_covers_its_settings_its_code_and_its_packages(monkeypatch) -> None:
    assert MiniLMTeacher().fingerprint() == MiniLMTeacher().fingerprint()
    assert MiniLMTeacher(lexical_weight=0.2).fingerprint() != MiniLMTeacher().fingerprint()

    read: list[str] = []
    original = Path.read_bytes

    def spy(self: Path) -> bytes:
        read.append(self.name)
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", spy)
    MiniLMTeacher().fingerprint()
    # The teacher's module, what it imports (sentences are cut by the SDK's segmenter) and the data
    # its tokenizer reads.
    for name in ("minilm.py", "_lexical.py", "_segments.py", "_tokenizer.py", "_unicode.py", "vocab.txt"):
        assert name in read

    from importlib import metadata

    plain = source_fingerprint(["splitinfer.converters.teachers.minilm"], distributions=["torch"])
    monkeypatch.setattr(metadata, "version", lambda dist: "0.0-other")
    assert source_fingerprint(["splitinfer.converters.teachers.minilm"], distributions=["torch"]) != plain


def _eval(capsys, *args: str) -> dict:
    code = cli_main(["eval", "--format", "kv", "--limit", "2", "--rates", "0.2", "--json", *args])
    assert code == 0
    return json.loads(capsys.readouterr().out)


def test_eval_with_the_real_teacher_reuses_its_scores_and_measures_the_same(tmp_path: Path, capsys) -> None:
    cache = str(tmp_path / "teacher.sqlite")
    first = _eval(capsys, "--methods", "teacher,random", "--teacher-cache", cache)
    second = _eval(capsys, "--methods", "teacher,random", "--teacher-cache", cache)
    assert first["config"]["teacher_scores"] == {"computed": 2, "reused": 0}
    assert second["config"]["teacher_scores"] == {"computed": 0, "reused": 2}

    def measured(doc: dict) -> list[dict]:
        return [{k: v for k, v in row.items() if k != "condense_ms_p50"} for row in doc["results"]]

    assert measured(second) == measured(first)


def test_eval_refuses_a_teacher_cache_it_would_not_use_or_would_overwrite(tmp_path: Path, capsys) -> None:
    assert (
        cli_main(["eval", "--format", "kv", "--methods", "random", "--teacher-cache", str(tmp_path / "t")])
        == 2
    )
    assert "add teacher to --methods" in capsys.readouterr().err
    same = str(tmp_path / "out.jsonl")
    assert cli_main(["eval", "--format", "kv", "--output", same, "--teacher-cache", same]) == 2
    assert "is --output" in capsys.readouterr().err
    assert not Path(same).exists()
