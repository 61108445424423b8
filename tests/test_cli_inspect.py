"""``splitinfer inspect``: a bundle checked and described, as a release pipeline uses it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cli_support import exit_code

from splitinfer.sdk import Condenser
from splitinfer.sdk._bundle import read_bundle
from splitinfer.sdk._condenser import DEFAULT_BUNDLE

pytest_plugins = ["sdk_bundles"]


def test_the_default_bundle_is_checked_run_and_described(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(["inspect"]) == 0
    out = capsys.readouterr().out
    manifest = read_bundle(DEFAULT_BUNDLE).manifest
    rows = dict(line.split(None, 1) for line in out.splitlines() if line[:1].strip())
    assert rows["model"].startswith(f"{manifest['model_version']} ")
    # Both hashes, named: the file's (convert's report: bundle_sha256) and the model's (eval: model_sha256).
    bundle_sha256 = hashlib.sha256(DEFAULT_BUNDLE.read_bytes()).hexdigest()
    assert f"bytes, sha256 {bundle_sha256[:12]}…; model " in rows["bundle"]
    assert f"model sha256 {manifest['sha256'][:12]}… verified" in rows["bundle"]
    assert rows["training"] == manifest["training_data"]["summary"]
    assert f"F1 {manifest['agreement_vs_teacher']['f1']:.3f}" in rows["agreement"]
    # One line per gate the converter recorded, each with its verdict.
    for gate in manifest["gates"]:
        assert f"{gate}: passed" in out
    assert rows["runs"].startswith("LiteRT scored a ")
    assert rows["files"] == "manifest.json, model_card.md, vocab.txt"
    # Every selection rule the bundle's manifest turns on is named.
    selection = manifest["selection"]
    assert f"sentence weight {selection['segment_weight']}" in rows["selection"]
    assert ("names taken whole" in rows["selection"]) == bool(selection.get("name_spans"))
    assert ("titles lifted" in rows["selection"]) == bool(selection.get("title_lift"))


def test_json_holds_the_whole_manifest_and_the_sample_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(["inspect", str(DEFAULT_BUNDLE), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["manifest"] == read_bundle(DEFAULT_BUNDLE).manifest
    assert facts["bytes"] == DEFAULT_BUNDLE.stat().st_size
    assert facts["vocab_size"] == Condenser.default().tokenizer.vocab_size
    run = facts["sample_run"]
    assert 0 < run["kept"] < run["tokens"]
    assert run["ms"] > 0


def test_card_prints_the_model_card_the_bundle_carries(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(["inspect", "--card"]) == 0
    card = read_bundle(DEFAULT_BUNDLE).files["model_card.md"].decode("utf-8")
    assert capsys.readouterr().out == card.rstrip("\n") + "\n"


def test_a_bundle_with_only_the_required_fields_is_described_without_the_rest(
    bundle_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert exit_code(["inspect", str(bundle_path)]) == 0
    out = capsys.readouterr().out
    assert "test-cnn-1 (bundle format 1)" in out
    assert "the model's word scores as they are (no smoothing)" in out
    assert "gate" not in out and "agreement" not in out
    assert exit_code(["inspect", str(bundle_path), "--card"]) == 2
    assert "has no model card (files: manifest.json, vocab.txt)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[:100] + bytes([data[100] ^ 0xFF]) + data[101:], "sha256"),
        (lambda data: b"", "is empty"),
        (lambda data: b"not a model at all" * 10, "not a splitinfer condenser bundle"),
    ],
    ids=["flipped-byte", "empty", "foreign"],
)
def test_a_damaged_bundle_exits_2_saying_what_is_wrong(
    tmp_path: Path, damage, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(damage(DEFAULT_BUNDLE.read_bytes()))
    assert exit_code(["inspect", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("splitinfer inspect: error: ")
    assert message in err
    assert err.count("\n") == 1


def test_a_missing_bundle_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(["inspect", str(tmp_path / "nope.tflite")]) == 2
    assert "no such condenser bundle" in capsys.readouterr().err


@pytest.mark.slow
def test_a_bundle_litert_cannot_run_exits_2_though_convert_let_it_through(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``convert --allow-flex`` writes a bundle with a Flex op; the Python runtimes cannot run it,
    and a pipeline that checks with inspect learns that before an app does."""
    from test_gates import flex_student

    bundle = tmp_path / "flex.tflite"
    model = flex_student(tmp_path / "flex.keras")
    assert exit_code(["convert", str(model), "-o", str(bundle), "--mode", "float32", "--allow-flex"]) == 0
    capsys.readouterr()
    assert exit_code(["inspect", str(bundle)]) == 2
    err = capsys.readouterr().err
    assert "LiteRT cannot load the model" in err and "FlexCumprod" in err


def test_a_keras_student_is_named_as_one_with_the_command_that_converts_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import zipfile

    student = tmp_path / "student.keras"
    with zipfile.ZipFile(student, "w") as archive:  # what Keras 3 writes, weights aside
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.0.0"}))
        archive.writestr("config.json", json.dumps({"class_name": "Functional"}))
    assert exit_code(["inspect", str(student)]) == 2
    err = capsys.readouterr().err
    assert f"{student} is a Keras model (the trained student?), not a condenser bundle" in err
    assert f"'splitinfer convert {student} -o condenser.tflite' and load that" in err


def test_the_size_gate_shows_the_bundles_size_and_the_latency_gate_where_its_value_is(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert exit_code(["inspect"]) == 0
    out = capsys.readouterr().out
    megabytes = round(DEFAULT_BUNDLE.stat().st_size / 1e6, 6)
    assert f"size: passed, {megabytes} against threshold 4 MB (bundle)" in out
    assert "latency: passed, measured value in the convert --report (not kept in the bundle)" in out
