"""Bearer-token authentication: an interceptor checks ``authorization: Bearer <token>`` metadata.

The token file holds one token per line (printable ASCII, no spaces); blank lines and lines starting
with ``#`` are ignored.
Tokens are compared as SHA-256 digests with :func:`hmac.compare_digest` against *every* known token
(no early exit), so the time taken says nothing about how much of a token was right. Health checks
(``grpc.health.v1.Health``) stay open so load balancers need no credentials; everything else,
reflection included, needs a token. A refused call gets UNAUTHENTICATED with a message that says
whether the token was missing, malformed or unknown, before its request message is read: a caller
without a token cannot make the server buffer a request of up to twice ``--max-request-bytes``.

The file is read when the server starts, and again on SIGHUP (:meth:`BearerTokenInterceptor.reload`):
the new tokens then admit new calls, calls already admitted run on, and a file that is now missing or
invalid leaves the tokens as they were. A file other users of the machine may read or write is
loaded with a warning.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import stat
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import grpc

from splitinfer.sdk._channel import tokens_in
from splitinfer.sdk._errors import InvalidInputError

OPEN_PREFIXES = ("/grpc.health.v1.Health/",)
_SCHEME = "bearer "
log = logging.getLogger("splitinfer.server")


def load_tokens(path: str | Path) -> list[bytes]:
    """SHA-256 digests of the tokens in ``path``; ``InvalidInputError`` if unreadable, empty or
    holding a token no client could send.

    A UTF-8 byte order mark (which Windows editors write) is not part of the first token. gRPC
    metadata carries only printable ASCII, and neither the SDK nor RFC 6750's token syntax allows
    a space, so a token with anything else would load but never match: it is refused here, by line
    number (the token itself stays out of the message: it is a secret). A file that users other
    than its owner and group may read or write is logged as a warning: they could use or add tokens.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
        mode = path.stat().st_mode
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidInputError(f"cannot read the auth tokens file {path}: {err}") from err
    tokens = []
    for number, token in tokens_in(text):
        if not (token.isascii() and token.isprintable()) or " " in token:
            raise InvalidInputError(
                f"line {number} of the auth tokens file {path} holds a token with spaces or characters "
                "other than printable ASCII, which no client can send; use only printable ASCII "
                "without spaces (e.g. from 'openssl rand -hex 32')"
            )
        tokens.append(token)
    if not tokens:
        raise InvalidInputError(f"the auth tokens file {path} holds no tokens; put one token per line")
    if os.name == "posix" and mode & (stat.S_IROTH | stat.S_IWOTH):
        log.warning(
            "splitinfer serve: the auth tokens file %s can be read or written by every user of this "
            "machine (mode %s); make it private: chmod 600 %s",
            path,
            stat.filemode(mode),
            path,
        )
    return [_digest(token) for token in tokens]


def tokens(count: int) -> str:
    """``"1 auth token"``, ``"2 auth tokens"``."""
    return f"{count} auth token{'' if count == 1 else 's'}"


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class BearerTokenInterceptor(grpc.aio.ServerInterceptor):
    """Refuses calls without a known bearer token; ``on_reject(method, message, peer)`` is told of
    each refusal, when the refusal is sent (only then is the caller's address known)."""

    def __init__(self, digests: Sequence[bytes], on_reject: Callable[[str, str, str], None]) -> None:
        self._digests = tuple(digests)
        self._on_reject = on_reject

    @property
    def count(self) -> int:
        """How many tokens admit calls (a token listed twice counts twice)."""
        return len(self._digests)

    def reload(self, path: str | Path) -> bool:
        """Reads ``path`` again (:func:`load_tokens`) and admits new calls with its tokens (true);
        if it is missing or invalid, the tokens stay as they were and the log says why (false).
        Calls are checked once, when they start: those running go on whatever the file says."""
        try:
            digests = load_tokens(path)
        except InvalidInputError as err:
            log.error("splitinfer serve: SIGHUP: kept the %s loaded before: %s", tokens(self.count), err)
            return False
        self._digests = tuple(digests)
        log.info("splitinfer serve: SIGHUP: %s loaded from %s", tokens(self.count), path)
        return True

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method = handler_call_details.method
        if method.startswith(OPEN_PREFIXES):
            return await continuation(handler_call_details)
        problem = self.check(handler_call_details.invocation_metadata or ())
        if problem is None:
            return await continuation(handler_call_details)
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler  # unknown method: let gRPC answer UNIMPLEMENTED
        return _refusal(handler, problem, lambda peer: self._on_reject(method, problem, peer))

    def check(self, metadata: Sequence[Any]) -> str | None:
        """``None`` if the metadata carries a known token, else what is wrong with it."""
        value = next((v for k, v in metadata if k == "authorization"), None)
        if value is None:
            return "missing credentials: send metadata 'authorization: Bearer <token>'"
        if isinstance(value, bytes) or value[: len(_SCHEME)].lower() != _SCHEME:
            return "malformed credentials: the authorization metadata must be 'Bearer <token>'"
        presented = _digest(value[len(_SCHEME) :].strip())
        known = False
        for digest in self._digests:
            known |= hmac.compare_digest(digest, presented)
        return None if known else "invalid token: it is not one of this server's tokens"


def _refusal(
    handler: grpc.RpcMethodHandler, problem: str, record: Callable[[str], None]
) -> grpc.RpcMethodHandler:
    """A handler that answers UNAUTHENTICATED, after passing the caller's address to ``record``.

    It streams responses when ``handler`` does, and always takes a request *stream* that it never
    reads: gRPC reads a unary request whole before calling its handler, so a unary refusal would
    buffer a caller's request (up to twice ``--max-request-bytes``) before turning it away. The
    client cannot tell the difference; it sees the status.
    """

    async def refuse(request: Any, context: grpc.aio.ServicerContext) -> None:
        record(context.peer())
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, problem)

    if handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(refuse)
    return grpc.stream_unary_rpc_method_handler(refuse)
