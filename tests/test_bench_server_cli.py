"""`splitinfer bench server`: a benchmark that cannot run must never exit 0."""

from __future__ import annotations

import multiprocessing
import sys

import pytest
from cli_support import exit_code

from splitinfer.sdk._errors import SplitinferError
from splitinfer.server.bench import _Proc

SMALL = [
    "--streams",
    "2",
    "--callers",
    "2",
    "--seconds",
    "0.3",
    "--chunks",
    "1",
    "--channels",
    "1",
    "--rounds",
    "1",
]


@pytest.mark.parametrize(
    ("flag", "value"), [("--chunk-delay-ms", "nan"), ("--chunk-delay-ms", "inf"), ("--seconds", "inf")]
)
def test_non_finite_figures_are_bad_input(capsys, flag, value) -> None:
    assert exit_code(["bench", "server", *SMALL, flag, value]) == 2
    assert "finite" in capsys.readouterr().err


def test_a_child_that_dies_is_a_failure_not_a_broken_stdout() -> None:
    # The child runs sys.exit(its end of the pipe): it exits at once without answering.
    child = _Proc(multiprocessing.get_context("spawn"), sys.exit)
    child.process.join(30)
    with pytest.raises(SplitinferError, match="exited early"):
        child.ask(None, 30)
    child.stop()
