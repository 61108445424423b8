"""Backends: the large models the server answers with, one module per kind.

``BACKENDS`` maps a backend kind (the ``--backend`` flag, ``backend =`` in a config file) to the
module that implements it; each module exposes ``create(options) -> Backend``. Modules are imported
only when a model uses them, so the server never loads torch for an ``openai``-only deployment.
Adding a backend is one new module and one line here; the servicer does not change.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from splitinfer.server.backends.base import (
    Backend,
    Chunk,
    Finish,
    FinishReason,
    GenerationRequest,
    ModelSpec,
    Sampling,
    StopScanner,
    prompt_text,
    run_in_thread,
)

BACKENDS: dict[str, str] = {
    "extractive": "splitinfer.server.backends.extractive",
    "openai": "splitinfer.server.backends.openai",
    "echo": "splitinfer.server.backends.echo",
}

__all__ = [
    "BACKENDS",
    "Backend",
    "Chunk",
    "Finish",
    "FinishReason",
    "GenerationRequest",
    "ModelSpec",
    "Sampling",
    "StopScanner",
    "create_backend",
    "prompt_text",
    "run_in_thread",
]


def create_backend(kind: str, options: Mapping[str, Any]) -> Backend:
    """Builds a backend of ``kind`` from its options; ``ValueError`` names what is wrong."""
    module_name = BACKENDS.get(kind)
    if module_name is None:
        raise ValueError(f"unknown backend '{kind}'; choose one of: {', '.join(sorted(BACKENDS))}")
    return importlib.import_module(module_name).create(options)
