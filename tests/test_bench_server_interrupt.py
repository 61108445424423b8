"""`splitinfer bench server` under Ctrl-C: the terminal sends SIGINT to every process of the
foreground group, the benchmark's children included; the command exits 130 with one line and
leaves no process behind. SIGTERM (a cancelled CI job, `kill`) reaches the command alone, and it
must stop its children the same way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")

# LiteRT prints this when the server loads its condenser; it is not the command's own output.
LITERT_NOTICE = "INFO: Created TensorFlow Lite XNNPACK delegate"


def _live_members(group: int) -> list[str]:
    """Command lines of the processes of the process group ``group`` that are alive (not zombies)."""
    members = []
    for folder in Path("/proc").glob("[0-9]*"):
        try:
            fields = (folder / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (folder / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue  # it exited while we looked
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(cmdline)
    return members


def _running(bench: int) -> bool:
    """The two servers and the two load processes (each started by multiprocessing's spawn) are up
    and the parent handles SIGINT again: it ignores it only while it starts a child."""
    started = sum("spawn_main" in cmdline for cmdline in _live_members(bench)) >= 4
    status = Path(f"/proc/{bench}/status").read_text()
    ignored = int(status.split("SigIgn:")[1].split()[0], 16)
    return started and not ignored & (1 << (signal.SIGINT - 1))


def _wait_for(condition, limit_s: float) -> bool:
    """Polls ``condition`` (a hang guard, not a timing check)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _interrupt(tmp_path: Path, send) -> tuple[int, list[str], int]:
    """Starts the benchmark in a session of its own, calls ``send(pid)`` once its four processes
    run, and returns its exit code, its stderr lines (less LiteRT's notice) and its pid."""
    argv = ["bench", "server", "--streams", "4", "--callers", "4", "--seconds", "60", "--chunks", "2"]
    argv += ["--channels", "1", "--rounds", "1"]
    command = [sys.executable, "-m", "splitinfer.cli.main", *argv]
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # where its folder goes, to see it removed
    with open(tmp_path / "err", "w") as err:
        bench = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True, env=env
        )
    try:
        assert _wait_for(lambda: _running(bench.pid), 120)
        send(bench.pid)
        code = bench.wait(60)
    finally:
        if bench.poll() is None:
            os.killpg(bench.pid, signal.SIGKILL)
    lines = [line for line in (tmp_path / "err").read_text().splitlines() if LITERT_NOTICE not in line]
    return code, lines, bench.pid


def test_ctrl_c_exits_130_in_one_line_and_leaves_no_process(tmp_path: Path) -> None:
    code, lines, pid = _interrupt(tmp_path, lambda pid: os.killpg(pid, signal.SIGINT))
    assert code == 130
    assert lines == ["splitinfer bench server: interrupted"]
    assert _wait_for(lambda: not _live_members(pid), 30), _live_members(pid)


def test_sigterm_to_the_command_alone_stops_its_servers_and_load_processes(tmp_path: Path) -> None:
    code, lines, pid = _interrupt(tmp_path, lambda pid: os.kill(pid, signal.SIGTERM))
    try:
        assert code == 130, lines
        assert lines == ["splitinfer bench server: interrupted"]
        assert _wait_for(lambda: not _live_members(pid), 30), _live_members(pid)
        assert not list(tmp_path.glob("splitinfer-bench-*")), "its folder (with a token file) was left"
    finally:
        for member in _member_pids(pid):
            os.kill(member, signal.SIGKILL)


def _member_pids(group: int) -> list[int]:
    """Pids of the live processes of the process group ``group`` (to clean up after a failure)."""
    pids = []
    for folder in Path("/proc").glob("[0-9]*"):
        try:
            fields = (folder / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            pids.append(int(folder.name))
    return pids
