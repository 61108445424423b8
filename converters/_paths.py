"""Checks on the files a pipeline command will write, made before any long work starts."""

from __future__ import annotations

import os
from pathlib import Path

from splitinfer.sdk._errors import InvalidInputError


def check_writable(flag: str, path: Path, example: str) -> None:
    """``InvalidInputError`` unless ``path`` can become a file: not a folder, and its nearest
    existing parent a writable folder (the command creates missing folders)."""
    if path.is_dir():
        raise InvalidInputError(f"{flag} {path} is a folder; give a file name like {example}")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InvalidInputError(f"{flag} {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InvalidInputError(f"{flag} {path}: cannot write into {parent}")
