"""``splitinfer ask``: ask a question about a long context through a splitinfer server."""

from __future__ import annotations

import argparse

from splitinfer.sdk._errors import SplitinferError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ask",
        help="Ask a question about a long context through a splitinfer server.",
        description="Ask a question about a long context through a splitinfer server.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise SplitinferError("'splitinfer ask' is not built yet (issue #5)")
