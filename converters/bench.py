"""Benchmark of the converters part; see `splitinfer bench --help`."""

from __future__ import annotations

import argparse

from splitinfer.sdk._errors import SplitinferError


def register(targets: argparse._SubParsersAction) -> None:
    name = "condenser"
    parser = targets.add_parser(name, help=f"Benchmark the {name} (not built yet).")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise SplitinferError(f"'splitinfer bench {args.target}' is not built yet")
