"""One record per RPC, turned into metrics and one structured log line when the RPC ends.

The log line is JSON on the ``splitinfer.server.requests`` logger, e.g.::

    {"rpc": "Generate", "id": "a1b2", "model": "extractive", "code": "OK", "prompt_tokens": 812,
     "completion_tokens": 21, "ttfc_ms": 41.2, "total_ms": 44.0, "peer": "ipv4:127.0.0.1:50412"}

Fields that do not apply to a method are left out. ``error`` carries the status message when the
code is not ``OK``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field

from splitinfer.server.metrics import Metrics

REQUEST_LOGGER = "splitinfer.server.requests"


@dataclass
class CallRecord:
    """What the service learnt about one call; filled in as the call proceeds."""

    method: str
    peer: str = ""
    request_id: str = ""
    model: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ttfc_ms: float | None = None
    condensation_ratio: float | None = None
    started: float = field(default_factory=time.perf_counter)

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000.0


class Observer:
    """Ends call records: counts them in ``metrics`` and writes their log line."""

    def __init__(self, metrics: Metrics, log_requests: bool = True) -> None:
        self.metrics = metrics
        self.log = logging.getLogger(REQUEST_LOGGER)
        self.log_requests = log_requests

    def end(self, record: CallRecord, code: str, error: str = "") -> None:
        total_ms = record.elapsed_ms()
        self.metrics.request_done(record.method, code, total_ms / 1000.0)
        if record.ttfc_ms is not None and record.model:
            self.metrics.ttfc.labels(record.model).observe(record.ttfc_ms / 1000.0)
        if self.log_requests and self.log.isEnabledFor(logging.INFO):
            self.log.info(json.dumps(self._line(record, code, error, total_ms), ensure_ascii=False))

    def reject(self, record: CallRecord, reason: str, code: str, error: str) -> None:
        """A call refused before any work (auth, overload, draining)."""
        self.metrics.rejected.labels(reason).inc()
        self.end(record, code, error)

    @staticmethod
    def _line(record: CallRecord, code: str, error: str, total_ms: float) -> dict[str, object]:
        line: dict[str, object] = {"rpc": record.method}
        if record.request_id:
            line["id"] = record.request_id
        if record.model:
            line["model"] = record.model
        line["code"] = code
        for key in ("prompt_tokens", "completion_tokens", "condensation_ratio"):
            value = getattr(record, key)
            if value is not None:
                line[key] = round(value, 4) if isinstance(value, float) else value
        if record.ttfc_ms is not None:
            line["ttfc_ms"] = round(record.ttfc_ms, 2)
        line["total_ms"] = round(total_ms, 2)
        if record.peer:
            line["peer"] = record.peer
        if error:
            line["error"] = error
        return line
