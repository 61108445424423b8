"""The release gates a converted condenser must pass before ``splitinfer convert`` writes it.

Each gate is a function that measures one thing and returns a ``Gate`` (value, threshold,
passed). ``convert`` runs them all and exits 1 when any fails:

- ``builtin_ops``: every op of the flatbuffer is a TFLite builtin, as the TFLite model analyzer
  lists them (a Flex or custom op would not run in the device runtime);
- ``parity``: the converted model against the Keras model on held-back prompts: for float32 the
  largest |score difference| per token, for reduced-precision modes (float16, dynamic, int8) the
  fraction of words with the same keep/drop decision at the bundle's default rate under the SDK's
  selection rules (``agreement``);
- ``size``: the whole bundle (model, vocabulary, manifest) in MB (10^6 bytes);
- ``latency``: the median time of one window (the model's ``max_seq_len`` tokens, 512 for the
  bundled condenser) on one thread in LiteRT.
"""

from __future__ import annotations

import contextlib
import io
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from splitinfer.converters.agreement import compare
from splitinfer.converters.windows import Prompt, prompt_windows, score_prompt

_ANALYZER_OP = re.compile(r"^\s*Op#\d+\s+([A-Za-z0-9_]+)\(", re.MULTILINE)


@dataclass
class Gate:
    """One gate's outcome. ``value`` is None when the gate could not be measured (see ``detail``)."""

    name: str
    passed: bool
    value: Any
    threshold: Any
    unit: str = ""
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def interpreter(model: bytes, num_threads: int = 1) -> Any:
    """A LiteRT interpreter over ``model``, tensors allocated."""
    from ai_edge_litert.interpreter import Interpreter

    from splitinfer.converters.convert import quiet_native_stderr

    with quiet_native_stderr():  # LiteRT announces its XNNPACK delegate on stderr
        runner = Interpreter(model_content=model, num_threads=num_threads)
        runner.allocate_tensors()
    return runner


class TFLiteScorer:
    """Batch scorer over a TFLite model of the condenser contract (one window per invoke)."""

    def __init__(self, model: bytes) -> None:
        self._runner = interpreter(model)
        inputs = {d["name"]: d["index"] for d in self._runner.get_input_details()}
        self._context = inputs["context_ids"]
        self._question = inputs["question_ids"]
        self._output = self._runner.get_output_details()[0]["index"]

    def __call__(self, context_ids: np.ndarray, question_ids: np.ndarray) -> np.ndarray:
        out = []
        for c, q in zip(context_ids, question_ids, strict=True):
            self._runner.set_tensor(self._context, c[None, :].astype(np.int32))
            self._runner.set_tensor(self._question, q[None, :].astype(np.int32))
            self._runner.invoke()
            out.append(self._runner.get_tensor(self._output)[0].copy())
        return np.stack(out) if out else np.zeros((0, context_ids.shape[1]), np.float32)


def analyzer_ops(model: bytes) -> list[str]:
    """Op names of every op in ``model``, in order, as the TFLite model analyzer prints them."""
    from splitinfer.converters.convert import import_tensorflow

    tf = import_tensorflow()
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        tf.lite.experimental.Analyzer.analyze(model_content=model, gpu_compatibility=False)
    return _ANALYZER_OP.findall(text.getvalue())


def builtin_names() -> frozenset[str]:
    """Names of the TFLite builtin operators (from the flatbuffer schema), CUSTOM excluded."""
    from tensorflow.lite.python import schema_py_generated as schema

    names = {n for n in vars(schema.BuiltinOperator) if n.isupper() and not n.startswith("_")}
    return frozenset(names - {"CUSTOM", "DELEGATE"})


def builtin_ops(model: bytes, allow_flex: bool = False) -> Gate:
    """Pass when every op is a builtin (with ``allow_flex``, Flex ops are let through too)."""
    ops = analyzer_ops(model)
    builtins = builtin_names()
    foreign = sorted({op for op in ops if op not in builtins})
    refused = [op for op in foreign if not (allow_flex and op.startswith("Flex"))]
    if not ops:
        return Gate("builtin_ops", False, None, "builtin only", detail="the analyzer listed no ops")
    detail = f"{len(ops)} ops, {len(set(ops))} kinds: {', '.join(sorted(set(ops)))}"
    if refused:
        detail = f"not builtin: {', '.join(refused)} (Flex/custom ops do not run on the device); " + detail
    return Gate(
        "builtin_ops", not refused, foreign, "builtin only" + (" (+Flex)" if allow_flex else ""), "", detail
    )


def parity(
    predict: Any,
    model: bytes,
    prompts: Sequence[Prompt],
    mode: str,
    max_seq_len: int,
    rate: float,
    max_float_delta: float,
    min_agreement: float,
) -> tuple[Gate, dict[str, Any]]:
    """The converted model against the float reference ``predict`` on ``prompts`` (see module doc)."""
    scorer = TFLiteScorer(model)
    deltas: list[float] = []
    reference, converted = [], []
    for prompt in prompts:
        windows, spans = prompt_windows(prompt, max_seq_len)
        if not spans:
            continue
        questions = np.repeat(prompt.question_ids[None, :], len(spans), axis=0)
        want = np.asarray(predict(windows, questions), dtype=np.float32)
        got = scorer(windows, questions)
        valid = np.arange(max_seq_len)[None, :] < np.array([s for _, _, s in spans])[:, None]
        deltas.append(float(np.max(np.abs(want - got)[valid])))
        reference.append(score_prompt(prompt, lambda c, q, w=want: w, max_seq_len))
        converted.append(score_prompt(prompt, lambda c, q, g=got: g, max_seq_len))
    used = [p for p in prompts if len(p.ids)]
    agree = compare(reference, converted, [p.counts for p in used], [p.words for p in used], rate)
    max_delta = max(deltas) if deltas else 0.0
    stats = {"max_abs_delta": max_delta, "prompts": len(used), "words": agree.words, **agree.to_dict()}
    if mode == "float32":
        gate = Gate("parity", max_delta <= max_float_delta, max_delta, max_float_delta, "max |delta score|")
    else:
        gate = Gate(
            "parity",
            agree.agreement >= min_agreement,
            round(agree.agreement, 6),
            min_agreement,
            f"keep/drop agreement at rate {rate}",
            f"max |delta score| {max_delta:.3g}",
        )
    return gate, stats


def latency(
    models: dict[str, bytes], max_seq_len: int, max_question_len: int, runs: int = 100, seed: int = 0
) -> dict[str, dict[str, float]]:
    """p50/p99 ms of one window per model, one thread; runs interleave models so noise hits all alike."""
    rng = np.random.default_rng(seed)
    context = rng.integers(1000, 30000, (1, max_seq_len)).astype(np.int32)
    question = np.zeros((1, max_question_len), dtype=np.int32)
    asked = min(12, max_question_len, max_seq_len)
    question[0, :asked] = context[0, max_seq_len - asked :]  # a question that matches a passage
    runners = {}
    for mode, model in models.items():
        runner = interpreter(model)
        names = {d["name"]: d["index"] for d in runner.get_input_details()}
        runner.set_tensor(names["context_ids"], context)
        runner.set_tensor(names["question_ids"], question)
        for _ in range(5):
            runner.invoke()
        runners[mode] = runner
    times: dict[str, list[float]] = {mode: [] for mode in models}
    for _ in range(runs):
        for mode, runner in runners.items():
            start = time.perf_counter()
            runner.invoke()
            times[mode].append((time.perf_counter() - start) * 1000.0)
    return {
        mode: {"p50_ms": float(np.percentile(t, 50)), "p99_ms": float(np.percentile(t, 99))}
        for mode, t in times.items()
    }


def latency_gate(p50_ms: float, max_p50_ms: float, max_seq_len: int) -> Gate:
    """The latency gate of a model whose window is ``max_seq_len`` tokens (the unit says so)."""
    unit = f"p50 ms, {max_seq_len} tokens, 1 thread"
    return Gate("latency", p50_ms <= max_p50_ms, round(p50_ms, 4), max_p50_ms, unit)


def size_gate(bundle_bytes: int, max_size_mb: float) -> Gate:
    mb = bundle_bytes / 1e6
    return Gate("size", mb <= max_size_mb, round(mb, 6), max_size_mb, "MB (bundle)", f"{bundle_bytes} bytes")
