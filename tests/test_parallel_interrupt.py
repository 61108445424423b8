"""Steps run side by side (``make model``'s labelling, ``make eval``'s runs) stop when the command
is interrupted, also when only the command's own process gets the SIGINT (``timeout -s INT``, a
CI cancel), not the workers as at a terminal's Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

STEPS = """
import os, time
from pathlib import Path

def step(folder, i):
    Path(folder, f"started-{i}").write_text(str(os.getpid()))
    try:
        time.sleep(120)
    except KeyboardInterrupt:
        Path(folder, f"stopped-{i}").write_text("")
        raise
"""

DRIVER = """
import signal, sys
from slow_steps import step
from splitinfer.converters._parallel import run_side_by_side

if __name__ == "__main__":
    # As at a terminal, even where the tests run with SIGINT ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        run_side_by_side(step, [(sys.argv[1], i) for i in range(6)], 2, "a step failed")
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
"""


@pytest.mark.slow
def test_sigint_to_the_command_alone_stops_the_steps_under_way_and_drops_the_rest(tmp_path: Path) -> None:
    (tmp_path / "slow_steps.py").write_text(STEPS)
    (tmp_path / "driver.py").write_text(DRIVER)
    marks = tmp_path / "marks"
    marks.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    # A session of its own: the SIGINT below reaches the driver only, as from `kill -INT`.
    driver = subprocess.Popen(
        [sys.executable, str(tmp_path / "driver.py"), str(marks)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while len(list(marks.glob("started-*"))) < 2:
            assert driver.poll() is None, driver.communicate()
            assert time.monotonic() < deadline, "the two first steps never started"
            time.sleep(0.1)
        workers = [int(p.read_text()) for p in marks.glob("started-*")]
        driver.send_signal(signal.SIGINT)
        out, err = driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    assert driver.returncode == 130, err
    assert out.strip() == "interrupted"
    # The two steps under way were interrupted; the four queued behind them never started.
    assert sorted(p.name for p in marks.iterdir()) == ["started-0", "started-1", "stopped-0", "stopped-1"]
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
