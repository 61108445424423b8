"""Progress of long work on stderr, for a person at a terminal and for a CI log alike.

On a terminal, tqdm's bar is drawn in place. Anywhere else (a CI job's log, a file, a pipe) a bar
drawn in place is noise, and none at all leaves a log silent for the hour a labelling run takes:
there the same counts come as one plain line every ``LOG_INTERVAL_S`` once the work has run that
long, and work that ends sooner prints nothing.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable
from typing import IO, Any

LOG_INTERVAL_S = 60.0
# tqdm's counters without the bar: "label minilm: 120/1353 [02:00<20:31, 1.00case/s, ...]".
_LOG_FORMAT = "{desc}: {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"


class _Lines(io.TextIOBase):
    """What tqdm writes, as whole lines: its carriage returns dropped, blank and repeated lines
    left out."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.last = ""

    def write(self, text: str) -> int:
        line = text.replace("\r", "").strip()
        if line and line != self.last:
            self.stream.write(line + "\n")
            self.stream.flush()
            self.last = line
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def _log_bar() -> type:
    from tqdm import tqdm

    class LogBar(tqdm):  # type: ignore[misc]
        """tqdm draws again at every ``refresh``, a new postfix included, whatever its ``delay``
        and ``mininterval``; in a log each drawing is a line, so here they hold for it too."""

        def refresh(self, nolock: bool = False, lock_args: Any = None) -> bool | None:
            now = self._time()
            if now - self.start_t < self.delay or now - self.last_print_t < self.mininterval:
                return None
            self.last_print_t = now
            return super().refresh(nolock, lock_args)

        def close(self) -> None:
            if self.n == self.last_print_n:  # the last line already holds the final count
                self.leave = False
            super().close()

    return LogBar


def is_terminal(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):  # None (no stderr), or closed
        return False


def progress(
    iterable: Iterable[Any] | None = None,
    *,
    desc: str,
    unit: str,
    total: int | None = None,
    enabled: bool = True,
    stream: IO[str] | None = None,
    log_interval: float = LOG_INTERVAL_S,
) -> Any:
    """A tqdm bar over ``iterable`` (or updated by hand) on ``stream`` (stderr): drawn in place on
    a terminal, a line every ``log_interval`` seconds elsewhere, nothing when not ``enabled``."""
    from tqdm import tqdm

    if not enabled:
        return tqdm(iterable, total=total, disable=True)
    stream = sys.stderr if stream is None else stream
    if is_terminal(stream):
        return tqdm(iterable, total=total, desc=desc, unit=unit, file=stream)
    return _log_bar()(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        file=_Lines(stream),
        delay=log_interval,
        mininterval=log_interval,
        bar_format=_LOG_FORMAT,
        disable=stream is None,
    )
