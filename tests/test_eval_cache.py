"""What an evaluation keeps on disk (teacher scores, answers): reused while their producer is the
same, never across a change of it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from splitinfer.cli.main import main as cli_main
from splitinfer.converters._fingerprint import source_fingerprint
from splitinfer.converters.teachers.minilm import MiniLMTeacher
from splitinfer.evaluation.build import MemoTeacher
from splitinfer.evaluation.cache import EvalCache, StoredAnswerer, answerer_fingerprint, case_key
from splitinfer.sdk._errors import InvalidInputError

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
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
    cache = EvalCache(path)
    cache.put_scores("k", scores, 1234.5)
    cache.put_answer("k", "Amelia Hartwell opened the session.")
    cache.close()
    again = EvalCache(path)
    got, ms = again.get_scores("k")
    assert got.dtype == np.float32 and got.tolist() == scores.tolist() and ms == 1234.5
    assert again.get_answer("k") == "Amelia Hartwell opened the session."
    assert again.get_scores("other") is None and again.get_answer("other") is None
    assert again.counts() == {"scores": 1, "answers": 1}


def test_a_case_key_changes_with_the_fingerprint_the_question_and_the_context() -> None:
    base = case_key("v1", "q", "c")
    assert len({base, case_key("v2", "q", "c"), case_key("v1", "q2", "c"), case_key("v1", "q", "c2")}) == 4
    # The parts are length-prefixed: moving text from the question to the context is another case.
    assert case_key("v1", "ab", "c") != case_key("v1", "a", "bc")


def test_a_second_run_reuses_every_score_and_reports_what_computing_it_took(tmp_path: Path) -> None:
    path = tmp_path / "scores.sqlite"
    teacher = CountingTeacher()
    first = MemoTeacher(teacher, EvalCache(path))
    scores = first.score(QUESTION, CONTEXT)
    computed_ms = first.last_ms
    assert (first.computed, first.reused, teacher.calls) == (1, 0, 1)

    # A new process: a fresh memo, the same file.
    second = MemoTeacher(teacher, EvalCache(path), memo={})
    assert second.score(QUESTION, CONTEXT).tolist() == scores.tolist()
    assert (second.computed, second.reused, teacher.calls) == (0, 1, 1)
    assert second.last_ms == computed_ms


def test_a_changed_teacher_scores_afresh_and_one_without_a_fingerprint_is_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "scores.sqlite"
    MemoTeacher(CountingTeacher("v1"), EvalCache(path)).score(QUESTION, CONTEXT)
    changed = CountingTeacher("v2")
    memo = MemoTeacher(changed, EvalCache(path), memo={})
    memo.score(QUESTION, CONTEXT)
    assert changed.calls == 1 and memo.computed == 1 and EvalCache(path).counts()["scores"] == 2

    unmarked = CountingTeacher(fingerprint=None)
    MemoTeacher(unmarked, EvalCache(path), memo={}).score(QUESTION, CONTEXT)
    MemoTeacher(unmarked, EvalCache(path), memo={}).score(QUESTION, CONTEXT)
    assert unmarked.calls == 2 and EvalCache(path).counts()["scores"] == 2


def test_a_file_that_is_not_a_teacher_score_cache_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(InvalidInputError, match="not an evaluation cache"):
        EvalCache(junk)
    assert junk.read_bytes() == bytes(range(256)) * 20

    foreign = tmp_path / "app.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    with pytest.raises(InvalidInputError, match="an SQLite file of something else"):
        EvalCache(foreign)
    with sqlite3.connect(foreign) as db:
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == [("notes",)]

    with pytest.raises(InvalidInputError, match="a folder"):
        EvalCache(tmp_path)
    with pytest.raises(InvalidInputError, match="does not exist"):
        EvalCache(tmp_path / "missing" / "scores.sqlite")


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


def test_the_fingerprint_reads_the_code_not_its_docs(tmp_path: Path, monkeypatch) -> None:
    import importlib

    monkeypatch.syspath_prepend(str(tmp_path))
    module = tmp_path / "fingerprint_probe.py"

    def fingerprint(source: str) -> str:
        module.write_text(source, encoding="utf-8")
        importlib.invalidate_caches()
        return source_fingerprint(["fingerprint_probe"])

    base = fingerprint('"""Scores."""\n\ndef score(x):\n    """Twice x."""\n    return 2 * x\n')
    # Other docstrings, comments and layout: the same code, so stored results stay valid.
    same = (
        '"""Scores, reworded."""\n\n\ndef score(x):  # a comment\n    """Two times x."""\n\n    return 2*x\n'
    )
    assert fingerprint(same) == base
    # Any change to what runs is a new fingerprint, a string that is not a docstring included.
    assert fingerprint('"""Scores."""\n\ndef score(x):\n    """Twice x."""\n    return 3 * x\n') != base
    assert fingerprint('"""Scores."""\n\ndef score(x):\n    return "Twice x."\n') != base


def _eval(capsys, *args: str) -> dict:
    code = cli_main(["eval", "--limit", "2", "--rates", "0.2", "--json", *args])
    assert code == 0
    return json.loads(capsys.readouterr().out)


def test_eval_with_the_real_teacher_reuses_its_scores_and_measures_the_same(tmp_path: Path, capsys) -> None:
    cache = str(tmp_path / "eval.sqlite")
    first = _eval(capsys, "--format", "kv", "--methods", "teacher,random", "--cache", cache)
    second = _eval(capsys, "--format", "kv", "--methods", "teacher,random", "--cache", cache)
    assert first["config"]["teacher_scores"] == {"computed": 2, "reused": 0}
    assert second["config"]["teacher_scores"] == {"computed": 0, "reused": 2}

    def measured(doc: dict) -> list[dict]:
        return [{k: v for k, v in row.items() if k != "condense_ms_p50"} for row in doc["results"]]

    assert measured(second) == measured(first)


class CountingAnswerer:
    """Answers with the context's first sentence, and counts its calls."""

    lexical_weight = 0.3
    window_words = 40

    def __init__(self) -> None:
        self.calls = 0

    def answer(self, question: str, context: str) -> str:
        self.calls += 1
        return context.split(". ")[0]


def test_an_answer_is_reused_for_the_same_question_and_prompt_only(tmp_path: Path) -> None:
    path = tmp_path / "eval.sqlite"
    answerer = CountingAnswerer()
    first = StoredAnswerer(answerer, EvalCache(path))
    assert first.answer(QUESTION, CONTEXT) == "The committee met in Geneva"
    second = StoredAnswerer(answerer, EvalCache(path))
    assert second.answer(QUESTION, CONTEXT) == "The committee met in Geneva"
    assert (answerer.calls, second.computed, second.reused) == (1, 0, 1)
    second.answer("Where did it meet?", CONTEXT)
    second.answer(QUESTION, "Its chair, Amelia Hartwell, opened the session.")
    assert (answerer.calls, second.computed) == (3, 2)


def test_the_answerer_fingerprint_covers_its_settings_and_its_code(monkeypatch) -> None:
    from splitinfer.server.backends.extractive import ExtractiveAnswerer

    base = answerer_fingerprint(ExtractiveAnswerer())
    assert answerer_fingerprint(ExtractiveAnswerer()) == base
    other = ExtractiveAnswerer()
    other.lexical_weight = 0.5
    assert answerer_fingerprint(other) != base

    read: list[str] = []
    original = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self.name) or original(self))
    answerer_fingerprint(ExtractiveAnswerer())
    assert "extractive.py" in read


@pytest.mark.skipif(not (SHARED / "nq-open-train.jsonl.gz").is_file(), reason="needs ../shared/data")
def test_eval_answers_a_prompt_once_and_reuses_it_in_the_next_run(tmp_path: Path, capsys) -> None:
    cache = str(tmp_path / "eval.sqlite")
    args = ["--format", "nq", "--data", str(SHARED / "nq-open-train.jsonl.gz"), "--methods", "student,none"]
    first = _eval(capsys, *args, "--answer", "--cache", cache)
    second = _eval(capsys, *args, "--answer", "--cache", cache)
    # Two cases: each full prompt and each student prompt at rate 0.2.
    assert first["config"]["answers"] == {"computed": 4, "reused": 0}
    assert second["config"]["answers"] == {"computed": 0, "reused": 4}
    rows = [
        [{k: v for k, v in r.items() if k != "condense_ms_p50"} for r in d["results"]]
        for d in (first, second)
    ]
    assert rows[0] == rows[1] and "accuracy_condensed" in rows[0][0]


def test_eval_runs_on_past_a_cache_it_would_not_use_and_refuses_one_it_would_overwrite(
    tmp_path: Path, capsys
) -> None:
    # A pipeline that always passes --cache: a run without the teacher or --answer warns and runs.
    args = ["eval", "--format", "kv", "--methods", "random", "--limit", "2", "--cache", str(tmp_path / "t")]
    assert cli_main(args) == 0
    assert "this run has neither: it is not used" in capsys.readouterr().err
    assert not (tmp_path / "t").exists()
    same = str(tmp_path / "out.jsonl")
    assert cli_main(["eval", "--format", "kv", "--output", same, "--cache", same]) == 2
    assert "is --output" in capsys.readouterr().err
    assert not Path(same).exists()
