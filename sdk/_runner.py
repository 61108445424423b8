"""Runs a bundle's TFLite model with LiteRT: token ids in, per-token keep scores out.

A LiteRT ``Interpreter`` is not safe to share between threads (``set_tensor``/``invoke``/
``get_tensor`` race), so each thread that scores gets its own interpreter over the same model
bytes, created on first use (a few milliseconds) and kept for the thread's life. No lock is held
while the model runs, so threads condense in parallel.

The model I/O contract (checked when the runner is built, so a wrong bundle fails at load, not on
the first prompt): inputs ``context_ids`` int32 [1, max_seq_len] and ``question_ids`` int32
[1, max_question_len], output float32 [1, max_seq_len], each found by the tensor name the
manifest gives.
"""

from __future__ import annotations

import contextlib
import numbers
import sys
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from splitinfer.sdk._errors import BundleError, InvalidInputError
from splitinfer.sdk._stderr import caught_stderr

_REBUILD = "rebuild it with 'splitinfer convert' (or 'make model' for the default bundle)"


# More threads than any phone or server has cores; LiteRT takes a C int.
MAX_THREADS = 1024


def check_threads(num_threads: object) -> int:
    """``num_threads`` as an int from 1 to ``MAX_THREADS`` (numpy integers too), or
    ``InvalidInputError``."""
    if (
        isinstance(num_threads, bool)
        or not isinstance(num_threads, numbers.Integral)
        or not (1 <= int(num_threads) <= MAX_THREADS)
    ):
        raise InvalidInputError(
            f"num_threads must be an integer from 1 to {MAX_THREADS} (LiteRT's threads per calling "
            f"thread), got {num_threads!r}"
        )
    return int(num_threads)


class ModelRunner:
    """Thread-safe scorer over one TFLite flatbuffer (see the module docstring)."""

    def __init__(self, model: bytes, manifest: dict[str, Any], name: str, num_threads: int = 1) -> None:
        self._model = model
        self._name = name
        self._num_threads = check_threads(num_threads)
        self.max_seq_len = _positive_int(manifest, "max_seq_len", name)
        self.max_question_len = _positive_int(manifest, "max_question_len", name)
        inputs = manifest.get("inputs")
        if not isinstance(inputs, dict) or not {"context_ids", "question_ids"} <= inputs.keys():
            raise BundleError(
                f"{name}: manifest 'inputs' must name 'context_ids' and 'question_ids'; {_REBUILD}"
            )
        self._input_names = (str(inputs["context_ids"]), str(inputs["question_ids"]))
        self._output_name = str(manifest.get("output"))
        self._local = threading.local()
        # Build one interpreter now: a model that LiteRT rejects or that breaks the contract fails
        # at load time with a BundleError.
        self._interpreter()

    def _interpreter(self) -> tuple[Any, int, int, int]:
        state = getattr(self._local, "state", None)
        if state is None:
            state = self._local.state = self._create()
        return state

    def _create(self) -> tuple[Any, int, int, int]:
        from ai_edge_litert.interpreter import Interpreter

        try:
            interpreter = Interpreter(model_content=self._model, num_threads=self._num_threads)
            with _without_delegate_notice():
                interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as err:
            raise BundleError(f"{self._name}: LiteRT cannot load the model ({err}); {_REBUILD}") from None
        inputs = {d["name"]: d for d in interpreter.get_input_details()}
        outputs = {d["name"]: d for d in interpreter.get_output_details()}
        context = self._tensor(inputs, self._input_names[0], np.int32, (1, self.max_seq_len))
        question = self._tensor(inputs, self._input_names[1], np.int32, (1, self.max_question_len))
        output = self._tensor(outputs, self._output_name, np.float32, (1, self.max_seq_len))
        return interpreter, context, question, output

    def _tensor(self, details: dict[str, dict], name: str, dtype: type, shape: tuple[int, int]) -> int:
        if name not in details:
            raise BundleError(
                f"{self._name}: the model has no tensor '{name}' (it has {', '.join(sorted(details))}); "
                f"the manifest does not match the model; {_REBUILD}"
            )
        detail = details[name]
        if detail["dtype"] != dtype or tuple(detail["shape"]) != shape:
            raise BundleError(
                f"{self._name}: tensor '{name}' is {np.dtype(detail['dtype']).name}{[int(d) for d in detail['shape']]}, "
                f"the contract wants {np.dtype(dtype).name}{list(shape)}; {_REBUILD}"
            )
        return int(detail["index"])

    def score(self, context_ids: np.ndarray, question_ids: np.ndarray) -> np.ndarray:
        """Keep scores (float32 [max_seq_len]) of one padded window, given the padded question."""
        interpreter, context, question, output = self._interpreter()
        interpreter.set_tensor(context, context_ids.reshape(1, self.max_seq_len))
        interpreter.set_tensor(question, question_ids.reshape(1, self.max_question_len))
        interpreter.invoke()
        return interpreter.get_tensor(output)[0]


# What LiteRT's native code prints to stderr, once per process, when it applies its default CPU
# delegate: nothing a user can act on, and in the way of a command's one-line output.
_DELEGATE_NOTICE = "INFO: Created TensorFlow Lite XNNPACK delegate"
_notice_lock = threading.Lock()
_notice_done = False


@contextlib.contextmanager
def _without_delegate_notice() -> Iterator[None]:
    """Runs the block with the process's stderr (fd 2) caught, then writes back every line but
    LiteRT's delegate notice: other diagnostics, and other threads' writes meanwhile, still show.
    Only until the first interpreter is allocated (LiteRT prints the notice once); the lock keeps
    two threads from swapping fd 2 under each other."""
    global _notice_done
    if _notice_done:
        yield
        return
    with _notice_lock:
        try:
            with caught_stderr() as caught:
                yield
        finally:
            kept = "".join(
                line
                for line in caught.text.splitlines(keepends=True)
                if not line.startswith(_DELEGATE_NOTICE)
            )
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()
        _notice_done = True


# The longest window or question a manifest may declare (as the Android core reads it).
MAX_MANIFEST_TOKENS = 1 << 20


def _positive_int(manifest: dict[str, Any], field: str, name: str) -> int:
    value = manifest.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_MANIFEST_TOKENS:
        raise BundleError(
            f"{name}: manifest '{field}' must be a positive integer of at most {MAX_MANIFEST_TOKENS}, "
            f"got {value!r}; {_REBUILD}"
        )
    return value
