"""Errors of the service core and its backends, free of ``grpc``.

Each class names the gRPC status code the servicer answers with (``code``, the name of a
``grpc.StatusCode`` member), so business logic and backends stay importable and testable without
gRPC. Messages are shown to the caller: say what was wrong and what to change.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: a request failed for a reason the caller should be told about."""

    code: str = "INTERNAL"
    # True when the upstream the backend depends on failed, not this server: the caller is told
    # so in the trailing metadata (``UPSTREAM_CAUSE``), so that its advice is about the engine.
    upstream: bool = False

    def __init__(
        self, message: str, *, retry_after_s: float | None = None, log_message: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        # When set, the caller may retry after this many seconds (sent as google.rpc.RetryInfo).
        self.retry_after_s = retry_after_s
        # What the server's own log says: ``message`` less any text that may quote the caller's
        # prompt (an upstream's error can echo the request); the caller still gets ``message``.
        self.log_message = message if log_message is None else log_message


class InvalidRequestError(ServiceError):
    """The request itself is wrong: empty prompt, unknown model, out-of-range option."""

    code = "INVALID_ARGUMENT"


class RequestTooLargeError(ServiceError):
    """The request is larger than ``--max-request-bytes``: sending it again cannot succeed.

    RESOURCE_EXHAUSTED, as gRPC's own size check answers, with "larger than max" in the message:
    clients (the SDK included) tell it from overload by that text.
    """

    code = "RESOURCE_EXHAUSTED"


class OverloadedError(ServiceError):
    """Too many requests are running and queued; retry after ``retry_after_s``."""

    code = "RESOURCE_EXHAUSTED"


class UpstreamOverloadedError(OverloadedError):
    """The upstream model server refused the request as overloaded (HTTP 429); retry after ``retry_after_s``.

    Counted apart from this server's own admission rejections (``rejected_total{reason="upstream_overloaded"}``).
    """

    upstream = True


class NotReadyError(ServiceError):
    """The server lacks something the request needs (e.g. no condenser bundle installed)."""

    code = "FAILED_PRECONDITION"


class UnavailableError(ServiceError):
    """An upstream the backend depends on is down or refused the connection; retrying may help."""

    code = "UNAVAILABLE"
    upstream = True


class UpstreamTimeoutError(ServiceError):
    """An upstream did not answer in time."""

    code = "DEADLINE_EXCEEDED"
    upstream = True


class UpstreamError(ServiceError):
    """An upstream answered with something the server cannot use (a server-side problem)."""

    code = "INTERNAL"
    upstream = True


class DrainingError(UnavailableError):
    """The server is shutting down and takes no new requests; another replica (or a retry) will."""

    upstream = False
