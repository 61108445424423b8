"""Prometheus metrics of one server, in its own registry, served over HTTP on ``--metrics-port``.

Every name starts with ``splitinfer_``:

* ``requests_total{method,code,model}``: finished calls of ``splitinfer.v1.Inference`` by method,
  gRPC status code name and model (the configured model a ``Generate`` was routed to, the
  condenser version of a ``Condense``; empty before routing and for ``GetInfo``/``ListModels``).
  Health checks and reflection are not counted (a load balancer's probes would drown the calls
  users make), but a reflection call refused for its token is in ``rejected_total``.
* ``request_duration_seconds{method,code}``: from receiving the request to its last message, by
  outcome: refusals take microseconds and must not hide how long answers take.
* ``time_to_first_chunk_seconds{model}``: ``Generate`` only.
* ``running_requests``, ``queue_depth``: admission control, read when scraped.
* ``rejected_total{reason}``: refused for lack of capacity or credentials, or for size:
  ``overloaded`` (this server's admission queue is full, or the backend's connection pool),
  ``upstream_overloaded`` (the upstream engine answered HTTP 429), ``unauthenticated``,
  ``draining``, ``too_large`` (more than ``--max-request-bytes``; up to twice that, as gRPC
  refuses larger ones unseen).
* ``prompt_tokens_total{model}``, ``completion_tokens_total{model}``: tokens the models read and
  wrote in ``Generate`` calls that got an answer, as the backend reports them (the upstream's own
  usage when it sends one, else the server's count). Calls refused or failed before an answer add
  nothing.
* ``reloads_total{what,outcome}``: SIGHUP re-reads of ``auth_tokens`` or ``tls``, ``ok`` or
  ``kept_old`` (the new file was missing or invalid, so the server kept what it had: alert on it).
* ``tls_certificate_expiry_timestamp_seconds{file}``: when the certificate served to new
  connections ends (Unix time; ``file`` is ``--tls-cert``): 0 while it is expired or not yet
  valid, absent without TLS or when its dates could not be read.
  ``(splitinfer_tls_certificate_expiry_timestamp_seconds - time()) / 86400 < 14`` alerts two weeks
  ahead.
* ``device_original_tokens_total``, ``device_condensed_tokens_total``, and the histogram
  ``device_condensation_ratio`` (condensed / original per request): what the devices report in
  ``GenerateRequest.condensation`` when they condensed on the device, i.e. how much they save.
  The server uses these numbers for nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    start_http_server,
)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_RATIO_BUCKETS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


class Metrics:
    """The server's instruments. One registry per server, so several servers can share a process."""

    def __init__(self) -> None:
        # No *_created series beside each counter and histogram: noise for every scrape. A switch of
        # prometheus_client's, for the whole process.
        disable_created_metrics()
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "splitinfer_requests",
            "Finished splitinfer.v1.Inference calls by method, status code and model.",
            ["method", "code", "model"],
            registry=r,
        )
        self.duration = Histogram(
            "splitinfer_request_duration_seconds",
            "Time from request to last message, by method and status code.",
            ["method", "code"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.ttfc = Histogram(
            "splitinfer_time_to_first_chunk_seconds",
            "Generate: time from request to first chunk.",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.running = Gauge("splitinfer_running_requests", "Requests holding an admission slot.", registry=r)
        self.queue_depth = Gauge(
            "splitinfer_queue_depth", "Requests waiting for an admission slot.", registry=r
        )
        self.rejected = Counter(
            "splitinfer_rejected",
            "Requests refused for lack of capacity or credentials, or for size, by reason.",
            ["reason"],
            registry=r,
        )
        self.prompt_tokens = Counter(
            "splitinfer_prompt_tokens",
            "Prompt tokens of answered Generate calls, as the backend reports them, by model.",
            ["model"],
            registry=r,
        )
        self.completion_tokens = Counter(
            "splitinfer_completion_tokens",
            "Tokens generated in answered Generate calls, by model.",
            ["model"],
            registry=r,
        )
        self.device_original = Counter(
            "splitinfer_device_original_tokens",
            "Context tokens before on-device condensation (as devices report).",
            registry=r,
        )
        self.device_condensed = Counter(
            "splitinfer_device_condensed_tokens",
            "Context tokens after on-device condensation (as devices report).",
            registry=r,
        )
        self.device_ratio = Histogram(
            "splitinfer_device_condensation_ratio",
            "Condensed / original context tokens, per device-condensed request.",
            buckets=_RATIO_BUCKETS,
            registry=r,
        )
        self.reloads = Counter(
            "splitinfer_reloads",
            "SIGHUP re-reads by what was re-read (auth_tokens, tls) and outcome (ok, kept_old).",
            ["what", "outcome"],
            registry=r,
        )
        # Labelled, so that it has no sample until a certificate is served (an unlabelled gauge
        # reads 0 from the start, which an expiry alert would take for a certificate long gone).
        self.certificate_expiry = Gauge(
            "splitinfer_tls_certificate_expiry_timestamp_seconds",
            "When the TLS certificate served to new connections ends (Unix time), by --tls-cert file.",
            ["file"],
            registry=r,
        )
        self._children: dict[tuple[str, str, str], Any] = {}
        self._http: Any = None

    def watch_admission(self, running: Callable[[], float], queued: Callable[[], float]) -> None:
        self.running.set_function(running)
        self.queue_depth.set_function(queued)

    def request_done(self, method: str, code: str, model: str, seconds: float) -> None:
        key = (method, code, model)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = (
                self.requests.labels(method, code, model),
                self.duration.labels(method, code),
            )
        child[0].inc()
        child[1].observe(seconds)

    def reloaded(self, what: str, ok: bool) -> None:
        self.reloads.labels(what, "ok" if ok else "kept_old").inc()

    def certificate_ends(self, file: str, not_after: float | None) -> None:
        """The end of the certificate served from ``file`` (None: no sample)."""
        self.certificate_expiry.clear()
        if not_after is not None:
            self.certificate_expiry.labels(file).set(not_after)

    def device_condensation(self, original_tokens: int, condensed_tokens: int) -> None:
        self.device_original.inc(original_tokens)
        self.device_condensed.inc(condensed_tokens)
        self.device_ratio.observe(condensed_tokens / original_tokens)

    def serve_http(self, host: str, port: int) -> int:
        """Starts the ``/metrics`` endpoint in a thread; returns the bound port (useful with port 0)."""
        self._http, _thread = start_http_server(port, addr=host, registry=self.registry)
        return int(self._http.server_port)

    def stop_http(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
