"""The files a pipeline command writes: checked before any long work starts, written atomically
(a failed run leaves the old file, or none, never a half-written one)."""

from __future__ import annotations

import contextlib
import os
import tempfile
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
def atomic_text(path: Path) -> Iterator[IO[str]]:
    """A UTF-8 text stream whose content replaces ``path`` in one step when the block ends without
    an error; after an error ``path`` is left as it was and the partial file is removed."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as stream:
        yield stream
        stream.flush()
        os.fsync(stream.fileno())
