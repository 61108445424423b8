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
  401/403/404, a 200 that is not an event stream (a plain JSON completion, an HTML page), an error
  event (``data: {"error": ...}``, or llama.cpp's ``error:`` line) and malformed events INTERNAL
  (the server is misconfigured or the upstream broken, not the device's fault).
* Text: event lines end only at CR or LF (JSON leaves U+2028 and U+0085 unescaped inside strings);
  a character an engine split between two events (raw UTF-8 bytes, or a UTF-16 surrogate pair as
  two JSON escapes) is put back together, and what cannot be becomes U+FFFD.
* Token counts for the prompt limit are an estimate (``chars_per_token`` characters per token):
  the upstream's tokenizer is not here. ``ModelInfo.token_counting`` says ``"estimate"``.

Options: ``base_url`` (required, e.g. ``http://vllm:8000/v1``), ``model`` (required: the upstream's
model id), ``name`` (the name clients use; default ``model``), ``api_key_env`` (environment variable
holding the upstream API key), ``context_tokens`` (8192), ``max_new_tokens`` (1024),
``connect_timeout_s`` (5), ``read_timeout_s`` (60), ``max_connections`` (256), ``stream_usage``
(true), ``chars_per_token`` (4.0), ``check_model`` (true: health requires the engine's model list,
when it has one, to name ``model``; Ollama's ``name:latest`` counts as ``name``; false for an
engine that ignores the model field and lists an id of its own, as TGI and llama.cpp's server do).
"""

from __future__ import annotations

import codecs
import contextlib
import json
import math
import os
import re
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

# httpx's own async layer: a dependency of httpx. Its timeouts work on Python 3.10 (asyncio.timeout
# is 3.11+) and its cancel scopes do not swallow a cancellation the way asyncio.wait_for can.
import anyio
import httpx

from splitinfer.sdk._inputs import check_http_url, retry_after_seconds
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
    InvalidRequestError,
    OverloadedError,
    ServiceError,
    UnavailableError,
    UpstreamError,
    UpstreamOverloadedError,
    UpstreamTimeoutError,
)

_OPTIONS = {
    "base_url",
    "model",
    "name",
    "api_key_env",
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
# How much of an unexpected body an error message quotes.
_QUOTE_CHARS = 200
# How long to read what follows [DONE] (normally only the end of the chunked body, already on the
# wire) so the connection goes back to the pool; an upstream that keeps the body open longer
# costs a new connection for the next call, nothing more.
_DRAIN_S = 0.25
# The most of an upstream's error text passed on to the caller.
_MAX_DETAIL = 1000
# Where an error message quotes upstream text (see _quoting); no URL or header holds it.
_QUOTED = "\x00quoted\x00"
# The longest Retry-After passed on to clients (a day): a quota reset, not a typo of milliseconds.
_MAX_RETRY_AFTER_S = 86400.0
# Where an event-stream line ends (the SSE spec's only line breaks).
_LINE_END = re.compile(rb"\r\n|\r|\n")
# Surrogates that are neither half of a pair nor a raw byte kept by ``surrogateescape``.
_STRAY_SURROGATE = re.compile("[\ud800-\udc7f\udd00-\udfff]")
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
        self.base_url = check_http_url(base_url, "the openai backend's base_url (--openai-base-url)")
        self.model = model
        self.name: str = option(options, "name", str, None) or model
        key_env = option(options, "api_key_env", str, None)
        self.api_key = self._read_key(key_env)
        self.context_tokens = positive_int(options, "context_tokens", 8192)
        self.max_new_tokens = positive_int(options, "max_new_tokens", 1024)
        self.connect_timeout_s = positive_float(options, "connect_timeout_s", 5.0)
        self.read_timeout_s = positive_float(options, "read_timeout_s", 60.0)
        self.max_connections = positive_int(options, "max_connections", 256)
        self.stream_usage: bool = option(options, "stream_usage", bool, True)
        self.chars_per_token = positive_float(options, "chars_per_token", 4.0)
        self.check_model: bool = option(options, "check_model", bool, True)
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

    def info(self) -> list[ModelSpec]:
        return [
            ModelSpec(
                name=self.name,
                backend="openai",
                context_tokens=self.context_tokens,
                max_new_tokens=self.max_new_tokens,
                description=f"{self.model} at {self.base_url} (OpenAI-compatible chat completions)",
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
            raise OverloadedError(
                f"all {self.max_connections} connections to upstream {self.base_url} stayed busy "
                "(max_connections) and none was freed in time (read_timeout_s or the call's deadline); "
                "retry later, or raise the model's max_connections (or lower --max-concurrent) to "
                "match what the upstream serves at once",
                retry_after_s=1.0,
            ) from None

    async def check(self) -> str | None:
        """``None`` if ``GET {base_url}/models`` answers 200 (engine up, API key accepted) and lists
        ``model`` when it lists any, or has no such route (404/405); else what is wrong (unreachable,
        key refused, 5xx, model not listed), for the health status and the log."""
        where = f"upstream {self.base_url}"
        try:
            response = await self._client_or_new().get("/models", timeout=self.connect_timeout_s)
        except httpx.HTTPError as err:
            return f"{where} is unreachable: {str(err) or type(err).__name__}"
        if response.status_code in (404, 405):
            return None  # an engine or proxy without the model list: reachable is all we can tell
        if response.status_code != 200:
            return f"{where} answered GET /models with HTTP {response.status_code}: {response.text[:_QUOTE_CHARS]}"
        try:
            listed = [m.get("id") for m in response.json().get("data", []) if isinstance(m, dict)]
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
        characters = _Characters()
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
                    await response.aread()
                    raise _http_error(response, self.base_url)
                await self._check_event_stream(response)
                async for event in _sse_events(response, self.base_url):
                    events += 1
                    if event is None:  # data: [DONE]; the events end there
                        done = True
                        continue
                    if event.get("error") is not None:
                        raise _quoting(
                            UpstreamError,
                            f"upstream {self.base_url} failed mid-stream: {_QUOTED}",
                            _error_text(event),
                        )
                    texts, finish = _read_event(event, finish, request.sampling.stop, self.base_url)
                    for text in texts:
                        yield characters.feed(text)
        except ServiceError:
            raise
        except httpx.ConnectTimeout as err:
            if timeout.connect < self.connect_timeout_s:
                raise UpstreamTimeoutError(
                    f"the call's deadline passed while connecting to upstream {self.base_url}"
                ) from err
            raise UnavailableError(
                f"upstream {self.base_url} is unreachable: no connection within connect_timeout_s "
                f"({self.connect_timeout_s:g} s); is the engine up, and is base_url (--openai-base-url) right?"
            ) from err
        except httpx.TimeoutException as err:
            raise UpstreamTimeoutError(
                f"upstream {self.base_url} did not answer in time ({type(err).__name__}); "
                "raise read_timeout_s or the call's deadline"
            ) from err
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as err:
            raise UnavailableError(
                f"upstream {self.base_url} is unreachable or dropped the stream: {err}"
            ) from err
        except httpx.HTTPError as err:
            raise UpstreamError(f"talking to upstream {self.base_url} failed: {err}") from err
        if events == 0:
            # Not a cut-off answer but a refusal without a reason, and the same request gets the
            # same one: INTERNAL, which clients do not retry (UNAVAILABLE is retried).
            raise UpstreamError(
                f"upstream {self.base_url} accepted the request (HTTP 200) but closed the stream "
                "without sending a single event. llama.cpp's Python server (llama_cpp.server) does "
                f"this when the prompt (about {request.prompt_tokens} tokens by this server's "
                "estimate) does not fit the engine's context window (n_ctx): shorten or condense the "
                "prompt; operators: the engine's log names the cause, and setting the model's "
                "context_tokens to the engine's context makes this server refuse such prompts up front"
            )
        if not done and finish.reason is None:
            raise UnavailableError(
                f"the stream from upstream {self.base_url} ended without [DONE] or a finish_reason: "
                "the answer may be cut off (did the engine or a proxy in between drop it?)"
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
        raise _quoting(
            UpstreamError,
            f"upstream {self.base_url} answered 200 with Content-Type {media_type}, not {_EVENT_STREAM}, "
            f"so it did not stream the answer (it sent {_QUOTED}); is base_url (--openai-base-url) the "
            "engine's OpenAI-compatible /v1, and does it stream when asked to?",
            repr(await _body_start(response)),
        )


async def _body_start(response: httpx.Response) -> str:
    """The first :data:`_QUOTE_CHARS` characters of a body, for an error message."""
    data = b""
    async for part in response.aiter_bytes():
        data += part
        if len(data) >= _QUOTE_CHARS:
            break
    return data[:_QUOTE_CHARS].decode("utf-8", errors="replace")


async def _sse_lines(response: httpx.Response) -> AsyncIterator[str]:
    """The lines of an event stream, split only at CR, LF or CRLF, as the SSE spec splits them.

    Not httpx's ``aiter_lines``: it also splits at U+2028, U+0085 and other characters that JSON
    leaves unescaped inside strings (vLLM, TGI and llama.cpp's server send UTF-8 as it is), so an
    answer holding one would break its event in two. Lines are decoded with ``surrogateescape``, so
    bytes that are not UTF-8 on their own reach :class:`_Characters`, which puts them back together.
    """
    pending = b""
    async for data in response.aiter_bytes():
        *lines, pending = _LINE_END.split(pending + data)
        for line in lines:
            yield line.decode("utf-8", "surrogateescape")
    if pending:
        yield pending.decode("utf-8", "surrogateescape")


async def _sse_events(response: httpx.Response, base_url: str) -> AsyncIterator[dict[str, Any] | None]:
    """The JSON objects of an SSE stream's ``data:`` lines, then ``None`` for ``[DONE]``.

    llama.cpp's server reports a failure as an ``error:`` line (then sends ``[DONE]``); it comes
    out as ``{"error": ...}``, like the error events of other engines.

    After ``[DONE]`` the rest of the body is read (for at most :data:`_DRAIN_S`): httpx returns a
    connection to its pool only once its response was read to the end, so without this every
    call would open a new connection to the upstream (and the upstream would see a reset).
    """
    lines = _sse_lines(response)
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
                except httpx.HTTPError:
                    pass  # the connection is closed instead of reused
            return
        try:
            event = json.loads(payload)
        except json.JSONDecodeError as err:
            raise _quoting(
                UpstreamError,
                f"upstream {base_url} sent a stream event that is not JSON: {_QUOTED}",
                repr(payload[:_QUOTE_CHARS]),
            ) from err
        if not isinstance(event, dict):
            raise _malformed(base_url, "the event", event, "a JSON object (a chat.completion.chunk)")
        yield event


def _json_or_text(payload: str) -> Any:
    try:
        return json.loads(payload)
    except json.JSONDecodeError:
        return payload


class _Characters:
    """Puts back together the characters an engine split between two events.

    Two ways it happens: the UTF-8 bytes of one character sent raw, some in each event (they
    arrive as the escapes of :func:`_sse_lines`), or a UTF-16 surrogate pair sent as two JSON
    ``\\u`` escapes. :meth:`feed` returns the text that is whole so far and keeps the rest;
    :meth:`flush` returns what is left, anything still not a character as U+FFFD.
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self._high = ""  # a high surrogate waiting for its low half

    def feed(self, text: str) -> str:
        text, self._high = self._high + text, ""
        if text and "\ud800" <= text[-1] <= "\udbff":
            text, self._high = text[:-1], text[-1]
        paired = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
        return self._utf8.decode(_STRAY_SURROGATE.sub("\ufffd", paired).encode("utf-8", "surrogateescape"))

    def flush(self) -> str:
        return self._utf8.decode(b"", final=True) + ("\ufffd" if self._high else "")


def _read_event(
    event: Mapping[str, Any], finish: Finish, stops: tuple[str, ...], base_url: str
) -> tuple[list[str], Finish]:
    """The answer text of one ``chat.completion.chunk`` and the finish known so far.

    Checks every field it reads: a malformed one is an ``UpstreamError`` that names it.
    """
    choices = _field(event, "choices", list, [], base_url, "a list")
    texts = []
    reason = finish.reason
    for i, choice in enumerate(choices):
        if not isinstance(choice, dict):
            raise _malformed(base_url, f"choices[{i}]", choice, "an object")
        delta = _field(choice, "delta", dict, {}, base_url, "an object", f"choices[{i}].")
        text = _field(delta, "content", str, "", base_url, "a string or null", f"choices[{i}].delta.")
        if text:
            texts.append(text)
        upstream = _field(choice, "finish_reason", str, "", base_url, "a string or null", f"choices[{i}].")
        if upstream in _CUT_OFF:
            raise UnavailableError(
                f"upstream {base_url} ended the answer with finish_reason {upstream!r}: the engine "
                "aborted it or failed while generating, so the answer is cut off; retry"
            )
        if upstream:
            # vLLM names the stop string that ended the text in `stop_reason`.
            stop_reason = choice.get("stop_reason")
            hit_stop = isinstance(stop_reason, str) and stop_reason in stops
            reason = FinishReason.STOP_STRING if hit_stop else _FINISH.get(upstream, FinishReason.STOP)
    usage = _field(event, "usage", dict, {}, base_url, "an object")
    return texts, Finish(
        reason=reason,
        prompt_tokens=_count(usage, "prompt_tokens", finish.prompt_tokens, base_url),
        completion_tokens=_count(usage, "completion_tokens", finish.completion_tokens, base_url),
    )


def _field(
    parent: Mapping[str, Any],
    name: str,
    kind: type,
    default: Any,
    base_url: str,
    expected: str,
    path: str = "",
) -> Any:
    """``parent[name]`` if it is a ``kind``; ``default`` if absent or null; else ``UpstreamError``."""
    value = parent.get(name)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise _malformed(base_url, path + name, value, expected)
    return value


def _count(usage: Mapping[str, Any], name: str, default: int | None, base_url: str) -> int | None:
    value = usage.get(name)
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_COUNT:
        raise _malformed(base_url, f"usage.{name}", value, "a whole number >= 0")
    return value


def _malformed(base_url: str, field: str, value: Any, expected: str) -> UpstreamError:
    """The error for a field of a (parsed JSON) stream event that is not what the protocol says."""
    return _quoting(
        UpstreamError,
        f"upstream {base_url} sent a malformed stream event: {field} is {_QUOTED}, not {expected}; is it an "
        "OpenAI-compatible chat-completions endpoint?",
        json.dumps(value)[:_QUOTE_CHARS],
    )


def _error_text(body: Any) -> str:
    """The message of an OpenAI (``{"error": {"message"}}``) or TGI (``{"error": "..."}``) error."""
    if isinstance(body, dict):
        error = body.get("error", body.get("detail", body))
        if isinstance(error, dict):
            error = error.get("message") or error
        body = error
    # A lone surrogate (a stray JSON escape, a byte kept by _sse_lines) cannot go out in a gRPC status.
    return str(body).encode("utf-8", "replace").decode("utf-8")


def _http_error(response: httpx.Response, base_url: str) -> ServiceError:
    status = response.status_code
    try:
        detail = _error_text(response.json())
    except (json.JSONDecodeError, UnicodeDecodeError):
        detail = response.text
    # Upstream text goes to the caller, not to the log: an engine's error can echo the request
    # (FastAPI's 422 quotes the messages, prompt and all). Bounded, as it goes out in a status.
    detail = detail if len(detail) <= _MAX_DETAIL else detail[:_MAX_DETAIL] + "..."
    where = f"upstream {base_url} answered HTTP {status}"
    if status in (400, 413, 422):
        return _quoting(InvalidRequestError, f"the model rejected the request ({where}): {_QUOTED}", detail)
    if status == 429:
        return _quoting(
            UpstreamOverloadedError,
            f"the model is overloaded ({where}): {_QUOTED}",
            detail,
            retry_after_s=_retry_after(response),
        )
    if status in (408, 504):
        return _quoting(UpstreamTimeoutError, f"{where}: {_QUOTED}", detail)
    if status >= 500:
        return _quoting(UnavailableError, f"{where}: {_QUOTED}", detail)
    if status in (401, 403):
        return _quoting(
            UpstreamError,
            f"{where}: the upstream refused the server's API key (check api_key_env): {_QUOTED}",
            detail,
        )
    if status == 404:
        # vLLM and Ollama answer 404 for an unknown model too, not only for a wrong path.
        return _quoting(
            UpstreamError,
            f"{where} for POST {base_url.rstrip('/')}/chat/completions: {_QUOTED}; check the model id "
            f"(--model, model; GET {base_url.rstrip('/')}/models lists what the engine serves) and the "
            "base URL (--openai-base-url, base_url): OpenAI-compatible engines serve it under /v1, e.g. "
            "http://host:8000/v1",
            detail,
        )
    return _quoting(UpstreamError, f"{where}: {_QUOTED}", detail)


def _quoting(kind: type[ServiceError], template: str, quoted: str, **kwargs: Any) -> ServiceError:
    """``kind`` with ``quoted`` (upstream text) in place of ``_QUOTED`` in its message for the caller,
    and only its length in the server's log: it may quote the caller's prompt."""
    hidden = f"[{len(quoted)} characters of the upstream's text, left out of the log]"
    return kind(template.replace(_QUOTED, quoted), log_message=template.replace(_QUOTED, hidden), **kwargs)


def _retry_after(response: httpx.Response) -> float:
    """Seconds to wait from ``Retry-After``: a number of seconds or an HTTP date (RFC 9110), at
    most :data:`_MAX_RETRY_AFTER_S`; 1 when it is missing or unreadable."""
    seconds = retry_after_seconds(response.headers.get("retry-after", ""))
    return 1.0 if seconds is None else min(max(0.0, seconds), _MAX_RETRY_AFTER_S)


def _same_model(configured: str, listed: object) -> bool:
    """Whether the model list's ``listed`` id is the ``configured`` model; Ollama lists a model
    pulled without a tag as ``name:latest`` and serves it by either name."""
    if not isinstance(listed, str):
        return False
    return configured == listed or configured.removesuffix(":latest") == listed.removesuffix(":latest")


def create(options: Mapping[str, Any]) -> OpenAIBackend:
    return OpenAIBackend(**options)
