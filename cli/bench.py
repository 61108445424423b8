"""``splitinfer bench``: benchmarks that print figures and ratios against a baseline measured
in the same run. Never a timed assert: the machine is shared and noisy, so only ratios from one
run mean anything."""

from __future__ import annotations

import argparse
import importlib


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="Benchmark the server or the condenser against a baseline measured in the same run.",
        description=__doc__,
    )
    targets = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    # Each target's options and work live with the part it measures.
    importlib.import_module("splitinfer.server.bench").register(targets)
    importlib.import_module("splitinfer.converters.bench").register(targets)
