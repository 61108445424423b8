"""How the SDK's gRPC channel is set up: retries, keepalive, reconnects, TLS and credentials.

One channel per ``Client``, reused by every call (HTTP/2 multiplexes them over one connection).

Retries: only ``UNAVAILABLE`` is retried, only by gRPC itself through the service config below
(exponential backoff with jitter, at most ``MAX_ATTEMPTS`` attempts, retry throttling so a fleet
of devices does not hammer a struggling server). A streaming call is retried only until its
first response arrives, so an answer is never duplicated. Throttling is per channel (per
``Client``) and counts calls, not time: each failed attempt costs a token, each call that succeeds
earns back 0.1 of one, and nothing is retried while 5 or fewer of the 10 remain. After an outage
that spent them, calls go through at once when the server is back but are not retried until about
50 have succeeded (a new ``Client`` starts with all 10). The caller's deadline bounds the whole
call, retries included. Reconnect backoff is short and capped so a server that comes back is
found within a second or two, and a server that stays down fails a call within a few seconds.

Connecting: one attempt (TCP, TLS and HTTP/2 handshakes) may take ``CONNECT_TIMEOUT_MS``, so that
a slow network still connects (a TLS handshake takes several round trips, each a second or more
on a poor mobile link); an address that never answers fails a call a little after that long, or
at its deadline if that comes first.

Keepalive: while a call is open the client pings every ``KEEPALIVE_TIME_MS`` and drops the
connection when a ping is not answered within ``KEEPALIVE_TIMEOUT_MS``: a network that goes
silent while an answer streams ends it with ``AnswerInterruptedError`` (after about 60 s), not a
hang. No pings while idle (a phone's radio may sleep); instead a connection unused for
``IDLE_TIMEOUT_MS`` is closed, and the next call opens a new one (one more handshake after a
pause), so a connection that died while idle (the phone moved to another network, a NAT forgot
it) is not used again. One that died less than that long before the next call is found only by
that call's pings, 60 to 100 s into it: past the default 60 s deadline, which ends it first
(``DeadlineExceededError``).
A server must accept pings at that pace: ``SERVER_KEEPALIVE_OPTIONS`` are the matching
``grpc.server`` options.
"""

from __future__ import annotations

import ipaddress
import json
import re
import ssl
from importlib.metadata import PackageNotFoundError, version
from os import PathLike
from pathlib import Path

import grpc

from splitinfer.sdk._errors import InvalidInputError

SERVICE = "splitinfer.v1.Inference"
MAX_ATTEMPTS = 5
KEEPALIVE_TIME_MS = 60_000
KEEPALIVE_TIMEOUT_MS = 20_000
# A connection unused this long is closed, and the next call opens a new one. A phone that moved
# to another network, or a NAT that forgot the connection, leaves it dead without a word, and no
# ping runs while no call does (see the module docs): a call on it would wait for its deadline.
IDLE_TIMEOUT_MS = 30_000
# gRPC reads its connect timeout from grpc.min_reconnect_backoff_ms (at least that long per attempt).
# Left at the 100 ms of the reconnect backoff, handshakes slower than about a second were cut
# short, again and again: over a 300 ms network a TLS client never connected.
CONNECT_TIMEOUT_MS = 10_000

# The most call metadata a splitinfer server accepts (server/app.py sets it as gRPC's limits), as HTTP/2
# counts it: each entry's name and value plus 32 bytes. Past it the server answers RESOURCE_EXHAUSTED,
# as when it is overloaded, and gRPC sends metadata of any size without a check of its own.
MAX_METADATA_BYTES = 16 * 1024
# What gRPC's own headers of a call take besides ``:authority`` (method path, scheme, content type,
# timeout, encodings, user agent): 543 bytes with grpcio 1.85, kept with room for a longer user agent.
GRPC_HEADER_BYTES = 1024
# A method outside ``SERVICE_CONFIG``'s retry policy: a call to it on a channel that cannot connect
# fails at once with the connection's error instead of retrying (see ``Client._check_tls``). A server
# that gets it answers from its health service, or UNIMPLEMENTED; either says it connected.
PROBE_METHOD = "/grpc.health.v1.Health/Check"

SERVICE_CONFIG = {
    "methodConfig": [
        {
            "name": [{"service": SERVICE}],
            "retryPolicy": {
                "maxAttempts": MAX_ATTEMPTS,
                "initialBackoff": "0.2s",
                "maxBackoff": "2s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ],
    # Each failure costs a token, each success gives back 0.1; retries stop below half of 10.
    "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1},
}

# What a splitinfer server sets so that SDK clients' keepalive pings are welcome.
SERVER_KEEPALIVE_OPTIONS = (
    ("grpc.http2.min_ping_interval_without_data_ms", KEEPALIVE_TIME_MS // 2),
    ("grpc.http2.max_ping_strikes", 2),
)


def _user_agent() -> str:
    try:
        return f"splitinfer-python/{version('splitinfer')}"
    except PackageNotFoundError:
        return "splitinfer-python"


def channel_options(tls_server_name: str | None = None) -> list[tuple[str, object]]:
    options: list[tuple[str, object]] = [
        ("grpc.enable_retries", 1),
        ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
        ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
        ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
        ("grpc.keepalive_permit_without_calls", 0),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.min_reconnect_backoff_ms", CONNECT_TIMEOUT_MS),
        ("grpc.max_reconnect_backoff_ms", 1000),
        ("grpc.client_idle_timeout_ms", IDLE_TIMEOUT_MS),
        ("grpc.primary_user_agent", _user_agent()),
    ]
    if tls_server_name:
        options.append(("grpc.ssl_target_name_override", tls_server_name))
    return options


def is_loopback_target(target: str) -> bool:
    """True for ``localhost:P``, ``127.x.x.x:P``, ``[::1]:P`` and ``unix:`` targets."""
    if target.startswith(("unix:", "unix-abstract:")):
        return True
    host = target.split("://", 1)[-1]
    host = host[1 : host.index("]")] if host.startswith("[") and "]" in host else host.rsplit(":", 1)[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_target(target: object, name: str = "target") -> str:
    """``target`` stripped, or ``InvalidInputError`` saying what is wrong with it: not text, a URL,
    no port, an empty host, a port that is not a number from 1 to 65535, a space, a control
    character (gRPC reads "ho\\x00st" as "ho") or bytes that were not UTF-8. Targets with a gRPC
    scheme (``dns:``, ``ipv4:``, ``unix:`` ...) are passed through as gRPC reads them."""
    if not isinstance(target, str) or not target.strip():
        raise InvalidInputError(f"{name} must be 'HOST:PORT', got {target!r}")
    target = target.strip()
    try:
        target.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(
            f"{name} {target!r} holds bytes that are not UTF-8 text; pass 'HOST:PORT' as text"
        ) from None
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        raise InvalidInputError(f"{name} {target!r} holds a control character; pass 'HOST:PORT' alone")
    if target.startswith(_GRPC_SCHEMES):
        return target  # a unix: socket's path may hold spaces
    if any(ch.isspace() for ch in target):
        raise InvalidInputError(f"{name} {target!r} holds a space; pass 'HOST:PORT' alone")
    if "://" in target:
        raise InvalidInputError(
            f"{name} {target!r} looks like a URL; pass 'HOST:PORT' (e.g. api.example.com:443), not a scheme"
        )
    if ":" not in target.rsplit("]", 1)[-1]:
        # gRPC would quietly try port 443 of a bare host name.
        raise InvalidInputError(f"{name} {target!r} has no port; pass 'HOST:PORT', e.g. {target}:50051")
    host, port = target.rsplit(":", 1)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host and not _is_ip_address(host) and _is_ip_address(target):
        # "::1" is not host ":" and port "1"
        raise InvalidInputError(
            f"{name} {target!r} has no port; pass '[ADDRESS]:PORT', e.g. [{target}]:50051"
        )
    elif ":" in host:
        raise InvalidInputError(f"{name} {target!r}: put an IPv6 address in brackets, e.g. [{host}]:{port}")
    if not host.strip():
        raise InvalidInputError(f"{name} {target!r} has no host; pass 'HOST:PORT', e.g. localhost{target}")
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise InvalidInputError(f"{name} {target!r}: the port must be a number from 1 to 65535, got {port!r}")
    return target


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


_GRPC_SCHEMES = ("dns:", "ipv4:", "ipv6:", "unix:", "unix-abstract:")
_PEM_CERTIFICATE = re.compile(rb"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----")


def read_pem(value: bytes | str | Path | None, name: str) -> bytes | None:
    """PEM bytes, given the bytes themselves, the PEM text, or a path to them."""
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, str) and value.lstrip().startswith("-----BEGIN"):
        return value.encode("ascii", errors="replace")
    if not isinstance(value, (str, PathLike)):
        raise InvalidInputError(f"{name} must be PEM bytes, PEM text or a path, got {type(value).__name__}")
    if isinstance(value, str) and not value.strip():
        raise InvalidInputError(f"{name} is empty; pass PEM bytes, PEM text or the path of a PEM file")
    path = Path(value)
    try:
        return path.read_bytes()
    except OSError as err:
        raise InvalidInputError(f"cannot read {name} {path}: {err.strerror}") from None


def check_certificates(pem: bytes, name: str) -> str:
    """The PEM certificate blocks of ``pem`` as ASCII text (text around them, in any encoding, is
    left out, as OpenSSL ignores it), or ``InvalidInputError`` when it holds none, or one that
    does not parse. gRPC alone fails later with a handshake error that does not name the file."""
    blocks = [m.group(0).decode("ascii") for m in _PEM_CERTIFICATE.finditer(pem)]
    if not blocks:
        key = b"PRIVATE KEY-----" in pem
        hint = " (it holds a private key)" if key else ""
        raise InvalidInputError(
            f"{name} holds no PEM certificate{hint}; pass certificates in PEM form "
            "(-----BEGIN CERTIFICATE-----)"
        )
    text = "\n".join(blocks) + "\n"
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=text)
    except (ssl.SSLError, ValueError) as err:
        reason = getattr(err, "reason", None) or str(err)
        raise InvalidInputError(f"{name} holds a PEM certificate that does not parse ({reason})") from None
    return text


def channel_credentials(root_certificates: bytes | None, token: str | None) -> grpc.ChannelCredentials:
    """TLS credentials (system roots unless ``root_certificates``), with the bearer token if any."""
    tls = grpc.ssl_channel_credentials(root_certificates=root_certificates)
    if token is None:
        return tls
    return grpc.composite_channel_credentials(tls, grpc.access_token_call_credentials(token))


def tokens_in(text: str) -> list[tuple[int, str]]:
    """The tokens of a token file's text with their line numbers: one per line, surrounding
    whitespace dropped, blank lines and ``#`` comments skipped. The format of ``serve
    --auth-tokens`` and of ``ask --token-file`` alike."""
    lines = (line.strip() for line in text.splitlines())
    return [(number, line) for number, line in enumerate(lines, start=1) if line and not line.startswith("#")]


def check_token(credentials: object) -> str | None:
    if credentials is None:
        return None
    if not isinstance(credentials, str) or not credentials.strip():
        raise InvalidInputError("credentials must be the bearer token as a non-empty str")
    token = credentials.strip()
    if token.lower().startswith("bearer "):
        raise InvalidInputError("pass the bearer token alone, without 'Bearer ' (the client adds it)")
    if "\n" in token:
        raise InvalidInputError("the bearer token holds several lines; pass the one token to send")
    if not all("!" <= ch <= "~" for ch in token):
        raise InvalidInputError(
            "the bearer token must be printable ASCII without spaces or control characters "
            "(check the token file)"
        )
    return token


def header_bytes(name: str, value: str) -> int:
    """The bytes one metadata entry takes against a server's limit, as HTTP/2 counts them."""
    return len(name.encode("utf-8")) + len(value.encode("utf-8")) + 32


def check_metadata_size(target: str, tls_server_name: str | None, token: str | None) -> None:
    """``InvalidInputError`` when a call's metadata would exceed ``MAX_METADATA_BYTES``: the server
    would refuse every call with RESOURCE_EXHAUSTED, which reads as overload."""
    authority = tls_server_name or target
    token_bytes = header_bytes("authorization", f"Bearer {token}") if token else 0
    authority_bytes = header_bytes(":authority", authority)
    size = token_bytes + authority_bytes + GRPC_HEADER_BYTES
    if size <= MAX_METADATA_BYTES:
        return
    if token and token_bytes >= authority_bytes:
        what, fix = f"the bearer token is {len(token):,} bytes", "use a shorter token (check the token file)"
    else:
        what, fix = (
            f"the host name {authority[:40]!r}... is {len(authority):,} bytes",
            "use a shorter host name",
        )
    raise InvalidInputError(
        f"{what}: with gRPC's own headers each call's metadata would be about {size:,} bytes, more than "
        f"the {MAX_METADATA_BYTES:,} (16 KiB) a splitinfer server accepts; {fix}"
    )


def use_tls(target: str, tls: bool | None, root_certificates: bytes | None) -> bool:
    """TLS unless turned off; ``tls=None`` means TLS except for plaintext loopback targets."""
    if tls is None:
        return root_certificates is not None or not is_loopback_target(target)
    if not tls and root_certificates is not None:
        raise InvalidInputError("root_certificates were given but tls=False; drop one of them")
    return bool(tls)
