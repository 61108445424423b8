"""The package's shape: the device SDK stays small, and the command behaves like a tool."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
    "command", ["serve", "condense", "ask", "distill", "convert", "inspect", "eval", "bench", "demo"]
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


@pytest.mark.parametrize(
    ("argv", "prog"),
    [
        (("convert", "m.keras", "-o", "b.tflite", "--mode", "int4"), "splitinfer convert"),
        (("distill", "label", "--format", "nq"), "splitinfer distill label"),
        (("eval", "--limit", "many"), "splitinfer eval"),
        # argparse reports unknown options from the top parser; the message still names the command
        (("condense", "--frob"), "splitinfer condense"),
        (
            ("distill", "train", "--labels", "l.jsonl", "-o", "s.keras", "--frob", "1"),
            "splitinfer distill train",
        ),
    ],
)
def test_a_usage_error_is_one_line_naming_the_command_and_its_help(argv: tuple[str, ...], prog: str) -> None:
    result = _splitinfer(*argv)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"{prog}: error: ")
    assert f"(see '{prog} --help')" in result.stderr


def test_an_error_of_a_nested_command_names_the_whole_command(tmp_path: Path) -> None:
    result = _splitinfer(
        "distill", "train", "--labels", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "s.keras")
    )
    assert result.returncode == 2
    assert result.stderr.startswith("splitinfer distill train: error: ") and result.stderr.count("\n") == 1


def test_a_bug_exits_3_with_its_traceback_not_1_like_a_failed_gate(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import splitinfer.cli.condense
    from splitinfer.cli.main import INTERNAL_ERROR, main

    def broken(args: object) -> int:
        raise KeyError("lost")

    monkeypatch.setattr(splitinfer.cli.condense, "run", broken)
    assert main(["condense"]) == INTERNAL_ERROR == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "in broken" in err
    assert (
        err.rstrip()
        .splitlines()[-1]
        .startswith("splitinfer condense: internal error: KeyError: 'lost' (a bug")
    )


def test_no_subcommand_is_a_one_line_usage_error_listing_the_commands() -> None:
    result = _splitinfer()
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("splitinfer: error: give a COMMAND, one of serve, condense, ask")
    assert result.stderr.count("\n") == 1


# Every module the [server] and [convert] extras bring: a plain `pip install splitinfer` lacks them.
_EXTRAS_MODULES = (
    "tensorflow",
    "torch",
    "sentence_transformers",
    "grpc_health",
    "grpc_reflection",
    "grpc_status",
    "prometheus_client",
    "httpx",
    "matplotlib",
)
_DEVICE_ONLY = (
    "import sys\n"
    f"for name in {_EXTRAS_MODULES!r}:\n"
    "    sys.modules[name] = None\n"
    "from splitinfer.cli.main import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def _device_only(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _DEVICE_ONLY, *args], input=stdin, capture_output=True, text=True, timeout=120
    )


def test_help_works_on_a_device_only_install() -> None:
    result = _device_only("bench", "--help")
    assert result.returncode == 0, result.stderr
    assert "server" in result.stdout and "condenser" in result.stdout


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (("bench", "server"), "server"),
        (("serve", "--port", "0"), "server"),
        (("convert", "{model}", "--output", "{model}.tflite"), "convert"),
    ],
)
def test_a_command_needing_an_extra_names_it_on_a_device_only_install(
    args: tuple[str, ...], extra: str, tmp_path: Path
) -> None:
    model = tmp_path / "student.keras"
    model.write_bytes(b"PK\x03\x04 not really a model")
    result = _device_only(*(arg.format(model=model) for arg in args))
    assert result.returncode == 2
    assert f"pip install 'splitinfer[{extra}]'" in result.stderr
    assert "Traceback" not in result.stderr
