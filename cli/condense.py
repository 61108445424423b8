"""``splitinfer condense``: condense prompts with a condenser bundle, on this machine.

Two modes:

* text: the prompt on stdin (UTF-8); the condensed text and a newline on stdout (or ``--output
  FILE``), or one JSON object on one line with ``--json``; a one-line summary on stderr.
* records: ``--input FILE.jsonl`` (``-`` = stdin), one ``{"id"?, "question"?, "context"}``
  object per line (blank lines skipped); one JSON line per record out, in the same order, with
  ``id`` (if given), ``condensed``, ``original_tokens``, ``condensed_tokens``, ``achieved_rate``,
  ``forced_tokens``, ``ms`` and ``model_version``. Every line is checked before any is condensed:
  a bad line stops the run with its line number. The records done are counted on stderr: a bar on
  a terminal, in a log a line a minute after the first minute.

``--output`` is checked before any work and written whole or not at all: a symbolic link keeps
pointing where it did, and a pipe or a device (``/dev/null``) is written in place. Ctrl-C or
SIGTERM (a stopped job) ends the run with exit 130 and leaves the old ``--output``, or none.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from splitinfer.cli._help import add_force, exit_codes, plain, read_input, utf8
from splitinfer.sdk._errors import InvalidInputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "condense",
        help="Condense prompts with a condenser bundle, on this machine.",
        description=plain(__doc__),
        epilog=exit_codes(
            "condensed",
            None,
            "bad input or usage (a flag, input that is not UTF-8 text, a bundle that does not load)",
            sigterm=True,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--input",
        type=Path,
        metavar="FILE.jsonl",
        help="records to condense, '-' = stdin (default: the prompt on stdin, as text)",
    )
    parser.add_argument(
        "--output", type=Path, metavar="FILE", help="write here instead of stdout ('-' = stdout)"
    )
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument(
        "--rate", type=float, help="fraction of tokens to keep, in (0, 1] (default: the bundle's)"
    )
    budget.add_argument("--target-tokens", type=int, metavar="N", help="token budget instead of a rate")
    parser.add_argument(
        "--question",
        default="",
        type=utf8,
        help="the question the condensed text must answer (text mode; in records mode, the question of "
        "records that have none; default: none)",
    )
    add_force(parser)
    parser.add_argument("--no-keep-digits", action="store_true", help="let words with digits be dropped too")
    parser.add_argument(
        "--model", type=Path, metavar="BUNDLE", help="condenser bundle (default: the bundled one)"
    )
    parser.add_argument(
        "--json", action="store_true", help="text mode: print a JSON object instead of the text"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from splitinfer.converters._paths import terminate_as_interrupt

    with terminate_as_interrupt():
        return condense(args)


def condense(args: argparse.Namespace) -> int:
    from splitinfer.converters._paths import check_writable
    from splitinfer.sdk._inputs import check_rate_or_target

    check_rate_or_target(args.rate, args.target_tokens)
    if args.output is not None and str(args.output) != "-":
        check_writable("--output", args.output, "condensed.jsonl" if args.input else "condensed.txt")
    records = read_records(args.input) if args.input is not None else None
    text = read_stdin() if records is None else ""
    condenser = load_condenser(args.model)
    options = {
        "rate": args.rate,
        "target_tokens": args.target_tokens,
        "force": args.force,
        "keep_digits": not args.no_keep_digits,
    }
    if records is None:
        result = condenser.condense(text, args.question, **options)
        body = (
            json.dumps(record_of(result, None), ensure_ascii=False) + "\n"
            if args.json
            else result.text + "\n"
        )
        write(args.output, body)
        print(summary(result), file=sys.stderr)
        return 0
    from splitinfer.converters._progress import progress

    lines = []
    for record in progress(records, unit="record", desc="condense"):
        result = condenser.condense(record["context"], record.get("question", args.question), **options)
        lines.append(json.dumps(record_of(result, record.get("id")), ensure_ascii=False))
    write(args.output, "".join(line + "\n" for line in lines))
    print(f"condensed {len(lines)} record(s)", file=sys.stderr)
    return 0


def load_condenser(path: Path | None) -> Any:
    from splitinfer.sdk import Condenser

    return Condenser.default() if path is None else Condenser.load(path)


# stdin closed: a command started with no stdin at all (`<&-`, some service managers).
_CLOSED = "stdin is closed; pipe the input in, e.g. splitinfer condense < prompt.txt"


def read_stdin() -> str:
    data = read_input(None, "stdin", _CLOSED)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidInputError(
            f"stdin is not valid UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start}); convert it first, "
            "e.g. iconv -f latin1 -t utf-8"
        ) from None


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every record of a JSONL file (stdin for ``-``), checked; ``InvalidInputError`` names the
    first bad line."""
    raw = read_input(path, "--input", _CLOSED)
    name = "stdin" if str(path) == "-" else str(path)
    records = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        records.append(parse_record(line, f"{name} line {number}"))
    return records


def parse_record(line: bytes, where: str) -> dict[str, Any]:
    from splitinfer.sdk._inputs import check_text

    try:
        record = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise InvalidInputError(f"{where}: not valid UTF-8 (byte 0x{line[err.start]:02x})") from None
    except json.JSONDecodeError as err:
        raise InvalidInputError(f"{where}: not valid JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(record, dict):
        raise InvalidInputError(
            f'{where}: expected an object like {{"context": "..."}}, got {type(record).__name__}'
        )
    if "context" not in record:
        raise InvalidInputError(
            f"{where}: missing 'context' (the text to condense); keys found: {', '.join(record) or 'none'}"
        )
    for key in ("context", "question"):
        if key in record:
            try:
                check_text(record[key], f"'{key}'")
            except InvalidInputError as err:  # not a str, or a lone surrogate from a "\ud800" escape
                raise InvalidInputError(f"{where}: {err}") from None
    if "id" in record and (not isinstance(record["id"], (str, int)) or isinstance(record["id"], bool)):
        raise InvalidInputError(f"{where}: 'id' must be a string or an integer")
    return record


def record_of(result: Any, record_id: object) -> dict[str, Any]:
    out: dict[str, Any] = {} if record_id is None else {"id": record_id}
    out.update(
        condensed=result.text,
        original_tokens=result.original_tokens,
        condensed_tokens=result.condensed_tokens,
        achieved_rate=round(result.achieved_rate, 4),
        forced_tokens=result.forced_tokens,
        ms=round(result.ms, 3),
        model_version=result.model_version,
    )
    return out


def summary(result: Any) -> str:
    return (
        f"condensed {result.original_tokens:,} -> {result.condensed_tokens:,} tokens "
        f"({result.achieved_rate:.0%}) in {result.ms:.1f} ms with {result.model_version}"
    )


def write(path: Path | None, body: str) -> None:
    if path is None or str(path) == "-":
        sys.stdout.write(body)
        sys.stdout.flush()
        return
    from splitinfer.converters._paths import atomic_text

    try:
        with atomic_text(path) as stream:  # whole or nothing; a link, a pipe or a device as such
            stream.write(body)
    except OSError as err:
        raise InvalidInputError(f"cannot write --output {path}: {err.strerror}") from None
