"""From a trained student (Keras ``.keras`` file or SavedModel folder) to TFLite flatbuffer bytes.

Steps, one function each:

1. ``load_source``: read the model, check it has the condenser's I/O contract (inputs
   ``context_ids`` int32 [batch, max_seq_len] and ``question_ids`` int32 [batch, max_question_len],
   one float output [batch, max_seq_len]); anything else is bad input (``InvalidInputError``).
2. ``frozen_function``: a batch-1 ``tf.function`` of the model with its weights folded in as
   constants, so the flatbuffer carries them (a resource-variable model would carry none).
3. ``convert``: the TFLite converter in one of ``MODES``:

   - ``float32``: weights and arithmetic in float32;
   - ``float16``: weights stored as float16, arithmetic in float32;
   - ``dynamic``: weights stored as int8 (dynamic-range quantization), activations float;
   - ``int8``: full integer quantization, activation ranges calibrated on real windows;

   Select-TF (Flex) ops are let through so the builtin-ops gate can name them instead of the
   converter failing with a wall of MLIR; the gate then refuses them (``gates.builtin_ops``).
4. ``name_output``: the score tensor is renamed ``scores`` (the converter calls it ``Identity``).

Conversion is deterministic: the same model, mode and calibration windows give the same bytes.
"""

from __future__ import annotations

import contextlib
import os
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from splitinfer.sdk._errors import InvalidInputError, SplitinferError
from splitinfer.sdk._stderr import caught_stderr

MODES = ("float32", "float16", "dynamic", "int8")
INPUT_NAMES = ("context_ids", "question_ids")
OUTPUT_NAME = "scores"


@dataclass
class Source:
    """A loaded model of the condenser's I/O contract.

    ``predict(context_ids [n, L], question_ids [n, Q]) -> scores [n, L]`` runs it in TensorFlow
    (the float reference the parity gate compares against); ``function`` is its batch-1
    ``tf.function``.
    """

    name: str
    max_seq_len: int
    max_question_len: int
    predict: Callable[[np.ndarray, np.ndarray], np.ndarray]
    function: Any


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence what TensorFlow's C++ code writes to stderr (converter and MLIR logs) meanwhile."""
    with caught_stderr():
        yield


def import_tensorflow() -> Any:
    """TensorFlow, imported quietly (its INFO/WARNING logs say nothing a user can act on)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import sys

    if "tensorflow" not in sys.modules:
        with quiet_native_stderr():
            import tensorflow  # noqa: F401
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)
    return tf


def load_source(path: str | Path) -> Source:
    """Load a ``.keras`` student or a SavedModel folder; ``InvalidInputError`` when it is unusable."""
    path = Path(path)
    if not path.exists():
        raise InvalidInputError(f"{path}: no such model; pass a .keras file or a SavedModel folder")
    if path.is_dir():
        return _load_saved_model(path)
    return _load_keras(path)


def _load_keras(path: Path) -> Source:
    import_tensorflow()
    import keras

    import splitinfer.converters.student  # noqa: F401  (registers the student's layers)

    with path.open("rb") as stream:
        head = stream.read(8)
    if head[4:8] == b"TFL3":
        raise InvalidInputError(
            f"{path} is already a converted .tflite model; convert takes the trained .keras student "
            "(or a SavedModel folder)"
        )
    if not zipfile.is_zipfile(path):
        raise InvalidInputError(
            f"{path} is not a Keras model (.keras files are ZIP archives); it is corrupt or something "
            f"else; retrain it with 'splitinfer distill train'"
        )
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as err:  # Keras raises many types for a bad file; all mean the same here.
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        hint = (
            "a Keras model file must end in .keras"
            if path.suffix != ".keras"
            else "retrain it with 'splitinfer distill train'"
        )
        raise InvalidInputError(f"{path}: Keras cannot load this model ({first[:200]}); {hint}") from None
    max_seq_len, max_question_len = _check_keras_contract(model, path)
    return keras_source(model, path.name, max_seq_len, max_question_len)


def keras_source(model: Any, name: str, max_seq_len: int, max_question_len: int) -> Source:
    """A ``Source`` over an in-memory Keras model of the contract."""
    return Source(
        name=name,
        max_seq_len=max_seq_len,
        max_question_len=max_question_len,
        predict=_keras_predict(model),
        function=_keras_function(model, max_seq_len, max_question_len),
    )


def _check_keras_contract(model: Any, path: Path) -> tuple[int, int]:
    names = [t.name for t in model.inputs]
    if sorted(names) != sorted(INPUT_NAMES) or len(model.outputs) != 1:
        raise InvalidInputError(
            f"{path}: the model has inputs {names} and {len(model.outputs)} output(s); a condenser needs "
            f"inputs {list(INPUT_NAMES)} and one output of per-token scores"
        )
    shapes = {t.name: tuple(t.shape) for t in model.inputs}
    dtypes = {t.name: str(t.dtype) for t in model.inputs}
    for name in INPUT_NAMES:
        if "int32" not in dtypes[name] or len(shapes[name]) != 2 or shapes[name][1] is None:
            raise InvalidInputError(
                f"{path}: input {name} is {dtypes[name]}{list(shapes[name])}; the contract wants int32 [batch, N]"
            )
    max_seq_len, max_question_len = shapes["context_ids"][1], shapes["question_ids"][1]
    out = tuple(model.outputs[0].shape)
    if out[1:] != (max_seq_len,):
        raise InvalidInputError(
            f"{path}: the output is {list(out)}; the contract wants one score per context token [batch, {max_seq_len}]"
        )
    return int(max_seq_len), int(max_question_len)


def keras_numpy(tensor: Any) -> np.ndarray:
    """A Keras/TF tensor as a numpy array."""
    import keras

    return np.asarray(keras.ops.convert_to_numpy(tensor))


def _keras_predict(model: Any) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def predict(context_ids: np.ndarray, question_ids: np.ndarray) -> np.ndarray:
        out = [
            keras_numpy(model({"context_ids": c, "question_ids": q}, training=False))
            for c, q in _batches(context_ids, question_ids, 64)
        ]
        return np.concatenate(out) if out else np.zeros((0, context_ids.shape[1]), np.float32)

    return predict


def _keras_function(model: Any, max_seq_len: int, max_question_len: int) -> Any:
    tf = import_tensorflow()

    @tf.function(
        input_signature=[
            tf.TensorSpec([1, max_seq_len], tf.int32, name=INPUT_NAMES[0]),
            tf.TensorSpec([1, max_question_len], tf.int32, name=INPUT_NAMES[1]),
        ]
    )
    def serve(context_ids: Any, question_ids: Any) -> dict[str, Any]:
        scores = model({"context_ids": context_ids, "question_ids": question_ids}, training=False)
        return {OUTPUT_NAME: scores}

    return serve


def _load_saved_model(path: Path) -> Source:
    tf = import_tensorflow()
    try:
        loaded = tf.saved_model.load(str(path))
        signature = loaded.signatures["serving_default"]
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InvalidInputError(
            f"{path}: not a usable SavedModel with a 'serving_default' signature ({first[:200]}); pass "
            "the .keras student, or the folder its model.export() writes"
        ) from None
    specs = signature.structured_input_signature[1]
    if sorted(specs) != sorted(INPUT_NAMES) or len(signature.structured_outputs) != 1:
        raise InvalidInputError(
            f"{path}: the signature takes {sorted(specs)}; a condenser takes {list(INPUT_NAMES)} and "
            f"returns one tensor of per-token scores"
        )
    for name in INPUT_NAMES:
        if specs[name].dtype != tf.int32 or specs[name].shape.rank != 2 or specs[name].shape[1] is None:
            raise InvalidInputError(
                f"{path}: input {name} is {specs[name]}; the contract wants int32 [batch, N]"
            )
    max_seq_len, max_question_len = int(specs["context_ids"].shape[1]), int(specs["question_ids"].shape[1])
    (out_key,) = signature.structured_outputs

    def predict(context_ids: np.ndarray, question_ids: np.ndarray) -> np.ndarray:
        out = []
        for c, q in _batches(context_ids, question_ids, 1 if specs["context_ids"].shape[0] == 1 else 64):
            out.append(signature(context_ids=tf.constant(c), question_ids=tf.constant(q))[out_key].numpy())
        return np.concatenate(out) if out else np.zeros((0, max_seq_len), np.float32)

    @tf.function(
        input_signature=[
            tf.TensorSpec([1, max_seq_len], tf.int32, name=INPUT_NAMES[0]),
            tf.TensorSpec([1, max_question_len], tf.int32, name=INPUT_NAMES[1]),
        ]
    )
    def serve(context_ids: Any, question_ids: Any) -> dict[str, Any]:
        return {OUTPUT_NAME: signature(context_ids=context_ids, question_ids=question_ids)[out_key]}

    serve._splitinfer_keepalive = loaded  # the signature's variables live as long as the function
    return Source(path.name, max_seq_len, max_question_len, predict, serve)


def _batches(a: np.ndarray, b: np.ndarray, size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for start in range(0, len(a), size):
        yield a[start : start + size].astype(np.int32), b[start : start + size].astype(np.int32)


def frozen_function(source: Source) -> Any:
    """The batch-1 function with every variable folded into a constant."""
    import_tensorflow()
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    return convert_variables_to_constants_v2(source.function.get_concrete_function())


def convert(
    frozen: Any,
    mode: str,
    calibration: Sequence[tuple[np.ndarray, np.ndarray]] = (),
) -> bytes:
    """TFLite flatbuffer of ``frozen`` in ``mode``; ``int8`` needs ``calibration`` windows.

    Raises ``SplitinferError`` when the converter refuses the model (the message is the
    converter's first useful line).
    """
    tf = import_tensorflow()
    if mode not in MODES:
        raise InvalidInputError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)} or auto")
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    if mode == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif mode == "int8":
        if not calibration:
            raise InvalidInputError("mode int8 needs calibration windows: pass --calibration LABELS.jsonl")
        windows = list(calibration)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([c[None, :], q[None, :]] for c, q in windows)
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
            tf.lite.OpsSet.TFLITE_BUILTINS,
            tf.lite.OpsSet.SELECT_TF_OPS,
        ]
    try:
        with quiet_native_stderr():
            model = converter.convert()
    except Exception as err:  # ConverterError and friends: the model uses something TFLite lacks.
        raise SplitinferError(
            f"the TFLite converter refused the model in mode {mode}: {_first_line(err)}"
        ) from None
    return name_output(model)


def _first_line(err: BaseException) -> str:
    for line in str(err).splitlines():
        line = line.strip()
        if "error:" in line:
            return line[line.index("error:") + 6 :].strip()[:300]
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:300]


def name_output(model: bytes) -> bytes:
    """``model`` with its single output tensor named ``scores``."""
    import_tensorflow()
    from tensorflow.lite.tools import flatbuffer_utils

    tree = flatbuffer_utils.convert_bytearray_to_object(bytearray(model))
    graph = tree.subgraphs[0]
    if len(graph.outputs) != 1:
        return model
    graph.tensors[graph.outputs[0]].name = OUTPUT_NAME.encode()
    return bytes(flatbuffer_utils.convert_object_to_bytearray(tree))
