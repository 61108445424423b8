"""`splitinfer bench server --help` reads like every other command's help."""

from __future__ import annotations

from cli_support import exit_code


def test_bench_server_help_states_the_exit_codes_in_plain_text(capsys) -> None:
    assert exit_code(["bench", "server", "--help"]) == 0
    out = capsys.readouterr().out
    assert "exit codes:" in out and "130  interrupted" in out
    assert "``" not in out
