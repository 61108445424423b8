"""``splitinfer distill train`` on inputs a release pipeline meets: labels with nothing to learn,
an --output over the labels, names the file system refuses, a run stopped by SIGTERM."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from cli_support import run_python
from test_student_support import write_labels

from splitinfer.cli.main import main

TOO_LONG = "n" * 300  # longer than any file system's name limit (255 bytes)
TINY = [
    "--epochs", "1", "--batch-size", "16", "--max-seq-len", "64", "--max-question-len", "16",
    "--embed-dim", "8", "--channels", "8", "--dilations", "1,2", "--pool-sizes", "5", "--members", "1",
    "--quiet",
]  # fmt: skip


def _flat_labels(path: Path) -> Path:
    """The toy labels with every word of every prompt scored 0: a teacher that kept nothing."""
    lines = write_labels(path).read_text().splitlines()
    records = [json.loads(line) for line in lines[1:]]
    for record in records:
        record["scores"] = [0.0] * len(record["words"])
    path.write_text("\n".join([lines[0], *map(json.dumps, records)]) + "\n")
    return path


def _run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    code = main(["distill", "train", *argv])
    return code, capsys.readouterr().err


@pytest.mark.slow
def test_labels_whose_teacher_scored_every_word_alike_exit_2_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    pytest.importorskip("tensorflow")
    labels, out = _flat_labels(tmp_path / "flat.jsonl"), tmp_path / "student.keras"
    code, err = _run(["--labels", str(labels), "-o", str(out), *TINY], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "same score, so there is nothing to learn; check the teacher" in err
    assert not out.exists()


def test_an_output_that_is_a_labels_file_exits_2_even_with_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    labels = write_labels(tmp_path / "labels.keras")
    before = labels.read_bytes()
    code, err = _run(["--labels", str(labels), "-o", str(labels), "--overwrite", *TINY], capsys)
    assert code == 2 and "is a --labels file; write the student elsewhere" in err
    assert labels.read_bytes() == before


def test_an_output_whose_summary_would_overwrite_a_labels_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    labels = write_labels(tmp_path / "student.keras.json")
    before = labels.read_bytes()
    code, err = _run(["--labels", str(labels), "-o", str(tmp_path / "student.keras"), *TINY], capsys)
    assert code == 2 and "its training summary student.keras.json would overwrite a --labels file" in err
    assert labels.read_bytes() == before


@pytest.mark.parametrize("where", ["output", "labels"])
def test_a_name_too_long_for_the_file_system_exits_2_in_one_line(
    where: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    labels, out = write_labels(tmp_path / "labels.jsonl"), tmp_path / "student.keras"
    if where == "output":
        out = tmp_path / f"{TOO_LONG}.keras"
    else:
        labels = tmp_path / f"{TOO_LONG}.jsonl"
    code, err = _run(["--labels", str(labels), "-o", str(out), *TINY], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert TOO_LONG in err and "the name is too long for the file system; use a shorter path" in err


# Runs ``splitinfer distill train`` with training replaced by the way it saves (the model into a
# staged file that replaces --output at the end), and SIGTERM arriving while the model is saved.
_TERMINATED_TRAIN = """
import os, signal, sys, time
from splitinfer.cli.main import main
from splitinfer.converters import train
from splitinfer.sdk._bundle import atomic_path

def saving(options):
    with atomic_path(options.output) as staged:
        staged.write_bytes(b"half a model")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)

train.train = saving
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_while_saving_keeps_the_old_model_leaves_no_partial_file_and_exits_130(
    tmp_path: Path,
) -> None:
    labels, out = write_labels(tmp_path / "labels.jsonl"), tmp_path / "student.keras"
    out.write_bytes(b"the good model")
    argv = ["distill", "train", "--labels", str(labels), "-o", str(out), "--overwrite"]
    done = run_python(_TERMINATED_TRAIN, argv)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip() == "splitinfer distill train: interrupted"
    assert out.read_bytes() == b"the good model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.jsonl", "student.keras"]


def test_labels_saved_with_a_byte_order_mark_read_as_without(tmp_path: Path) -> None:
    from splitinfer.converters.labels import read_labels

    plain = write_labels(tmp_path / "plain.jsonl")
    marked = tmp_path / "marked.jsonl"
    marked.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())  # as a Windows editor saves it
    assert read_labels(marked) == read_labels(plain)


def test_gzip_compressed_labels_exit_2_saying_to_decompress_them(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    labels = tmp_path / "labels.jsonl.gz"
    labels.write_bytes(gzip.compress(write_labels(tmp_path / "labels.jsonl").read_bytes()))
    code, err = _run(["--labels", str(labels), "-o", str(tmp_path / "student.keras"), *TINY], capsys)
    assert code == 2 and err.strip().endswith(
        "gzip-compressed data; decompress it (gunzip) and pass the .jsonl"
    )


def test_held_out_labels_alone_exit_2_asking_for_the_train_half(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    pytest.importorskip("tensorflow")
    labels, out = write_labels(tmp_path / "heldout.jsonl", train=0, heldout=4), tmp_path / "student.keras"
    code, err = _run(["--labels", str(labels), "-o", str(out), *TINY], capsys)
    assert code == 2 and not out.exists()
    assert "all 4 prompts of the labels are of the held-out split" in err
    assert "pass the labels of 'splitinfer distill label --split train' too" in err


def test_train_prompts_that_all_go_to_validation_exit_2_saying_what_to_change(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    pytest.importorskip("tensorflow")
    labels, out = write_labels(tmp_path / "few.jsonl", train=3, heldout=1), tmp_path / "student.keras"
    code, err = _run(
        ["--labels", str(labels), "-o", str(out), *TINY, "--validation-fraction", "0.95"], capsys
    )
    assert code == 2 and not out.exists()
    assert (
        "all 3 train-split prompts of the labels went to validation" in err and "--validation-fraction" in err
    )
