"""``splitinfer convert``: a gated bundle the SDK runs, a report, exit codes, determinism."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from cli_support import exit_code
from test_student_support import train_tiny

from splitinfer.cli.main import main
from splitinfer.sdk import Condenser
from splitinfer.sdk._bundle import REQUIRED_FIELDS, read_bundle
from splitinfer.sdk._selection import NAME_QUESTIONS, NUMBER_QUESTIONS


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return train_tiny(tmp_path_factory.mktemp("convert"))


@pytest.fixture(scope="module")
def converted(tiny: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, int]:
    model, labels = tiny
    out = tmp_path_factory.mktemp("bundle")
    bundle, report = out / "condenser.tflite", out / "report.json"
    code = main(
        [
            "convert",
            str(model),
            "--output",
            str(bundle),
            "--mode",
            "dynamic",
            "--parity-data",
            str(labels),
            "--teacher-data",
            str(labels),
            "--report",
            str(report),
            "--model-version",
            "tiny-1",
            "--seed",
            "3",
        ]
    )
    return bundle, json.loads(report.read_text()), code


def test_convert_writes_a_bundle_the_sdk_condenser_runs(converted: tuple[Path, dict, int]) -> None:
    bundle, _, code = converted
    assert code == 0
    condenser = Condenser.load(bundle)
    context = "The capital of France is Paris, a city on the Seine. " + "Markets sell bread and cheese. " * 20
    result = condenser.condense(context, "what is the capital of France", rate=0.3)
    assert 0 < result.condensed_tokens <= result.original_tokens
    assert condenser.model_version == "tiny-1"


def test_the_manifest_records_teacher_data_mode_gates_and_agreement(
    converted: tuple[Path, dict, int],
) -> None:
    bundle, _, _ = converted
    manifest = read_bundle(bundle).manifest
    assert set(REQUIRED_FIELDS) <= manifest.keys()
    assert manifest["teacher"] == "test-teacher"
    assert manifest["conversion"]["mode"] == "dynamic"
    assert manifest["max_seq_len"] == 64 and manifest["max_question_len"] == 16
    assert manifest["inputs"] == {"context_ids": "context_ids", "question_ids": "question_ids"}
    assert manifest["output"] == "scores"
    assert set(manifest["gates"]) == {"builtin_ops", "parity", "latency", "size"}
    assert all(gate["passed"] for gate in manifest["gates"].values())
    assert manifest["training_data"]["heldout_prompts"] == 6
    assert 0.0 <= manifest["agreement_vs_teacher"]["f1"] <= 1.0
    card = zipfile.ZipFile(bundle).read("model_card.md").decode()
    assert "test-teacher" in card and "F1" in card
    assert "Training target: rank of the teacher's word score" in card
    assert manifest["selection"] == {
        "segment_weight": 0.6,
        "document_weight": 0.2,
        "name_spans": True,
        "answer_types": {"weight": 0.1, "names": list(NAME_QUESTIONS), "numbers": list(NUMBER_QUESTIONS)},
        "title_lift": True,
    }
    assert "blended with its sentence's mean score (weight 0.6)" in card
    assert "each document's title takes the best score of the document's text" in card
    assert "every word of a name" in card
    assert "asking for a name ('who', 'whom', 'whose')" in card and "asks for gain 0.1" in card


def test_the_report_gives_every_gate_s_value_and_threshold_and_theexit_code(
    converted: tuple[Path, dict, int],
) -> None:
    bundle, report, _ = converted
    assert report["exit_code"] == 0 and report["status"] == "passed" and report["failed_gates"] == []
    gates = {g["name"]: g for g in report["gates"]}
    assert set(gates) == {"builtin_ops", "parity", "latency", "size"}
    assert gates["size"]["threshold"] == 4.0 and gates["size"]["value"] == pytest.approx(
        bundle.stat().st_size / 1e6
    )
    assert gates["latency"]["threshold"] == 3.0 and gates["latency"]["value"] > 0
    assert gates["parity"]["threshold"] == 0.99 and gates["parity"]["value"] >= 0.99
    assert report["bundle_bytes"] == bundle.stat().st_size
    assert report["bundle_sha256"] == hashlib.sha256(bundle.read_bytes()).hexdigest()  # the gated bytes
    assert report["latency_ms"]["p50_ms"] > 0


def test_same_model_and_seed_give_the_same_bundle_bytes(
    tiny: tuple[Path, Path], converted: tuple[Path, dict, int], tmp_path: Path
) -> None:
    model, labels = tiny
    first, _, _ = converted
    again = tmp_path / "again.tflite"
    code = main(
        [
            "convert",
            str(model),
            "--output",
            str(again),
            "--mode",
            "dynamic",
            "--parity-data",
            str(labels),
            "--teacher-data",
            str(labels),
            "--model-version",
            "tiny-1",
            "--seed",
            "3",
        ]
    )
    assert code == 0
    assert again.read_bytes() == first.read_bytes()


def test_auto_picks_a_mode_that_passed_every_gate_and_reports_each_candidate(
    tiny: tuple[Path, Path], tmp_path: Path
) -> None:
    model, labels = tiny
    report = tmp_path / "auto.json"
    code = main(
        [
            "convert",
            str(model),
            "-o",
            str(tmp_path / "auto.tflite"),
            "--mode",
            "auto",
            "--parity-data",
            str(labels),
            "--report",
            str(report),
        ]
    )
    data = json.loads(report.read_text())
    assert code == 0
    assert set(data["candidates"]) == {"float32", "float16", "dynamic", "int8"}
    assert data["candidates"][data["mode"]]["passed"]
    fastest = min(c["latency_ms"]["p50_ms"] for c in data["candidates"].values() if c["passed"])
    assert data["candidates"][data["mode"]]["latency_ms"]["p50_ms"] <= fastest * 1.15 + 1e-9
    assert read_bundle(tmp_path / "auto.tflite").manifest["conversion"]["mode"] == data["mode"]


def test_float32_parity_is_the_largest_score_difference(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    model, _ = tiny
    report = tmp_path / "f32.json"
    code = main(
        [
            "convert",
            str(model),
            "-o",
            str(tmp_path / "f32.tflite"),
            "--mode",
            "float32",
            "--max-size-mb",
            "5",
            "--report",
            str(report),
        ]
    )
    gates = {g["name"]: g for g in json.loads(report.read_text())["gates"]}
    assert code == 0
    assert gates["parity"]["unit"] == "max |delta score|"
    assert 0.0 <= gates["parity"]["value"] <= 1e-4


def test_a_corrupt_model_exits_2_with_a_clear_message_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bad = tmp_path / "student.keras"
    bad.write_bytes(b"PK\x03\x04 this is not a keras archive")
    out, report = tmp_path / "out.tflite", tmp_path / "report.json"
    code = main(["convert", str(bad), "-o", str(out), "--report", str(report)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "student.keras" in err and "distill train" in err
    assert not out.exists()
    assert json.loads(report.read_text())["status"] == "bad_input"


def test_a_converted_bundle_given_as_the_model_is_named_as_such(
    converted: tuple[Path, dict, int], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bundle, _, _ = converted
    assert main(["convert", str(bundle), "-o", str(tmp_path / "again.tflite")]) == 2
    assert "already a converted .tflite model" in capsys.readouterr().err


def _without_summary(model: Path, out: Path) -> Path:
    """``model`` rewritten without the training summary ``distill train`` puts inside it."""
    from splitinfer.converters import _summary

    with zipfile.ZipFile(model) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename != _summary.ENTRY:
                dst.writestr(info, src.read(info))
    return out


def test_a_model_copied_without_its_summary_file_still_carries_its_summary(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # A CI job that keeps only *.keras: the bundle must still feed the model its line breaks.
    trained = json.loads(tiny[0].with_name(tiny[0].name + ".json").read_text())
    assert trained["line_break_id"] is not None
    model = tmp_path / "copied.keras"
    model.write_bytes(tiny[0].read_bytes())
    out = tmp_path / "copied.tflite"
    assert main(["convert", str(model), "-o", str(out), "--mode", "dynamic"]) == 0
    assert "warning" not in capsys.readouterr().err
    manifest = read_bundle(out).manifest
    assert manifest["line_break_id"] == trained["line_break_id"]
    assert manifest["teacher"] == trained["teacher"]["name"] != "unknown"


def test_a_model_without_any_training_summary_converts_with_a_warning(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    model = _without_summary(tiny[0], tmp_path / "bare.keras")
    out = tmp_path / "bare.tflite"
    assert main(["convert", str(model), "-o", str(out), "--mode", "dynamic"]) == 0
    err = capsys.readouterr().err
    assert "had no training summary (in it or next to it)" in err and "no line breaks" in err
    manifest = read_bundle(out).manifest
    assert manifest["teacher"] == "unknown" and "line_break_id" not in manifest


def test_a_summary_file_of_another_model_file_exits_2(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # Another run's .json beside the model (a newer model, a save interrupted between the two
    # files): it would describe the wrong model in the bundle.
    model = _without_summary(tiny[0], tmp_path / "other.keras")
    sidecar = tiny[0].with_name(tiny[0].name + ".json")
    model.with_name(model.name + ".json").write_bytes(sidecar.read_bytes())
    assert main(["convert", str(model), "-o", str(tmp_path / "o.tflite"), "--mode", "dynamic"]) == 2
    err = capsys.readouterr().err
    assert "is the training summary of another model file" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.tflite").exists()
    # Given for its own model, the same file is taken (over the copy inside the model).
    argv = ["convert", str(tiny[0]), "-o", str(tmp_path / "own.tflite"), "--training-summary", str(sidecar)]
    assert main([*argv, "--mode", "dynamic"]) == 0


def test_a_missing_model_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["convert", str(tmp_path / "nope.keras"), "-o", str(tmp_path / "out.tflite")])
    assert code == 2
    assert "no such model" in capsys.readouterr().err


def test_a_failed_run_s_report_keeps_the_teacher_agreement_it_measured(
    tiny: tuple[Path, Path], tmp_path: Path
) -> None:
    model, labels = tiny
    report = tmp_path / "r.json"
    argv = ["convert", str(model), "-o", str(tmp_path / "o.tflite"), "--mode", "dynamic", "--quiet"]
    assert (
        main([*argv, "--teacher-data", str(labels), "--max-size-mb", "0.001", "--report", str(report)]) == 1
    )
    data = json.loads(report.read_text())
    assert data["failed_gates"] == ["dynamic: size"]
    assert 0.0 <= data["candidates"]["dynamic"]["agreement_vs_teacher"]["f1"] <= 1.0


def test_a_reader_of_json_that_went_away_leaves_the_exit_code_as_it_was(tmp_path: Path) -> None:
    # `convert --json | true`: the reader is gone before the report is printed; exit 0 there
    # would let a pipeline ship whatever bundle the failed run left in place.
    import subprocess
    import sys

    argv = [sys.executable, "-m", "splitinfer.cli.main", "convert", str(tmp_path / "nope.keras")]
    run = subprocess.Popen(
        [*argv, "-o", str(tmp_path / "out.tflite"), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    run.stdout.close()  # type: ignore[union-attr]
    err = run.stderr.read().decode()  # type: ignore[union-attr]
    assert run.wait(timeout=120) == 2
    assert "no such model" in err and "Traceback" not in err


def test_bad_flag_values_exit_2(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    model, _ = tiny
    assert main(["convert", str(model), "-o", str(tmp_path / "o.tflite"), "--max-size-mb", "0"]) == 2
    assert "--max-size-mb must be > 0" in capsys.readouterr().err
    assert main(["convert", str(model), "-o", str(tmp_path / "o.tflite"), "--mode", "int8"]) == 2
    assert "calibration" in capsys.readouterr().err
    out = str(tmp_path / "o.tflite")
    assert (
        main(["convert", str(model), "-o", out, "--segment-weight", "0.8", "--document-weight", "0.5"]) == 2
    )
    assert "--segment-weight + --document-weight must be at most 1" in capsys.readouterr().err
    assert main(["convert", str(model), "-o", out, "--segment-weight", "-1"]) == 2
    assert "--segment-weight must be a number in [0, 1]" in capsys.readouterr().err
    for weight in ("1.5", "-0.1"):
        assert main(["convert", str(model), "-o", out, "--answer-type-weight", weight]) == 2
        assert f"--answer-type-weight must be in [0, 1], got {float(weight)}" in capsys.readouterr().err
    for version in ("mine\n# injected", "", " mine", "x" * 101):  # it heads the model card: one line
        assert main(["convert", str(model), "-o", out, "--model-version", version]) == 2
        assert "--model-version must be one line of printable text" in capsys.readouterr().err
    assert not (tmp_path / "o.tflite").exists()


@pytest.mark.parametrize(
    ("output", "report", "message"),
    [
        ("{model}", None, "--output student.keras would overwrite the model"),
        ("o.tflite", "{model}", "--report student.keras would overwrite the model"),
        ("o.tflite", "o.tflite", "--report and --output are the same file"),
        ("o.tflite", ".", "is a folder"),
        ("{model}/o.tflite", None, "is a file, not a folder"),
        (
            "o.tflite",
            "student.keras.json",
            "--report student.keras.json would overwrite the training summary",
        ),
        ("student.keras.json", None, "--output student.keras.json would overwrite the training summary"),
    ],
)
def test_outputs_that_would_overwrite_the_model_or_each_other_exit_2_before_any_work(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture, output, report, message
) -> None:
    model = tmp_path / "student.keras"
    model.write_bytes(tiny[0].read_bytes())
    before = model.read_bytes()

    def where(value: str) -> str:
        return value.replace("{model}", str(model)) if "{model}" in value else str(tmp_path / value)

    argv = ["convert", str(model), "-o", where(output), "--mode", "dynamic"]
    argv += ["--report", where(report)] if report else []
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert model.read_bytes() == before and not (tmp_path / "o.tflite").exists()


def test_a_gate_that_cannot_be_measured_and_a_vocabulary_the_model_cannot_read_exit_2(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from splitinfer.converters.windows import VOCAB_PATH

    model, _ = tiny
    out = tmp_path / "o.tflite"
    assert main(["convert", str(model), "-o", str(out), "--min-teacher-f1", "0.9"]) == 2
    assert "--min-teacher-f1 needs held-out labels" in capsys.readouterr().err
    # No training summary to tell the vocabulary's size: the model does.
    bare = _without_summary(model, tmp_path / "bare.keras")
    bigger = tmp_path / "vocab.txt"
    bigger.write_text(Path(VOCAB_PATH).read_text(encoding="utf-8") + "".join(f"zzqx{i}\n" for i in range(50)))
    assert main(["convert", str(bare), "-o", str(out), "--mode", "dynamic", "--vocab", str(bigger)]) == 2
    assert "cannot read token id 30571 of the 30,572-word vocabulary" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("size", [5000, 30572])
def test_a_vocabulary_of_another_size_than_the_student_s_exits_2_naming_both(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture, size: int
) -> None:
    from splitinfer.converters.windows import VOCAB_PATH

    model, _ = tiny
    words = Path(VOCAB_PATH).read_text(encoding="utf-8").splitlines()  # 30,522, as the student's
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join([*words, *(f"zzqx{i}" for i in range(50))][:size]) + "\n", encoding="utf-8")
    out, report = tmp_path / "o.tflite", tmp_path / "r.json"
    argv = ["convert", str(model), "-o", str(out), "--mode", "dynamic", "--vocab", str(vocab)]
    assert main([*argv, "--report", str(report)]) == 2
    err = capsys.readouterr().err.strip()
    assert f"has {size:,} words" in err and "trained on a 30,522-word vocabulary" in err
    assert len(err.splitlines()) == 1 and not out.exists()
    assert json.loads(report.read_text())["status"] == "bad_input"


def _relabelled(labels: Path, path: Path, **meta: object) -> Path:
    """``labels`` with its ``_meta`` header changed as given (another teacher, other settings)."""
    header, *records = labels.read_text(encoding="utf-8").splitlines()
    changed = {**json.loads(header)["_meta"], **meta}
    path.write_text("\n".join([json.dumps({"_meta": changed}), *records]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        (
            {"teacher": "other-teacher"},
            "labelled by teacher 'other-teacher', but the student was distilled from 'test-teacher'",
        ),
        ({"settings": {"kind": "sharper"}}, "with other settings than the student's (kind: "),
    ],
)
def test_teacher_data_of_another_teacher_exits_2_naming_both(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture, meta: dict, message: str
) -> None:
    model, labels = tiny
    other = _relabelled(labels, tmp_path / "other.jsonl", **meta)
    out = tmp_path / "o.tflite"
    argv = ["convert", str(model), "-o", str(out), "--mode", "dynamic", "--teacher-data", str(other)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "other.jsonl" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_teacher_settings_that_only_change_speed_are_the_same_teacher(
    tiny: tuple[Path, Path], tmp_path: Path
) -> None:
    model, labels = tiny
    faster = _relabelled(
        labels,
        tmp_path / "faster.jsonl",
        settings={"kind": "answer sentence high, question words medium", "threads": 4},
    )
    argv = ["convert", str(model), "-o", str(tmp_path / "o.tflite"), "--mode", "dynamic"]
    assert main([*argv, "--teacher-data", str(faster)]) == 0


def test_teacher_data_without_held_out_prompts_exits_2(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from test_student_support import write_labels

    model, _ = tiny
    train_only = write_labels(tmp_path / "train.jsonl", train=6, heldout=0)
    out = tmp_path / "o.tflite"
    argv = ["convert", str(model), "-o", str(out), "--mode", "dynamic", "--teacher-data", str(train_only)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "train.jsonl: no held-out prompts" in err and "--split heldout" in err
    assert len(err.splitlines()) == 1 and not out.exists()


def test_agreement_with_the_teacher_is_measured_on_the_held_out_prompts_alone(
    converted: tuple[Path, dict, int],
) -> None:
    bundle, _, _ = converted
    assert read_bundle(bundle).manifest["agreement_vs_teacher"]["prompts"] == 6  # of 24 train + 6 held out


def test_a_savedmodel_folder_converts_like_the_keras_file(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    import keras

    import splitinfer.converters.student  # noqa: F401

    model, _ = tiny
    saved = tmp_path / "saved"
    keras.saving.load_model(model, compile=False).export(str(saved), verbose=False)
    out = tmp_path / "saved.tflite"
    assert main(["convert", str(saved), "-o", str(out), "--mode", "float32", "--max-size-mb", "5"]) == 0
    scores_a = _scores(out)
    assert scores_a.shape == (64,) and np.all((scores_a >= 0) & (scores_a <= 1))


def _scores(bundle: Path) -> np.ndarray:
    from splitinfer.converters.gates import TFLiteScorer

    b = read_bundle(bundle)
    context = np.arange(1000, 1064, dtype=np.int32)[None, :]
    return TFLiteScorer(b.model)(context, np.zeros((1, 16), np.int32))[0]


def test_parity_prompts_take_heldout_first_and_every_source_in_turn(tmp_path: Path) -> None:
    from test_student_support import make_record

    from splitinfer.converters.release_inputs import heldback_prompts
    from splitinfer.converters.windows import default_tokenizer

    rng = np.random.default_rng(0)
    records = [make_record(i, "train", rng) for i in range(4)] + [
        make_record(i, "heldout", rng) for i in range(6)
    ]
    for i, record in enumerate(records):
        record["source"] = "a" if i % 2 else "b"
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join([json.dumps({"_meta": {"teacher": "t"}}), *map(json.dumps, records)]) + "\n")
    prompts, info = heldback_prompts([path], default_tokenizer(), 16, 4)
    assert [p.split for p in prompts] == ["heldout"] * 4
    assert {p.source for p in prompts} == {"a", "b"}
    assert info == {"files": ["labels.jsonl"], "prompts": 4, "heldout_prompts": 4}


# --- every outcome has a report; reports and bundles hold no wall-clock time -----------------


def test_a_failed_run_replaces_an_old_passed_report_even_for_a_bad_output(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    model, _ = tiny
    (tmp_path / "a.tflite").write_bytes(b"an old bundle")
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"status": "passed", "exit_code": 0}))
    bad_output = tmp_path / "a.tflite" / "x.tflite"  # inside a file
    assert main(["convert", str(model), "-o", str(bad_output), "--report", str(report)]) == 2
    err = capsys.readouterr().err.strip()
    data = json.loads(report.read_text())
    assert data["status"] == "bad_input" and data["exit_code"] == 2
    assert "a.tflite is a file, not a folder" in data["message"] and data["message"] in err
    assert len(err.splitlines()) == 1


def test_an_internal_error_is_reported_in_the_report_and_exits_3(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from splitinfer.converters import release

    def broken(path: Path) -> None:
        raise RuntimeError("a bug in the loader")

    monkeypatch.setattr(release, "load_source", broken)
    model, _ = tiny
    report, out = tmp_path / "r.json", tmp_path / "o.tflite"
    report.write_text(json.dumps({"status": "passed"}))
    assert main(["convert", str(model), "-o", str(out), "--report", str(report)]) == 3
    err = capsys.readouterr().err
    data = json.loads(report.read_text())
    assert data["status"] == "internal_error" and data["exit_code"] == 3
    assert data["message"] == "internal error: RuntimeError: a bug in the loader"
    assert "Traceback" in err and "a bug in the loader" in err and not out.exists()


def test_an_interrupted_run_is_reported_and_exits_130(
    tiny: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from splitinfer.converters import release

    def ctrl_c(path: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(release, "load_source", ctrl_c)
    model, _ = tiny
    report, out = tmp_path / "r.json", tmp_path / "o.tflite"
    report.write_text(json.dumps({"status": "passed"}))
    assert main(["convert", str(model), "-o", str(out), "--report", str(report)]) == 130
    data = json.loads(report.read_text())
    assert data["status"] == "interrupted" and data["exit_code"] == 130 and not out.exists()


OPENING_KEYS = {"gates", "failed_gates", "thresholds", "candidates", "status", "exit_code", "message"}


@pytest.mark.parametrize(
    "flags",
    [
        ["--mode", "fp16", "--report", "{report}"],
        ["--report", "{report}", "--seed", "-1"],
        ["--report={report}", "--max-size-mb", "four"],
        ["--report", "{report}", "--bogus"],
        ["--report", "{report}"],  # no --output
    ],
)
def test_a_usage_error_replaces_an_old_passed_report_with_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture, flags: list[str]
) -> None:
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"status": "passed", "exit_code": 0}))
    output = [] if flags == ["--report", "{report}"] else ["-o", str(tmp_path / "o.tflite")]
    argv = ["convert", str(tmp_path / "student.keras"), *output]
    assert exit_code([*argv, *(f.replace("{report}", str(report)) for f in flags)]) == 2
    err = capsys.readouterr().err.strip()
    data = json.loads(report.read_text())
    assert data["status"] == "bad_input" and data["exit_code"] == 2
    assert data.keys() >= OPENING_KEYS and data["gates"] == [] and data["failed_gates"] == []
    assert len(err.splitlines()) == 1 and data["message"] in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_a_usage_error_writes_no_report_over_a_file_the_command_line_names(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    model = tmp_path / "student.keras"
    model.write_bytes(tiny[0].read_bytes())
    before = model.read_bytes()
    for report in (model, tmp_path / "student.keras.json", tmp_path):
        argv = ["convert", str(model), "-o", str(tmp_path / "o.tflite"), "--report", str(report)]
        assert exit_code([*argv, "--mode", "fp16"]) == 2
        assert "invalid choice: 'fp16'" in capsys.readouterr().err
    assert model.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["student.keras"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full, a device every write to fails")
def test_a_report_that_cannot_be_written_leaves_the_old_bundle_in_place(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    model, _ = tiny
    out = tmp_path / "o.tflite"
    out.write_bytes(b"an old bundle")
    argv = ["convert", str(model), "-o", str(out), "--mode", "dynamic", "--report", "/dev/full"]
    assert main(argv) == 2
    assert out.read_bytes() == b"an old bundle"
    err = capsys.readouterr().err.strip()
    assert "--report /dev/full: cannot write it (No space left on device); nothing is written" in err
    assert len(err.splitlines()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["o.tflite"]  # no temporary file left either


def test_an_interrupted_auto_run_reports_the_candidates_measured_so_far(
    tiny: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from splitinfer.converters import release

    real = release.convert

    def ctrl_c_at_dynamic(frozen, mode, calibration=()):
        if mode == "dynamic":
            raise KeyboardInterrupt
        return real(frozen, mode, calibration)

    monkeypatch.setattr(release, "convert", ctrl_c_at_dynamic)
    model, _ = tiny
    report, out = tmp_path / "r.json", tmp_path / "o.tflite"
    argv = ["convert", str(model), "-o", str(out), "--mode", "auto", "--max-size-mb", "5"]
    assert main([*argv, "--report", str(report)]) == 130
    data = json.loads(report.read_text())
    assert data["status"] == "interrupted" and not out.exists()
    assert data.keys() >= OPENING_KEYS and data["gates"] == [] and data["failed_gates"] == []
    assert data["thresholds"] == {
        "max_size_mb": 5.0,
        "max_p50_ms": 3.0,
        "min_agreement": 0.99,
        "max_float_delta": 1e-4,
        "min_teacher_f1": 0.0,
    }
    assert set(data["candidates"]) == {"float32", "float16"}  # converted and compared before Ctrl-C
    for candidate in data["candidates"].values():
        assert not candidate["finished"] and not candidate["passed"]
        assert [g["name"] for g in candidate["gates"]] == ["builtin_ops", "parity"]


def test_reports_of_bad_input_and_internal_errors_have_the_keys_of_a_passed_one(
    tiny: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from splitinfer.converters import release

    model, _ = tiny
    report, out = tmp_path / "r.json", tmp_path / "o.tflite"
    argv = ["convert", str(model), "-o", str(out), "--report", str(report), "--min-agreement", "0.5"]
    assert main([*argv, "--max-size-mb", "0"]) == 2
    bad = json.loads(report.read_text())

    def broken(path: Path) -> None:
        raise RuntimeError("a bug in the loader")

    monkeypatch.setattr(release, "load_source", broken)
    assert main(argv) == 3
    bug = json.loads(report.read_text())
    for data, status in ((bad, "bad_input"), (bug, "internal_error")):
        assert data["status"] == status and data.keys() >= OPENING_KEYS
        assert data["gates"] == [] and data["failed_gates"] == [] and data["candidates"] == {}
        assert data["thresholds"]["min_agreement"] == 0.5
    assert bad["thresholds"]["max_size_mb"] == 0.0 and bug["thresholds"]["max_size_mb"] == 4.0


def test_same_labels_and_seed_train_and_convert_to_the_same_bundle_bytes(tmp_path: Path) -> None:
    from test_student_support import tiny_options, write_labels

    from splitinfer.converters.train import train

    labels = write_labels(tmp_path / "labels.jsonl")
    bundles = []
    for run in ("first", "second"):
        (tmp_path / run).mkdir()
        model = tmp_path / run / "student.keras"
        train(tiny_options(labels, model, seed=5, epochs=1))
        bundles.append(tmp_path / run / "condenser.tflite")
        assert main(["convert", str(model), "-o", str(bundles[-1]), "--mode", "dynamic", "--quiet"]) == 0
    assert "seconds" in json.loads((tmp_path / "first" / "student.keras.json").read_text())
    assert "seconds" not in read_bundle(bundles[0]).manifest["training"]
    assert bundles[0].read_bytes() == bundles[1].read_bytes()


def test_the_latency_gate_names_the_model_s_own_window(converted: tuple[Path, dict, int]) -> None:
    bundle, report, _ = converted
    unit = "p50 ms, 64 tokens, 1 thread"  # the tiny student's window, not the bundled 512
    assert read_bundle(bundle).manifest["gates"]["latency"]["unit"] == unit
    assert next(g for g in report["gates"] if g["name"] == "latency")["unit"] == unit
    assert f"latency: threshold 3.0 {unit}" in zipfile.ZipFile(bundle).read("model_card.md").decode()


# --- bad input is refused up front, in one line, exit 2 ---------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["convert", "{model}", "-o", "{tmp}/o.tflite", "--seed", "-1"], "--seed: must be a whole number"),
        (["distill", "train", "--labels", "{labels}", "-o", "{tmp}/s.keras", "--seed", "-1"], "--seed"),
        (
            ["distill", "train", "--labels", "{labels}", "-o", "{tmp}/s.keras", "--sharpness", "nan"],
            "--sharpness",
        ),
        (
            ["distill", "train", "--labels", "{labels}", "-o", "{tmp}/s.keras", "--sharpness", "inf"],
            "--sharpness",
        ),
    ],
)
def test_a_negative_seed_or_a_non_finite_sharpness_exits_2_in_one_line(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str], message: str
) -> None:
    model, labels = tiny
    args = [a.replace("{model}", str(model)).replace("{labels}", str(labels)) for a in argv]
    assert exit_code([a.replace("{tmp}", str(tmp_path)) for a in args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_option_checks_refuse_a_negative_seed_too(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    from test_student_support import tiny_options

    from splitinfer.converters.release import ConvertOptions, release
    from splitinfer.converters.train import check_options
    from splitinfer.sdk._errors import InvalidInputError

    model, labels = tiny
    outcome = release(ConvertOptions(model=model, output=tmp_path / "o.tflite", seed=-1, progress=False))
    assert outcome.exit_code == 2 and "--seed must be a whole number" in outcome.message
    with pytest.raises(InvalidInputError, match="--seed must be a whole number >= 0"):
        check_options(tiny_options(labels, tmp_path / "s.keras", seed=-1))


@pytest.mark.parametrize(
    ("summary", "message"),
    [
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"members": "x"}', "'members' must be a list of objects"),
        ('{"members": [{"seed": 0}]}', "whole-number 'seed' and 'epochs_run'"),
        ('{"teacher": "minilm"}', "'teacher' must be an object"),
        ('{"data": [1]}', "'data' must be an object"),
        ('{"epochs_run": "three"}', "'epochs_run' must be a whole number"),
        ('{"train_loss": [NaN]}', "the training summary holds NaN or Infinity"),
    ],
)
def test_a_wrongly_shaped_training_summary_exits_2_before_any_conversion(
    tiny: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    summary: str,
    message: str,
) -> None:
    from splitinfer.converters import release

    def no_conversion(path: Path) -> None:
        raise AssertionError("the model was loaded before the training summary was checked")

    monkeypatch.setattr(release, "load_source", no_conversion)
    model, _ = tiny
    path = tmp_path / "summary.json"
    path.write_text(summary)
    report = tmp_path / "r.json"
    argv = ["convert", str(model), "-o", str(tmp_path / "o.tflite"), "--training-summary", str(path)]
    assert main([*argv, "--report", str(report)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "summary.json" in err and len(err.splitlines()) == 1
    assert json.loads(report.read_text())["status"] == "bad_input"


def test_a_model_that_outputs_nan_is_named_as_such_not_blamed_on_the_vocabulary(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import keras

    import splitinfer.converters.student  # noqa: F401 (registers the student's layers)

    student = keras.saving.load_model(tiny[0], compile=False)
    conv = student.get_layer("conv_0_d1")
    kernel, bias = conv.get_weights()
    conv.set_weights([np.full_like(kernel, np.nan), bias])
    broken = tmp_path / "nan.keras"
    student.save(broken)
    assert main(["convert", str(broken), "-o", str(tmp_path / "o.tflite"), "--mode", "dynamic"]) == 2
    err = capsys.readouterr().err
    assert "outputs NaN or infinite scores even for ordinary words" in err and "--vocab" not in err


def test_training_whose_loss_is_not_finite_fails_and_saves_nothing(tmp_path: Path) -> None:
    from test_student_support import tiny_options, write_labels

    from splitinfer.converters.train import _fit, build_examples, split_prompts
    from splitinfer.converters.windows import default_tokenizer, load_prompts
    from splitinfer.sdk._errors import SplitinferError

    labels = write_labels(tmp_path / "labels.jsonl", train=8, heldout=0)
    options = tiny_options(labels, tmp_path / "s.keras", epochs=2)
    _, prompts = load_prompts([labels], default_tokenizer(), options.max_question_len)
    fit, _, _ = split_prompts(prompts, 0.0)
    x_ctx, x_q, y = build_examples(fit, options.max_seq_len)
    y[y >= 0] = np.nan  # what --sharpness nan used to make of every target
    with pytest.raises(SplitinferError, match="training diverged: the loss became nan at epoch 1, batch 1"):
        _fit(options, x_ctx, x_q, y, None)
    assert not (tmp_path / "s.keras").exists()


# --- progress goes to stderr, only on a terminal; stdout carries the result -------------------


def test_convert_shows_its_stages_on_a_terminal_and_nothing_with_quiet(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from splitinfer.converters.release import Progress

    model, labels = tiny
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    argv = ["convert", str(model), "-o", str(tmp_path / "o.tflite"), "--mode", "dynamic"]
    assert main([*argv, "--teacher-data", str(labels)]) == 0
    captured = capsys.readouterr()
    for stage in ("convert dynamic", "parity dynamic", "latency", "teacher agreement dynamic", "4/4"):
        assert stage in captured.err
    assert captured.out.startswith("wrote ") and len(captured.out.splitlines()) == 1
    with Progress(2, enabled=False).stage("convert dynamic"):  # --quiet, on a terminal
        pass
    monkeypatch.undo()
    with Progress(2).stage("convert dynamic"):  # no terminal
        pass
    assert capsys.readouterr().err == ""


def test_distill_train_prints_only_its_result_on_stdout(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    _, labels = tiny
    tiny_flags = "--max-seq-len 64 --max-question-len 16 --embed-dim 8 --channels 8 --dilations 1,2"
    argv = ["distill", "train", "--labels", str(labels), "-o", str(tmp_path / "s.keras"), "--epochs", "2"]
    argv += [*tiny_flags.split(), "--pool-sizes", "5", "--members", "1", "--batch-size", "16"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 1 and captured.out.startswith(f"wrote {tmp_path / 's.keras'}")
    assert "Epoch 2/2" in captured.err and "loss" in captured.err


# --- --help -----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["convert"], ["distill", "train"]])
def test_help_states_the_exit_codes_in_plain_text(command: list[str], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    assert "exit codes:" in out and all(f"\n  {code}  " in out for code in range(4))
    assert "``" not in out


def test_the_card_says_how_words_are_chosen_with_and_without_each_rule() -> None:
    from splitinfer.converters.release import ConvertOptions
    from splitinfer.converters.report import _selection_lines

    def lines(**flags: object) -> str:
        options = ConvertOptions(model=Path("m.keras"), output=Path("o.tflite"), **flags)  # type: ignore[arg-type]
        return "\n".join(_selection_lines({"selection": options.selection.to_manifest()}))

    every = lines()
    assert "weight 0.6" in every and "every word of a name" in every and "gain 0.1" in every
    assert every.index("gain 0.1") < every.index("title takes")
    blend_only = lines(name_spans=False, answer_type_weight=0.0, title_lift=False)
    assert "weight 0.6" in blend_only and "name" not in blend_only and "title" not in blend_only
    titles_only = lines(segment_weight=0.0, document_weight=0.0, name_spans=False, answer_type_weight=0.0)
    assert titles_only.count("; then") == 0 and "each document's title takes" in titles_only
    names_only = lines(segment_weight=0.0, document_weight=0.0, answer_type_weight=0.0, title_lift=False)
    assert (
        "blended" not in names_only and "every word of a name" in names_only and "asks for" not in names_only
    )
    types_only = lines(
        segment_weight=0.0, document_weight=0.0, name_spans=False, answer_type_weight=0.25, title_lift=False
    )
    assert types_only.count("; then") == 0 and "'how many'" not in types_only
    assert (
        "('who', 'whom', 'whose')" in types_only
        and "('when', 'what year', 'which year' and 8 more)" in types_only
    )
    assert "asks for gain 0.25" in types_only
    assert "alone" in lines(
        segment_weight=0.0, document_weight=0.0, name_spans=False, answer_type_weight=0.0, title_lift=False
    )
