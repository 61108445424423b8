"""What ``splitinfer convert`` tells a user to do when a gate fails or a mode lacks its data.

Training longer changes a student's scores, not its weights' size or its speed: the hint of a
failed size or latency gate names what does move them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

from test_student_support import train_tiny

from splitinfer.cli.main import main


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return train_tiny(tmp_path_factory.mktemp("hints"))


def _failed_line(args: list[str], capsys: pytest.CaptureFixture) -> str:
    capsys.readouterr()
    assert main(["convert", *args, "--quiet"]) == 1
    (line,) = [x for x in capsys.readouterr().err.splitlines() if x.startswith("splitinfer convert: error:")]
    return line


def test_a_float32_bundle_over_the_size_gate_is_pointed_at_int8_weights_not_at_training_longer(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    model, labels = tiny
    out = tmp_path / "x.tflite"
    line = _failed_line(
        [
            str(model),
            "-o",
            str(out),
            "--mode",
            "float32",
            "--parity-data",
            str(labels),
            "--max-size-mb",
            "0.001",
        ],
        capsys,
    )
    assert "size: --max-size-mb" in line and "--mode dynamic" in line and "--embed-dim" in line
    assert "train longer" not in line and not out.exists()


def test_a_mode_asked_for_by_name_is_not_called_the_closest(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    model, labels = tiny
    args = [str(model), "-o", str(tmp_path / "x.tflite"), "--mode", "dynamic", "--parity-data", str(labels)]
    line = _failed_line([*args, "--max-size-mb", "0.001"], capsys)
    assert "Closest" not in line and "The failed gates' thresholds are set by size: --max-size-mb" in line
    assert "--mode dynamic" not in line  # it is dynamic already: only a smaller student helps


def test_a_slow_bundle_is_pointed_at_a_smaller_student_and_at_the_other_modes(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    model, labels = tiny
    args = [str(model), "-o", str(tmp_path / "x.tflite"), "--mode", "dynamic", "--parity-data", str(labels)]
    line = _failed_line([*args, "--max-p50-ms", "1e-6"], capsys)
    assert "latency: --max-p50-ms" in line and "fewer --members" in line and "train longer" not in line
    assert "use --mode auto, which times every mode" in line


def test_a_quantized_mode_that_misses_parity_is_told_to_train_longer(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    model, labels = tiny
    args = [str(model), "-o", str(tmp_path / "x.tflite"), "--mode", "int8", "--parity-data", str(labels)]
    line = _failed_line([*args, "--min-agreement", "1", "--max-p50-ms", "1e9"], capsys)
    assert "parity: --min-agreement" in line and "train longer" in line and "float mode" in line


def test_int8_without_data_names_the_parity_data_that_calibrates_it(tmp_path: Path, capsys) -> None:
    args = ["convert", str(tmp_path / "student.keras"), "-o", str(tmp_path / "x.tflite"), "--mode", "int8"]
    assert main(args) == 2
    assert "pass --parity-data LABELS.jsonl" in capsys.readouterr().err
