"""One record per RPC, turned into metrics and one structured log line when the RPC ends.

Each call gets one line of JSON on the ``splitinfer.server.requests`` logger, e.g.::

    {"rpc": "Generate", "ts": "2026-12-01T06:36:51.888Z", "id": "a1b2", "model": "extractive",
     "code": "OK", "prompt_tokens": 812, "completion_tokens": 21, "ttfc_ms": 41.2, "total_ms": 44.0,
     "peer": "ipv4:127.0.0.1:50412"}

``ts`` is when the call ended (UTC, milliseconds): lines are written in batches, so the time of the
log record is not the call's. Fields that do not apply to a method are left out. ``error`` carries
the status message when the code is not ``OK``.

Lines are handed to ``logging`` in batches, like an access log's buffer: one log record every
:data:`FLUSH_INTERVAL_S` (or every :data:`BATCH_LINES` calls) whose message is the batch's lines
joined by newlines. A log record costs more CPU than the rest of a call's accounting together;
batching keeps the server's overhead per call small, and the output is still one line per call.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TextIO

from splitinfer.server.metrics import Metrics

REQUEST_LOGGER = "splitinfer.server.requests"
FLUSH_INTERVAL_S = 0.2
BATCH_LINES = 128
# The C JSON string encoder: a log line is built by hand because json.dumps of a dict costs more
# than the rest of the per-call accounting together.
_quote = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


def configure_logging(level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """What ``splitinfer serve`` sets up: bare messages (request lines are JSON) on ``stream``.

    Thread and process names are not recorded: the format does not show them, and looking them up
    costs every log call.
    """
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging.basicConfig(level=level, format="%(message)s", stream=stream)
    # httpx (the openai backend's client) logs every upstream request at INFO as plain text,
    # which would put a non-JSON line next to each call's JSON request line; sentence-transformers
    # logs its model's path as the extractive backend loads it, which the server's own
    # "ready, loaded in" line says.
    for chatty in ("httpx", "sentence_transformers"):
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))


_second: list[tuple[int, str]] = [(-1, "")]  # the last whole second formatted, and its text


def timestamp(now: float) -> str:
    """``now`` (Unix time) as ISO 8601 in UTC with milliseconds: ``2026-12-01T06:36:51.888Z``.
    The date and time of day are formatted once a second, not once a call."""
    whole = int(now)
    second, text = _second[0]
    if whole != second:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        _second[0] = (whole, text)
    return f"{text}.{int((now - whole) * 1000):03d}Z"


class CallRecord:
    """What the service learnt about one call; filled in as the call proceeds."""

    __slots__ = (
        "completion_tokens",
        "condensation_ratio",
        "message_lost",
        "method",
        "model",
        "peer",
        "prompt_tokens",
        "request_id",
        "started",
        "ttfc_ms",
    )

    def __init__(self, method: str, peer: str = "") -> None:
        self.method = method
        self.peer = peer
        self.request_id = ""
        self.model = ""
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.ttfc_ms: float | None = None
        self.condensation_ratio: float | None = None
        # Set when gRPC ended the call without handing over its request message (see servicer).
        self.message_lost = False
        self.started = time.perf_counter()

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000.0


class Observer:
    """Ends call records: counts them in ``metrics`` and queues their log line.

    Lives on the server's event loop: call :meth:`flush` every :data:`FLUSH_INTERVAL_S` (the
    server does) and once when stopping.
    """

    def __init__(self, metrics: Metrics, log_requests: bool = True) -> None:
        self.metrics = metrics
        self.log = logging.getLogger(REQUEST_LOGGER)
        self.log_requests = log_requests
        self._lines: list[str] = []

    def end(self, record: CallRecord, code: str, error: str = "", counted: bool = True) -> None:
        """Logs the call; ``counted``: also in ``requests_total`` and the duration histogram
        (calls of ``splitinfer.v1.Inference``; not health checks or reflection)."""
        total_ms = record.elapsed_ms()
        if counted:
            self.metrics.request_done(record.method, code, record.model, total_ms / 1000.0)
        if record.ttfc_ms is not None and record.model:
            self.metrics.ttfc.labels(record.model).observe(record.ttfc_ms / 1000.0)
        if self.log_requests and self.log.isEnabledFor(logging.INFO):
            self._lines.append(log_line(record, code, error, total_ms))
            if len(self._lines) >= BATCH_LINES:
                self.flush()

    def reject(self, record: CallRecord, reason: str, code: str, error: str, counted: bool = True) -> None:
        """A call refused for lack of capacity or credentials (auth, overload here or upstream,
        draining) or for its size; ``counted``: see :meth:`end`."""
        self.metrics.rejected.labels(reason).inc()
        self.end(record, code, error, counted)

    def flush(self) -> None:
        """Writes the queued lines as one log record."""
        if self._lines:
            lines, self._lines = self._lines, []
            self.log.info("\n".join(lines))


def log_line(record: CallRecord, code: str, error: str, total_ms: float) -> str:
    """The JSON log line of one call (see the module docstring)."""
    parts = [f'{{"rpc": {_quote(record.method)}', f'"ts": "{timestamp(time.time())}"']
    if record.request_id:
        parts.append(f'"id": {_quote(record.request_id)}')
    if record.model:
        parts.append(f'"model": {_quote(record.model)}')
    parts.append(f'"code": {_quote(code)}')
    if record.prompt_tokens is not None:
        parts.append(f'"prompt_tokens": {int(record.prompt_tokens)}')
    if record.completion_tokens is not None:
        parts.append(f'"completion_tokens": {int(record.completion_tokens)}')
    if record.condensation_ratio is not None:
        parts.append(f'"condensation_ratio": {record.condensation_ratio:.4f}')
    if record.ttfc_ms is not None:
        parts.append(f'"ttfc_ms": {record.ttfc_ms:.2f}')
    parts.append(f'"total_ms": {total_ms:.2f}')
    if record.peer:
        parts.append(f'"peer": {_quote(record.peer)}')
    if error:
        parts.append(f'"error": {_quote(error)}')
    return ", ".join(parts) + "}"
