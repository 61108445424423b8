"""Fixtures for the opt-in tests against a real llama.cpp server (``make test-llama``).

Every test here is skipped, with the reason, unless ``$SPLITINFER_LLAMA_PYTHON`` names a python that
can import ``llama_cpp.server`` (and ``gguf``): plain ``make test`` stays fast and needs no engine.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The shared helpers (server_support) live one folder up; pytest puts only this folder on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llama_engine import LlamaEngine, llama_python, write_tiny_model

PYTHON, SKIP_REASON = llama_python()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.llama)
            if PYTHON is None:
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


@pytest.fixture(scope="session")
def llama_python_path() -> str:
    assert PYTHON is not None, SKIP_REASON
    return PYTHON


@pytest.fixture(scope="session")
def tiny_model(llama_python_path: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_model(llama_python_path, tmp_path_factory.mktemp("gguf") / "tiny-llama.gguf", seed=0)


@pytest.fixture(scope="module")
def engine(llama_python_path: str, tiny_model: Path, tmp_path_factory: pytest.TempPathFactory):
    """One llama.cpp server for the module's tests."""
    log = tmp_path_factory.mktemp("engine") / "llama-server.log"
    with LlamaEngine(llama_python_path, tiny_model, log) as running:
        yield running


@pytest.fixture
def own_engine(llama_python_path: str, tiny_model: Path, tmp_path: Path):
    """A llama.cpp server for one test (which may kill it)."""
    with LlamaEngine(llama_python_path, tiny_model, tmp_path / "llama-server.log") as running:
        yield running
