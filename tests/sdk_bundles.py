"""Tiny but real condenser bundles for the SDK tests, built with TensorFlow and run by LiteRT.

The default bundle (``sdk/assets/condenser.tflite``) is built by ``make model`` from shared data
that a fresh clone does not have, so the SDK tests build their own: a question-aware scorer of
the model I/O contract, converted by the real TFLite converter and packed by ``write_bundle``.

The model: a fixed random unit embedding of every token; a 3-wide convolution over the context
gives each token a score of its own, plus a bonus for the token's best cosine with any question
token (full for a token that occurs in the question, small or none otherwise).
Inputs ``context_ids`` int32 [1, max_seq_len], ``question_ids`` int32 [1, max_question_len]
(0 = [PAD]); output float32 [1, max_seq_len] in (0, 1). Weights come from a seeded generator:
the same arguments give the same bundle bytes.

Test modules load the fixtures with ``pytest_plugins = ["sdk_bundles"]``; each bundle is built
once per test session. The ``echo_server`` fixtures run a real splitinfer server on a loopback
port (the ``echo`` backend streams the prompt's words back, so a test sees what the server got).
``CountedRuns`` counts (and can slow down) a condenser's model runs, to see where condensing stopped.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from splitinfer.sdk._bundle import write_bundle

if TYPE_CHECKING:
    from splitinfer.sdk import Condenser

VOCAB_PATH = Path(__file__).resolve().parents[1] / "sdk" / "assets" / "vocab.txt"
EMBED_DIM = 16
QUESTION_WEIGHT = 6.0
# A context of more than 40 windows of the 16-token bundle (``small_window_bundle_path``), and a
# question about it: long enough to see where condensing stopped.
MANY_WINDOWS_CONTEXT = " ".join(
    f"Part {i} is about the paint, the trees and the old road by the river." for i in range(60)
)
MANY_WINDOWS_QUESTION = "Which road is old?"


def tflite_scorer(
    max_seq_len: int, max_question_len: int, vocab_size: int, seed: int = 0
) -> tuple[bytes, dict]:
    """TFLite flatbuffer of the test scorer, and the tensor names LiteRT reports for it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tf = pytest.importorskip("tensorflow")
    from ai_edge_litert.interpreter import Interpreter

    rng = np.random.default_rng(seed)
    vectors = rng.normal(0, 1, (vocab_size, EMBED_DIM))
    embedding = tf.constant((vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32))
    kernel = tf.constant(rng.normal(0, 0.5, (3, EMBED_DIM, EMBED_DIM)).astype(np.float32))
    head = tf.constant(rng.normal(0, 1, (EMBED_DIM, 1)).astype(np.float32))

    @tf.function(
        input_signature=[
            tf.TensorSpec([1, max_seq_len], tf.int32, name="context_ids"),
            tf.TensorSpec([1, max_question_len], tf.int32, name="question_ids"),
        ]
    )
    def score(context_ids, question_ids):
        context = tf.gather(embedding, context_ids)
        question = tf.gather(embedding, question_ids)
        absent = tf.cast(question_ids <= 0, tf.float32)[:, None, :]
        similarity = tf.matmul(context, question, transpose_b=True) - 2.0 * absent
        match = tf.nn.relu(tf.reduce_max(similarity, -1) - 0.5) * 2.0
        hidden = tf.nn.relu(tf.nn.conv1d(context, kernel, 1, "SAME"))
        logit = tf.squeeze(tf.matmul(hidden, head), -1) + QUESTION_WEIGHT * match
        return {"keep_score": tf.sigmoid(logit)}

    converter = tf.lite.TFLiteConverter.from_concrete_functions([score.get_concrete_function()])
    model = converter.convert()
    interpreter = Interpreter(model_content=model)
    names = {d["name"]: d["name"] for d in interpreter.get_input_details()}
    output = interpreter.get_output_details()[0]["name"]
    return model, {
        "inputs": {"context_ids": names["context_ids"], "question_ids": names["question_ids"]},
        "output": output,
    }


def build_test_bundle(
    path: Path,
    *,
    max_seq_len: int = 512,
    max_question_len: int = 64,
    model_version: str = "test-cnn-1",
    default_rate: float = 0.5,
    seed: int = 0,
    selection: dict | None = None,
    line_break_id: int | None = None,
) -> Path:
    """Write a test bundle of the model I/O contract at ``path`` and return it."""
    vocab = VOCAB_PATH.read_text(encoding="utf-8").splitlines()
    model, tensors = tflite_scorer(max_seq_len, max_question_len, len(vocab), seed)
    manifest = {
        "model_version": model_version,
        "max_seq_len": max_seq_len,
        "max_question_len": max_question_len,
        "default_rate": default_rate,
        "teacher": "none (random test scorer)",
        **tensors,
    }
    if selection is not None:
        manifest["selection"] = selection
    if line_break_id is not None:
        manifest["line_break_id"] = line_break_id
    return write_bundle(path, model, vocab, manifest)


@pytest.fixture(scope="session")
def bundle_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 512-token-window test bundle, built once per session."""
    return build_test_bundle(tmp_path_factory.mktemp("bundles") / "test-512.tflite")


@pytest.fixture(scope="session")
def small_window_bundle_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 16-token-window test bundle: long prompts (``MANY_WINDOWS_CONTEXT``) span many windows."""
    return build_test_bundle(
        tmp_path_factory.mktemp("bundles") / "test-16.tflite",
        max_seq_len=16,
        max_question_len=8,
        model_version="test-cnn-16",
    )


@pytest.fixture(scope="session")
def condenser(bundle_path: Path):
    """The 512-token test bundle, loaded once per session (a Condenser is thread-safe)."""
    from splitinfer.sdk import Condenser

    return Condenser.load(bundle_path)


def echo_server_config(**fields: object):
    """A loopback ServerConfig on a free port with a slow and a fast echo model (``echo`` first)."""
    from splitinfer.server import ModelConfig, ServerConfig

    fields.setdefault(
        "models",
        (
            ModelConfig("echo", {"name": "echo"}),
            ModelConfig("echo", {"name": "echo-slow", "chunk_delay_ms": 50, "repeat": 200}),
        ),
    )
    for name, value in {"host": "127.0.0.1", "port": 0, "grace_seconds": 0.5, "log_requests": False}.items():
        fields.setdefault(name, value)
    return ServerConfig(**fields)


def echo_backend(server, name: str = "echo-slow"):
    """The backend object serving model ``name`` in a running BackgroundServer (to see its runs)."""
    return server.server.core.routes[name][0]


@pytest.fixture(scope="module")
def echo_server(bundle_path: Path):
    """An echo server whose Condense RPC runs the 512-token test bundle."""
    from splitinfer.server import BackgroundServer

    with BackgroundServer(echo_server_config(condenser_path=bundle_path)) as server:
        yield server


@pytest.fixture(scope="module")
def echo_server_without_condenser(tmp_path_factory: pytest.TempPathFactory):
    """An echo server whose condenser bundle is missing: Condense answers FAILED_PRECONDITION."""
    from splitinfer.server import BackgroundServer

    missing = tmp_path_factory.mktemp("nobundle") / "missing.tflite"
    with BackgroundServer(echo_server_config(condenser_path=missing)) as server:
        yield server


class CountedRuns:
    """Wraps a condenser's model runs: counts them, sleeps ``delay_s`` in each, and sets
    ``reached`` once ``after`` runs have happened."""

    def __init__(self, condenser: Condenser, delay_s: float = 0.0, after: int = 1) -> None:
        self.calls = 0
        self.after = after
        self.reached = threading.Event()
        self._delay_s = delay_s
        self._score = condenser._runner.score
        condenser._runner.score = self  # type: ignore[method-assign]

    def __call__(self, *args: object):
        self.calls += 1
        if self.calls >= self.after:
            self.reached.set()
        time.sleep(self._delay_s)
        return self._score(*args)

    def settle(self, quiet_s: float = 0.3, limit_s: float = 10.0) -> int:
        """The count once no run has started for ``quiet_s`` (the condensing thread has ended)."""
        end = time.monotonic() + limit_s
        seen = -1
        while self.calls != seen and time.monotonic() < end:
            seen = self.calls
            time.sleep(quiet_s)
        return self.calls
