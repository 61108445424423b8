"""What ``splitinfer distill label`` says when its teacher fails: a model that never compresses
(a random-weight or base model rambles until max_tokens) fails every case, and the run then says
so once, with what to check, instead of pointing at a labels file it never wrote."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from splitinfer.cli.main import main
from splitinfer.converters.corpus import build_cases
from splitinfer.converters.labels import label_corpus, read_labels
from splitinfer.converters.teachers.llm import LLMTeacher
from splitinfer.sdk._errors import SplitinferError

RAMBLE = "CtkbyZHQ theqNmn tdZDET " * 40  # what a random-weight model answers, cut off


def _engine(answer: str, finish_reason: str) -> httpx.MockTransport:
    """An OpenAI-compatible engine serving the model ``tiny`` that answers ``answer`` to everything."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": "tiny"}]})
        choice = {"message": {"role": "assistant", "content": answer}, "finish_reason": finish_reason}
        return httpx.Response(
            200, json={"choices": [choice], "usage": {"prompt_tokens": 9, "completion_tokens": 64}}
        )

    return httpx.MockTransport(handle)


@pytest.fixture
def rambling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every httpx.AsyncClient talks to an engine whose model rambles until max_tokens."""
    real = httpx.AsyncClient
    transport = _engine(RAMBLE, "length")
    monkeypatch.setattr(httpx, "AsyncClient", lambda **kw: real(transport=transport, **kw))


def _qa(path: Path, n: int) -> Path:
    records = [
        {"question": f"who won {i}?", "context": f"Alice won round {i}.", "answers": ["Alice"]}
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _label_llm(data: Path, out: Path, *extra: str) -> int:
    args = ["distill", "label", "--format", "qa", "--data", str(data), "--split", "all", "--output", str(out)]
    llm = ["--teacher", "llm", "--endpoint", "http://127.0.0.1:9/v1", "--model", "tiny"]
    return main([*args, *llm, "--quiet", *extra])


def test_an_answer_cut_off_on_a_short_chunk_says_the_model_wrote_something_else(rambling: None) -> None:
    teacher = LLMTeacher(endpoint="http://127.0.0.1:9/v1", model="tiny")
    with pytest.raises(SplitinferError) as caught:
        teacher.score("Who won?", "Alice won.")
    message = str(caught.value)
    assert message.startswith("the model's answer ran to max_tokens (1024) although")
    assert "words 0-2 are only 10 bytes" in message and "the model wrote something else" in message


def test_a_run_that_fails_every_case_says_nothing_was_written_and_blames_the_model(
    rambling: None, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "labels.jsonl"
    assert _label_llm(_qa(tmp_path / "qa.jsonl", 3), out) == 1
    printed = capsys.readouterr()
    assert not out.exists()
    assert f"3 failed -> nothing written to {out}" in printed.out
    error = printed.err.splitlines()[-1]
    assert error.startswith("splitinfer distill label: error: the teacher failed on every case it was asked")
    assert "to label (3), so no labels were written" in error
    assert "the first: case qa-0: the model's answer ran to max_tokens" in error
    assert "Not one of the model's 3 answers kept to the original words" in error


def test_a_resumed_run_that_fails_every_remaining_case_adds_nothing_and_says_so(
    rambling: None, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data, out = _qa(tmp_path / "qa.jsonl", 2), tmp_path / "labels.jsonl"
    header = {
        "teacher": "llm",
        "settings": LLMTeacher(model="tiny").settings(),
        "format": "qa",
        "split": "all",
    }
    meta = {**header, "distractors": None, "data": "qa.jsonl", "offset": 0, "seed": 0, "line_breaks": True}
    record = {"id": "qa-0", "source": "qa", "split": "train", "question": "who won 0?", "words": ["Alice"],
              "scores": [1.0], "answers": ["Alice"]}  # fmt: skip
    out.write_text(json.dumps({"_meta": meta}) + "\n" + json.dumps(record) + "\n")
    assert _label_llm(data, out, "--resume") == 1
    assert [r.id for r in read_labels(out)[1]] == ["qa-0"]
    printed = capsys.readouterr()
    assert f"1 already done, 1 failed -> {out} (no case added)" in printed.out
    assert f"asked to label (1), so none was added to {out}" in printed.err


def test_once_a_chunk_fails_its_case_the_other_chunks_are_not_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = httpx.AsyncClient
    asked: list[str] = []

    async def drifting(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": "tiny"}]})
        asked.append(request.content.decode())
        await asyncio.sleep(0.01)  # an answer takes a while, as from a real engine
        choice = {
            "message": {"role": "assistant", "content": "something else entirely"},
            "finish_reason": "stop",
        }
        return httpx.Response(200, json={"choices": [choice]})

    transport = httpx.MockTransport(drifting)
    monkeypatch.setattr(httpx, "AsyncClient", lambda **kw: real(transport=transport, **kw))
    teacher = LLMTeacher(endpoint="http://127.0.0.1:9/v1", model="tiny", concurrency=1, chunk_words=4)
    context = "Alice won the race. Bob came second there. Carol was third today. Dan did not run."
    assert len(teacher.chunks(context)) == 4
    with pytest.raises(SplitinferError, match="words 0-4 drifted"):
        teacher.score("Who won?", context)
    # The chunk already in flight when the first failed is dropped; the later ones are never sent.
    assert not any("Carol" in body or "Dan did" in body for body in asked)


def test_an_interrupted_run_counts_the_cases_that_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    class FailsThenStops:
        name = "flaky"

        def settings(self) -> dict:
            return {}

        def score_stream(self, pairs):  # one failed case, then Ctrl-C
            yield 0, SplitinferError("drifted")
            raise KeyboardInterrupt

    cases = build_cases("qa", _qa(tmp_path / "qa.jsonl", 2), split=None)
    with pytest.raises(KeyboardInterrupt):
        label_corpus(FailsThenStops(), cases, tmp_path / "l.jsonl", {"teacher": "flaky"}, progress=False)
    assert "stopped after 0 cases (1 failed)" in capsys.readouterr().err
