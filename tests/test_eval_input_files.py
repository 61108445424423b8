"""Data files `splitinfer eval` and `distill label` cannot read: each is refused with exit 2 and
one line that names the file (and the line) and says what to do, never a traceback."""

from __future__ import annotations

import gzip
import json
import lzma
from pathlib import Path

import pytest
from cli_support import exit_code

RECORDS = [
    {
        "question": f"Who painted mural number {i}?",
        "context": f"Mural {i} was painted by Painter{i} long ago in the old town hall.",
        "answers": [f"Painter{i}"],
    }
    for i in range(12)
]
JSONL = "".join(json.dumps(r) + "\n" for r in RECORDS).encode("utf-8")


def _eval(capsys, data: Path | str, *extra: str) -> tuple[int, str, str]:
    argv = ["eval", "--format", "qa", "--data", str(data), "--methods", "random,none", "--rates", "0.5"]
    code = exit_code([*argv, *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err.strip()


def _refused(capsys, data: Path | str, *messages: str) -> None:
    code, out, err = _eval(capsys, data)
    assert code == 2 and out == ""
    assert all(m in err for m in messages) and len(err.splitlines()) == 1 and "Traceback" not in err


def test_a_file_with_a_utf8_byte_order_mark_is_read_like_any_utf8(tmp_path, capsys) -> None:
    for name, data in (
        ("bom.jsonl", b"\xef\xbb\xbf" + JSONL),
        ("bom.jsonl.gz", gzip.compress(b"\xef\xbb\xbf" + JSONL)),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        code, out, err = _eval(capsys, path, "--json")
        assert code == 0 and err == ""
        assert json.loads(out)["config"]["cases"] == len(RECORDS)


def test_a_file_that_cannot_be_read_exits_2_naming_it(capsys) -> None:
    # /proc/self/mem is a regular file whose first bytes fail to read (EIO), even for root.
    if not Path("/proc/self/mem").is_file():
        pytest.skip("needs Linux's /proc")
    _refused(capsys, "/proc/self/mem", "/proc/self/mem: cannot read it (Input/output error); check the file")


def test_a_device_is_not_called_a_missing_file(capsys) -> None:
    _refused(
        capsys, "/dev/null", "/dev/null: not a regular file (a device or a pipe); save the data to a file"
    )


def test_corrupt_gzip_data_exits_2_saying_to_fetch_the_file_again(tmp_path, capsys) -> None:
    damaged = bytearray(gzip.compress(JSONL))
    damaged[40:60] = bytes(b ^ 0x55 for b in damaged[40:60])
    path = tmp_path / "corrupt.jsonl.gz"
    path.write_bytes(bytes(damaged))
    _refused(
        capsys, path, f"{path}: corrupt gzip data before its first line (", "; download or compress it again"
    )


def test_a_truncated_gzip_file_says_after_which_line_it_ends(tmp_path, capsys) -> None:
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(gzip.compress(JSONL)[:-12])
    _refused(
        capsys, path, f"{path}: the gzip data ends early, after line 11: the file was cut short; download"
    )


def test_a_file_in_another_compression_says_which(tmp_path, capsys) -> None:
    path = tmp_path / "data.jsonl.xz"
    path.write_bytes(lzma.compress(JSONL))
    _refused(capsys, path, f"{path}: xz-compressed; decompress it (or compress it with gzip instead)")


def test_json_nested_too_deeply_exits_2_with_its_line(tmp_path, capsys) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_bytes(
        JSONL[: JSONL.index(b"\n") + 1] + b'{"question": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    )
    _refused(capsys, path, f"{path}:2: JSON nested too deeply to read")


def test_a_lone_surrogate_escape_exits_2_with_its_line(tmp_path, capsys) -> None:
    path = tmp_path / "surrogate.jsonl"
    path.write_bytes(
        JSONL + b'{"question": "who?\\ud800", "context": "Ines painted it", "answers": ["Ines"]}\n'
    )
    _refused(
        capsys, path, f"{path}:13: the escape \\ud800 is half of a UTF-16 surrogate pair, not a character"
    )


def test_a_surrogate_pair_escape_is_a_character(tmp_path, capsys) -> None:
    path = tmp_path / "emoji.jsonl"
    path.write_bytes(
        b'{"question": "who painted \\ud83c\\udfa8?", "context": "Ines painted it", "answers": ["Ines"]}\n'
    )
    code, _, err = _eval(capsys, path)
    assert code == 0 and err == ""


def test_a_json_array_instead_of_jsonl_says_one_object_per_line(tmp_path, capsys) -> None:
    path = tmp_path / "records.json"
    path.write_text(json.dumps(RECORDS), encoding="utf-8")
    _refused(
        capsys, path, f"{path}:1: a list, not a JSON object; JSONL has one {{...}} object per line, not one"
    )


def test_distill_label_refuses_an_unreadable_file_before_writing_labels(tmp_path, capsys) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000 + b"\n")
    out = tmp_path / "labels.jsonl"
    argv = ["distill", "label", "--format", "qa", "--data", str(path), "--split", "all", "--output", str(out)]
    assert exit_code([*argv, "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{path}:1: JSON nested too deeply" in err and len(err.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep.jsonl"]
