"""``splitinfer demo``: run the end-to-end demo: condense on the device, answer from the server."""

from __future__ import annotations

import argparse

from splitinfer.sdk._errors import SplitinferError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="Run the end-to-end demo: condense on the device, answer from the server.",
        description="Run the end-to-end demo: condense on the device, answer from the server.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise SplitinferError("'splitinfer demo' is not built yet (issue #5)")
