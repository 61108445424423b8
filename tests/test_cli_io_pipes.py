"""``condense``, ``ask`` and ``demo`` as Unix tools: a reader that goes away, Ctrl-C, a server that
goes away, each with real processes (the command and ``splitinfer serve``)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from server_support import wait_until

pytest_plugins = ["sdk_bundles"]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pipes and signals are POSIX here")

# Ctrl-C reaches the command as a terminal's would, even when the tests themselves run with SIGINT
# ignored (a background job), which a child would otherwise inherit.
CLI = [
    sys.executable,
    "-c",
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from splitinfer.cli.main import main; sys.exit(main())",
]
# The environment of a user's shell: buffered stdout, gRPC's logging left as it comes.
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONUNBUFFERED", "GRPC_VERBOSITY")}
TEXT = " ".join(
    f"Clause {i}: the tenant keeps the garden tidy and the landlord fixes the roof." for i in range(30)
)


class Serve:
    """``splitinfer serve`` in a subprocess with a slow echo model (50 ms a word, 200 times over)."""

    def __init__(self, tmp_path: Path, grace_s: float = 5.0) -> None:
        config = tmp_path / "serve.json"
        slow = {"backend": "echo", "name": "echo-slow", "chunk_delay_ms": 50, "repeat": 200}
        config.write_text(json.dumps({"server": {"grace_seconds": grace_s}, "models": [slow]}))
        command = [*CLI, "serve", "--port", "0", "--config", str(config)]
        self.proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=ENV)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        wait_until(lambda: self.address or self.proc.poll() is not None, 60, "the server to listen")
        assert self.address, f"serve did not start: {self.lines}"

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def address(self) -> str | None:
        found = (re.search(r"listening on (\S+)", line) for line in list(self.lines))
        return next((f.group(1) for f in found if f), None)

    def stop(self) -> list[str]:
        """Stops it (SIGTERM) if it still runs; every line it wrote to stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self._reader.join(timeout=30)
        return self.lines

    def calls(self) -> list[dict]:
        return [json.loads(line) for line in self.lines if line.startswith('{"rpc"')]


@pytest.fixture
def serve(tmp_path: Path):
    server = Serve(tmp_path)
    yield server
    server.stop()


def ask_args(address: str) -> list[str]:
    return ["ask", "--server", address, "--question", "a b c", "--policy", "none", "--model", "echo-slow"]


def into_a_closed_pipe(args: list[str], stdin: bytes = b"") -> subprocess.CompletedProcess:
    """Runs the command with stdout a pipe whose reader has already gone, as ``| head`` leaves it."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [*CLI, *args], input=stdin, stdout=write, stderr=subprocess.PIPE, env=ENV, timeout=120
        )
    finally:
        os.close(write)


def started_streaming(args: list[str]) -> subprocess.Popen:
    """The command, once the first bytes of its answer are on its stdout."""
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    first = os.read(proc.stdout.fileno(), 1)
    assert first, proc.communicate(timeout=30)[1].decode()
    proc.first = first  # type: ignore[attr-defined]
    return proc


def finished(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=60)
    return proc.returncode, (proc.first + out).decode(), err.decode()  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", ["condense", "demo"])
def test_a_reader_that_went_away_ends_the_command_with_0_and_no_python_message(
    command: str, bundle_path: Path
) -> None:
    args = (
        ["condense", "--model", str(bundle_path)] if command == "condense" else ["demo", "--backend", "echo"]
    )
    done = into_a_closed_pipe([*args], TEXT.encode())
    err = done.stderr.decode()
    assert done.returncode == 0, err
    assert "Exception ignored" not in err and "BrokenPipeError" not in err


def test_ask_into_a_reader_that_went_away_exits_0_and_the_server_sees_the_call_cancelled(
    serve: Serve,
) -> None:
    done = into_a_closed_pipe([*ask_args(serve.address), "--max-new-tokens", "500"])
    err = done.stderr.decode()
    assert done.returncode == 0, err
    assert "Exception ignored" not in err and "BrokenPipeError" not in err
    serve.stop()
    assert [call["code"] for call in serve.calls()] == ["CANCELLED"]


def test_ctrl_c_during_a_streaming_answer_ends_its_line_exits_130_and_cancels_the_call(serve: Serve) -> None:
    proc = started_streaming([*ask_args(serve.address), "--max-new-tokens", "500"])
    proc.send_signal(signal.SIGINT)
    code, out, err = finished(proc)
    assert code == 130
    assert out.startswith("a ") and out.endswith("\n")
    assert err == "splitinfer ask: interrupted\n"
    serve.stop()
    assert [call["code"] for call in serve.calls()] == ["CANCELLED"]


def test_a_server_that_goes_away_mid_answer_is_one_error_line_of_its_own_and_exit_1(tmp_path: Path) -> None:
    server = Serve(tmp_path, grace_s=0.2)
    try:
        proc = started_streaming([*ask_args(server.address), "--max-new-tokens", "500"])
        server.stop()  # SIGTERM: it drains, then cuts off the calls still running
        code, out, err = finished(proc)
    finally:
        server.stop()
    assert code == 1
    assert out.startswith("a ") and out.endswith("\n")
    assert err.count("\n") == 1 and err.startswith("splitinfer ask: error:"), err
