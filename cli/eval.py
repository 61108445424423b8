"""``splitinfer eval``: measure how much of what matters a condenser keeps."""

from __future__ import annotations

import argparse

from splitinfer.sdk._errors import SplitinferError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="Measure how much of what matters a condenser keeps.",
        description="Measure how much of what matters a condenser keeps.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise SplitinferError("'splitinfer eval' is not built yet (issue #7)")
