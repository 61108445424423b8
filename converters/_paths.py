"""The files a pipeline command writes: checked before any long work starts, written atomically
(a failed run leaves the old file, or none, never a half-written one), a run stopped by SIGTERM
included (``terminate_as_interrupt``)."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from splitinfer.sdk._bundle import atomic_path
from splitinfer.sdk._errors import InvalidInputError


def check_writable(flag: str, path: Path, example: str) -> None:
    """``InvalidInputError`` unless ``path`` can become a file: not a folder, and its nearest
    existing parent a folder a file can be created in (the command creates missing folders).
    Whether it can is tried, not guessed from permission bits: a temporary file (or, for a
    missing folder, a temporary folder) is made there and removed at once, so a read-only
    file system or a place like /proc is refused too, even for root."""
    path = Path(path)
    if path.is_dir():
        raise InvalidInputError(f"{flag} {path} is a folder; give a file name like {example}")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InvalidInputError(f"{flag} {path}: {parent} is a file, not a folder")
    try:
        if parent == path.parent:
            fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=parent)
            os.close(fd)
            os.unlink(probe)
        else:
            os.rmdir(tempfile.mkdtemp(prefix=".splitinfer-probe-", dir=parent))
    except OSError as err:
        raise InvalidInputError(
            f"{flag} {path}: cannot write into {parent} ({err.strerror or err}); choose another place"
        ) from None


@contextlib.contextmanager
def names_too_long_as_bad_input() -> Iterator[None]:
    """Meanwhile, a path no file system can hold (a name over 255 bytes, a path over 4096:
    ENAMETOOLONG, which pathlib's ``exists``, ``is_file`` and ``is_dir`` raise rather than answer
    False) is ``InvalidInputError`` naming it, not a crash."""
    try:
        yield
    except OSError as err:
        if err.errno != errno.ENAMETOOLONG:
            raise
        raise InvalidInputError(
            f"{err.filename}: the name is too long for the file system; use a shorter path"
        ) from None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Meanwhile, SIGTERM (a cancelled CI job, a stopped container) raises ``KeyboardInterrupt``
    as Ctrl-C does: the run stops the same way, removing its temporary files and saying it was
    interrupted (exit 130), instead of dying with a half-written file beside its output. Only the
    main thread can handle signals; elsewhere SIGTERM keeps its handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def atomic_text(path: Path) -> Iterator[IO[str]]:
    """A UTF-8 text stream whose content replaces ``path`` in one step when the block ends without
    an error; after an error ``path`` is left as it was and the partial file is removed."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as stream:
        yield stream
        stream.flush()
        if Path(tmp).is_file():  # a pipe or a device (/dev/null, a FIFO) cannot be synced
            os.fsync(stream.fileno())
