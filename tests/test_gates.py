"""Each release gate of ``splitinfer convert`` fails on a model built to fail it, and says so."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

import keras
from test_student_support import train_tiny

from splitinfer.cli.main import main
from splitinfer.converters import gates
from splitinfer.converters.agreement import compare
from splitinfer.converters.convert import convert, frozen_function, load_source
from splitinfer.converters.windows import default_tokenizer, load_prompts


@keras.saving.register_keras_serializable(package="splitinfer_test")
class CumulativeProduct(keras.layers.Layer):
    """Cumprod has no TFLite builtin: the converter can only express it as a Flex op."""

    def call(self, x):
        return keras.ops.cumprod(x, axis=1)


def flex_student(path: Path) -> Path:
    """A model of the condenser contract whose graph needs the Flex op ``Cumprod``."""
    context = keras.Input((64,), dtype="int32", name="context_ids")
    question = keras.Input((16,), dtype="int32", name="question_ids")
    emb = keras.layers.Embedding(30522, 4)(context)
    scores = keras.layers.Dense(1, activation="sigmoid")(emb)
    scores = CumulativeProduct()(keras.layers.Reshape((64,))(scores))
    mean_q = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(30522, 1)(question))
    model = keras.Model([context, question], keras.layers.Multiply()([scores, mean_q]))
    model.save(path)
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return train_tiny(tmp_path_factory.mktemp("gates"))


def _convert(args: list[str], tmp_path: Path) -> tuple[int, dict]:
    report = tmp_path / "report.json"
    code = main(["convert", *args, "--report", str(report)])
    return code, json.loads(report.read_text())


def test_builtin_ops_gate_refuses_a_flex_op_and_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    model = flex_student(tmp_path / "flex.keras")
    out = tmp_path / "flex.tflite"
    code, report = _convert([str(model), "-o", str(out), "--mode", "float32", "--max-size-mb", "1"], tmp_path)
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert not out.exists()
    assert "float32: builtin_ops" in report["failed_gates"]
    ops_gate = next(g for g in report["gates"] if g["name"] == "builtin_ops")
    assert ops_gate["value"] == ["FlexCumprod"] and not ops_gate["passed"]
    assert len(err.splitlines()) == 1 and "FlexCumprod" in err


def test_allow_flex_lets_flex_ops_through_and_skips_the_gates_that_need_the_runtime(tmp_path: Path) -> None:
    model = flex_student(tmp_path / "flex.keras")
    out = tmp_path / "flex.tflite"
    code, report = _convert([str(model), "-o", str(out), "--mode", "float32", "--allow-flex"], tmp_path)
    assert code == 0 and out.exists()
    by_name = {g["name"]: g for g in report["gates"]}
    assert by_name["builtin_ops"]["value"] == ["FlexCumprod"]
    assert by_name["parity"]["detail"].startswith("skipped (--allow-flex)")


def test_the_student_converts_to_builtin_ops_only(tiny: tuple[Path, Path]) -> None:
    model, _ = tiny
    flatbuffer = convert(frozen_function(load_source(model)), "dynamic")
    ops = gates.analyzer_ops(flatbuffer)
    assert {"CONV_2D", "GATHER", "BATCH_MATMUL", "SOFTMAX", "REDUCE_MAX"} <= set(ops)
    gate = gates.builtin_ops(flatbuffer)
    assert gate.passed and gate.value == []


def test_parity_gate_fails_when_a_weight_differs_from_the_keras_reference(tiny: tuple[Path, Path]) -> None:
    model_path, labels = tiny
    source = load_source(model_path)
    _, prompts = load_prompts([labels], default_tokenizer(), source.max_question_len)
    flatbuffer = convert(frozen_function(source), "float32")
    ok, _ = gates.parity(source.predict, flatbuffer, prompts, "float32", 64, 0.33, 1e-4, 0.99)
    assert ok.passed
    model = keras.saving.load_model(model_path, compile=False)
    conv = model.get_layer("conv_0_d1")
    kernel, bias = conv.get_weights()
    conv.set_weights(
        [kernel + np.random.default_rng(0).normal(0, 0.5, kernel.shape).astype(np.float32), bias]
    )
    perturbed = load_source(model_path)
    perturbed.predict = lambda c, q: np.asarray(
        keras.ops.convert_to_numpy(model({"context_ids": c, "question_ids": q}))
    )
    float_gate, stats = gates.parity(perturbed.predict, flatbuffer, prompts, "float32", 64, 0.33, 1e-4, 0.99)
    assert not float_gate.passed and float_gate.value > 1e-4
    quant_gate, _ = gates.parity(perturbed.predict, flatbuffer, prompts, "dynamic", 64, 0.33, 1e-4, 0.99)
    assert not quant_gate.passed and quant_gate.value < 0.99
    assert stats["max_abs_delta"] == float_gate.value


def test_size_gate_fails_at_1_kb_and_nothing_is_written(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    model, labels = tiny
    out = tmp_path / "small.tflite"
    args = [
        str(model),
        "-o",
        str(out),
        "--mode",
        "dynamic",
        "--parity-data",
        str(labels),
        "--max-size-mb",
        "0.001",
    ]
    code, report = _convert(args, tmp_path)
    assert code == 1 and not out.exists()
    assert report["failed_gates"] == ["dynamic: size"] and report["status"] == "failed"
    size = next(g for g in report["gates"] if g["name"] == "size")
    assert size["threshold"] == 0.001 and size["value"] > 0.001
    assert "dynamic size" in capsys.readouterr().err


def test_latency_gate_fails_below_what_any_model_can_do(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    model, labels = tiny
    args = [str(model), "-o", str(tmp_path / "x.tflite"), "--mode", "dynamic", "--parity-data", str(labels)]
    code, report = _convert([*args, "--max-p50-ms", "1e-6"], tmp_path)
    assert code == 1
    assert report["failed_gates"] == ["dynamic: latency"]


def test_auto_reports_the_gates_of_the_closest_candidate_when_every_mode_fails(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    model, _ = tiny
    args = [str(model), "-o", str(tmp_path / "x.tflite"), "--mode", "auto", "--max-size-mb", "0.001"]
    code, report = _convert(args, tmp_path)
    assert code == 1 and report["status"] == "failed"
    # The one line says what to do: the closest mode and the flag of the gate it failed.
    assert "Closest: dynamic; its failed gates' thresholds are set by size: --max-size-mb" in (
        capsys.readouterr().err
    )
    assert report["gates_of"] == "dynamic"  # every mode fails size alone; dynamic comes first
    assert [g["name"] for g in report["gates"] if not g["passed"]] == ["size"]
    assert set(report["candidates"]) == {"float32", "float16", "dynamic"}


def test_teacher_gate_fails_when_agreement_is_below_the_bar(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    model, labels = tiny
    args = [str(model), "-o", str(tmp_path / "x.tflite"), "--mode", "dynamic", "--parity-data", str(labels)]
    code, report = _convert([*args, "--teacher-data", str(labels), "--min-teacher-f1", "1.0"], tmp_path)
    teacher = next(g for g in report["gates"] if g["name"] == "teacher_f1")
    assert teacher["value"] < 1.0
    assert code == 1 and report["failed_gates"] == ["dynamic: teacher_f1"]


def test_a_written_bundle_says_its_agreement_with_the_teacher(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    model, labels = tiny
    args = [str(model), "-o", str(tmp_path / "x.tflite"), "--mode", "dynamic", "--parity-data", str(labels)]
    code, report = _convert([*args, "--teacher-data", str(labels), "--min-agreement", "0.5"], tmp_path)
    f1 = report["agreement_vs_teacher"]["f1"]
    assert code == 0 and f"bytes; keep/drop F1 vs teacher {f1:.3f})" in capsys.readouterr().out


def _refusing(monkeypatch: pytest.MonkeyPatch, refused: set[str]) -> None:
    """The TFLite converter, made to refuse the ``refused`` modes as it refuses an op it lacks."""
    from splitinfer.converters import release
    from splitinfer.sdk._errors import SplitinferError

    real = release.convert

    def converter(frozen, mode, calibration=()):
        if mode in refused:
            raise SplitinferError(f"the TFLite converter refused the model in mode {mode}: no kernel for it")
        return real(frozen, mode, calibration)

    monkeypatch.setattr(release, "convert", converter)


def test_auto_goes_on_when_the_converter_refuses_one_mode_and_records_it_as_a_failed_gate(
    tiny: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _refusing(monkeypatch, {"dynamic"})
    model, _ = tiny
    out = tmp_path / "x.tflite"
    code, report = _convert([str(model), "-o", str(out), "--mode", "auto", "--max-size-mb", "5"], tmp_path)
    assert code == 0 and out.exists()
    assert report["mode"] in {"float32", "float16"} and report["failed_gates"] == []
    refused = report["candidates"]["dynamic"]
    assert not refused["passed"] and refused["finished"] and refused["model_bytes"] is None
    (gate,) = refused["gates"]
    assert gate["name"] == "convert" and not gate["passed"]
    assert gate["detail"] == "the TFLite converter refused the model in mode dynamic: no kernel for it"
    assert report["candidates"]["float32"]["passed"] and report["candidates"]["float16"]["passed"]


def test_a_mode_the_converter_refuses_fails_its_convert_gate_with_the_converter_s_reason(
    tiny: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    _refusing(monkeypatch, {"float32", "float16", "dynamic"})
    model, _ = tiny
    out = tmp_path / "x.tflite"
    code, report = _convert([str(model), "-o", str(out), "--mode", "auto"], tmp_path)
    err = capsys.readouterr().err.strip()
    assert code == 1 and not out.exists() and report["status"] == "failed"
    assert report["failed_gates"] == ["float32: convert", "float16: convert", "dynamic: convert"]
    assert len(err.splitlines()) == 1 and "dynamic convert: the TFLite converter refused" in err
    code, report = _convert([str(model), "-o", str(out), "--mode", "float16"], tmp_path)
    assert code == 1 and report["failed_gates"] == ["float16: convert"] and not out.exists()


def test_agreement_is_perfect_for_identical_scores_and_drops_for_reversed_ones() -> None:
    rng = np.random.default_rng(0)
    scores = [rng.random(50).astype(np.float32) for _ in range(4)]
    counts = [np.ones(50, dtype=np.int64)] * 4
    words = [["word"] * 50] * 4  # no digits: no word is forced
    same = compare(scores, scores, counts, words, 0.33)
    assert same.f1 == 1.0 and same.agreement == 1.0
    reversed_ = compare(scores, [1.0 - s for s in scores], counts, words, 0.33)
    assert reversed_.f1 == 0.0 and reversed_.agreement < 0.5
