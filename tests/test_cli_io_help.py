"""``--help`` of ``condense``, ``ask`` and ``demo`` says where input comes from, where output goes,
the defaults and the exit codes."""

from __future__ import annotations

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
