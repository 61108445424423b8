"""``--help`` of ``condense``, ``ask`` and ``demo`` says where input comes from, where output goes,
the defaults and the exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from splitinfer.cli.main import main


def help_of(capsys, command: str) -> str:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("command", ["condense", "ask", "demo"])
def test_help_lists_the_exit_codes(capsys, command: str) -> None:
    text = help_of(capsys, command)
    assert "exit codes: 0 " in text
    assert "2 bad input or usage" in text and "130 interrupted (Ctrl-C" in text


@pytest.mark.parametrize(
    ("command", "phrases"),
    [
        ("condense", ["the prompt on stdin (UTF-8)", "on stdout", "summary on stderr", "(- = stdin)"]),
        ("ask", ["- for stdin", "streams to stdout", "one line on stderr", "one JSON object on one line"]),
        (
            "demo",
            ["Everything it prints goes to stdout", "(default extractive)", "(default: the built-in prompt)"],
        ),
    ],
)
def test_help_says_where_input_comes_from_and_output_goes(capsys, command: str, phrases: list[str]) -> None:
    text = help_of(capsys, command)
    for phrase in phrases:
        assert phrase in text


def test_sigterm_is_an_interrupt_from_the_start_and_the_end_is_the_command_s_exit_code() -> None:
    """Run as a program, a command other than serve reads SIGTERM as Ctrl-C before its slow
    imports (SIGTERM's default ended it with 143 and no word), and once it is done it ends the
    process with its exit code at once, before the interpreter's shutdown (where a SIGTERM ended a
    run that had written its bundle with 143)."""
    import subprocess
    import sys

    script = (
        "import atexit, signal, sys\n"
        "import splitinfer.cli.main as m\n"
        "build = m.build_parser\n"
        "m.build_parser = lambda: (print(signal.getsignal(signal.SIGTERM) is m._interrupt), build())[1]\n"
        "atexit.register(lambda: print('shut down'))\n"
        "sys.argv = ['splitinfer', 'inspect', 'no-such-bundle.tflite']\n"
        "try:\n"
        "    m.main()\n"
        "finally:\n"
        "    print('after main')\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "no such condenser bundle" in run.stderr
    assert run.stdout.split() == ["True"]  # an interrupt while the parser is built; then ended in main
    script = script.replace("    m.main()", "    m.main(['inspect', 'no-such-bundle.tflite'])")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.splitlines() == [
        "False",
        "after main",
        "shut down",
    ]  # untouched


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a device that is always full)")
def test_a_full_disk_is_a_one_line_error_not_a_bug_report() -> None:
    import subprocess
    import sys

    with open("/dev/full", "w") as full:
        run = subprocess.run(
            [sys.executable, "-m", "splitinfer.cli.main", "condense", "--question", "when?"],
            input="The bridge opened in 1937 after years of work.",
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip().splitlines() == [
        "splitinfer condense: error: cannot write the output (No space left on device); "
        "free some space or write elsewhere"
    ]
