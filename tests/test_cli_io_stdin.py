"""Where ``condense`` and ``ask`` read and write: ``-`` for stdin and stdout, and a closed stdin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from server_support import free_port

pytest_plugins = ["sdk_bundles"]

CLI = [sys.executable, "-m", "splitinfer.cli.main"]


def run(args: list[str], stdin: bytes | None = b"", cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The command; ``stdin=None`` runs it with its stdin closed (``<&-``)."""
    if stdin is None:
        command = ["sh", "-c", 'exec "$@" <&-', "sh", *CLI, *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=cwd)
    return subprocess.run(
        [*CLI, *args], input=stdin.decode(), capture_output=True, text=True, timeout=120, cwd=cwd
    )


def test_condense_reads_records_from_stdin_and_writes_them_to_stdout_given_dashes(
    bundle_path: Path, tmp_path: Path
) -> None:
    records = [{"id": "a", "context": "the ferry leaves at 9 from the north pier"}, {"id": 2, "context": ""}]
    stdin = "".join(json.dumps(record) + "\n" for record in records).encode()
    done = run(["condense", "--model", str(bundle_path), "--input", "-", "--output", "-"], stdin, tmp_path)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == ["a", 2]
    assert list(tmp_path.iterdir()) == []  # no file named "-"


def test_a_bad_record_on_stdin_is_named_by_its_line(bundle_path: Path) -> None:
    done = run(["condense", "--model", str(bundle_path), "--input", "-"], b'{"context": "fine"}\n{oops\n')
    assert done.returncode == 2
    assert "splitinfer condense: error: stdin line 2: not valid JSON" in done.stderr


def test_condense_output_dash_is_stdout(bundle_path: Path, tmp_path: Path) -> None:
    done = run(["condense", "--model", str(bundle_path), "--output", "-"], b"the ferry leaves at 9", tmp_path)
    assert done.returncode == 0 and "9" in done.stdout.split()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["condense"], "splitinfer condense: error: stdin is closed"),
        (
            ["ask", "--server", f"127.0.0.1:{free_port()}", "--question", "q", "--context-file", "-"],
            "splitinfer ask: error: --context-file - reads stdin, which is closed",
        ),
    ],
    ids=["condense", "ask"],
)
@pytest.mark.skipif(sys.platform == "win32", reason="closes a file descriptor with sh")
def test_a_closed_stdin_is_bad_input_in_one_line(args: list[str], message: str) -> None:
    done = run(args, stdin=None)
    assert done.returncode == 2
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1
