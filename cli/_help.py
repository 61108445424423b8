"""Help formatting, option types and input reading shared by the ``splitinfer`` commands."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from splitinfer.sdk._errors import InvalidInputError

# Seeds feed NumPy, Python's and Keras' generators; NumPy's legacy seeding (which Keras uses)
# takes 0 to 2**32 - 1.
MAX_SEED = 2**32 - 1
# How an NQ context writes its documents (converters.corpus.NQ_LAYOUTS; kept here so that --help
# needs no converter import).
NQ_LAYOUTS = ("documents", "titles", "plain")
# Whose question an NQ context asks (converters.corpus.NQ_QUESTIONS).
NQ_QUESTIONS = ("own", "swapped")
QUESTIONS_HELP = (
    "nq only: own (each context asks its record's question, the default) or swapped (the same "
    "context asks the question of one of its distractors, another record's gold passage, of the "
    "same split)"
)
LAYOUT_HELP = (
    "nq only: how the 10 documents are written: documents ('Document [i](Title: T) text' lines, "
    "the default), titles (the title on a line of its own, then the text; a blank line between "
    "documents) or plain (the texts alone, apart by blank lines)"
)


class DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """Adds "(default: X)" to an option's help unless the help already says its default or X
    means nothing to show (no value, an empty list, an off switch, a required option)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if "default" in text or action.required or default is None or default is False or default == []:
            return text
        return super()._get_help_string(action) or text


class RawDefaultsHelp(argparse.RawDescriptionHelpFormatter, DefaultsHelp):
    """``DefaultsHelp`` that keeps the description's and epilog's own line breaks (examples, lists)."""


def utf8(value: str) -> str:
    """argparse ``type`` of a text option: refuses bytes that are not UTF-8 (Python hands them over
    as lone surrogates, which no gRPC call, tokenizer or JSON line can carry) as a usage error."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise argparse.ArgumentTypeError(
            f"is not valid UTF-8 (byte 0x{ord(value[err.start]) - 0xDC00:02X} at character {err.start}); "
            "pass UTF-8 text"
        ) from None
    return value


def add_force(parser: argparse.ArgumentParser) -> None:
    """``--force WORDS``, repeatable: the words (or phrases) ``ask`` and ``condense`` always keep."""
    parser.add_argument(
        "--force",
        action="append",
        default=[],
        type=utf8,
        metavar="WORDS",
        help="a word to always keep, or several kept where they stand together (--force 'The Hague'; repeatable)",
    )


def seed(text: str) -> int:
    """argparse ``type`` of a ``--seed``: a whole number from 0 to ``MAX_SEED`` (a usage error,
    exit 2, otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 0 to {MAX_SEED}, got {text!r}"
        ) from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to {MAX_SEED}, got {value}")
    return value


def exit_codes(
    ok: str,
    failed: str | None,
    bad_input: str = "bad input or usage (a flag, a missing or unusable file)",
    sigterm: bool = False,
) -> str:
    """The ``exit codes:`` epilog of a command's ``--help`` (use with ``RawDefaultsHelp``); each
    argument says what its code means for that command (``failed=None``: the command never exits 1;
    ``sigterm``: SIGTERM stops it as Ctrl-C does, see ``converters._paths.terminate_as_interrupt``)."""
    return (
        "exit codes:\n"
        f"  0  {ok}\n" + ("" if failed is None else f"  1  {failed}\n") + f"  2  {bad_input}\n"
        "  3  an internal error, a bug in splitinfer (the traceback is printed)\n"
        f"  130  interrupted (Ctrl-C{' or SIGTERM' if sigterm else ''})\n"
    )


def plain(doc: str | None) -> str:
    """A module docstring as ``--help`` text: reST inline literals (````x````) shown as plain x."""
    return (doc or "").replace("``", "")


def read_input(path: Path | None, flag: str, closed: str) -> bytes:
    """The bytes of ``flag``'s file ``path``, or of stdin for ``-`` (and for ``None``, a command
    whose input is stdin): ``InvalidInputError`` saying ``closed`` when stdin is closed, and naming
    the file when it cannot be read."""
    from_stdin = path is None or str(path) == "-"
    if from_stdin and sys.stdin is None:
        raise InvalidInputError(closed)
    try:
        return sys.stdin.buffer.read() if from_stdin else path.read_bytes()  # type: ignore[union-attr]
    except OSError as err:
        name = "stdin" if path is None else f"{flag} {path}"
        raise InvalidInputError(f"cannot read {name}: {err.strerror}") from None


def stdout_to_devnull() -> None:
    """Point stdout at /dev/null once its reader went away, or the interpreter's last flush fails
    again: "Exception ignored ... BrokenPipeError", exit 120."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def print_to_a_reader(text: str) -> None:
    """Print ``text`` on stdout; a reader that went away (``| head``, ``| true``) ends the output,
    not the command (``stdout_to_devnull``), and the caller still returns its own exit code
    (``main`` would read the BrokenPipeError as a reader that wanted no more: exit 0)."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        stdout_to_devnull()
