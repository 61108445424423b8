"""``splitinfer serve``: run the gRPC server that hosts the large model."""

from __future__ import annotations

import argparse

from splitinfer.sdk._errors import SplitinferError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="Run the gRPC server that hosts the large model.",
        description="Run the gRPC server that hosts the large model.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise SplitinferError("'splitinfer serve' is not built yet (issue #3)")
