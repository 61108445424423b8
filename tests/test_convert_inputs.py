"""``splitinfer convert`` on inputs a release pipeline meets: names the file system refuses,
thresholds that cannot be recorded, a run stopped by SIGTERM. Each one exits as the contract says,
leaves no partial file and writes a report strict JSON parsers read."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from cli_support import run_python

from splitinfer.cli.main import main

TOO_LONG = "n" * 300  # longer than any file system's name limit (255 bytes)


def _strict_json(text: str) -> dict:
    """``text`` parsed as strict JSON: NaN and Infinity, which Python writes by default and
    JavaScript's and Go's parsers refuse, are errors."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("where", ["output", "report", "model"])
def test_a_name_too_long_for_the_file_system_exits_2_in_one_line(
    where: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    paths = {
        "model": tmp_path / "student.keras",
        "output": tmp_path / "condenser.tflite",
        "report": tmp_path / "report.json",
    }
    paths[where] = tmp_path / f"{TOO_LONG}{paths[where].suffix}"
    argv = ["convert", str(paths["model"]), "-o", str(paths["output"]), "--report", str(paths["report"])]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert TOO_LONG in err and "the name is too long for the file system; use a shorter path" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == (["report.json"] if where != "report" else [])


@pytest.mark.parametrize("flag", ["--max-size-mb", "--max-p50-ms", "--max-float-delta"])
def test_an_infinite_threshold_exits_2_before_any_work(
    flag: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # The manifest records each threshold, and JSON cannot hold infinity: left through, it
    # failed as an internal error once every mode had been converted.
    out = tmp_path / "condenser.tflite"
    assert main(["convert", str(tmp_path / "student.keras"), "-o", str(out), flag, "inf"]) == 2
    err = capsys.readouterr().err
    assert f"{flag} must be > 0 and finite (1e9: no limit), got inf" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_the_report_of_a_refused_threshold_is_strict_json_in_its_file_and_on_stdout(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    report = tmp_path / "report.json"
    argv = ["convert", str(tmp_path / "student.keras"), "-o", str(tmp_path / "c.tflite"), "--json"]
    assert main([*argv, "--max-p50-ms", value, "--report", str(report)]) == 2
    for text in (report.read_text(), capsys.readouterr().out):
        data = _strict_json(text)
        assert data["status"] == "bad_input" and data["thresholds"]["max_p50_ms"] == value


# Runs ``splitinfer convert`` with the conversion replaced by writing a bundle the real way
# (``_write_bundle``), and SIGTERM arriving while the staged bundle waits for its report.
_TERMINATED_CONVERT = """
import os, signal, sys, time
from splitinfer.cli.main import main
from splitinfer.converters import release

real_write_report = release.write_report
calls = []

def write_report(path, report):
    calls.append(path)
    if len(calls) == 1:  # the bundle's own report: the staged bundle is on disk now
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
    real_write_report(path, report)

def conversion(options, report, started):
    release._write_bundle(options, b"a new bundle", report)

release.write_report = write_report
release._release = conversion
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_mid_write_keeps_the_old_bundle_leaves_no_partial_file_and_exits_130(tmp_path: Path) -> None:
    out, report = tmp_path / "condenser.tflite", tmp_path / "report.json"
    out.write_bytes(b"the good bundle")
    report.write_text(json.dumps({"status": "passed"}))
    argv = ["convert", str(tmp_path / "student.keras"), "-o", str(out), "--report", str(report)]
    done = run_python(_TERMINATED_CONVERT, argv)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip() == "splitinfer convert: interrupted"
    assert out.read_bytes() == b"the good bundle"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["condenser.tflite", "report.json"]
    data = _strict_json(report.read_text())
    assert data["status"] == "interrupted" and "SIGTERM" in data["message"]


def test_sigterm_has_its_usual_handler_again_after_a_run(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGTERM)
    main(["convert", str(tmp_path / "student.keras"), "-o", str(tmp_path / "c.tflite"), "--max-size-mb", "0"])
    main(["convert", str(tmp_path / "nope.keras"), "-o", str(tmp_path / "c.tflite")])
    assert signal.getsignal(signal.SIGTERM) is before


def _line_break_student(path: Path) -> Path:
    """A small untrained model of the condenser contract whose training summary says it reads
    line breaks (as ``distill train`` writes it by default)."""
    keras = pytest.importorskip("keras")
    context = keras.Input((64,), dtype="int32", name="context_ids")
    question = keras.Input((16,), dtype="int32", name="question_ids")
    scores = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Embedding(30522, 4)(context))
    weight = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(30522, 1)(question))
    model = keras.Model(
        [context, question], keras.layers.Multiply()([keras.layers.Reshape((64,))(scores), weight])
    )
    model.save(path)
    path.with_name(path.name + ".json").write_text(json.dumps({"line_break_id": 102}))
    return path


def test_labels_without_line_breaks_for_a_student_that_reads_them_name_a_fix_convert_has(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # The fix offered was training's --no-line-breaks, a flag convert does not have.
    from test_student_support import write_labels

    model = _line_break_student(tmp_path / "student.keras")
    old = write_labels(tmp_path / "old.jsonl", line_breaks=False)
    out = tmp_path / "condenser.tflite"
    assert main(["convert", str(model), "-o", str(out), "--parity-data", str(old)]) == 2
    err = capsys.readouterr().err
    assert "label the corpus again, or pass labels that record them" in err
    assert "--no-line-breaks" not in err and not out.exists()


def test_a_folder_that_is_no_savedmodel_exits_2_naming_what_to_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    pytest.importorskip("tensorflow")
    folder = tmp_path / "student.keras"  # a folder where the .keras file was expected
    folder.mkdir()
    assert main(["convert", str(folder), "-o", str(tmp_path / "condenser.tflite")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.strip().endswith("pass the .keras student, or the folder its model.export() writes")
