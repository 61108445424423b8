"""Exceptions of the device SDK. Each message says what was wrong and how to fix it."""

from __future__ import annotations


class SplitinferError(Exception):
    """Base class of every error splitinfer raises on purpose.

    ``exit_code`` is what the ``splitinfer`` command exits with when this error reaches it:
    1 for a failed run, 2 for bad input (a missing or corrupt file, a bad flag value).
    """

    exit_code: int = 1


class InvalidInputError(SplitinferError, ValueError):
    """The caller passed something unusable: wrong type, empty or oversized text, bad flag."""

    exit_code = 2


class BundleError(SplitinferError):
    """A condenser bundle cannot be used: not a bundle, truncated, corrupt or too new."""

    exit_code = 2


class CondenseTimeoutError(SplitinferError, TimeoutError):
    """Condensing did not finish within the ``timeout`` given to ``Condenser.condense``;
    ``step`` says how far it got."""

    def __init__(self, message: str, step: str = "") -> None:
        super().__init__(message)
        self.step = step
