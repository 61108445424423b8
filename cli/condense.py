"""``splitinfer condense``: condense prompts with a condenser bundle, on this machine."""

from __future__ import annotations

import argparse

from splitinfer.sdk._errors import SplitinferError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "condense",
        help="Condense prompts with a condenser bundle, on this machine.",
        description="Condense prompts with a condenser bundle, on this machine.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise SplitinferError("'splitinfer condense' is not built yet (issue #5)")
