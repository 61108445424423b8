"""The llm teacher against a real OpenAI-compatible HTTP server on loopback.

The stand-in server speaks chat-completions JSON and compresses deterministically: it deletes
every word of three letters or fewer from the text between ``<<<`` and ``>>>``. It can also
answer 429 first, answer slowly, or paraphrase (drift) chunks holding a trigger word.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from splitinfer.cli.main import main
from splitinfer.converters.labels import read_labels
from splitinfer.converters.teachers.llm import LLMTeacher
from splitinfer.sdk._errors import SplitinferError
from splitinfer.sdk._text import split_words

CONTEXT = "The quick brown fox jumps over the lazy dog. It was a sunny day in the old valley."


class StandIn(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.texts: list[str] = []
        self.throttle_first = False
        self.delay = 0.0
        self.drift_word = "DRIFT"
        self.models: list[str] | None = None  # GET /v1/models lists these (None: no such route)
        self.answer: str | None = None  # when set, the answer to every chunk
        self.finish_reason = "stop"
        self.context_words: int | None = None  # a chunk of more words gets llama.cpp's 400
        self._seen: set[str] = set()
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class Handler(BaseHTTPRequestHandler):
    server: StandIn

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path != "/v1/models" or self.server.models is None:
            self._send(404, {"error": {"message": "not found"}})
            return
        self._send(
            200, {"object": "list", "data": [{"id": m, "object": "model"} for m in self.server.models]}
        )

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/v1/chat/completions" or request["messages"][0]["role"] != "system":
            self._send(404, {"error": {"message": "not found"}})
            return
        prompt = request["messages"][-1]["content"]
        text = prompt.split("<<<\n", 1)[1].split("\n>>>", 1)[0]
        with self.server.lock:
            first_time = text not in self.server._seen
            self.server._seen.add(text)
            self.server.texts.append(text)
        if self.server.context_words is not None and len(text.split()) > self.server.context_words:
            message = (
                f"Requested tokens ({len(text.split())}) exceed context window of {self.server.context_words}"
            )
            self._send(400, {"error": {"message": message, "type": "invalid_request_error"}})
            return
        if self.server.throttle_first and first_time:
            self._send(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
            return
        time.sleep(self.server.delay)
        if self.server.drift_word in text:
            answer = "Entirely new words replace this passage now"
        else:
            answer = " ".join(w for w in text.split() if len(w.strip(".,")) > 3)
        if self.server.answer is not None:
            answer = self.server.answer
        self._send(
            200,
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 0,
                "model": request["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer},
                        "finish_reason": self.server.finish_reason,
                    }
                ],
                "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": len(answer.split())},
            },
        )


@pytest.fixture
def server() -> Iterator[StandIn]:
    stand_in = StandIn()
    thread = threading.Thread(target=stand_in.serve_forever, daemon=True)
    thread.start()
    yield stand_in
    stand_in.shutdown()
    stand_in.server_close()


def _expected(context: str) -> list[float]:
    return [1.0 if len(w.strip(".,")) > 3 else 0.0 for w in split_words(context)[0]]


def test_words_the_model_kept_score_one_and_the_rest_zero(server: StandIn) -> None:
    teacher = LLMTeacher(endpoint=server.endpoint, model="m")
    scores = teacher.score("What jumps?", CONTEXT)
    assert scores.dtype == np.float32 and scores.tolist() == _expected(CONTEXT)
    usage = teacher.usage()
    assert usage["requests"] == 1 and usage["completion_tokens"] == int(scores.sum())


def test_long_contexts_are_sent_in_chunks_of_whole_sentences(server: StandIn) -> None:
    teacher = LLMTeacher(endpoint=server.endpoint, chunk_words=12)
    scores = teacher.score("q?", CONTEXT + " " + CONTEXT)
    assert scores.tolist() == _expected(CONTEXT + " " + CONTEXT)
    assert len(server.texts) == 4 and all(t.endswith(".") for t in server.texts)


def test_throttled_requests_are_retried(server: StandIn) -> None:
    server.throttle_first = True
    teacher = LLMTeacher(endpoint=server.endpoint, backoff=0.01)
    assert teacher.score("q?", CONTEXT).tolist() == _expected(CONTEXT)
    assert teacher.usage()["retries"] == 1 and teacher.usage()["requests"] == 2


def test_a_drifting_answer_fails_the_case_and_is_counted(server: StandIn) -> None:
    teacher = LLMTeacher(endpoint=server.endpoint)
    results = dict(teacher.score_stream([("q?", CONTEXT), ("q?", "This DRIFT passage is paraphrased.")]))
    assert results[0].tolist() == _expected(CONTEXT)
    assert isinstance(results[1], SplitinferError) and "drifted" in str(results[1])
    assert teacher.usage()["chunks_drifted"] == 1


def test_a_compression_that_deletes_a_long_passage_is_not_drift(server: StandIn) -> None:
    # The stand-in deletes every word of three letters or fewer: here a run of 60 words at once.
    context = "Alpha " + " ".join(["a"] * 60) + " Omega Delta."
    scores = LLMTeacher(endpoint=server.endpoint).score("q?", context)
    assert scores.tolist() == _expected(context)


def test_an_answer_cut_off_at_max_tokens_fails_the_case(server: StandIn) -> None:
    server.answer, server.finish_reason = "quick", "length"  # faithful so far, but cut off
    teacher = LLMTeacher(endpoint=server.endpoint, max_tokens=16)  # the context is 86 bytes
    with pytest.raises(
        SplitinferError, match=r"cut off at max_tokens \(16\); lower --chunk-words \(now 200\)"
    ):
        teacher.score("q?", CONTEXT)
    assert teacher.usage()["chunks_drifted"] == 1


def test_an_answer_cut_off_on_a_chunk_shorter_than_max_tokens_blames_the_model_not_the_chunk(
    server: StandIn,
) -> None:
    server.answer, server.finish_reason = "quick", "length"
    with pytest.raises(SplitinferError) as failed:
        LLMTeacher(endpoint=server.endpoint).score("q?", CONTEXT)
    message = str(failed.value)
    assert re.match(
        r"the model's answer ran to max_tokens \(1024\) although words 0-18 are only \d+ bytes", message
    )
    assert "use an instruction-tuned model" in message and "--chunk-words" not in message


def test_empty_answers_for_every_chunk_fail_the_case(server: StandIn) -> None:
    server.answer = ""  # as a model that stops at once, or spends max_tokens thinking, answers
    with pytest.raises(SplitinferError, match="kept no word"):
        LLMTeacher(endpoint=server.endpoint, chunk_words=12).score("q?", CONTEXT)


def test_a_slow_answer_fails_the_case_instead_of_stopping_the_run(server: StandIn) -> None:
    server.delay = 1.0  # it answers, but after the timeout
    teacher = LLMTeacher(endpoint=server.endpoint, timeout=0.2, max_retries=1, backoff=0.01)
    results = dict(teacher.score_stream([("q?", CONTEXT)]))  # an EndpointError would raise here
    assert isinstance(results[0], SplitinferError) and "did not answer within 0.2 s" in str(results[0])
    assert str(results[0]).endswith(
        "gave up after 2 attempts; raise --timeout, or lower --workers or --chunk-words"
    )


def test_a_model_the_server_does_not_list_stops_before_any_request(server: StandIn) -> None:
    server.models = ["tiny-llama"]  # like llama.cpp, the stand-in would answer any model name
    with pytest.raises(SplitinferError, match=r"'default' is not served .* it serves tiny-llama"):
        LLMTeacher(endpoint=server.endpoint).score("q?", CONTEXT)
    assert server.texts == []
    assert LLMTeacher(endpoint=server.endpoint, model="tiny-llama").score("q?", CONTEXT).size


def test_a_chunk_over_the_models_context_says_to_lower_chunk_words(server: StandIn) -> None:
    server.context_words = 5
    teacher = LLMTeacher(endpoint=server.endpoint, chunk_words=12)
    with pytest.raises(SplitinferError, match=r"exceed context window.*lower --chunk-words \(now 12\)"):
        teacher.score("q?", CONTEXT)


def test_an_unreachable_server_gives_up_with_a_clear_error() -> None:
    teacher = LLMTeacher(endpoint="http://127.0.0.1:9/v1", max_retries=1, backoff=0.01, timeout=2)
    with pytest.raises(SplitinferError, match=r"cannot reach .* gave up after 2 attempts"):
        teacher.score("q?", CONTEXT)


def test_settings_record_how_labels_were_made_without_secrets(server: StandIn) -> None:
    settings = LLMTeacher(endpoint=server.endpoint, api_key="sk-secret", model="big").settings()
    assert settings["model"] == "big" and settings["min_alignment"] == 0.9
    assert "sk-secret" not in json.dumps(settings)


def _qa_file(path: Path, n: int, drift: set[int] = frozenset()) -> Path:
    lines = []
    for i in range(n):
        extra = " DRIFT" if i in drift else ""
        lines.append(
            json.dumps(
                {"question": f"question {i}?", "context": f"Case {i}{extra}. " + CONTEXT, "answers": []}
            )
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def _label_args(data: Path, out: Path, server: StandIn, *extra: str) -> list[str]:
    return ["distill", "label", "--format", "qa", "--data", str(data), "--split", "all", "--teacher", "llm",
            "--endpoint", server.endpoint, "--output", str(out), "--quiet", *extra]  # fmt: skip


def test_label_skips_drifting_cases_and_reports_them(server: StandIn, tmp_path: Path, capsys) -> None:
    data = _qa_file(tmp_path / "qa.jsonl", 4, drift={2})
    out = tmp_path / "labels.jsonl"
    assert main(_label_args(data, out, server)) == 0
    meta, records = read_labels(out)
    assert meta["teacher"] == "llm" and meta["count"] == 4
    assert sorted(r.id for r in records) == ["qa-0", "qa-1", "qa-3"]
    assert "1 failed" in capsys.readouterr().out


def test_a_run_that_fails_on_every_case_leaves_no_file_or_the_old_one(
    server: StandIn, tmp_path: Path
) -> None:
    out = tmp_path / "labels.jsonl"
    assert main(_label_args(_qa_file(tmp_path / "ok.jsonl", 2), out, server)) == 0
    before = out.read_bytes()
    drifting = _qa_file(tmp_path / "drift.jsonl", 2, drift={0, 1})
    assert main([*_label_args(drifting, out, server), "--overwrite"]) == 1
    assert out.read_bytes() == before  # --overwrite kept the old labels: nothing replaced them
    fresh = tmp_path / "fresh.jsonl"
    assert main(_label_args(drifting, fresh, server)) == 1
    assert not fresh.exists()


def _labelling_slowly(server: StandIn, tmp_path: Path, **popen: Any) -> tuple[Path, Path, subprocess.Popen]:
    """``distill label`` of 8 cases in a process of its own, one request at a time, 0.4 s each;
    returned once it has written 3 lines (its header and 2 cases): data, labels file, process."""
    data = _qa_file(tmp_path / "qa.jsonl", 8)
    out = tmp_path / "labels.jsonl"
    server.delay = 0.4
    command = [sys.executable, "-m", "splitinfer.cli.main", *_label_args(data, out, server, "--workers", "1")]
    child = subprocess.Popen(command, env={**os.environ, "PYTHONUNBUFFERED": "1"}, **popen)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < 3):
        time.sleep(0.05)
    return data, out, child


@pytest.mark.slow
def test_a_killed_run_resumes_without_relabelling_finished_cases(server: StandIn, tmp_path: Path) -> None:
    data, out, child = _labelling_slowly(server, tmp_path)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    done_before = {r.id for r in read_labels(out)[1]}
    assert 2 <= len(done_before) < 8
    server.delay = 0.0
    server.texts.clear()
    assert main([*_label_args(data, out, server), "--resume"]) == 0
    _, records = read_labels(out)
    assert sorted(r.id for r in records) == [f"qa-{i}" for i in range(8)]
    assert len(server.texts) == 8 - len(done_before)
    assert not any(t.startswith(f"Case {i.split('-')[1]}.") for i in done_before for t in server.texts)


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_keeps_the_finished_cases_and_says_how_to_go_on(
    server: StandIn, tmp_path: Path, stop: signal.Signals
) -> None:
    _, out, child = _labelling_slowly(server, tmp_path, stderr=subprocess.PIPE, text=True)
    child.send_signal(stop)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 130
    done = len(read_labels(out)[1])
    assert 2 <= done < 8
    assert f"stopped after {done} cases; they are kept in {out}: run again with --resume" in stderr


def test_offset_and_limit_label_one_slice_of_the_corpus(server: StandIn, tmp_path: Path) -> None:
    data = _qa_file(tmp_path / "qa.jsonl", 6)
    out = tmp_path / "labels.jsonl"
    assert main([*_label_args(data, out, server), "--offset", "2", "--limit", "3"]) == 0
    meta, records = read_labels(out)
    assert (
        sorted(r.id for r in records) == ["qa-2", "qa-3", "qa-4"]
        and meta["offset"] == 2
        and meta["count"] == 3
    )


def test_an_endpoint_that_refuses_every_request_stops_the_run_at_once(
    server: StandIn, tmp_path: Path, capsys
) -> None:
    data = _qa_file(tmp_path / "qa.jsonl", 6)
    out = tmp_path / "labels.jsonl"
    args = _label_args(data, out, server, "--workers", "1")
    args[args.index(server.endpoint)] = server.endpoint + "/wrong"  # the stand-in answers 404 there
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "HTTP 404" in err and len(err.strip().splitlines()) == 1
    assert "no case was labelled, so nothing was written" in err and "--resume" not in err
    assert "case qa-" not in err  # stopped, not failed case by case
    assert "endpoint usage: " in err and "requests 1" in err  # what the stopped run spent
    assert not out.exists()  # nothing was labelled, so no labels file is left
    args[args.index(server.endpoint + "/wrong")] = server.endpoint
    assert main(args) == 0  # what the error advises works from there
    assert len(read_labels(out)[1]) == 6


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--endpoint", "127.0.0.1:8000/v1"], "must be an http(s) base URL"),
        (["--endpoint", "http://[::1/v1"], "is not a URL"),
        (
            ["--api-key-env", "SPLITINFER_TEST_UNSET_KEY"],
            "SPLITINFER_TEST_UNSET_KEY: that environment variable",
        ),
        (["--timeout", "0"], "--timeout must be a number of seconds > 0, got 0"),
    ],
)
def test_a_bad_endpoint_or_a_missing_key_exits_2_before_any_request(
    server: StandIn, tmp_path: Path, capsys, monkeypatch, extra: list[str], message: str
) -> None:
    monkeypatch.delenv("SPLITINFER_TEST_UNSET_KEY", raising=False)
    out = tmp_path / "labels.jsonl"
    assert main([*_label_args(_qa_file(tmp_path / "qa.jsonl", 2), out, server), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() and server.texts == []
