"""The Android demo's plain-Java core agrees with the Python SDK.

Two halves: the committed golden vectors (and the Java tokenizer's Unicode table and the tiny
bundle fixture) are what ``android_demo/golden/make_golden.py`` writes from today's SDK; and the
Java core, compiled with ``javac`` and run under JUnit 4 by ``android_demo/core/build.sh``,
reproduces every vector exactly. ``build.sh`` installs Debian's ``junit4`` when it is missing;
only a machine without ``javac`` skips the Java half.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "android_demo" / "golden" / "make_golden.py"
BUILD = ROOT / "android_demo" / "core" / "build.sh"


def test_committed_golden_vectors_match_what_the_python_sdk_writes_today() -> None:
    run = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, (
        f"{run.stderr.strip()}\nThe SDK's tokenizer, selection or bundle format changed without the golden "
        "vectors: run 'make golden', then 'make android-core' to check the Java port, and commit both."
    )


@pytest.mark.slow
@pytest.mark.timeout(900)  # a first run may install junit4 with apt-get
@pytest.mark.skipif(
    shutil.which("javac") is None, reason="javac not installed: the Java core cannot be compiled"
)
def test_java_core_reproduces_every_golden_vector_under_junit() -> None:
    run = subprocess.run(["bash", str(BUILD)], cwd=ROOT, capture_output=True, text=True, timeout=870)
    output = run.stdout + run.stderr
    summary = re.search(r"SUMMARY run=(\d+) failed=(\d+) skipped=(\d+)", run.stdout)
    assert run.returncode == 0 and summary, f"android_demo/core/build.sh failed:\n{output[-6000:]}"
    ran, failed, _ = (int(g) for g in summary.groups())
    assert failed == 0
    # 72 golden cases x 14 checks each, the segment and smoothing vectors, plus the bundle, JSON, condenser and selection tests.
    assert ran >= 850, f"only {ran} JUnit tests ran:\n{output[-3000:]}"
