"""A stand-in OpenAI-compatible chat-completions server for the ``openai`` backend's tests.

No inference engine (vLLM, TGI, llama.cpp) runs in CI, so this server speaks the real protocol
instead: ``POST /v1/chat/completions`` with ``"stream": true`` answered over HTTP/1.1 chunked
transfer with server-sent events (``data: {chat.completion.chunk}`` lines, a final chunk with
``finish_reason``, a usage chunk when ``stream_options.include_usage`` is set, then
``data: [DONE]``), OpenAI-style error bodies (``{"error": {"message", "type", "code"}}``) with the
matching HTTP status, ``Retry-After`` on 429, a ``Bearer`` API key check, and vLLM's
``stop_reason``. It runs on loopback in a thread.

What it answers is chosen by the request's ``model``:

* ``standin-ok``: streams ``REPLY`` one word per event, honouring ``max_tokens`` and ``stop``.
* ``standin-slow``: streams 200 words, one every 50 ms (for cancellation and deadlines).
* ``standin-400`` / ``standin-429`` / ``standin-500``: the error statuses vLLM and OpenAI send.
* ``standin-midstream``: two words, then an error event in the stream (as vLLM does).
* ``standin-hang``: sends the response headers, then nothing for 10 s.
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
reused), and every client that went away mid-stream.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REPLY = "The bridge opened to traffic in 1932 after six years of work ."
# Valid JSON, but not what the protocol allows, by model.
MALFORMED_CHOICES = {
    "standin-badchoice": {"choices": ["x"]},
    "standin-baddelta": {"choices": [{"index": 0, "delta": "x", "finish_reason": None}]},
}
MALFORMED_PROMPT_TOKENS = {"standin-textusage": "11", "standin-negusage": -1}


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
        self._reply(200, "application/json", json.dumps({"object": "list", "data": []}).encode())

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
        if model == "standin-400":
            return self._error(400, "This model's maximum context length is 4096 tokens.", "BadRequestError")
        if model == "standin-429":
            return self._error(429, "Too many requests; slow down.", "RateLimitError", {"Retry-After": "3"})
        if model == "standin-500":
            return self._error(500, "The engine crashed.", "InternalServerError")
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
        if model == "standin-empty200":
            self._send("")  # the end of the chunked body, not one event before it
            return
        self.words_sent = 0
        try:
            self._stream(model, body)
        except (BrokenPipeError, ConnectionResetError):
            state.disconnects.append(Disconnect(model, self.words_sent))
            self.close_connection = True

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

    def _send(self, data: str) -> None:
        raw = data.encode()
        self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
        self.wfile.flush()

    def _event(self, payload: dict[str, Any] | str) -> None:
        self._send(f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n")

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


class OpenAIStandin:
    """Runs the stand-in on ``127.0.0.1`` in a thread: ``with OpenAIStandin(api_key="k") as s: s.base_url``."""

    def __init__(self, api_key: str | None = None) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = StandinState(api_key)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def state(self) -> StandinState:
        return self._server.state

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> OpenAIStandin:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
