"""``splitinfer condense``: stdin text or JSONL records in, condensed text or JSONL out."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from cli_support import exit_code, run_python

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


def records_file(tmp_path: Path, count: int = 3) -> Path:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": i, "context": TEXT}) + "\n" for i in range(count)))
    return source


def test_output_through_a_symbolic_link_replaces_its_target_and_keeps_the_link(
    monkeypatch, capsys, bundle_path: Path, tmp_path: Path
) -> None:
    target = tmp_path / "real.txt"
    target.write_text("old\n")
    link = tmp_path / "link.txt"
    link.symlink_to(target.name)
    code, _, _ = run_cli(
        monkeypatch, capsys, ["--model", str(bundle_path), "--output", str(link)], TEXT.encode()
    )
    assert code == 0
    assert link.is_symlink() and os.readlink(link) == "real.txt"
    assert "landlord" in target.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.txt", "real.txt"]


def test_output_to_a_named_pipe_is_written_into_it_not_swapped_for_a_file(
    monkeypatch, capsys, bundle_path: Path, tmp_path: Path
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    # A reader on the pipe, as a consumer process would be; daemon: it would wait forever for a
    # writer that replaced the pipe with a file.
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    code, _, _ = run_cli(
        monkeypatch,
        capsys,
        ["--model", str(bundle_path), "--input", str(records_file(tmp_path)), "--output", str(fifo)],
    )
    reader.join(timeout=60)
    assert code == 0
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert [json.loads(line)["id"] for line in received[0].splitlines()] == [0, 1, 2]


def test_an_output_that_cannot_be_written_is_refused_before_any_record_is_condensed(
    monkeypatch, capsys, bundle_path: Path, tmp_path: Path
) -> None:
    from splitinfer.sdk import Condenser

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("condensed before --output was checked")

    monkeypatch.setattr(Condenser, "condense", never)
    args = ["--model", str(bundle_path), "--input", str(records_file(tmp_path)), "--output", str(tmp_path)]
    code, _, err = run_cli(monkeypatch, capsys, args)
    assert code == 2
    assert f"--output {tmp_path} is a folder; give a file name like condensed.jsonl" in err


def test_sigterm_mid_run_stops_it_as_ctrl_c_does_and_leaves_the_old_output(
    bundle_path: Path, tmp_path: Path
) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    source = records_file(tmp_path)
    # SIGTERM (a stopped job) arrives while the second record is being condensed.
    result = run_python(
        """
        import os, signal, sys
        from splitinfer.cli.main import main
        from splitinfer.sdk import Condenser

        real, calls = Condenser.condense, []

        def condense(self, *args, **kwargs):
            calls.append(1)
            if len(calls) == 2:
                os.kill(os.getpid(), signal.SIGTERM)
            return real(self, *args, **kwargs)

        Condenser.condense = condense
        sys.exit(main(["condense", *sys.argv[1:]]))
        """,
        ["--model", str(bundle_path), "--input", str(source), "--output", str(target)],
    )
    assert result.returncode == 130, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "splitinfer condense: interrupted"
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]


def test_help_says_sigterm_stops_a_run_as_ctrl_c_does(capsys) -> None:
    assert exit_code(["condense", "--help"]) == 0
    assert "130  interrupted (Ctrl-C or SIGTERM)" in capsys.readouterr().out
