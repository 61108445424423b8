"""``splitinfer condense``: stdin text or JSONL records in, condensed text or JSONL out."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from splitinfer.cli.main import main

pytest_plugins = ["sdk_bundles"]

TEXT = " ".join(
    f"Clause {i}: the tenant keeps the garden tidy and the landlord fixes the roof." for i in range(30)
)


def run_cli(monkeypatch, capsys, args: list[str], stdin: bytes = b"") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    code = main(["condense", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_stdin_text_is_condensed_to_stdout_with_a_summary_on_stderr(
    monkeypatch, capsys, bundle_path: Path
) -> None:
    code, out, err = run_cli(
        monkeypatch, capsys, ["--model", str(bundle_path), "--rate", "0.3"], TEXT.encode()
    )
    assert code == 0
    assert 0 < len(out) < 0.6 * len(TEXT)
    assert set(out.split()) <= set(TEXT.split())
    assert "condensed" in err and "tokens" in err and "test-cnn-1" in err


def test_json_prints_the_counts_and_timing(monkeypatch, capsys, bundle_path: Path) -> None:
    args = [
        "--model",
        str(bundle_path),
        "--target-tokens",
        "120",
        "--json",
        "--question",
        "who fixes the roof?",
    ]
    code, out, _ = run_cli(monkeypatch, capsys, args, TEXT.encode())
    record = json.loads(out)
    assert code == 0
    assert record["condensed_tokens"] <= max(120, record["forced_tokens"])
    assert record["original_tokens"] > record["condensed_tokens"]
    assert record["ms"] > 0 and record["model_version"] == "test-cnn-1"


def test_forced_words_survive(monkeypatch, capsys, bundle_path: Path) -> None:
    args = ["--model", str(bundle_path), "--rate", "0.05", "--force", "landlord", "--no-keep-digits"]
    code, out, _ = run_cli(monkeypatch, capsys, args, TEXT.encode())
    assert code == 0
    assert out.split().count("landlord") == TEXT.split().count("landlord")


def test_jsonl_records_come_out_in_order_with_their_ids(
    monkeypatch, capsys, bundle_path: Path, tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    lines = [
        {"id": "a", "context": TEXT, "question": "who fixes the roof?"},
        {"context": "short text with 42 in it"},
        {"id": 7, "context": ""},
    ]
    source.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    target = tmp_path / "out.jsonl"
    args = ["--model", str(bundle_path), "--input", str(source), "--output", str(target), "--rate", "0.4"]
    code, out, _ = run_cli(monkeypatch, capsys, args)
    assert code == 0 and out == ""
    records = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r.get("id") for r in records] == ["a", None, 7]
    for record in records:
        assert {"condensed", "original_tokens", "condensed_tokens", "ms"} <= record.keys()
    assert "42" in records[1]["condensed"]
    assert records[2]["condensed"] == "" and records[2]["original_tokens"] == 0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: not valid JSON"),
        ('["a list"]', "line 2: expected an object"),
        ('{"contxt": "typo"}', "line 2: missing 'context'.*keys found: contxt"),
        ('{"context": 5}', "line 2: 'context' must be a str, got int"),
        ('{"context": "x", "question": null}', "line 2: 'question' must be a str, got NoneType"),
        ('{"context": "a \\ud800 b"}', "line 2: 'context' is not valid Unicode: a lone surrogate U\\+D800"),
        ('{"context": "x", "id": true}', "line 2: 'id' must be a string or an integer"),
    ],
)
def test_a_bad_line_stops_the_run_naming_its_number_and_writes_nothing(
    monkeypatch, capsys, bundle_path: Path, tmp_path: Path, line: str, message: str
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"context": "fine"}\n' + line + "\n")
    target = tmp_path / "out.jsonl"
    code, _, err = run_cli(
        monkeypatch, capsys, ["--model", str(bundle_path), "--input", str(source), "--output", str(target)]
    )
    assert code == 2
    assert re.search(message, err)
    assert not target.exists()


def test_a_rate_out_of_range_exits_2_before_reading_anything(monkeypatch, capsys, bundle_path: Path) -> None:
    code, _, err = run_cli(monkeypatch, capsys, ["--model", str(bundle_path), "--rate", "1.5"], TEXT.encode())
    assert code == 2 and "rate must be in (0, 1]" in err


def test_stdin_that_is_not_utf8_is_refused_with_a_hint(monkeypatch, capsys, bundle_path: Path) -> None:
    code, _, err = run_cli(monkeypatch, capsys, ["--model", str(bundle_path)], b"caf\xe9")
    assert code == 2 and "not valid UTF-8" in err and "iconv" in err


def test_a_missing_bundle_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "splitinfer.cli.main", "condense", "--model", str(tmp_path / "none.tflite")],
        input="some text",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "no such condenser bundle" in result.stderr
    assert "Traceback" not in result.stderr
