"""A real llama.cpp server (``python -m llama_cpp.server``) on a loopback port, for the tests here.

The engine runs with the python named by ``SPLITINFER_LLAMA_PYTHON`` (``make test-llama`` builds
one in ``build/llama-venv``); that python also writes the tiny model (``tiny_gguf.py``), so the test
process itself needs neither ``llama_cpp`` nor ``gguf``. Not a test module.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from types import TracebackType

import httpx
from server_support import free_port

PYTHON_ENV = "SPLITINFER_LLAMA_PYTHON"
HERE = Path(__file__).resolve().parent
MODEL_ALIAS = "tiny-llama"
CONTEXT_TOKENS = 8192


def llama_python() -> tuple[str | None, str]:
    """(the engine's python, "") when ``$SPLITINFER_LLAMA_PYTHON`` can import llama_cpp.server, else
    (None, the reason to skip)."""
    python = os.environ.get(PYTHON_ENV, "")
    if not python:
        return None, f"${PYTHON_ENV} is not set: run `make test-llama` (builds llama-cpp-python once)"
    try:
        probe = subprocess.run(
            [python, "-c", "import llama_cpp.server, gguf"], capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return None, f"${PYTHON_ENV}={python} cannot run: {err}"
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"${PYTHON_ENV}={python} cannot import llama_cpp.server and gguf: {last}"
    return python, ""


def write_tiny_model(python: str, out: Path, seed: int = 0) -> Path:
    """Writes the tiny random-weight GGUF with the engine's python (which has ``gguf``)."""
    subprocess.run(
        [python, str(HERE / "tiny_gguf.py"), str(out), "--seed", str(seed)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out


class LlamaEngine:
    """``python -m llama_cpp.server`` serving ``model`` on 127.0.0.1; a context manager.

    ``base_url`` is the OpenAI-compatible root (``.../v1``). The engine's stdout and stderr go to
    ``log_path`` (``log()`` reads it): llama-cpp-python prints there when a client disconnects.
    """

    def __init__(self, python: str, model: Path, log_path: Path, startup_timeout_s: float = 120.0) -> None:
        self.python = python
        self.model = model
        self.log_path = log_path
        self.startup_timeout_s = startup_timeout_s
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LlamaEngine:
        command = [
            self.python,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.model),
            "--model_alias",
            MODEL_ALIAS,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(CONTEXT_TOKENS),
            "--n_threads",
            "1",
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not answer in {self.startup_timeout_s}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: the engine dies as a crashed one would, without closing anything cleanly."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> LlamaEngine:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
