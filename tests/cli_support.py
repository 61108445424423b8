"""Running the ``splitinfer`` command in-process, as the tests of its subcommands do."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from splitinfer.cli.main import main


def exit_code(argv: list[str]) -> int:
    """``main``'s exit code, a usage error (argparse exits) included."""
    try:
        return main(argv)
    except SystemExit as exited:
        return int(exited.code or 0)


def run_python(code: str, argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``code`` (dedented) run by a fresh interpreter with ``argv``, the tests' helpers importable:
    for runs that must end the way a real process does (a signal, an exit code)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)},
    )
