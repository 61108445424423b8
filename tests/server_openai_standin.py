"""A stand-in OpenAI-compatible chat-completions server for the ``openai`` backend's tests.

No inference engine (vLLM, TGI, llama.cpp) runs in CI, so this server speaks the real protocol
instead: ``POST /v1/chat/completions`` with ``"stream": true`` answered over HTTP/1.1 chunked
transfer with server-sent events (``data: {chat.completion.chunk}`` lines, a final chunk with
``finish_reason``, a usage chunk when ``stream_options.include_usage`` is set, then
``data: [DONE]``), OpenAI-style error bodies (``{"error": {"message", "type", "code"}}``) with the
matching HTTP status, ``Retry-After`` on 429, a ``Bearer`` API key check, and vLLM's
``stop_reason``. Events carry UTF-8 as it is, not ``\\u`` escapes, as vLLM, TGI and llama.cpp's
server send them. It runs on loopback in a thread; ``stop()`` (or leaving ``with``) closes the
connections it has open too, as an engine that goes down does.

What it answers is chosen by the request's ``model``:

* ``standin-ok``: streams ``REPLY`` one word per event, honouring ``max_tokens`` and ``stop``.
* ``standin-slow``: streams 200 words, one every 50 ms (for cancellation and deadlines).
* ``standin-400`` / ``standin-429`` / ``standin-500``: the error statuses vLLM and OpenAI send.
* ``standin-midstream``: two words, then an error event in the stream (as vLLM does).
* ``standin-hang``: sends the response headers, then nothing for 10 s.
* ``standin-429date``: 429 with ``Retry-After`` as an HTTP date (RFC 9110), 120 s ahead.
* ``standin-nomodel``: 404 with vLLM's body for a model it does not serve.
* ``standin-401key``: 401 with OpenAI's body for a wrong key, which quotes part of it (``KEY_HINT``).
* ``standin-hugeerror``: 500 with a plain-text body of ``HUGE_ERROR_BYTES`` (64 MiB), as a broken
  proxy in front of an engine may send; ``error_bytes_sent`` records how much of it the client took
  before it hung up.
* ``standin-longline``: 200 with one event line of ``LONG_LINE_BYTES`` (2 MiB) sent in 64 KiB
  pieces without a line break until its end, then a well-formed end.
* ``standin-crlfsplit``: the answer with CRLF line ends, written a few bytes at a time so that the
  CR and the LF of a line end go out in separate writes.
* Streams written byte for byte (``RAW_STREAMS``), as real engines misbehave:

  * ``standin-separators``: an answer holding U+2028 and U+0085, which JSON leaves unescaped.
  * ``standin-splitchars``: characters split between two events: the UTF-8 bytes of "é" and
    "😀" sent raw, and a surrogate pair of "🌉" as two JSON escapes, as engines that cut text by
    bytes or UTF-16 units send it.
  * ``standin-llamaerror``: llama.cpp's server refusing a prompt over its context once the stream
    has started: an ``error:`` line (not ``data:``), then ``data: [DONE]``.
  * ``standin-abort``: two words, then vLLM's ``finish_reason: "abort"`` and ``[DONE]``.
  * ``standin-errornull``: the answer in events that carry ``"error": null``.
* Upstreams that are broken or are not what they claim to be:

  * ``standin-json200``: 200 with a plain (non-streamed) ``chat.completion`` JSON body, as a
    server that ignores ``"stream": true`` sends; ``standin-html200``: 200 with an HTML page, as a
    web server at the wrong URL sends.
  * ``standin-empty200``: 200 with ``text/event-stream``, then the end of the body without a
    single event, as llama-cpp-python's server (``llama_cpp.server``) answers a prompt longer than
    its context window (it raises only once the stream has started).
  * ``standin-nodone``: streams the words, then ends the body without a finish reason or
    ``[DONE]``, as a proxy that cuts long responses does.
  * ``standin-badchoice`` / ``standin-baddelta``: a JSON event whose ``choices[0]`` or
    ``choices[0].delta`` is a string; ``standin-textusage`` / ``standin-negusage``: the whole
    answer, then a usage event whose ``prompt_tokens`` is ``"11"`` or ``-1``.

It records every request (headers and JSON body), the TCP peer it came from (to see connections
reused), and every client that went away mid-stream. ``OpenAIStandin(tls=(cert, key))`` serves HTTPS
with that PEM pair instead of plain HTTP.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPLY = "The bridge opened to traffic in 1932 after six years of work ."
# Valid JSON, but not what the protocol allows, by model.
MALFORMED_CHOICES = {
    "standin-badchoice": {"choices": ["x"]},
    "standin-baddelta": {"choices": [{"index": 0, "delta": "x", "finish_reason": None}]},
}
MALFORMED_PROMPT_TOKENS = {"standin-textusage": "11", "standin-negusage": -1}
UNICODE_REPLY = ("Line\u2028separator ", "and next\x85line.")
SPLIT_REPLY = "café 😀 🌉"
LLAMA_CONTEXT_ERROR = "the request exceeds the available context size, try increasing it"
KEY_HINT = "sk-abc***xyz"
HUGE_ERROR_BYTES = 64 * 1024 * 1024
LONG_LINE_BYTES = 2 * 1024 * 1024
_BLOCK = 64 * 1024


def _sse(payload: dict[str, Any] | str) -> bytes:
    """One ``data:`` event, UTF-8 unescaped."""
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {text}\n\n".encode()


def _delta(content: str | None = None, finish: str | None = None, **extra: Any) -> bytes:
    delta = {} if content is None else {"content": content}
    return _sse(
        {
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
    )


def _raw_delta(content: bytes) -> bytes:
    """An event whose content is ``content`` byte for byte (not UTF-8 on its own, or JSON escapes)."""
    return b'data: {"choices":[{"index":0,"delta":{"content":"' + content + b'"},"finish_reason":null}]}\n\n'


RAW_STREAMS = {
    "standin-separators": [*map(_delta, UNICODE_REPLY), _delta(finish="stop"), _sse("[DONE]")],
    "standin-splitchars": [
        _raw_delta(b"caf\xc3"),
        _raw_delta(b"\xa9 \xf0\x9f"),
        _raw_delta(b"\x98\x80 \\ud83c"),
        _raw_delta(b"\\udf09"),
        _delta(finish="stop"),
        _sse("[DONE]"),
    ],
    "standin-llamaerror": [
        b"error: "
        + json.dumps(
            {"code": 400, "message": LLAMA_CONTEXT_ERROR, "type": "exceed_context_size_error"}
        ).encode()
        + b"\n\n",
        _sse("[DONE]"),
    ],
    "standin-abort": [_delta("The "), _delta("bridge "), _delta(finish="abort"), _sse("[DONE]")],
    "standin-errornull": [
        *(_delta(word + " ", error=None) for word in REPLY.split()),
        _delta(finish="stop", error=None),
        _sse("[DONE]"),
    ],
}


@dataclass
class Disconnect:
    model: str
    words_sent: int


@dataclass
class StandinState:
    api_key: str | None
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    clients: list[tuple[str, int]] = field(default_factory=list)  # the TCP peer of each request
    disconnects: list[Disconnect] = field(default_factory=list)
    listed: list[str] = field(default_factory=list)  # the ids GET /v1/models lists
    error_bytes_sent: list[int] = field(default_factory=list)  # of each standin-hugeerror body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        """``GET /v1/models``: the model list (every ``standin-*`` is served), behind the API key."""
        state = self.server.state
        if self.path != "/v1/models":
            return self._error(404, f"no route {self.path}", "NotFoundError")
        if state.api_key and self.headers.get("Authorization") != f"Bearer {state.api_key}":
            return self._error(401, "Incorrect API key provided.", "AuthenticationError")
        data = [{"id": name, "object": "model"} for name in state.listed]
        self._reply(200, "application/json", json.dumps({"object": "list", "data": data}).encode())

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        state = self.server.state
        state.requests.append((dict(self.headers.items()), body))
        state.clients.append(self.client_address)
        if self.path != "/v1/chat/completions":
            return self._error(404, f"no route {self.path}", "NotFoundError")
        if state.api_key and self.headers.get("Authorization") != f"Bearer {state.api_key}":
            return self._error(401, "Incorrect API key provided.", "AuthenticationError")
        model = body.get("model", "")
        if model == "standin-422echo":  # FastAPI's validation error quotes the request it refused
            detail = [{"loc": ["body", "messages"], "msg": "bad request", "input": body.get("messages")}]
            return self._reply(422, "application/json", json.dumps({"detail": detail}).encode())
        if model == "standin-400":
            return self._error(400, "This model's maximum context length is 4096 tokens.", "BadRequestError")
        if model == "standin-429":
            return self._error(429, "Too many requests; slow down.", "RateLimitError", {"Retry-After": "3"})
        if model == "standin-500":
            return self._error(500, "The engine crashed.", "InternalServerError")
        if model == "standin-429date":
            when = formatdate(time.time() + 120, usegmt=True)
            return self._error(429, "Rate limit reached.", "RateLimitError", {"Retry-After": when})
        if model == "standin-nomodel":
            return self._error(404, f"The model `{model}` does not exist.", "NotFoundError")
        if model == "standin-401key":
            return self._error(401, f"Incorrect API key provided: {KEY_HINT}.", "AuthenticationError")
        if model == "standin-hugeerror":
            return self._huge_error()
        if model == "standin-json200":
            completion = {
                "id": "chatcmpl-standin",
                "object": "chat.completion",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}
                ],
            }
            return self._reply(200, "application/json", json.dumps(completion).encode())
        if model == "standin-html200":
            return self._reply(200, "text/html", b"<html><body>Welcome to nginx!</body></html>")
        self._start_stream()
        if model in RAW_STREAMS:
            for part in RAW_STREAMS[model]:
                self._send(part)
            self._send("")
            return
        if model == "standin-empty200":
            self._send("")  # the end of the chunked body, not one event before it
            return
        if model == "standin-longline":
            self._send(b'data: {"choices": [{"index": 0, "delta": {"content": "')
            for _ in range(LONG_LINE_BYTES // _BLOCK):
                self._send(b"y" * _BLOCK)
            self._send(b'"}, "finish_reason": "stop"}]}\n\n')
            self._send(_sse("[DONE]"))
            self._send("")
            return
        if model == "standin-crlfsplit":
            stream = (
                b"".join(_delta(word + " ") for word in REPLY.split())
                + _delta(finish="stop")
                + _sse("[DONE]")
            )
            stream = stream.replace(b"\n", b"\r\n")
            for start in range(0, len(stream), 7):  # 7: a CRLF is sometimes cut in two
                self._send(stream[start : start + 7])
            self._send("")
            return
        self.words_sent = 0
        try:
            self._stream(model, body)
        except (BrokenPipeError, ConnectionResetError):
            state.disconnects.append(Disconnect(model, self.words_sent))
            self.close_connection = True

    def _huge_error(self) -> None:
        self.send_response(500)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(HUGE_ERROR_BYTES))
        self.end_headers()
        sent = 0
        try:
            while sent < HUGE_ERROR_BYTES:
                self.wfile.write(b"x" * _BLOCK)
                sent += _BLOCK
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        self.server.state.error_bytes_sent.append(sent)

    def _error(self, status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps({"error": {"message": message, "type": kind, "code": status}}).encode()
        self._reply(status, "application/json", payload, headers)

    def _reply(
        self, status: int, content_type: str, payload: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _send(self, data: str | bytes) -> None:
        raw = data.encode() if isinstance(data, str) else data
        self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
        self.wfile.flush()

    def _event(self, payload: dict[str, Any] | str) -> None:
        self._send(_sse(payload))

    def _choice(
        self, delta: dict[str, Any], finish: str | None = None, stop_reason: str | None = None
    ) -> dict:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        if finish is not None:
            choice["stop_reason"] = stop_reason
        return {
            "id": "chatcmpl-standin",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "choices": [choice],
        }

    def _stream(self, model: str, body: dict[str, Any]) -> None:
        self._event(self._choice({"role": "assistant", "content": ""}))
        if model == "standin-hang":
            time.sleep(10)
            return
        if model in MALFORMED_CHOICES:
            self._event(MALFORMED_CHOICES[model])
            self._event("[DONE]")
            self._send("")
            return
        words, delay = REPLY.split(), 0.0
        if model == "standin-slow":
            words, delay = [f"w{i}" for i in range(200)], 0.05
        finish, stop_reason, sent = "stop", None, []
        for i, word in enumerate(words):
            if model == "standin-midstream" and i == 2:
                self._event(
                    {
                        "error": {
                            "message": "The engine died mid-stream.",
                            "type": "InternalServerError",
                            "code": 500,
                        }
                    }
                )
                self._send("")
                return
            if len(sent) >= body.get("max_tokens", 1 << 30):
                finish = "length"
                break
            piece = word + " "
            if any(stop in piece for stop in body.get("stop") or ()):
                stop_reason = next(stop for stop in body["stop"] if stop in piece)
                break
            if delay:
                time.sleep(delay)
            self._event(self._choice({"content": piece}))
            sent.append(piece)
            self.words_sent = len(sent)
        if model == "standin-nodone":
            self._send("")  # the end of the body: no finish_reason, no [DONE]
            return
        self._event(self._choice({}, finish, stop_reason))
        if (body.get("stream_options") or {}).get("include_usage"):
            prompt = sum(len(m["content"].split()) for m in body.get("messages", []))
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": len(sent),
                "total_tokens": prompt + len(sent),
            }
            if model in MALFORMED_PROMPT_TOKENS:
                usage["prompt_tokens"] = MALFORMED_PROMPT_TOKENS[model]
            self._event(
                {"id": "chatcmpl-standin", "object": "chat.completion.chunk", "choices": [], "usage": usage}
            )
        self._event("[DONE]")
        self._send("")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: StandinState
    open_sockets: set[socket.socket]

    def process_request(self, request: Any, client_address: Any) -> None:
        self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError)):
            return  # a client that did not trust the certificate, or hung up: not the stand-in's bug
        super().handle_error(request, client_address)


class OpenAIStandin:
    """Runs the stand-in on ``127.0.0.1`` in a thread: ``with OpenAIStandin(api_key="k") as s: s.base_url``.

    ``port`` 0 picks a free port; give the port of one that has stopped to bring an upstream back.
    ``tls``: a PEM certificate and key to serve HTTPS with.
    """

    def __init__(
        self, api_key: str | None = None, port: int = 0, tls: tuple[Path, Path] | None = None
    ) -> None:
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.state = StandinState(api_key)
        self._server.open_sockets = set()
        self._scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            # The handshake happens in the handler's thread, on its first read, not in accept().
            self._server.socket = context.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
            self._scheme = "https"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def state(self) -> StandinState:
        return self._server.state

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> OpenAIStandin:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stops serving and closes the connections still open, as an engine that goes down does."""
        self._server.shutdown()
        self._server.server_close()
        for sock in list(self._server.open_sockets):  # keep-alive connections would serve on
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def unanswered_port() -> Iterator[int]:
    """A loopback port whose connections never complete, as a host that drops packets (a dead
    machine, a firewall): a listener that never accepts, its backlog already full."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        fillers = [socket.socket() for _ in range(4)]
        try:
            for filler in fillers:
                filler.setblocking(False)
                filler.connect_ex(listener.getsockname())
            yield listener.getsockname()[1]
        finally:
            for filler in fillers:
                filler.close()
