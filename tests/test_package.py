"""The package's shape: the device SDK stays small, and the command behaves like a tool."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("tensorflow", "torch", "sentence_transformers", "splitinfer.server", "splitinfer.converters")


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout


def test_importing_the_device_sdk_pulls_in_no_tensorflow_torch_or_server_code() -> None:
    loaded = json.loads(
        _run(
            f"import json, sys, splitinfer.sdk; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
        )
    )
    assert loaded == []


def test_the_command_help_imports_no_heavy_module() -> None:
    code = (
        "import json, sys\n"
        "from splitinfer.cli.main import build_parser\n"
        "build_parser()\n"
        f"print(json.dumps([m for m in {HEAVY[:3]!r} if m in sys.modules]))"
    )
    assert json.loads(_run(code)) == []


def _splitinfer(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "splitinfer.cli.main", *args], capture_output=True, text=True, timeout=120
    )


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    result = _splitinfer("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"splitinfer {version('splitinfer')}"


@pytest.mark.parametrize(
    "command", ["serve", "condense", "ask", "distill", "convert", "eval", "bench", "demo"]
)
def test_help_lists_every_subcommand(command: str) -> None:
    result = _splitinfer("--help")
    assert result.returncode == 0
    assert command in result.stdout


def test_an_unknown_subcommand_exits_2_with_a_usage_line_and_no_traceback() -> None:
    result = _splitinfer("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_subcommand_prints_help_and_exits_2() -> None:
    result = _splitinfer()
    assert result.returncode == 2
    assert "COMMAND" in result.stdout
