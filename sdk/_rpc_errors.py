"""Typed errors for what the server (or the network) answered, mapped from gRPC status codes.

Every error carries the server's own message (it says what was wrong), the gRPC code name and
the target, plus a hint on what to do. ``OverloadedError.retry_after_s`` comes from the
``google.rpc.RetryInfo`` the server puts in the rich status details.
"""

from __future__ import annotations

import grpc

from splitinfer.sdk._errors import InvalidInputError, SplitinferError

_STATUS_DETAILS_KEY = "grpc-status-details-bin"
_RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo"
# Trailing metadata a splitinfer server adds when the model engine behind it failed, not the
# server itself (its backend's upstream: vLLM, llama.cpp...).
UPSTREAM_CAUSE = ("splitinfer-cause", "upstream")


class ServerError(SplitinferError):
    """The call failed on the server or on the way there. ``code`` is the gRPC status code name;
    ``hint``, when given, replaces the class's advice with one for the cause found (a TLS failure)."""

    hint = ""

    def __init__(
        self, message: str, code: str = "UNKNOWN", target: str = "", hint: str | None = None
    ) -> None:
        self.code = code
        self.target = target
        self.server_message = message
        if hint is not None:
            self.hint = hint
        where = f" from {target}" if target else ""
        advice = f"; {self.hint}" if self.hint else ""
        super().__init__(f"{message} ({code}{where}){advice}")


class ServerUnavailableError(ServerError):
    """The server could not be reached (down, wrong address, a network that does not answer, TLS
    mismatch) after the retries."""

    hint = (
        "check that the server runs at that address and that TLS settings match "
        "(root_certificates=... / --tls-ca; tls=False / --plaintext)"
    )


class UpstreamUnavailableError(ServerUnavailableError):
    """The server answered, but the model engine behind it (its upstream) could not be reached
    or failed, after the retries."""

    hint = (
        "the splitinfer server is up, but the model engine behind it is down or failing; retry "
        "later, or have the server's operator check the engine"
    )


class AnswerInterruptedError(ServerUnavailableError):
    """The server or the network went away after the answer had started: it is cut off."""

    hint = (
        "the answer is cut off; ask again (a call that has started answering is never retried, so "
        "that no answer comes twice)"
    )


class DeadlineExceededError(ServerError):
    """The call did not finish before its deadline."""

    hint = (
        "allow more time (timeout=..., --timeout) or ask for a shorter answer; a call that cannot "
        "connect also ends here: check that the server runs at that address and that TLS settings match"
    )


class AuthenticationError(ServerError):
    """The server refused the credentials (missing, malformed, unknown or not allowed)."""

    hint = "pass a valid token (credentials=... / --token-file)"


class InvalidRequestError(ServerError, InvalidInputError):
    """The server rejected the request's content (INVALID_ARGUMENT, OUT_OF_RANGE)."""

    exit_code = 2


class RequestTooLargeError(InvalidRequestError):
    """The request is larger than the server accepts (gRPC's message size limit): retrying the same
    request cannot succeed, unlike ``OverloadedError`` which shares its status code."""

    hint = (
        "send less: condense on the device (a lower rate or target_tokens) or split the context; "
        "the server's limit is its --max-request-bytes"
    )


class MetadataTooLargeError(RequestTooLargeError):
    """The call's metadata (its headers: the bearer token above all) is larger than gRPC accepts on
    the server, which answers RESOURCE_EXHAUSTED as it does when overloaded: retrying cannot help."""

    hint = (
        "the call's metadata is too large, the server is not overloaded: send a shorter bearer token "
        "(credentials=... / --token-file); a splitinfer server accepts at most 16 KiB of metadata, "
        "gRPC's own headers included"
    )


class OverloadedError(ServerError):
    """The server is at capacity (RESOURCE_EXHAUSTED); retry after ``retry_after_s`` if given."""

    def __init__(
        self, message: str, code: str = "RESOURCE_EXHAUSTED", target: str = "", hint: str | None = None
    ) -> None:
        self.retry_after_s: float | None = None
        super().__init__(message, code, target, hint)


class NotReadyError(ServerError):
    """The server lacks something this call needs (FAILED_PRECONDITION), e.g. a condenser."""


class RequestCancelledError(ServerError):
    """The call was cancelled (by this client, or the server went away mid-call)."""


class CondenserUnavailableError(SplitinferError):
    """The policy demands a condensation that cannot run (no device bundle / no server condenser)."""


# What gRPC's connection error says -> why the server that answered cannot be used, and the fix.
# The retries cannot help with these: the hint must not send the user to check that it runs.
_TLS_HINTS = (
    (
        "Hostname Verification Check failed",
        "the server's certificate is for another host name: connect by a name it holds, or name "
        "the one to check (tls_server_name=... / --tls-server-name)",
    ),
    (
        "certificate has expired",
        "the server's certificate has expired: renew it on the server (or correct this machine's clock)",
    ),
    (
        "certificate is not yet valid",
        "the server's certificate is not valid yet: correct the clock of this machine or of the "
        "server that issued it",
    ),
    (
        "WRONG_VERSION_NUMBER",
        "the server does not speak TLS: connect in plaintext (tls=False / --plaintext), or give "
        "the server --tls-cert and --tls-key",
    ),
    (
        "CERTIFICATE_VERIFY_FAILED",
        "this client does not trust the server's certificate: pass the CA that signed it "
        "(root_certificates=... / --tls-ca)",
    ),
    (
        "Tls handshake failed",
        "the TLS handshake failed: check that this client's TLS settings (root_certificates=... / "
        "--tls-ca) match the server's certificate",
    ),
    (
        "Socket closed",
        "the server closed the connection at once, as a TLS server does to a plaintext client: "
        "if it serves TLS, connect with TLS (root_certificates=... / --tls-ca, or tls=True / --tls)",
    ),
)
# What gRPC's connection error says when TLS settings are not the cause -> where to look instead.
_SILENT_NETWORK = (
    "nothing came back from that address in time: this device's network is down or very slow, "
    "or a firewall drops the traffic; check the connection and retry"
)
_NETWORK_HINTS = (
    ("timed out before receiving SETTINGS frame", _SILENT_NETWORK),
    ("Handshake read failed (Endpoint closing)", _SILENT_NETWORK),  # the same, during a TLS handshake
    (
        "Connection refused",
        "nothing listens on that port: check that the server runs at that address (host and port)",
    ),
)
# Both tables, tried in this order (the first marker found in the message gives the hint).
_CONNECT_HINTS = (*_TLS_HINTS, *_NETWORK_HINTS)
_CONNECT_FAILED = "failed to connect to all addresses"
# What gRPC says, with RESOURCE_EXHAUSTED, of headers over its limit: "received metadata size exceeds
# hard limit (16652 vs. 16384); :path:70B ... authorization:16052B", or "(value length 17007 vs. 16384)".
_METADATA_LIMIT = "metadata size exceeds"
# The markers of ``_TLS_HINTS`` that only TLS settings that do not match the server's give, the
# same on every attempt: the client fails at the first instead of retrying. A server that closes
# the connection at once ("Socket closed", a TLS server to a plaintext client) may also be one
# shutting down, and "Tls handshake failed" alone may be a network that cut the handshake short.
_TLS_MISMATCH = ("Hostname Verification Check failed", "WRONG_VERSION_NUMBER", "CERTIFICATE_VERIFY_FAILED")


def is_tls_mismatch(error: ServerError) -> bool:
    """Whether ``error`` is a connection that failed because TLS settings do not match the server's,
    which no retry can mend (an untrusted certificate, one for another host, TLS to plaintext)."""
    message = error.server_message
    return (
        type(error) is ServerUnavailableError
        and _CONNECT_FAILED in message
        and any(marker in message for marker in _TLS_MISMATCH)
    )


def _connect_hint(message: str) -> str | None:
    """The hint for a connection that could not be made, when its cause is known: TLS settings
    that do not match, a network that does not answer, or nothing listening."""
    if _CONNECT_FAILED not in message:
        return None
    return next((hint for marker, hint in _CONNECT_HINTS if marker in message), None)


_BY_CODE: dict[grpc.StatusCode, type[ServerError]] = {
    grpc.StatusCode.UNAVAILABLE: ServerUnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.UNAUTHENTICATED: AuthenticationError,
    grpc.StatusCode.PERMISSION_DENIED: AuthenticationError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidRequestError,
    grpc.StatusCode.OUT_OF_RANGE: InvalidRequestError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: OverloadedError,
    grpc.StatusCode.FAILED_PRECONDITION: NotReadyError,
    grpc.StatusCode.UNIMPLEMENTED: NotReadyError,
    grpc.StatusCode.CANCELLED: RequestCancelledError,
}


# How close to its deadline a call that loses its connection counts as having run out of time:
# the server ends it by its own clock, which started when the request arrived, a little after ours.
DEADLINE_SLACK_S = 0.05


def deadline_passed(call: object) -> bool:
    """Whether ``call`` (a sync or ``grpc.aio`` call) has reached its deadline, give or take
    ``DEADLINE_SLACK_S``; False when it has none or cannot say."""
    time_remaining = getattr(call, "time_remaining", None)
    try:
        left = time_remaining() if callable(time_remaining) else None
    except Exception:  # a call object that cannot say: judge by the code alone
        return False
    return left is not None and left <= DEADLINE_SLACK_S


def from_rpc_error(
    err: grpc.RpcError, target: str, chunks: int = 0, out_of_time: bool = False
) -> ServerError:
    """The typed SDK error for a failed gRPC call (sync or ``grpc.aio``); ``chunks``: how many
    chunks of the answer had arrived (UNAVAILABLE after one is ``AnswerInterruptedError``).

    ``out_of_time``: the call had reached its deadline (``deadline_passed``). DEADLINE_EXCEEDED
    marked as the upstream's (``UPSTREAM_CAUSE``) before then is the server's engine that stalled:
    ``UpstreamUnavailableError``, or ``AnswerInterruptedError`` once chunks had come. A server that ends
    such a call as the last one on a connection it is closing (after a ``--max-connection-age``
    GOAWAY) may close the connection before the client reads DEADLINE_EXCEEDED, which then
    arrives as UNAVAILABLE "Socket closed": that is a ``DeadlineExceededError`` too, whose advice
    (allow more time) is the one that helps, not "ask again"."""
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    code = code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.UNKNOWN
    details = err.details() if hasattr(err, "details") else None
    message = details or str(err) or "no message"
    kind = _BY_CODE.get(code, ServerError)
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" in message:
        kind = RequestTooLargeError  # gRPC's own size check: "Received message larger than max (...)"
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED and _METADATA_LIMIT in message:
        kind = MetadataTooLargeError
    if kind is ServerUnavailableError and UPSTREAM_CAUSE in _trailers(err):
        kind = UpstreamUnavailableError
    if kind is DeadlineExceededError and not out_of_time and UPSTREAM_CAUSE in _trailers(err):
        # The server's own wait for its engine ran out (its read timeout), long before this call's
        # deadline: "allow more time" would not help, the engine stalled.
        kind = UpstreamUnavailableError
    if kind is ServerUnavailableError and out_of_time:
        kind = DeadlineExceededError
        message = f"{message} (the call's deadline had passed as its connection closed)"
    if issubclass(kind, ServerUnavailableError) and chunks:
        kind = AnswerInterruptedError
        message = f"{message} (after {chunks} chunk{'s' if chunks != 1 else ''} of the answer)"
    hint = _connect_hint(message) if kind is ServerUnavailableError else None
    error = kind(message, code.name, target, hint)
    if isinstance(error, OverloadedError):
        error.retry_after_s = _retry_after(_trailers(err))
    return error


def _trailers(err: grpc.RpcError) -> tuple:
    try:
        return tuple(err.trailing_metadata() or ())  # type: ignore[attr-defined]
    except Exception:  # a channel-level failure has no trailers
        return ()


def _retry_after(trailers: tuple) -> float | None:
    """Seconds from the ``google.rpc.RetryInfo`` in the rich status details, if there is one.

    Decoded by hand (google.rpc.Status { repeated Any details = 3 }, Any { type_url = 1, value = 2 },
    RetryInfo { Duration retry_delay = 1 }, Duration { seconds = 1, nanos = 2 }) because the
    googleapis protos are not a device dependency.
    """
    blob = next((v for k, v in trailers if k == _STATUS_DETAILS_KEY), None)
    if not isinstance(blob, bytes):
        return None
    try:
        for number, value in _fields(blob):
            if number != 3 or not isinstance(value, bytes):
                continue
            detail = dict(_fields(value))
            if detail.get(1) == _RETRY_INFO_TYPE.encode():
                delay = dict(_fields(dict(_fields(detail.get(2, b""))).get(1, b"")))
                return int(delay.get(1, 0)) + int(delay.get(2, 0)) / 1e9
    except (IndexError, ValueError, TypeError):
        return None
    return None


def _fields(data: int | bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs of a protobuf message: varints as int, length-delimited as bytes.
    A varint where a message should be is a ``TypeError``."""
    if not isinstance(data, bytes):
        raise TypeError(f"expected an embedded message, got {type(data).__name__}")
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append((number, value))
        elif wire == 2:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise ValueError("truncated field")
            out.append((number, data[pos : pos + size]))
            pos += size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return out


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
