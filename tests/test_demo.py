"""``splitinfer demo`` (what ``make demo`` runs): a real server, a real condenser, honest numbers."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from splitinfer.cli import demo
from splitinfer.cli.main import main
from splitinfer.sdk import _condenser as condenser_module

pytest_plugins = ["sdk_bundles"]


def run_demo(capsys, *args: str) -> tuple[int, str]:
    code = main(["demo", "--backend", "echo", *args])
    return code, capsys.readouterr().out


def test_the_built_in_prompt_is_a_question_over_several_documents() -> None:
    question, context = demo.read_prompt(demo.PROMPT_FILE)
    assert question.endswith("?")
    assert sum(line.startswith("Document ") for line in context.splitlines()) >= 5
    assert len(context.split()) > 1000


def test_the_demo_condenses_on_the_device_streams_the_answer_and_reports_the_savings(
    capsys, bundle_path: Path
) -> None:
    code, out = run_demo(capsys, "--condenser", str(bundle_path))
    assert code == 0
    for step in (
        "[1/4]",
        "[2/4] device condenser: test-cnn-1",
        "[3/4] question:",
        "[4/4] what crossed the network",
    ):
        assert step in out
    assert "condensed ON THE DEVICE in" in out
    original, sent = map(
        lambda s: int(s.replace(",", "")), re.search(r"context tokens\s+([\d,]+)\s+([\d,]+)", out).groups()
    )
    assert sent < 0.5 * original
    assert "stopping the server ... done" in out


def test_without_a_default_bundle_the_demo_says_so_and_sends_the_context_uncondensed(
    capsys, monkeypatch, tmp_path: Path
) -> None:
    # Neither this process's device side nor its server finds a default bundle.
    monkeypatch.setattr(condenser_module, "DEFAULT_BUNDLE", tmp_path / "condenser.tflite")
    condenser_module._load_default.cache_clear()
    code, out = run_demo(capsys)
    assert code == 0
    assert "NO device condenser: the default condenser bundle is not built" in out and "make model" in out
    assert "NOT condensed: the full context was sent" in out
    assert "the server cannot condense either" in out
    original, sent = re.search(r"context tokens\s+([\d,]+)\s+([\d,]+)", out).groups()
    assert original == sent


def test_bad_flags_are_refused_before_a_server_starts(capsys, tmp_path: Path) -> None:
    assert main(["demo", "--rate", "0"]) == 2
    out, err = capsys.readouterr()
    assert "rate must be in (0, 1]" in err and "starting a server" not in out
    assert main(["demo", "--condenser", str(tmp_path / "missing.tflite")]) == 2
    out, err = capsys.readouterr()
    assert "no such condenser bundle" in err and "starting a server" not in out


def test_a_prompt_file_without_a_question_line_is_refused(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "prompt.txt"
    bad.write_text("Just a context.\n")
    assert main(["demo", "--prompt-file", str(bad)]) == 2
    assert "first line must be 'Question: ...'" in capsys.readouterr().err


@pytest.mark.slow
def test_splitinfer_demo_answers_the_question_on_the_extractive_backend() -> None:
    """The real thing, as `make demo` runs it: the embedded MiniLM server and the default bundle if built."""
    result = subprocess.run(
        [sys.executable, "-m", "splitinfer.cli.main", "demo"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    answer = next(line for line in result.stdout.splitlines() if line.strip().startswith("answer:"))
    assert "14" in answer and "2019" in answer
    assert "[4/4] what crossed the network" in result.stdout
