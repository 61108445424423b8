"""``splitinfer convert``: convert a trained student into a .tflite condenser bundle, gated."""

from __future__ import annotations

import argparse

from splitinfer.sdk._errors import SplitinferError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "convert",
        help="Convert a trained student into a .tflite condenser bundle, gated.",
        description="Convert a trained student into a .tflite condenser bundle, gated.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise SplitinferError("'splitinfer convert' is not built yet (issue #4)")
