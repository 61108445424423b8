"""Catching what native code (LiteRT, TensorFlow) writes to the process's stderr, fd 2, which
Python's ``sys.stderr`` and ``contextlib.redirect_stderr`` never see."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator


class Caught:
    """What was written to fd 2 inside a ``caught_stderr`` block, once the block has ended."""

    text = ""


@contextlib.contextmanager
def caught_stderr() -> Iterator[Caught]:
    """Runs the block with fd 2 sent to a temporary file; ``text`` of what it yields holds what
    was written meanwhile (by this thread or any other). Without an fd 2 it leaves it alone.
    Not for two threads at once: each would restore the other's file (callers lock)."""
    caught = Caught()
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no fd 2 to catch
        yield caught
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield caught
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            caught.text = sink.read().decode("utf-8", "replace")
