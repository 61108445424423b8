"""Reading JSONL data files, gzip or plain, with errors that name the file and line.

``read_jsonl`` is what every ``--data`` of ``splitinfer eval`` and ``splitinfer distill label``
goes through (see ``corpus``).
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from splitinfer.sdk._errors import InvalidInputError

# The first bytes of files in compressions other than gzip (the one read_jsonl opens).
_OTHER_COMPRESSIONS = {
    b"PK\x03\x04": "a zip archive, not JSONL",
    b"\xfd7zXZ\x00": "xz-compressed",
    b"BZh": "bzip2-compressed",
    b"\x28\xb5\x2f\xfd": "zstd-compressed",
}
# A \u escape of a UTF-16 surrogate: a line with one is checked for a lone half of a pair, which
# json accepts but no UTF-8 text (the split's hash, the tokenizer) can hold.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line_number, record)`` for each non-empty line of a JSONL file, gzip or plain.

    A UTF-8 byte order mark (as Windows editors write) is ignored. Raises ``InvalidInputError``
    naming the file (and the line, when there is one) for a missing or unreadable file, another
    compression than gzip, truncated or corrupt gzip, bad UTF-8, bad JSON or a line that is not
    a JSON object.
    """
    path = Path(path)
    if path.is_dir():
        raise InvalidInputError(f"{path}: a folder, not a data file; pass a .jsonl or .jsonl.gz file")
    if not path.exists():
        raise InvalidInputError(f"{path}: no such file; check the path (--data)")
    if not path.is_file():
        raise InvalidInputError(
            f"{path}: not a regular file (a device or a pipe); save the data to a file first"
        )
    number = 0  # the last line read, for an error in the gzip data after it
    try:
        with path.open("rb") as probe:
            head = probe.read(6)
        for magic, what in _OTHER_COMPRESSIONS.items():
            if head.startswith(magic):
                raise InvalidInputError(f"{path}: {what}; decompress it (or compress it with gzip instead)")
        opener = gzip.open if head.startswith(b"\x1f\x8b") else open
        with opener(path, "rb") as stream:
            for number, raw in enumerate(stream, start=1):
                record = _parse_line(path, number, raw)
                if record is not None:
                    yield number, record
    except EOFError:
        raise InvalidInputError(
            f"{path}: the gzip data ends early, {_after(number)}: the file was cut short; "
            "download or compress it again"
        ) from None
    except (gzip.BadGzipFile, zlib.error) as err:
        raise InvalidInputError(
            f"{path}: corrupt gzip data {_after(number)} ({err}); download or compress it again"
        ) from None
    except OSError as err:
        raise InvalidInputError(
            f"{path}: cannot read it ({err.strerror or err}); check the file and its permissions"
        ) from None


def _after(number: int) -> str:
    return f"after line {number}" if number else "before its first line"


def _parse_line(path: Path, number: int, raw: bytes) -> dict[str, Any] | None:
    """The JSON object on one line of a data file, ``None`` for a blank line."""
    try:
        line = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        raise InvalidInputError(
            f"{path}:{number}: not UTF-8 text (byte {err.start + 1}); save the file as UTF-8"
        ) from None
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise InvalidInputError(
            f"{path}:{number}: not valid JSON ({err.msg}, column {err.colno}); each line must hold "
            "one whole JSON object"
        ) from None
    except RecursionError:
        raise InvalidInputError(
            f"{path}:{number}: JSON nested too deeply to read; a record is an object of strings and lists"
        ) from None
    if not isinstance(record, dict):
        hint = ", not one [...] array of them" if isinstance(record, list) else ""
        raise InvalidInputError(
            f"{path}:{number}: {json_kind(record)}, not a JSON object; JSONL has one {{...}} object "
            f"per line{hint}"
        )
    if _SURROGATE_ESCAPE.search(line):
        try:
            json.dumps(record, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as err:
            raise InvalidInputError(
                f"{path}:{number}: the escape \\u{ord(err.object[err.start]):04x} is half of a UTF-16 "
                "surrogate pair, not a character; write the character itself or both escapes of its pair"
            ) from None
    return record


def json_kind(value: Any) -> str:
    """What a JSON value is, for a message: "a string", "null", "a list"..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    return "a list" if isinstance(value, list) else "an object"
