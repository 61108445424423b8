"""`make eval`'s summary: rebuilt from every run's JSON, with the command of each run."""

from __future__ import annotations

import json

import pytest

from splitinfer.evaluation.suite import command_line, summarize

CONFIG = {
    "format": "nq",
    "data": "../shared/data/nq-open-train.jsonl.gz",
    "distractors": "hard",
    "split": "heldout",
    "rates": [0.1, 0.2, 0.33, 0.5],
    "methods": ["student", "teacher", "random", "truncate", "none"],
    "limit": None,
    "keep_digits": True,
    "answer": True,
    "answer_rates": [0.2],
    "cases": 3,
    "model_version": "cnn-1",
    "model_sha256": "aa",
    "seconds": 1.0,
}


def _row(method: str, rate: float, retention: float) -> dict:
    return {"method": method, "rate": rate, "ratio_tokens": rate, "answer_retention": retention, "n": 3}


def _write(folder, name: str, config: dict, rows: list[dict]) -> None:
    (folder / f"{name}.json").write_text(json.dumps({"config": config, "results": rows}), encoding="utf-8")


def test_the_command_of_a_run_is_rebuilt_from_its_config() -> None:
    assert command_line("nq-hard", CONFIG) == (
        "splitinfer eval --format nq --data ../shared/data/nq-open-train.jsonl.gz --distractors hard "
        "--answer --answer-rates 0.2 --json --plot nq-hard.png"
    )


def test_the_command_of_an_arranged_run_says_how_many_arrangements() -> None:
    config = {**CONFIG, "arrangements": 10, "answer": False, "methods": ["student", "random"]}
    assert command_line("nq-hard-arranged", config) == (
        "splitinfer eval --format nq --data ../shared/data/nq-open-train.jsonl.gz --distractors hard "
        "--arrangements 10 --methods student,random --json --plot nq-hard-arranged.png"
    )


def test_the_command_of_an_answered_arranged_run_names_its_rates() -> None:
    config = {**CONFIG, "arrangements": 3, "rates": [0.2], "methods": ["student", "none"]}
    assert command_line("nq-hard-answer-arranged", config) == (
        "splitinfer eval --format nq --data ../shared/data/nq-open-train.jsonl.gz --distractors hard "
        "--rates 0.2 --arrangements 3 --answer --methods student,none --json --plot nq-hard-answer-arranged.png"
    )


def test_the_command_of_a_swapped_questions_run_says_so() -> None:
    config = {**CONFIG, "questions": "swapped", "answer": False, "methods": ["student", "none"]}
    assert command_line("nq-hard-swapped", config) == (
        "splitinfer eval --format nq --data ../shared/data/nq-open-train.jsonl.gz --distractors hard "
        "--questions swapped --methods student,none --json --plot nq-hard-swapped.png"
    )
    assert "--questions" not in command_line("nq-hard", {**CONFIG, "questions": "own"})


def test_the_accuracy_target_is_checked_on_the_arranged_answer_runs(tmp_path) -> None:
    def answered(condensed: float) -> list[dict]:
        row = {**_row("student", 0.2, 0.97), "accuracy_full": 0.5, "accuracy_condensed": condensed}
        return [row, {**_row("none", 1.0, 1.0), "accuracy_full": 0.5, "accuracy_condensed": 0.5}]

    config = {**CONFIG, "arrangements": 3, "rates": [0.2], "methods": ["student", "none"]}
    _write(tmp_path, "nq-hard-answer-arranged", config, answered(0.49))
    _write(tmp_path, "nq-hard-no-digits-answer-arranged", {**config, "keep_digits": False}, answered(0.48))
    checks = {c.target: c for c in summarize(tmp_path)}
    forced = checks[
        "nq-hard-answer-arranged: extractive accuracy on the student's rate-0.2 context >= 98% of full"
    ]
    free = checks[
        "nq-hard-no-digits-answer-arranged: extractive accuracy on the student's rate-0.2 context >= 98% of full"
    ]
    assert forced.passed is True and forced.measured == "49.0% vs 50.0% = 98.0% of full"
    assert free.passed is False and free.measured.endswith("= 96.0% of full")
    on_rate = checks[
        "nq-hard-answer-arranged: achieved token rate within +-10% of the requested one, every method but none"
    ]
    assert on_rate.passed is True and on_rate.measured == "the 1 row on rate"


def test_the_summary_covers_every_run_on_disk_and_its_targets(tmp_path) -> None:
    _write(tmp_path, "nq-hard", CONFIG, [_row("student", 0.2, 0.96), _row("random", 0.2, 0.2)])
    kv = {**CONFIG, "format": "kv", "distractors": None, "answer": False, "data": None}
    _write(tmp_path, "kv", kv, [_row("student", 0.2, 1.0)])
    checks = summarize(tmp_path)
    text = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "## nq-hard" in text and "## kv" in text and "![kv](kv.png)" in text
    assert "| nq-hard: student keeps the answer at rate 0.2 >= 95.0% | 96.0% | met |" in text
    assert any(c.passed is None for c in checks)
    assert "different bundles" not in text


def test_the_summary_says_what_a_run_took_from_the_cache(tmp_path) -> None:
    reused = {
        **CONFIG,
        "teacher_scores": {"computed": 0, "reused": 3},
        "answers": {"computed": 3, "reused": 12},
    }
    _write(tmp_path, "nq-hard", reused, [_row("student", 0.2, 0.96)])
    _write(tmp_path, "kv", {**CONFIG, "format": "kv", "teacher_scores": {"computed": 3, "reused": 0}}, [])
    summarize(tmp_path)
    text = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "1.0 s (3 of 3 teacher scores and 12 of 15 answers reused from the cache)." in text
    assert text.count("reused from the cache") == 1


def test_runs_of_different_bundles_are_flagged(tmp_path) -> None:
    _write(tmp_path, "nq-hard", CONFIG, [_row("student", 0.2, 0.96)])
    _write(tmp_path, "nq-random", {**CONFIG, "model_sha256": "bb", "model_version": "cnn-2"}, [])
    summarize(tmp_path)
    assert "different bundles" in (tmp_path / "README.md").read_text(encoding="utf-8")


def test_a_sliced_run_is_flagged_in_the_summary(tmp_path) -> None:
    _write(tmp_path, "nq-hard", CONFIG, [_row("student", 0.2, 0.96)])
    _write(tmp_path, "kv", {**CONFIG, "format": "kv", "limit": 3}, [_row("student", 0.2, 1.0)])
    summarize(tmp_path)
    text = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "A slice, not the full evaluation" in text and "kv: first 3 cases" in text


def test_a_full_run_is_not_flagged_as_a_slice(tmp_path) -> None:
    _write(tmp_path, "nq-hard", CONFIG, [_row("student", 0.2, 0.96)])
    summarize(tmp_path)
    assert "slice" not in (tmp_path / "README.md").read_text(encoding="utf-8")


def test_make_eval_with_a_limit_does_not_write_into_docs_eval() -> None:
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    dry = subprocess.run(
        ["make", "-n", "eval", "LIMIT=3"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    line = next(part for part in dry.splitlines() if "evaluation.suite" in part)
    assert "--limit 3" in line and "docs/eval" not in line


@pytest.mark.slow
def test_runs_in_two_processes_give_the_results_of_one(tmp_path) -> None:
    """... and share the teacher's scores: the second suite, two runs at a time, scores nothing."""
    from splitinfer.evaluation.suite import run_suite

    one, two = tmp_path / "one", tmp_path / "two"
    cache = str(tmp_path / "cache" / "eval.sqlite")  # its folder is created
    run_suite(["kv", "kv-no-digits"], "unused", one, limit=4, jobs=1, cache=cache)
    checks = run_suite(["kv", "kv-no-digits"], "unused", two, limit=4, jobs=2, cache=cache)

    def doc(folder, name):
        return json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))

    def rows(folder, name):
        return [{k: v for k, v in r.items() if k != "condense_ms_p50"} for r in doc(folder, name)["results"]]

    for name in ("kv", "kv-no-digits"):
        assert rows(two, name) == rows(one, name) and rows(one, name)
        assert doc(two, name)["config"]["teacher_scores"] == {"computed": 0, "reused": 4}
    # The same cases twice in one process: the second run takes the first one's scores (the first
    # may find some in this process already, from other tests).
    assert sum(doc(one, "kv")["config"]["teacher_scores"].values()) == 4
    assert doc(one, "kv-no-digits")["config"]["teacher_scores"] == {"computed": 0, "reused": 4}
    assert "## kv-no-digits" in (two / "README.md").read_text(encoding="utf-8") and checks


def test_a_failing_run_among_parallel_ones_fails_the_suite_with_its_error(tmp_path) -> None:
    from splitinfer.evaluation.suite import run_suite
    from splitinfer.sdk._errors import InvalidInputError

    # nq-hard reads its data file from the folder given, which has none.
    with pytest.raises(InvalidInputError, match="nq-open-train"):
        run_suite(["nq-hard", "nq-random"], str(tmp_path / "no-data"), tmp_path / "out", limit=2, jobs=2)
    assert not (tmp_path / "out" / "README.md").exists()


def test_runs_that_store_the_same_cases_do_not_start_side_by_side() -> None:
    from splitinfer.evaluation.suite import RUNS, start_order

    order = start_order(list(RUNS))
    assert sorted(order) == sorted(RUNS)
    # Each second run of the same cases starts after every first run: the teacher's scores of
    # nq-hard, the full answers of nq-hard-answer-arranged and kv's scores are stored by then.
    tail = ["nq-hard-no-digits", "nq-hard-no-digits-answer-arranged", "kv-no-digits"]
    assert order[-3:] == tail
    assert start_order(["kv-no-digits", "kv"]) == ["kv-no-digits", "kv"]


def test_jobs_below_one_is_a_usage_error(capsys) -> None:
    from splitinfer.evaluation.suite import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--jobs", "0", "--runs", "kv"])
    assert exit_info.value.code == 2 and "--jobs must be at least 1" in capsys.readouterr().err


def test_a_summary_interrupted_while_written_leaves_the_old_readme_whole(tmp_path, monkeypatch) -> None:
    """make eval stopped by Ctrl-C or SIGTERM as it writes: the published README stays as it was."""
    import splitinfer.sdk._bundle as bundle

    _write(tmp_path, "nq-hard", CONFIG, [_row("student", 0.2, 0.96)])
    readme = tmp_path / "README.md"
    readme.write_text("the published summary\n", encoding="utf-8")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(bundle.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        summarize(tmp_path)
    assert readme.read_text(encoding="utf-8") == "the published summary\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "nq-hard.json"]


def test_a_crash_of_the_suite_exits_3_with_its_traceback_and_help_lists_the_exit_codes(
    monkeypatch, capsys
) -> None:
    from splitinfer.evaluation import suite

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(suite, "run_suite", broken)
    assert suite.main(["--runs", "kv"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and err.rstrip().endswith(
        "make eval: internal error: RuntimeError: a bug (a bug in splitinfer)"
    )
    with pytest.raises(SystemExit):
        suite.main(["--help"])
    help_text = capsys.readouterr().out
    assert "exit codes:" in help_text and "130  interrupted (Ctrl-C or SIGTERM)" in help_text
