"""The llm teacher against servers that misbehave the way real ones do (vLLM, TGI, llama.cpp,
Ollama, OpenAI, a proxy in front of them).

The stand-in is a real HTTP server on loopback. Each POST takes the next scripted reply, if any;
the others get a faithful chat completion that deletes every word of three letters or fewer from
the text between ``<<<`` and ``>>>``, wrapped as ``wrap`` says (reasoning, a preamble, a fence).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from splitinfer.cli.main import main
from splitinfer.converters.labels import read_labels
from splitinfer.converters.teachers.llm import EndpointError, LLMTeacher
from splitinfer.sdk._errors import SplitinferError
from splitinfer.sdk._text import split_words

CONTEXT = "The quick brown fox jumps over the lazy dog. It was a sunny day in the old valley."
NGINX_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


def compress(text: str) -> str:
    return " ".join(w for w in text.split() if len(w.strip(".,")) > 3)


def expected(context: str) -> list[float]:
    return [1.0 if len(w.strip(".,")) > 3 else 0.0 for w in split_words(context)[0]]


def chat_body(content: str) -> bytes:
    choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
    return json.dumps({"object": "chat.completion", "choices": [choice]}).encode()


class Handler(BaseHTTPRequestHandler):
    server: Scripted

    def log_message(self, *args: object) -> None:
        pass

    def send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        headers = {"Content-Type": "application/json", **(headers or {})}
        for key, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def reset(self) -> None:
        """Start a 200 answer, then drop the connection with a TCP reset in the middle of it."""
        self.send_response(200)
        self.send_header("Content-Length", "500")
        self.end_headers()
        self.wfile.write(b'{"choices": [{"mess')
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.wfile.close()
        self.rfile.close()
        self.connection.close()

    def do_GET(self) -> None:
        self.send(404, b'{"error": {"message": "not found"}}')

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text = request["messages"][-1]["content"].split("<<<\n", 1)[1].split("\n>>>", 1)[0]
        with self.server.lock:
            self.server.seen.append((time.monotonic(), dict(self.headers)))
            reply = self.server.replies.pop(0) if self.server.replies else None
        if reply is not None:
            reply(self)
        elif self.path != "/v1/chat/completions":
            self.send(
                404,
                b"<html>\n<head><title>404 Not Found</title></head>\n</html>\n",
                {"Content-Type": "text/html"},
            )
        else:
            self.send(200, chat_body(self.server.wrap.format(compress(text))))


class Scripted(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.replies: list[Callable[[Handler], None]] = []  # one per request, in turn
        self.wrap = "{}"  # how a faithful answer is written around the compressed text
        self.seen: list[tuple[float, dict[str, str]]] = []  # (when, headers) of each POST
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


@pytest.fixture
def server() -> Iterator[Scripted]:
    stand_in = Scripted()
    thread = threading.Thread(target=stand_in.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield stand_in
    stand_in.shutdown()
    stand_in.server_close()


def teacher(server: Scripted, **options: object) -> LLMTeacher:
    return LLMTeacher(**{"endpoint": server.endpoint, "backoff": 0.01, "max_retries": 1, **options})


def stream(teacher: LLMTeacher, context: str = CONTEXT) -> dict[int, object]:
    return dict(teacher.score_stream([("q?", context)]))


def label_args(tmp_path: Path, endpoint: str) -> list[str]:
    data = tmp_path / "qa.jsonl"
    data.write_text(json.dumps({"question": "q?", "context": CONTEXT, "answers": []}) + "\n")
    return ["distill", "label", "--format", "qa", "--data", str(data), "--split", "all", "--teacher", "llm",
            "--endpoint", endpoint, "--output", str(tmp_path / "labels.jsonl"), "--quiet"]  # fmt: skip


def test_a_retry_after_given_as_an_http_date_is_waited_for(server: Scripted) -> None:
    when = formatdate(time.time() + 2, usegmt=True)  # whole seconds: 1 to 2 s from now
    server.replies = [lambda h: h.send(429, b'{"error": {"message": "slow down"}}', {"Retry-After": when})]
    assert teacher(server).score("q?", CONTEXT).tolist() == expected(CONTEXT)
    (first, _), (second, _) = server.seen
    assert second - first > 0.9  # not the 0.01 s backoff


@pytest.mark.parametrize(
    "wrap",
    [
        "<think>\nThe user wants the fox sentence kept: quick, brown, jumps, lazy.\n</think>\n\n{}",
        "Reasoning about the sunny valley and the lazy dog first.</think>\n{}",  # R1: <think> in the prompt
        "Sure! Here is the compressed text:\n\n{}",
        "```text\n{}\n```",
    ],
    ids=["think", "think-opened-by-the-template", "preamble", "fence"],
)
def test_reasoning_a_preamble_or_a_fence_around_the_answer_is_cut_off(server: Scripted, wrap: str) -> None:
    server.wrap = wrap
    teacher_ = teacher(server)
    assert teacher_.score("q?", CONTEXT).tolist() == expected(CONTEXT)
    assert teacher_.usage()["chunks_drifted"] == 0


def test_a_byte_that_is_not_utf8_costs_its_word_not_the_case(server: Scripted) -> None:
    context = CONTEXT + " " + CONTEXT  # 16 kept words: one unmatched still aligns 94%
    body = chat_body(compress(context).replace("quick", "qu@ck", 1)).replace(b"@", b"\xff")
    server.replies = [lambda h: h.send(200, body)]
    scores = teacher(server).score("q?", context)
    assert scores.tolist() == [0.0 if i == 1 else s for i, s in enumerate(expected(context))]  # 1: quick


def test_an_html_error_page_is_reported_on_one_line(server: Scripted) -> None:
    server.replies = [lambda h: h.send(502, NGINX_PAGE, {"Content-Type": "text/html"})] * 2
    error = stream(teacher(server))[0]
    assert isinstance(error, SplitinferError)
    assert "answered HTTP 502: 502 Bad Gateway; gave up after 2 attempts" in str(error)
    assert "\n" not in str(error) and "<" not in str(error)


def test_an_endpoint_without_v1_is_told_to_add_it(server: Scripted, tmp_path: Path, capsys) -> None:
    base = server.endpoint.removesuffix("/v1")
    assert main(label_args(tmp_path, base + "/")) == 1  # the stand-in's 404 is nginx's HTML page
    err = capsys.readouterr().err
    assert (
        f"HTTP 404: 404 Not Found; OpenAI-compatible servers serve it under /v1: try --endpoint {base}/v1"
        in err
    )
    assert len(err.strip().splitlines()) == 1


def test_a_redirect_stops_the_run_and_says_where_it_points(server: Scripted) -> None:
    moved = {"Location": "https://api.example.com/v1/chat/completions", "Content-Type": "text/html"}
    server.replies = [lambda h: h.send(301, b"<html>Moved Permanently</html>", moved)]
    with pytest.raises(EndpointError, match=r"HTTP 301.* redirects to https://api.example.com/v1: give"):
        stream(teacher(server))


def test_an_html_page_answered_with_200_stops_the_run(server: Scripted) -> None:
    page = b"<!doctype html><html><head><title>Open WebUI</title></head><body></body></html>"
    server.replies = [lambda h: h.send(200, page, {"Content-Type": "text/html; charset=utf-8"})]
    with pytest.raises(
        EndpointError, match=r"not answer in chat-completions JSON \(it sent text/html.*Open WebUI"
    ):
        stream(teacher(server))


def test_a_401_without_a_key_says_to_set_one(server: Scripted) -> None:
    refusal = b'{"error": {"message": "You didn\'t provide an API key.", "code": "invalid_api_key"}}'
    server.replies = [lambda h: h.send(401, refusal)]
    with pytest.raises(EndpointError, match=r"provide an API key\.; no API key was sent: set OPENAI_API_KEY"):
        stream(teacher(server))


def test_a_body_that_cannot_be_decoded_fails_the_case_not_the_program(server: Scripted) -> None:
    server.replies = [lambda h: h.send(200, b"not gzip at all", {"Content-Encoding": "gzip"})]
    error = stream(teacher(server))[0]
    assert isinstance(error, SplitinferError) and "cannot be decoded" in str(error)


def test_a_connection_reset_every_time_stops_the_run_saying_it_broke(server: Scripted) -> None:
    server.replies = [Handler.reset] * 2
    with pytest.raises(EndpointError, match=r"the connection to .* broke \(ReadError\); gave up after 2"):
        stream(teacher(server))


def test_https_to_a_plain_http_port_says_http_may_be_needed(server: Scripted) -> None:
    plain = teacher(server, endpoint=server.endpoint.replace("http://", "https://"), max_retries=0)
    with pytest.raises(EndpointError, match=r"cannot reach https://.*a server without TLS needs http://"):
        stream(plain)


def test_an_answer_longer_than_any_compression_is_dropped_unaligned(server: Scripted) -> None:
    server.replies = [lambda h: h.send(200, chat_body("fox " * 5000))]
    error = stream(teacher(server))[0]
    assert isinstance(error, SplitinferError)
    assert "has 5000 words, more than a compression of them can have" in str(error)


def test_timeout_sets_how_long_one_answer_may_take(server: Scripted, tmp_path: Path, capsys) -> None:
    server.replies = [lambda h: (time.sleep(0.8), h.send(200, chat_body(compress(CONTEXT))))]
    assert main([*label_args(tmp_path, server.endpoint), "--timeout", "0.3"]) == 0
    assert "retries 1" in capsys.readouterr().out  # the first answer came too late and was asked again
    assert len(read_labels(tmp_path / "labels.jsonl")[1]) == 1


def test_an_api_key_read_with_its_line_break_is_sent_without_it(
    server: Scripted, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test\r\n")
    assert main(label_args(tmp_path, server.endpoint)) == 0
    assert server.seen[0][1]["Authorization"] == "Bearer sk-test"


def test_an_api_key_no_http_header_can_carry_exits_2(
    server: Scripted, tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-caf\u00e9")
    assert main(label_args(tmp_path, server.endpoint)) == 2
    assert (
        "the API key in OPENAI_API_KEY holds a character an HTTP header cannot carry"
        in capsys.readouterr().err
    )
    assert server.seen == []


def test_a_429_for_an_account_out_of_quota_stops_the_run_without_retrying(server: Scripted) -> None:
    quota = b'{"error": {"message": "You exceeded your current quota.", "code": "insufficient_quota"}}'
    server.replies = [lambda h: h.send(429, quota)] * 2
    with pytest.raises(EndpointError, match=r"HTTP 429: You exceeded your current quota\.; add credit"):
        stream(teacher(server))
    assert len(server.seen) == 1


def test_a_last_kept_word_far_after_the_others_still_aligns(server: Scripted) -> None:
    context = "Alpha " + " ".join(["a"] * 60) + " Omega."  # the answer: "Alpha Omega."
    assert teacher(server).score("q?", context).tolist() == expected(context)
