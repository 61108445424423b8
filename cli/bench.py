"""``splitinfer bench``: benchmarks that print figures and ratios against a baseline measured
in the same run. Never a timed assert: the machine is shared and noisy, so only ratios from one
run mean anything."""

from __future__ import annotations

import argparse
import functools
import importlib
from collections.abc import Callable

from splitinfer.cli._help import plain

# Each target's options and work live with the part it measures: (target, module, help).
_TARGETS = (
    (
        "server",
        "splitinfer.server.bench",
        "Benchmark the gRPC server against a bare servicer (needs [server]).",
    ),
    (
        "condenser",
        "splitinfer.converters.bench",
        "Benchmark the condenser bundle against a TinyBERT-4 reference (needs [convert]).",
    ),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="Benchmark the server or the condenser against a baseline measured in the same run.",
        description=plain(__doc__),
    )
    targets = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    for name, module, help_ in _TARGETS:
        try:
            importlib.import_module(module).register(targets)
        except ModuleNotFoundError as missing:
            # A device-only install lacks the target's extra: keep `--help` working and say
            # which extra to install when the target is run.
            _register_unavailable(targets, name, help_, missing)
            continue
        target = targets.choices[name]
        target.set_defaults(func=_terminate_as_interrupt(target.get_default("func")))


def _terminate_as_interrupt(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``run`` with SIGTERM (a cancelled CI job, ``kill``) stopping it as Ctrl-C does: the server
    benchmark's four processes are stopped and its folder removed, and the command exits 130.
    With SIGTERM's default action they outlived it, two servers listening for good."""

    @functools.wraps(run)
    def wrapped(args: argparse.Namespace) -> int:
        from splitinfer.converters._paths import terminate_as_interrupt

        with terminate_as_interrupt():
            return run(args)

    return wrapped


def _register_unavailable(
    targets: argparse._SubParsersAction, name: str, help_: str, missing: ModuleNotFoundError
) -> None:
    def run(_args: argparse.Namespace) -> int:
        raise missing

    parser = targets.add_parser(name, help=help_, description=help_, add_help=True)
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)
