"""``openai``: any OpenAI-compatible chat-completions endpoint, the path past one machine.

vLLM (``vllm serve``), TGI (``/v1`` messages API), llama.cpp's ``llama-server``, Ollama (``/v1``)
and hosted APIs all speak ``POST {base_url}/chat/completions`` with ``"stream": true`` answered by
server-sent events: ``data: {json chunk}`` lines, then ``data: [DONE]``. This backend sends the
prompt as chat messages (the instruction as the system message; context and question as the user
message), streams ``choices[0].delta.content`` back as chunks, and reads the finish reason and, when
the upstream reports it (``stream_options.include_usage``), exact usage.

* Connection pooling: one ``httpx.AsyncClient`` per backend, keep-alive, at most
  ``max_connections`` streams at once (counted here, not by httpx's pool: see
  :meth:`OpenAIBackend._connection_slot`), so the health check never waits behind answers for a
  connection: a pool busy with answers does not make a working upstream look down.
* Timeouts: ``connect_timeout_s`` to connect; ``read_timeout_s`` of silence between chunks; and
  never past the caller's gRPC deadline.
* Cancellation: when the caller cancels, the generator is closed, which closes the HTTP response
  and its connection, so the engine sees the client go away and stops generating (vLLM and TGI
  abort the sequence on disconnect).
* Errors: HTTP 400/413/422 become INVALID_ARGUMENT with the upstream's own message; 429 becomes
  RESOURCE_EXHAUSTED with its ``Retry-After`` (counted as ``rejected_total{reason="upstream_overloaded"}``);
  all ``max_connections`` busy for longer than ``read_timeout_s`` RESOURCE_EXHAUSTED too; 5xx,
  refused or dropped connections, none made within ``connect_timeout_s``, a stream that ends without ``[DONE]`` or a finish
  reason, and one the engine ended with finish reason ``abort`` or ``error`` (vLLM; the answer is
  cut off) UNAVAILABLE; a 200 stream that ends before its first event (how
  llama_cpp.server refuses a prompt longer than its context) INTERNAL; other timeouts DEADLINE_EXCEEDED;
  401/403/404, a certificate the server does not trust (``ca_file``), a 200 that is not an event
  stream (a plain JSON completion, an HTML page), an error event (``data: {"error": ...}``, or
  llama.cpp's ``error:`` line), a malformed event and an event line over 1 MiB INTERNAL (the
  server is misconfigured or the upstream broken, not the device's fault). The caller is told
  which model failed and how, never the URL, the fix or the engine's text (see
  :mod:`splitinfer.server.backends._upstream`); the log has them.
* Memory: an error body is read only as far as the 1,000 characters passed on, an event line is
  at most 1 MiB, whatever the upstream sends.
* Text: event lines end only at CR or LF (JSON leaves U+2028 and U+0085 unescaped inside strings);
  a character an engine split between two events (raw UTF-8 bytes, or a UTF-16 surrogate pair as
  two JSON escapes) is put back together, and what cannot be becomes U+FFFD.
* Token counts for the prompt limit are an estimate (``chars_per_token`` characters per token):
  the upstream's tokenizer is not here. ``ModelInfo.token_counting`` says ``"estimate"``.

Options: ``base_url`` (required, e.g. ``http://vllm:8000/v1``; without ``user:password@``),
``model`` (required: the upstream's model id), ``name`` (the name clients use; default
``model``), ``api_key_env`` (environment variable holding the upstream API key), ``ca_file`` (PEM
CA certificates to trust for an ``https`` base_url instead of the system's), ``context_tokens``
(8192), ``max_new_tokens`` (1024), ``connect_timeout_s`` (5), ``read_timeout_s`` (60),
``max_connections`` (256), ``stream_usage`` (true), ``chars_per_token`` (4.0), ``check_model``
(true: health requires the engine's model list, when it has one, to name ``model``; Ollama's
``name:latest`` counts as ``name``; false for an engine that ignores the model field and lists an
id of its own, as TGI and llama.cpp's server do).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlsplit

# httpx's own async layer: a dependency of httpx. Its timeouts work on Python 3.10 (asyncio.timeout
# is 3.11+) and its cancel scopes do not swallow a cancellation the way asyncio.wait_for can.
import anyio
import httpx

from splitinfer.sdk._inputs import check_http_url
from splitinfer.server.backends._sse import Characters, LineTooLong, body_start, sse_lines
from splitinfer.server.backends._upstream import (
    CA_FILE_FIX,
    MAX_DETAIL,
    MAX_ERROR_BODY_BYTES,
    QUOTED,
    Upstream,
    callers_fault,
    error_text,
    tls_failure,
    trust,
)
from splitinfer.server.backends.base import (
    Finish,
    FinishReason,
    GenerationRequest,
    ModelSpec,
    StreamItem,
    option,
    positive_float,
    positive_int,
    reject_unknown,
)
from splitinfer.server.errors import (
    OverloadedError,
    ServiceError,
    UnavailableError,
    UpstreamError,
    UpstreamTimeoutError,
)

_OPTIONS = {
    "base_url",
    "model",
    "name",
    "api_key_env",
    "ca_file",
    "context_tokens",
    "max_new_tokens",
    "connect_timeout_s",
    "read_timeout_s",
    "max_connections",
    "stream_usage",
    "chars_per_token",
    "check_model",
}
_FINISH = {"stop": FinishReason.STOP, "length": FinishReason.LENGTH}
_EVENT_STREAM = "text/event-stream"
# Usage counts travel as uint32 in splitinfer.v1.Usage.
_MAX_COUNT = 2**32 - 1
# How much of an unexpected body or value a log message or health reason quotes.
_QUOTE_CHARS = 200
# The largest model list (GET /models) read; a bigger one is not checked for the model.
_MAX_MODEL_LIST_BYTES = 1024 * 1024
# How long to read what follows [DONE] (normally only the end of the chunked body, already on the
# wire) so the connection goes back to the pool; an upstream that keeps the body open longer
# costs a new connection for the next call, nothing more.
_DRAIN_S = 0.25
# What a media type looks like (``type/subtype``, short).
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]{0,40}/[a-z0-9][a-z0-9.+-]{0,60}")
# Finish reasons with which vLLM ends an answer it gave up on (aborted, or failed in the engine).
_CUT_OFF = {"abort", "error"}


def chat_messages(request: GenerationRequest) -> list[dict[str, str]]:
    """The prompt as chat messages: instruction as system, context then question as user."""
    messages = []
    if request.instruction.strip():
        messages.append({"role": "system", "content": request.instruction})
    parts = []
    if request.context.strip():
        parts.append(f"Context:\n{request.context}")
    if request.question.strip():
        parts.append(f"Question: {request.question}" if parts else request.question)
    messages.append({"role": "user", "content": "\n\n".join(parts)})
    return messages


class OpenAIBackend:
    """Streams answers from an OpenAI-compatible server; see the module docstring."""

    def __init__(self, **options: Any) -> None:
        reject_unknown(options, _OPTIONS, "openai")
        base_url = option(options, "base_url", str, None)
        model = option(options, "model", str, None)
        if not base_url or not model:
            raise ValueError(
                "the 'openai' backend needs a base_url and a model, e.g. "
                "--openai-base-url http://localhost:8000/v1 --model meta-llama/Llama-3.1-8B-Instruct"
            )
        _refuse_credentials(base_url)
        self.base_url = check_http_url(base_url, "the openai backend's base_url (--openai-base-url)")
        self.model = model
        self.name: str = option(options, "name", str, None) or model
        key_env = option(options, "api_key_env", str, None)
        self.api_key = self._read_key(key_env)
        self._verify = self._trust(option(options, "ca_file", str, None))
        self.context_tokens = positive_int(options, "context_tokens", 8192)
        self.max_new_tokens = positive_int(options, "max_new_tokens", 1024)
        self.connect_timeout_s = positive_float(options, "connect_timeout_s", 5.0)
        self.read_timeout_s = positive_float(options, "read_timeout_s", 60.0)
        self.max_connections = positive_int(options, "max_connections", 256)
        self.stream_usage: bool = option(options, "stream_usage", bool, True)
        self.chars_per_token = positive_float(options, "chars_per_token", 4.0)
        self.check_model: bool = option(options, "check_model", bool, True)
        self.upstream = Upstream(self.name, self.base_url)
        self._client: httpx.AsyncClient | None = None
        self._slots = anyio.Semaphore(self.max_connections)

    @staticmethod
    def _read_key(env_name: str | None) -> str | None:
        if env_name is None:
            return None
        key = os.environ.get(env_name)
        if not key:
            raise ValueError(
                f"api_key_env names ${env_name}, but that environment variable is empty or unset"
            )
        return key

    def _trust(self, ca_file: str | None) -> ssl.SSLContext | bool:
        """What httpx verifies the upstream's certificate with: the system's CAs, or ``ca_file``'s."""
        if ca_file is None:
            return True
        if not self.base_url.lower().startswith("https://"):
            raise ValueError(
                f"ca_file is for an https base_url, but base_url is {self.base_url}; drop ca_file "
                "(--openai-ca-file) or use https"
            )
        return trust(ca_file)

    def info(self) -> list[ModelSpec]:
        return [
            ModelSpec(
                name=self.name,
                backend="openai",
                context_tokens=self.context_tokens,
                max_new_tokens=self.max_new_tokens,
                # Not the URL: an internal address is nothing for clients to know.
                description=f"{self.model} on an OpenAI-compatible engine (chat completions)",
                token_counting="estimate",
            )
        ]

    async def start(self) -> None:
        self._client_or_new()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _client_or_new(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            self._client = httpx.AsyncClient(
                base_url=self.base_url,
                headers=headers,
                verify=self._verify,
                timeout=httpx.Timeout(self.read_timeout_s, connect=self.connect_timeout_s),
                # No limit on the pool itself: _connection_slot keeps the streams to max_connections.
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=self.max_connections),
            )
        return self._client

    @contextlib.asynccontextmanager
    async def _connection_slot(self, wait_s: float) -> AsyncIterator[None]:
        """One of the ``max_connections`` streams, waited for at most ``wait_s``, else
        ``OverloadedError``.

        Counted here rather than left to httpx's pool limit: httpcore (1.0.9) loses a pool slot for
        good when a request waiting for a connection is cancelled just as the pool hands it a new
        one (encode/httpcore#1093), so callers giving up while every connection is busy would
        fill the pool with dead slots until every call is refused. This semaphore never loses one,
        and the pool never makes a request wait.
        """
        try:
            self._slots.acquire_nowait()
        except anyio.WouldBlock:
            await self._wait_for_slot(wait_s)
        try:
            yield
        finally:
            self._slots.release()

    async def _wait_for_slot(self, wait_s: float) -> None:
        try:
            with anyio.fail_after(wait_s):
                await self._slots.acquire()
        except TimeoutError:
            raise self.upstream.fail(
                OverloadedError,
                "is busy: every connection to its engine is in use; retry later or use another replica",
                f"kept all {self.max_connections} connections busy (max_connections) and none was freed "
                "in time (read_timeout_s or the call's deadline); raise the model's max_connections (or "
                "lower --max-concurrent) to match what the upstream serves at once",
                retry_after_s=1.0,
            ) from None

    async def check(self) -> str | None:
        """``None`` if ``GET {base_url}/models`` answers 200 (engine up, API key accepted) and lists
        ``model`` when it lists any, or has no such route (404/405); else what is wrong (unreachable,
        too slow, certificate not trusted, key refused, 5xx, model not listed), for the health
        status and the log."""
        where = f"upstream {self.base_url}"
        client = self._client_or_new()
        try:
            async with client.stream("GET", "/models", timeout=self.connect_timeout_s) as response:
                listing = response.status_code == 200
                limit = _MAX_MODEL_LIST_BYTES + 1 if listing else MAX_ERROR_BODY_BYTES
                body = await body_start(response, limit)
        except httpx.TimeoutException as err:
            return (
                f"{where} did not answer GET /models within {self.connect_timeout_s:g} s "
                f"(connect_timeout_s; {type(err).__name__})"
            )
        except httpx.HTTPError as err:
            why = tls_failure(err)
            if why is not None:
                return f"TLS verification of {where} failed ({why}); {CA_FILE_FIX}"
            return f"{where} is unreachable: {str(err) or type(err).__name__}"
        if response.status_code in (404, 405):
            return None  # an engine or proxy without the model list: reachable is all we can tell
        if not listing:
            text = body.decode("utf-8", "replace")[:_QUOTE_CHARS]
            return f"{where} answered GET /models with HTTP {response.status_code}: {text}"
        if len(body) > _MAX_MODEL_LIST_BYTES:
            return None  # too long to be a model list worth reading: reachable is all we can tell
        try:
            listed = [m.get("id") for m in json.loads(body).get("data", []) if isinstance(m, dict)]
        except (ValueError, AttributeError):
            return None  # not an OpenAI model list; reachable is all we can tell
        if listed and self.check_model and not any(_same_model(self.model, m) for m in listed):
            return (
                f"{where} does not serve model {self.model!r} (it lists {', '.join(map(str, listed))}); "
                "fix the model id, or set check_model = false for an engine that ignores it and lists "
                "an id of its own (TGI, llama.cpp's server)"
            )
        return None

    async def count_tokens(self, text: str) -> int:
        return math.ceil(len(text) / self.chars_per_token)

    def _body(self, request: GenerationRequest) -> dict[str, Any]:
        sampling = request.sampling
        body: dict[str, Any] = {
            "model": self.model,
            "messages": chat_messages(request),
            "stream": True,
            "max_tokens": sampling.max_new_tokens,
        }
        if self.stream_usage:
            body["stream_options"] = {"include_usage": True}
        for key, value in (
            ("temperature", sampling.temperature),
            ("top_p", sampling.top_p),
            ("seed", sampling.seed),
        ):
            if value is not None:
                body[key] = value
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        return body

    def _timeout(self, request: GenerationRequest) -> httpx.Timeout:
        """``connect_timeout_s`` to connect and ``read_timeout_s`` for the rest, each cut to what
        is left of the call's deadline. The two stay apart: a short ``read_timeout_s`` (a stalled
        stream noticed early) must not make a first connection on a busy host time out."""
        read, connect = self.read_timeout_s, self.connect_timeout_s
        if request.deadline is not None:
            left = max(0.001, request.deadline - time.monotonic())
            read, connect = min(read, left), min(connect, left)
        return httpx.Timeout(read, connect=connect)

    async def generate(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        client = self._client_or_new()
        timeout = self._timeout(request)
        upstream = self.upstream
        characters = Characters()
        finish = Finish()
        done = False
        events = 0
        try:
            async with (
                self._connection_slot(timeout.pool),
                client.stream(
                    "POST", "/chat/completions", json=self._body(request), timeout=timeout
                ) as response,
            ):
                if response.status_code != 200:
                    body = await body_start(response, MAX_ERROR_BODY_BYTES)
                    raise upstream.http_error(response.status_code, response.headers, body)
                await self._check_event_stream(response)
                async for event in _sse_events(response, upstream):
                    events += 1
                    if event is None:  # data: [DONE]; the events end there
                        done = True
                        continue
                    if event.get("error") is not None:
                        raise _error_event(upstream, event["error"])
                    texts, finish = _read_event(event, finish, request.sampling.stop, upstream)
                    for text in texts:
                        yield characters.feed(text)
        except ServiceError:
            raise
        except httpx.ConnectTimeout as err:
            if timeout.connect < self.connect_timeout_s:
                raise upstream.fail(
                    UpstreamTimeoutError,
                    "timed out: the call's deadline passed while the server was connecting to its engine",
                    "took longer to connect than was left of the call's deadline",
                ) from err
            raise upstream.fail(
                UnavailableError,
                "is unavailable: its engine is unreachable; retry later",
                f"is unreachable: no connection within connect_timeout_s ({self.connect_timeout_s:g} s); "
                "is the engine up, and is base_url (--openai-base-url) right?",
            ) from err
        except httpx.TimeoutException as err:
            raise upstream.fail(
                UpstreamTimeoutError,
                "timed out: its engine did not answer in time",
                f"did not answer in time ({type(err).__name__}); raise read_timeout_s or the call's deadline",
            ) from err
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as err:
            why = tls_failure(err)
            if why is not None:
                raise upstream.fail(
                    UpstreamError,
                    upstream.misconfigured("TLS verification of its engine's certificate failed"),
                    f"failed TLS verification ({why}); {CA_FILE_FIX}",
                ) from err
            raise upstream.fail(
                UnavailableError,
                "is unavailable: its engine is unreachable or dropped the stream; retry later",
                f"is unreachable or dropped the stream: {err}",
            ) from err
        except httpx.HTTPError as err:
            raise upstream.fail(
                UpstreamError, "failed: the server could not talk to its engine", f"failed: {err}"
            ) from err
        if events == 0:
            # Not a cut-off answer but a refusal without a reason, and the same request gets the
            # same one: INTERNAL, which clients do not retry (UNAVAILABLE is retried).
            raise upstream.fail(
                UpstreamError,
                "failed: its engine accepted the request but closed the stream without sending a single "
                f"event; a prompt that does not fit its context window (this one has about "
                f"{request.prompt_tokens} tokens) ends so on some engines: shorten or condense it",
                "accepted the request (HTTP 200) but closed the stream without sending a single event. "
                "llama.cpp's Python server (llama_cpp.server) does this when the prompt does not fit the "
                "engine's context window (n_ctx); the engine's log names the cause, and setting the "
                "model's context_tokens to the engine's context makes this server refuse such prompts up "
                "front",
            )
        if not done and finish.reason is None:
            raise upstream.fail(
                UnavailableError,
                "is unavailable: the stream from its engine ended without [DONE] or a finish_reason, so "
                "the answer may be cut off; retry",
                "ended the stream without [DONE] or a finish_reason: the answer may be cut off (did the "
                "engine or a proxy in between drop it?)",
            )
        yield characters.flush()
        yield finish

    async def _check_event_stream(self, response: httpx.Response) -> None:
        """``UpstreamError`` unless a 200 answer is an event stream (or says nothing of its type)."""
        content_type = response.headers.get("content-type")
        if content_type is None:
            return  # nothing to go by: a body without events then fails for lacking [DONE]
        media_type = content_type.split(";")[0].strip().lower()
        if media_type == _EVENT_STREAM:
            return
        # Named only when it looks like one: the header is the upstream's text.
        shown = media_type if _MEDIA_TYPE.fullmatch(media_type) else "of another kind"
        raise self.upstream.fail(
            UpstreamError,
            self.upstream.misconfigured(
                f"its engine answered 200 with a Content-Type {shown}, not {_EVENT_STREAM}: it did not "
                "stream the answer"
            ),
            f"answered 200 with a Content-Type {shown}, not {_EVENT_STREAM}, so it did not stream the "
            f"answer (it sent {QUOTED}); is base_url (--openai-base-url) the engine's OpenAI-compatible "
            "/v1, and does it stream when asked to?",
            (await body_start(response, _QUOTE_CHARS)).decode("utf-8", "replace"),
        )


def _refuse_credentials(base_url: str) -> None:
    """``ValueError`` for a base URL with ``user:password@``: httpx would send them to the engine
    as Basic auth, and they would show wherever the URL does. Not repeated in the message."""
    try:
        netloc = urlsplit(base_url).netloc
    except ValueError:
        return  # check_http_url says what is wrong with it
    if "@" in netloc:
        host = netloc.rsplit("@", 1)[1]
        raise ValueError(
            f"base_url holds credentials (user:password@{host}); remove them and put the engine's API "
            "key in an environment variable named by api_key_env (--openai-api-key-env)"
        )


async def _sse_events(response: httpx.Response, upstream: Upstream) -> AsyncIterator[dict[str, Any] | None]:
    """The JSON objects of an SSE stream's ``data:`` lines, then ``None`` for ``[DONE]``.

    llama.cpp's server reports a failure as an ``error:`` line (then sends ``[DONE]``); it comes
    out as ``{"error": ...}``, like the error events of other engines.

    After ``[DONE]`` the rest of the body is read (for at most :data:`_DRAIN_S`): httpx returns a
    connection to its pool only once its response was read to the end, so without this every
    call would open a new connection to the upstream (and the upstream would see a reset).
    """
    lines = sse_lines(response)
    try:
        async for line in lines:
            if line.startswith("error:"):
                yield {"error": _json_or_text(line[6:].strip())}
                continue
            if not line.startswith("data:"):
                continue  # blank separators, ": keep-alive" comments, "event:" lines
            payload = line[5:].strip()
            if payload == "[DONE]":
                yield None
                with anyio.move_on_after(_DRAIN_S):
                    try:
                        async for _ in lines:
                            pass
                    except (httpx.HTTPError, LineTooLong):
                        pass  # the connection is closed instead of reused
                return
            try:
                event = json.loads(payload)
            except json.JSONDecodeError as err:
                raise upstream.fail(
                    UpstreamError,
                    "failed: its engine sent a stream event that is not JSON",
                    f"sent a stream event that is not JSON: {QUOTED}",
                    payload[:_QUOTE_CHARS],
                ) from err
            if not isinstance(event, dict):
                raise _malformed(upstream, "the event", event, "a JSON object (a chat.completion.chunk)")
            yield event
    except LineTooLong as err:
        raise upstream.fail(
            UpstreamError,
            f"failed: its engine sent a stream event line longer than {err.max_bytes:,} bytes, the most "
            "this server reads",
            f"sent a stream event line longer than {err.max_bytes:,} bytes (the most this server reads "
            "as one line); is base_url an OpenAI-compatible chat-completions endpoint?",
        ) from None


def _json_or_text(payload: str) -> Any:
    try:
        return json.loads(payload)
    except json.JSONDecodeError:
        return payload


def _error_event(upstream: Upstream, error: Any) -> ServiceError:
    """The error for an error event: INTERNAL; the caller gets the engine's text only when it blames
    the request (llama.cpp's server: a prompt over its context)."""
    text = error_text({"error": error})
    if len(text) > MAX_DETAIL:
        text = text[:MAX_DETAIL] + "..."
    if callers_fault(error):
        public = f"failed: its engine refused the request mid-stream: {text}"
    else:
        public = "failed mid-answer: its engine reported an error"
    return upstream.fail(UpstreamError, public, f"failed mid-stream: {QUOTED}", text)


def _read_event(
    event: Mapping[str, Any], finish: Finish, stops: tuple[str, ...], upstream: Upstream
) -> tuple[list[str], Finish]:
    """The answer text of one ``chat.completion.chunk`` and the finish known so far.

    Checks every field it reads: a malformed one is an ``UpstreamError`` that names it.
    """
    choices = _field(event, "choices", list, [], upstream, "a list")
    texts = []
    reason = finish.reason
    for i, choice in enumerate(choices):
        if not isinstance(choice, dict):
            raise _malformed(upstream, f"choices[{i}]", choice, "an object")
        delta = _field(choice, "delta", dict, {}, upstream, "an object", f"choices[{i}].")
        text = _field(delta, "content", str, "", upstream, "a string or null", f"choices[{i}].delta.")
        if text:
            texts.append(text)
        ended = _field(choice, "finish_reason", str, "", upstream, "a string or null", f"choices[{i}].")
        if ended in _CUT_OFF:
            raise upstream.fail(
                UnavailableError,
                f"is unavailable: its engine ended the answer with finish_reason {ended!r} (it aborted "
                "the answer or failed while generating), so the answer is cut off; retry",
                f"ended the answer with finish_reason {ended!r}: the engine aborted it or failed while "
                "generating",
            )
        if ended:
            # vLLM names the stop string that ended the text in `stop_reason`.
            stop_reason = choice.get("stop_reason")
            hit_stop = isinstance(stop_reason, str) and stop_reason in stops
            reason = FinishReason.STOP_STRING if hit_stop else _FINISH.get(ended, FinishReason.STOP)
    usage = _field(event, "usage", dict, {}, upstream, "an object")
    return texts, Finish(
        reason=reason,
        prompt_tokens=_count(usage, "prompt_tokens", finish.prompt_tokens, upstream),
        completion_tokens=_count(usage, "completion_tokens", finish.completion_tokens, upstream),
    )


def _field(
    parent: Mapping[str, Any],
    name: str,
    kind: type,
    default: Any,
    upstream: Upstream,
    expected: str,
    path: str = "",
) -> Any:
    """``parent[name]`` if it is a ``kind``; ``default`` if absent or null; else ``UpstreamError``."""
    value = parent.get(name)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise _malformed(upstream, path + name, value, expected)
    return value


def _count(usage: Mapping[str, Any], name: str, default: int | None, upstream: Upstream) -> int | None:
    value = usage.get(name)
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_COUNT:
        raise _malformed(upstream, f"usage.{name}", value, "a whole number >= 0")
    return value


def _malformed(upstream: Upstream, field: str, value: Any, expected: str) -> ServiceError:
    """The error for a field of a (parsed JSON) stream event that is not what the protocol says."""
    return upstream.fail(
        UpstreamError,
        f"failed: its engine sent a malformed stream event ({field} is not {expected})",
        f"sent a malformed stream event: {field} is {QUOTED}, not {expected}; is it an OpenAI-compatible "
        "chat-completions endpoint?",
        json.dumps(value)[:_QUOTE_CHARS],
    )


def _same_model(configured: str, listed: object) -> bool:
    """Whether the model list's ``listed`` id is the ``configured`` model; Ollama lists a model
    pulled without a tag as ``name:latest`` and serves it by either name."""
    if not isinstance(listed, str):
        return False
    return configured == listed or configured.removesuffix(":latest") == listed.removesuffix(":latest")


def create(options: Mapping[str, Any]) -> OpenAIBackend:
    return OpenAIBackend(**options)
