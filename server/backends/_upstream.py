"""What a caller and what the server's log are told when the engine behind a backend fails.

Two audiences, two messages (:class:`~splitinfer.server.errors.ServiceError` carries both):

* the caller (a phone app, its user) learns which model failed and how (unreachable, overloaded,
  misconfigured on the server, cut off), with the status code that tells its client whether to
  retry. Never the engine's URL (an internal address, maybe with credentials), never the
  operator's fix (config keys, flags) and never the engine's own error text (an OpenAI-style 401
  quotes part of the API key; a 429 names the account), except when that text is about the
  caller's own request (HTTP 400, 413, 422: the prompt is too long, a value is out of range).
* the server's log gets the URL, what went wrong and the fix; the engine's text only as its length,
  as it may quote the prompt (FastAPI's 422 does).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from splitinfer.sdk._inputs import retry_after_seconds
from splitinfer.server.errors import (
    InvalidRequestError,
    ServiceError,
    UnavailableError,
    UpstreamError,
    UpstreamOverloadedError,
    UpstreamTimeoutError,
)

# The most of an upstream's error text passed on to the caller (for its own request's faults).
MAX_DETAIL = 1000
# How much of an error body is read: the MAX_DETAIL characters kept, up to 4 bytes each in UTF-8,
# and the JSON around them. The rest is never read; the connection is closed instead.
MAX_ERROR_BODY_BYTES = 8 * 1024
# Where a log message has the upstream's text (see Upstream.fail); no URL or header holds it.
QUOTED = "\x00quoted\x00"
# The longest Retry-After passed on to clients (a day): a quota reset, not a typo of milliseconds.
MAX_RETRY_AFTER_S = 86400.0
# HTTP statuses that blame the request itself, whose text the caller gets.
_CALLERS_FAULT = (400, 413, 422)
CA_FILE_FIX = (
    "set the model's ca_file (--openai-ca-file) to the PEM certificate of the CA that signed the "
    "engine's certificate, and use a base_url host that the certificate names"
)


@dataclass(frozen=True)
class Upstream:
    """The engine of one model: ``name`` is what callers call the model, ``url`` its base URL,
    which only the log shows."""

    name: str
    url: str

    def fail(
        self, kind: type[ServiceError], public: str, logged: str, quoted: str = "", **kwargs: Any
    ) -> ServiceError:
        """``kind`` telling the caller ``model '<name>' <public>`` and the log
        ``upstream <url> <logged>``, in which :data:`QUOTED` stands for the upstream's text
        ``quoted``, logged as its length only."""
        hidden = f"[{len(quoted)} characters of the upstream's text, left out of the log]"
        return kind(
            f"model '{self.name}' {public}",
            log_message=f"upstream {self.url} {logged.replace(QUOTED, hidden)}",
            **kwargs,
        )

    def http_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ServiceError:
        """The error for an upstream's answer with HTTP ``status`` (not 200) and the start of its
        ``body`` (at most :data:`MAX_ERROR_BODY_BYTES`)."""
        detail = error_text_of(body)
        if len(detail) > MAX_DETAIL:
            detail = detail[:MAX_DETAIL] + "..."
        answered = f"answered HTTP {status}: {QUOTED}"
        if status in _CALLERS_FAULT:
            return self.fail(
                InvalidRequestError, f"refused the request (HTTP {status}): {detail}", answered, detail
            )
        if status == 429:
            retry_after_s = _retry_after(headers)
            return self.fail(
                UpstreamOverloadedError,
                "is overloaded: its engine is refusing requests for now (HTTP 429); retry later",
                f"answered HTTP 429 (retry after {retry_after_s:g} s): {QUOTED}",
                detail,
                retry_after_s=retry_after_s,
            )
        if status in (408, 504):
            return self.fail(
                UpstreamTimeoutError,
                f"timed out: its engine gave up on the request (HTTP {status})",
                answered,
                detail,
            )
        if status >= 500:
            return self.fail(
                UnavailableError,
                f"is unavailable: its engine failed (HTTP {status}); retry later",
                answered,
                detail,
            )
        if status in (401, 403):
            return self.fail(
                UpstreamError,
                self.misconfigured(f"its engine refused the server's credentials (HTTP {status})"),
                f"{answered}; it refused the server's API key: check api_key_env (--openai-api-key-env)",
                detail,
            )
        if status == 404:
            # vLLM and Ollama answer 404 for an unknown model too, not only for a wrong path.
            return self.fail(
                UpstreamError,
                self.misconfigured("its engine does not know the model or the path asked for (HTTP 404)"),
                f"answered HTTP 404 for POST {self.url.rstrip('/')}/chat/completions: {QUOTED}; check the "
                f"model id (--model, model; GET {self.url.rstrip('/')}/models lists what the engine serves) "
                "and the base URL (--openai-base-url, base_url): OpenAI-compatible engines serve it under "
                "/v1, e.g. http://host:8000/v1",
                detail,
            )
        return self.fail(UpstreamError, f"failed: its engine answered HTTP {status}", answered, detail)

    @staticmethod
    def misconfigured(what: str) -> str:
        return f"is misconfigured on this server ({what}); the server's operator has the details in its log"


def error_text(body: Any) -> str:
    """The message of an OpenAI (``{"error": {"message"}}``) or TGI (``{"error": "..."}``) error."""
    if isinstance(body, dict):
        error = body.get("error", body.get("detail", body))
        if isinstance(error, dict):
            error = error.get("message") or error
        body = error
    # A lone surrogate (a stray JSON escape, a byte kept by sse_lines) cannot go out in a gRPC status.
    return str(body).encode("utf-8", "replace").decode("utf-8")


def error_text_of(body: bytes) -> str:
    """:func:`error_text` of a JSON error body, or the body as text (cut short, it is not JSON)."""
    try:
        return error_text(json.loads(body))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return body.decode("utf-8", "replace")


def callers_fault(error: Any) -> bool:
    """Whether an error event (``{"error": {...}}``) blames the request: its ``code`` is 400, 413
    or 422, as llama.cpp's server says of a prompt over its context."""
    return isinstance(error, dict) and error.get("code") in _CALLERS_FAULT


def tls_failure(err: BaseException) -> str | None:
    """Why the upstream's TLS certificate was not trusted, if that is what ``err`` (an httpx error)
    comes from; ``None`` otherwise."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen.verify_message or str(seen)
        seen = seen.__cause__ or seen.__context__
    return None


def trust(ca_file: str) -> ssl.SSLContext:
    """A TLS context that trusts only the CA certificates of ``ca_file`` (PEM); ``ValueError``
    naming the file and the fix when it cannot be read or holds none."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except OSError as err:
        if isinstance(err, ssl.SSLError):
            raise ValueError(
                f"ca_file {ca_file} holds no PEM certificate ({err.reason}); give the PEM certificate "
                "(-----BEGIN CERTIFICATE-----) of the CA that signed the engine's certificate"
            ) from None
        raise ValueError(f"cannot read ca_file {ca_file}: {err.strerror or err}") from None


def _retry_after(headers: Mapping[str, str]) -> float:
    """Seconds to wait from ``Retry-After``: a number of seconds or an HTTP date (RFC 9110), at
    most :data:`MAX_RETRY_AFTER_S`; 1 when it is missing or unreadable."""
    seconds = retry_after_seconds(headers.get("retry-after", ""))
    return 1.0 if seconds is None else min(max(0.0, seconds), MAX_RETRY_AFTER_S)
