"""Fingerprints of code and data: what a stored result was computed with (see ``source_fingerprint``)."""

from __future__ import annotations

import ast
import copy
import hashlib
import importlib.util
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from splitinfer.sdk._errors import SplitinferError


def source_fingerprint(
    modules: Iterable[str], files: Iterable[Path] = (), distributions: Iterable[str] = ()
) -> str:
    """A sha256 of the code of ``modules`` and of every ``splitinfer`` module they import,
    directly or not (found in their syntax trees, so imports inside functions count), of
    ``files`` (data the code reads) and of the installed versions of ``distributions`` (the
    packages that ship and run the weights). Two runs with the same fingerprint run the same code
    on the same data.

    The code is each module's syntax tree without its docstrings (``code_digest``): comments,
    docstrings and layout change no result, so editing them keeps what a cache has stored."""
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
        tree = ast.parse(Path(spec.origin).read_bytes())
        digest.update(f"module {name} {code_digest(tree)}\n".encode())
        for node in ast.walk(tree):
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


# The nodes whose body may open with a docstring.
_DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def code_digest(tree: ast.Module) -> str:
    """A sha256 of what a module's syntax tree computes: the tree without positions, with every
    module, class and function docstring taken out (``tree`` is left as it was)."""
    stripped = copy.deepcopy(tree)
    for node in ast.walk(stripped):
        if isinstance(node, _DOCUMENTED) and _docstring(node):
            node.body = node.body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(stripped, include_attributes=False).encode()).hexdigest()


def _docstring(node: ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether the first statement of ``node``'s body is a docstring."""
    first = node.body[0] if node.body else None
    return (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )
