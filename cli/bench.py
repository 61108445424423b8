"""``splitinfer bench``: benchmark the server or the condenser against a baseline measured in the same run."""

from __future__ import annotations

import argparse

from splitinfer.sdk._errors import SplitinferError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="Benchmark the server or the condenser against a baseline measured in the same run.", description="Benchmark the server or the condenser against a baseline measured in the same run.")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise SplitinferError("'splitinfer bench' is not built yet (issue #3)")
