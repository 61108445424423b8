"""Argument checks shared by ``Condenser`` and ``Client``: each bad value gets an
``InvalidInputError`` that names the argument, what was wrong and how to fix it."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import numpy as np

from splitinfer.sdk._errors import InvalidInputError

# The longest text (in characters, all parts together) one condense() call accepts: 4 Mi
# characters, about 700,000 English words or 150 times a 128k-token model context. Longer input
# is almost always a mistake (a whole file or database dump); split it and condense the pieces.
MAX_INPUT_CHARS = 4 * 1024 * 1024
# The largest values the wire's unsigned integer fields carry.
UINT32_MAX = 2**32 - 1
UINT64_MAX = 2**64 - 1
# The longest deadline a call gets. gRPC turns a deadline past about 7e9 s into one already past,
# so a caller's "no deadline" (sys.maxsize, 1e12) would fail every call at once; 1e8 s (three
# years) is as good as none.
MAX_TIMEOUT_S = 1e8


def check_text(value: object, name: str, *, optional: bool = False) -> str:
    """``value`` as a ``str`` that encodes to UTF-8, or an ``InvalidInputError`` saying why not."""
    if value is None and optional:
        return ""
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise InvalidInputError(
                f"{name} must be a str, got {type(value).__name__} that is not valid UTF-8 "
                f"(byte 0x{raw[err.start]:02x} at offset {err.start}); decode it with its real encoding, "
                f"or with data.decode('utf-8', errors='replace')"
            ) from None
        raise InvalidInputError(
            f"{name} must be a str, got {type(value).__name__}; decode it first: data.decode('utf-8')"
        )
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be a str, got {type(value).__name__}")
    if len(value) > MAX_INPUT_CHARS:
        raise InvalidInputError(
            f"{name} has {len(value):,} characters, more than the {MAX_INPUT_CHARS:,} one call accepts; "
            f"split it and condense the pieces separately"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise InvalidInputError(
            f"{name} is not valid Unicode: a lone surrogate U+{ord(value[err.start]):04X} at character "
            f"{err.start} (text decoded with errors='surrogateescape'?); decode the bytes with "
            f"errors='replace' instead"
        ) from None
    return value


def check_rate(rate: object, name: str = "rate") -> float | None:
    """``rate`` as a float in (0, 1], or None."""
    if rate is None:
        return None
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
        raise InvalidInputError(
            f"{name} must be a number (int or float) in (0, 1], got {type(rate).__name__}"
        )
    try:
        finite = math.isfinite(float(rate))
    except OverflowError:  # an int too large for a float
        finite = False
    if not finite or not 0.0 < float(rate) <= 1.0:
        raise InvalidInputError(
            f"{name} must be in (0, 1] (the fraction of tokens to keep), got {_shown(rate)}; e.g. 0.33 keeps a third"
        )
    return float(rate)


def _shown(value: object) -> str:
    """``value`` for an error message, cut short (an int of 400 digits is no help)."""
    text = str(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"


def check_target(target_tokens: object, name: str = "target_tokens") -> int | None:
    """``target_tokens`` as an int >= 0, or None."""
    if target_tokens is None:
        return None
    if isinstance(target_tokens, bool) or not isinstance(target_tokens, numbers.Integral):
        raise InvalidInputError(f"{name} must be an integer >= 0, got {type(target_tokens).__name__}")
    if target_tokens < 0:
        raise InvalidInputError(f"{name} must be >= 0 (a token budget), got {_shown(target_tokens)}")
    return int(target_tokens)


def check_integer(value: object, name: str, maximum: int, what: str) -> int:
    """``value`` as an int in [0, ``maximum``] (any integral type but bool); ``what`` describes
    the valid values in the error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInputError(f"{name} must be {what}, got {type(value).__name__} {value!r}")
    if not 0 <= int(value) <= maximum:
        raise InvalidInputError(f"{name} must be {what} and at most {maximum:,}, got {value}")
    return int(value)


def check_bool(value: object, name: str) -> bool:
    """``value`` as a bool (numpy's too); a string such as "no" is an error, not True."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise InvalidInputError(f"{name} must be True or False, got {type(value).__name__} {value!r}")


def check_rate_or_target(rate: object, target_tokens: object) -> tuple[float | None, int | None]:
    """At most one of ``rate`` and ``target_tokens``, each valid."""
    checked = check_rate(rate), check_target(target_tokens)
    if checked[0] is not None and checked[1] is not None:
        raise InvalidInputError(
            f"pass either rate ({rate}) or target_tokens ({target_tokens}), not both: "
            f"rate keeps a fraction of the tokens, target_tokens a fixed number"
        )
    return checked


def check_force(force: object) -> tuple[str, ...]:
    """``force`` as a tuple of strings; a single string counts as one entry."""
    if force is None:
        return ()
    if isinstance(force, str):
        return (force,)
    if isinstance(force, (bytes, bytearray, memoryview)):
        raise InvalidInputError(f"force must be a list of str, got {type(force).__name__}; decode it first")
    if not isinstance(force, Iterable):
        raise InvalidInputError(f"force must be a list of words, got {type(force).__name__}")
    entries = tuple(force)
    for i, entry in enumerate(entries):
        if not isinstance(entry, str):
            raise InvalidInputError(f"force must contain only str, found {type(entry).__name__} {entry!r}")
        check_text(entry, f"force[{i}]")
    return entries


def check_http_url(url: str, name: str) -> str:
    """``url`` without its trailing slash; ``InvalidInputError`` (a ``ValueError``) unless it is an
    http(s) URL with a host and a valid port. ``name`` says where it came from (a flag)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError as err:
        raise InvalidInputError(f"{name} {url!r} is not a URL ({err})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError(f"{name} {url!r} must be an http(s) base URL, e.g. http://127.0.0.1:8000/v1")
    return url.rstrip("/")


def check_timeout(timeout: object, why: str = "every call has a deadline") -> float:
    """``timeout`` in seconds, at most ``MAX_TIMEOUT_S`` (``inf`` is that too); > 0, or
    ``InvalidInputError`` (``why`` says in its message why None or 0 will not do)."""
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, numbers.Real)
        or math.isnan(timeout)
        or timeout <= 0
    ):
        raise InvalidInputError(
            f"timeout must be a number of seconds > 0 ({why}), got {_shown(repr(timeout))}"
        )
    return min(float(timeout), MAX_TIMEOUT_S)


def retry_after_seconds(value: str) -> float | None:
    """The seconds an HTTP ``Retry-After`` value asks for: a number of seconds or an HTTP date
    (RFC 9110; one without a zone is GMT, as HTTP dates are), counted from now. ``None`` when the
    value is empty, unreadable or NaN; the caller bounds the rest (it may be negative or inf)."""
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        import datetime  # here, not at import: the device SDK never parses HTTP dates
        import email.utils

        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        seconds = (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    return None if math.isnan(seconds) else seconds
