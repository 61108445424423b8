"""Running the ``splitinfer`` command in-process, as the tests of its subcommands do."""

from __future__ import annotations

from splitinfer.cli.main import main


def exit_code(argv: list[str]) -> int:
    """``main``'s exit code, a usage error (argparse exits) included."""
    try:
        return main(argv)
    except SystemExit as exited:
        return int(exited.code or 0)
