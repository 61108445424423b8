"""``splitinfer distill``: label a corpus with a teacher and train a student condenser."""

from __future__ import annotations

import argparse

from splitinfer.sdk._errors import SplitinferError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "distill",
        help="Label a corpus with a teacher and train a student condenser.",
        description="Label a corpus with a teacher and train a student condenser.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise SplitinferError("'splitinfer distill' is not built yet (issue #4)")
