"""The embedded ``extractive`` backend: a stand-in large model that answers with the context sentence
most relevant to the question, using the real all-MiniLM-L6-v2 encoder on the CPU.

One server is shared by the module: loading the encoder takes a few seconds.
"""

from __future__ import annotations

import logging
import random
import threading
from typing import Any

import grpc
import pytest
from server_support import collect, stub_for, wait_until

from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig
from splitinfer.server.backends import extractive
from splitinfer.server.backends.base import prompt_text
from splitinfer.server.backends.extractive import (
    NO_CONTEXT_ANSWER,
    ExtractiveAnswerer,
    count_tokens,
    load_encoder,
    split_passages,
    token_pieces,
)
from splitinfer.v1 import inference_pb2 as pb

CONTEXT = (
    "The Eiffel Tower is a wrought-iron lattice tower in Paris. It was designed by the company of "
    "Gustave Eiffel. Mount Everest is the highest mountain above sea level, at 8,849 metres. "
    "The Amazon is the largest rainforest on Earth, covering much of Brazil. "
    "Penicillin was discovered by Alexander Fleming in 1928 at St Mary's Hospital in London."
)


@pytest.fixture(scope="module")
def answerer() -> ExtractiveAnswerer:
    return ExtractiveAnswerer()


@pytest.fixture(scope="module")
def server():
    models = (
        ModelConfig("extractive", {}),
        ModelConfig("extractive", {"name": "extractive-small", "context_tokens": 32, "max_new_tokens": 4}),
    )
    with BackgroundServer(ServerConfig(port=0, models=models)) as srv:
        yield srv


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Who discovered penicillin?", "Alexander Fleming"),
        ("How tall is the highest mountain?", "8,849 metres"),
        ("Which rainforest is the biggest?", "Amazon"),
        ("In which city is the Eiffel Tower?", "Paris"),
    ],
)
def test_answer_is_the_sentence_that_answers_the_question(answerer, question, expected):
    assert expected in answerer.answer(question, CONTEXT)


def test_a_condensed_context_without_punctuation_still_yields_a_short_span(answerer):
    condensed = " ".join(CONTEXT.replace(".", "").replace(",", "").split()[::1])
    spans = split_passages(condensed)
    answer = answerer.answer("Who discovered penicillin?", condensed)
    assert len(spans) > 1
    assert "Fleming" in answer
    assert len(answer.split()) <= 40


def test_no_context_gives_the_fixed_no_context_answer(answerer):
    assert answerer.answer("Who discovered penicillin?", "   ") == NO_CONTEXT_ANSWER


def test_generate_streams_the_extracted_answer_one_token_per_chunk_with_exact_usage(stub, answerer):
    request = pb.GenerateRequest(prompt=pb.Prompt(context=CONTEXT, question="Who discovered penicillin?"))
    responses = list(stub.Generate(request))
    chunks = [r.chunk.text for r in responses[:-1]]
    final = responses[-1].final
    answer = answerer.answer("Who discovered penicillin?", CONTEXT)
    assert "".join(chunks) == answer
    assert len(chunks) == count_tokens(answer)
    assert final.model == "extractive"
    assert final.finish_reason == pb.STOP
    assert final.usage.prompt_tokens == count_tokens(prompt_text("", CONTEXT, "Who discovered penicillin?"))
    assert final.usage.completion_tokens == count_tokens(answer)


def test_max_new_tokens_cuts_the_answer_within_the_budget(stub):
    request = pb.GenerateRequest(
        prompt=pb.Prompt(context=CONTEXT, question="Who discovered penicillin?"),
        sampling=pb.SamplingOptions(max_new_tokens=3),
    )
    text, final = collect(stub.Generate(request))
    assert final.finish_reason == pb.LENGTH
    assert 0 < final.usage.completion_tokens <= 3
    assert count_tokens(text) == final.usage.completion_tokens


def test_text_held_back_for_a_stop_string_is_sent_when_max_new_tokens_ends_the_answer(stub, answerer):
    # The last token allowed could start a stop string, so it is held back until the next token
    # decides; when the budget ends the answer first, it was still generated and must be sent.
    pieces = token_pieces(answerer.answer("Who discovered penicillin?", CONTEXT))
    request = pb.GenerateRequest(
        prompt=pb.Prompt(context=CONTEXT, question="Who discovered penicillin?"),
        sampling=pb.SamplingOptions(max_new_tokens=4, stop=[pieces[3].strip() + " never follows"]),
    )
    text, final = collect(stub.Generate(request))
    assert text == "".join(pieces[:4])
    assert final.finish_reason == pb.LENGTH
    assert final.usage.completion_tokens == 4


def test_a_prompt_longer_than_the_model_reads_is_invalid_argument(stub):
    request = pb.GenerateRequest(model="extractive-small", prompt=pb.Prompt(context=CONTEXT, question="Who?"))
    with pytest.raises(grpc.RpcError) as caught:
        list(stub.Generate(request))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "reads at most 32" in caught.value.details()


def test_model_info_says_it_is_an_extractive_stand_in(stub):
    (default, small) = stub.ListModels(pb.ListModelsRequest()).models
    assert (default.name, default.backend, default.token_counting) == ("extractive", "extractive", "exact")
    assert "stand-in" in default.description.lower()
    assert (small.context_tokens, small.max_new_tokens) == (32, 4)


class WatchedEncoder:
    """The real MiniLM encoder, counting the texts it encoded and the ``encode`` calls running now."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.running = 0
        self.encoded = 0
        self._lock = threading.Lock()

    def encode(self, texts: list[str], **kwargs: Any) -> Any:
        with self._lock:
            self.running += 1
        try:
            return self.real.encode(texts, **kwargs)
        finally:
            with self._lock:
                self.running -= 1
                self.encoded += len(texts)


@pytest.fixture()
def watched_encoder(monkeypatch) -> WatchedEncoder:
    watched = WatchedEncoder(load_encoder())
    monkeypatch.setattr(extractive, "_encoder", watched)
    return watched


def test_a_cancelled_call_stops_encoding_and_holds_its_slot_until_the_work_has_stopped(watched_encoder):
    # ~4,000 sentences take the encoder many seconds on one thread; the call is cancelled as soon
    # as the encoding has started.
    rng = random.Random(0)
    words = [f"w{i}" for i in range(17)] + ["rho"]
    context = " ".join(" ".join(rng.choice(words) for _ in range(12)) + "." for _ in range(4000))
    spans = len(split_passages(context))
    config = ServerConfig(
        port=0,
        models=(ModelConfig("extractive", {"name": "long", "context_tokens": 200_000}),),
        max_concurrent=1,
        max_queued=0,
    )
    with BackgroundServer(config) as srv:
        admission = srv.server.core.admission
        channel, stub = stub_for(srv.address)
        call = stub.Generate(pb.GenerateRequest(prompt=pb.Prompt(context=context, question="what is rho?")))
        wait_until(lambda: watched_encoder.running == 1, 60, "the encoder to start on the context")
        call.cancel()
        with pytest.raises(grpc.RpcError) as caught:
            list(call)
        wait_until(lambda: admission.running == 0, 60, "the cancelled call to free its slot")
        # The slot was freed only once the encoder had stopped, well before the end of the context.
        running_when_freed = watched_encoder.running
        channel.close()
    assert caught.value.code() == grpc.StatusCode.CANCELLED
    assert running_when_freed == 0
    assert watched_encoder.encoded < spans / 4


def test_encoding_writes_no_progress_bars_to_stderr(answerer, capfd, caplog):
    # `splitinfer serve` logs at INFO, the level at which sentence-transformers draws tqdm bars on
    # stderr, in between the JSON request log lines.
    caplog.set_level(logging.INFO, logger="sentence_transformers")
    answer = answerer.answer("Who discovered penicillin?", CONTEXT)
    err = capfd.readouterr().err
    assert "Fleming" in answer
    assert "Batches" not in err and "it/s" not in err
