"""`splitinfer bench condenser` and its cache of converted references: a cached file LiteRT cannot
load is bad input that names the file and the fix, never an internal error."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import exit_code

from splitinfer.converters.bench import reference_path
from splitinfer.sdk._bundle import read_bundle
from splitinfer.sdk._condenser import DEFAULT_BUNDLE


def test_a_corrupt_cached_reference_exits_2_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    manifest = read_bundle(DEFAULT_BUNDLE).manifest
    cached = reference_path(
        manifest["conversion"]["mode"], manifest["max_seq_len"], manifest["max_question_len"], tmp_path, 0
    )
    cached.write_bytes(b"not a flatbuffer" * 64)
    argv = ["bench", "condenser", "--runs", "1", "--condense-runs", "1", "--reference-runs", "1"]
    assert exit_code([*argv, "--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert cached.name in err and "delete it" in err
    assert "Traceback" not in err and len(err.splitlines()) == 1
