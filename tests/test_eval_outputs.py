"""What `splitinfer eval` and `make eval` leave behind: stdout, --output, --plot, --help, and how
a run ends when it is stopped."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest
from cli_support import exit_code, run_python

from splitinfer.cli.main import main
from splitinfer.evaluation import suite

FACTS = [
    (
        "Who designed the glass pavilion?",
        "Henrietta Marlowe",
        "The glass pavilion was designed by Henrietta Marlowe.",
    ),
    (
        "Which river flows past the warehouses?",
        "Vellmar",
        "The old salt warehouses stand on the banks of the Vellmar.",
    ),
    ("What is the cheese washed in?", "cider", "The local cheese is washed in cider during ripening."),
    (
        "What stone was the bridge built from?",
        "granite",
        "The bridge was built from grey granite from the hills.",
    ),
]
# Fast methods only: no model is loaded.
FAST = ["--methods", "random,truncate,none", "--rates", "0.2,0.5"]


def _write_qa(path: Path) -> Path:
    sentences = [fact for _, _, fact in FACTS]
    with path.open("w", encoding="utf-8") as out:
        for i, (question, answer, _) in enumerate(FACTS):
            context = " ".join(sentences[i + 1 :] + sentences[: i + 1])
            out.write(
                json.dumps({"id": f"fact-{i}", "question": question, "context": context, "answers": [answer]})
            )
            out.write("\n")
    return path


def _eval_argv(data: Path, *extra: str) -> list[str]:
    return ["eval", "--format", "qa", "--data", str(data), *FAST, *extra]


@pytest.mark.parametrize("flag", ["--output", "--plot"])
def test_a_dash_output_is_refused_because_stdout_carries_the_results(
    tmp_path, monkeypatch, capsys, flag
) -> None:
    data = _write_qa(tmp_path / "facts.jsonl")
    monkeypatch.chdir(tmp_path)
    assert main([*_eval_argv(data, "--json"), flag, "-"]) == 2
    captured = capsys.readouterr()
    assert f"{flag} -: stdout carries the results" in captured.err
    assert captured.out == ""
    assert not (tmp_path / "-").exists()


def test_output_to_the_null_device_is_written_not_an_internal_error(tmp_path, capsys) -> None:
    data = _write_qa(tmp_path / "facts.jsonl")
    assert main([*_eval_argv(data), "--output", os.devnull]) == 0
    assert "internal error" not in capsys.readouterr().err
    assert Path(os.devnull).exists() and not Path(os.devnull).is_file()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX only")
def test_output_to_a_named_pipe_streams_every_record(tmp_path, capsys) -> None:
    data = _write_qa(tmp_path / "facts.jsonl")
    fifo = tmp_path / "records"
    os.mkfifo(fifo)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(fifo.read_text(encoding="utf-8").splitlines()))
    reader.start()
    try:
        code = main([*_eval_argv(data), "--output", str(fifo)])
    finally:
        if reader.is_alive():  # the run never opened the pipe: unblock the reader
            with fifo.open("w"):
                pass
        reader.join(10)
    assert code == 0, capsys.readouterr().err
    # 4 cases x (random and truncate at 2 rates, none once)
    assert len(lines) == 4 * 5 and all(json.loads(line)["condensed"] for line in lines)


def test_the_output_records_add_up_to_the_json_rows(tmp_path, capsys) -> None:
    data = _write_qa(tmp_path / "facts.jsonl")
    out = tmp_path / "records.jsonl"
    assert main([*_eval_argv(data, "--json"), "--output", str(out)]) == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["method"], r["rate"]) for r in rows] == list(
        dict.fromkeys((r["method"], r["rate"]) for r in records)
    )
    for row in rows:
        cell = [r for r in records if (r["method"], r["rate"]) == (row["method"], row["rate"])]
        assert row["n"] == len(cell)
        assert row["ratio_words"] == pytest.approx(
            sum(r["words_kept"] / r["words_original"] for r in cell) / len(cell)
        )
        assert row["answer_retention"] == pytest.approx(sum(r["answer_retained"] for r in cell) / len(cell))


# `splitinfer eval` with the truncate scores replaced by SIGTERM to itself, as a cancelled CI job
# sends it, once the first records are in the temporary --output file.
_TERMINATED_EVAL = """
import os, signal, sys, time
from splitinfer.cli.main import main
from splitinfer.evaluation import build

def truncate_scorer(case, lay):
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)

build.truncate_scorer = truncate_scorer
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_mid_run_exits_130_keeps_the_old_output_and_leaves_no_partial_file(tmp_path) -> None:
    data = _write_qa(tmp_path / "facts.jsonl")
    out = tmp_path / "records.jsonl"
    out.write_text("the last run's records\n", encoding="utf-8")
    done = run_python(
        _TERMINATED_EVAL, [*_eval_argv(data), "--output", str(out), "--plot", str(tmp_path / "p.png")]
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip() == "splitinfer eval: interrupted"
    assert out.read_text(encoding="utf-8") == "the last run's records\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["facts.jsonl", "records.jsonl"]


def test_sigterm_has_its_usual_handler_again_after_a_run(tmp_path, capsys) -> None:
    before = signal.getsignal(signal.SIGTERM)
    assert main(_eval_argv(_write_qa(tmp_path / "facts.jsonl"))) == 0
    assert signal.getsignal(signal.SIGTERM) is before


def test_help_names_every_plot_format_it_accepts_and_the_defaults(capsys) -> None:
    from splitinfer.evaluation.report import plot_formats

    assert exit_code(["eval", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    plot_help = text.rsplit("--plot PNG", 1)[1].split("--output", 1)[0]
    for name in plot_formats() - {"jpeg"}:
        assert f".{name}" in plot_help
    assert "..." not in plot_help
    assert "default: every case" in text and "each in (0, 1]" in text
    assert "JSON Lines" in text


def test_the_suite_readme_command_names_the_bundle_it_measured() -> None:
    config = {"format": "kv", "rates": [0.1, 0.2, 0.33, 0.5], "model": "candidate.tflite"}
    assert "--model candidate.tflite" in suite.command_line("kv", config)
    assert "--model" not in suite.command_line("kv", {**config, "model": "default"})


def test_an_interrupted_suite_says_so_and_exits_130(tmp_path, monkeypatch, capsys) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(suite, "run_suite", interrupted)
    try:
        code = suite.main(["--out", str(tmp_path / "eval"), "--runs", "kv", "--no-cache"])
    except KeyboardInterrupt:
        pytest.fail("the interrupt escaped the suite: a traceback instead of exit 130")
    assert code == 130
    assert capsys.readouterr().err.startswith("make eval: interrupted")


# `make eval` with its first run replaced by SIGTERM to itself.
_TERMINATED_SUITE = """
import os, signal, sys, time
from splitinfer.evaluation import suite

def measure(*args):
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)

suite.measure = measure
sys.exit(suite.main(sys.argv[1:]))
"""


def test_sigterm_stops_the_suite_as_ctrl_c_does(tmp_path) -> None:
    out = tmp_path / "eval"
    done = run_python(_TERMINATED_SUITE, ["--out", str(out), "--runs", "kv", "--no-cache"])
    assert done.returncode == 130, done.stderr
    assert "make eval: interrupted" in done.stderr and "Traceback" not in done.stderr
    assert not (out / "README.md").exists()


def test_the_suite_help_shows_plain_text_not_markup(capsys) -> None:
    with pytest.raises(SystemExit):
        suite.main(["--help"])
    assert "``" not in capsys.readouterr().out
