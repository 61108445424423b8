"""Fingerprints of code and data: what a stored result was computed with (see ``source_fingerprint``)."""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from splitinfer.sdk._errors import SplitinferError


def source_fingerprint(
    modules: Iterable[str], files: Iterable[Path] = (), distributions: Iterable[str] = ()
) -> str:
    """A sha256 of the source of ``modules`` and of every ``splitinfer`` module they import,
    directly or not (found in their syntax trees, so imports inside functions count), of
    ``files`` (data the code reads) and of the installed versions of ``distributions`` (the
    packages that ship and run the weights). Two runs with the same fingerprint run the same code
    on the same data."""
    digest = hashlib.sha256()
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise SplitinferError(f"cannot find the source of module {name} to fingerprint it")
        source = Path(spec.origin).read_bytes()
        digest.update(f"module {name} {len(source)}\n".encode())
        digest.update(source)
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported = [node.module]
            elif isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            else:
                continue
            todo += [m for m in imported if m.split(".")[0] == "splitinfer"]
    for path in files:
        data = Path(path).read_bytes()
        digest.update(f"file {Path(path).name} {len(data)}\n".encode())
        digest.update(data)
    for dist in sorted(distributions):
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"dist {dist} {version}\n".encode())
    return digest.hexdigest()
