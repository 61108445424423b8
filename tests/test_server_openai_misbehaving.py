"""The ``openai`` backend against upstreams that misbehave the way real engines and proxies do.

Each model of the server below points at one misbehaviour of ``server_openai_standin`` (or, for
``unanswered``, at a port whose connections never complete); the tests call our real gRPC server on
a real port, through the SDK ``Client`` where the client's view matters.
"""

from __future__ import annotations

import logging

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from server_openai_standin import (
    LLAMA_CONTEXT_ERROR,
    REPLY,
    SPLIT_REPLY,
    UNICODE_REPLY,
    OpenAIStandin,
    unanswered_port,
)
from server_support import collect, logged_error

from splitinfer.sdk import Client, OverloadedError
from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig
from splitinfer.v1 import inference_pb2 as pb

CASES = ("separators", "splitchars", "llamaerror", "abort", "errornull", "429date", "nomodel")


@pytest.fixture(scope="module")
def server():
    with OpenAIStandin() as upstream, unanswered_port() as port:
        models = [
            ModelConfig(
                "openai",
                {
                    "name": case,
                    "base_url": upstream.base_url,
                    "model": f"standin-{case}",
                    "read_timeout_s": 2.0,
                },
            )
            for case in CASES
        ]
        models.append(
            ModelConfig(
                "openai",
                {
                    "name": "unanswered",
                    "base_url": f"http://127.0.0.1:{port}/v1",
                    "model": "x",
                    "connect_timeout_s": 0.3,
                },
            )
        )
        config = ServerConfig(port=0, models=tuple(models), default_model=CASES[0])
        with BackgroundServer(config) as srv:
            yield srv


def ask(model: str) -> pb.GenerateRequest:
    return pb.GenerateRequest(
        model=model, prompt=pb.Prompt(context="The bridge took six years.", question="When?")
    )


def chunks_then_failure(stub, model: str) -> tuple[list[str], grpc.RpcError]:
    chunks = []
    with pytest.raises(grpc.RpcError) as caught:
        for response in stub.Generate(ask(model), timeout=10):
            chunks.append(response.chunk.text)
    return chunks, caught.value


def requests_total(server, code: str, model: str) -> float:
    labels = {"method": "Generate", "code": code, "model": model}
    return server.server.metrics.registry.get_sample_value("splitinfer_requests_total", labels) or 0.0


def test_an_answer_holding_line_separators_streams_whole(stub):
    """U+2028 and U+0085 travel unescaped inside JSON strings; they do not end an event line."""
    text, final = collect(stub.Generate(ask("separators"), timeout=10))
    assert text == "".join(UNICODE_REPLY)
    assert final.finish_reason == pb.STOP


def test_characters_split_between_two_events_arrive_whole(stub):
    text, final = collect(stub.Generate(ask("splitchars"), timeout=10))
    assert text == SPLIT_REPLY
    assert final.finish_reason == pb.STOP


def test_llama_cpp_error_line_fails_the_call_with_its_message_not_an_empty_answer(server, stub):
    before = requests_total(server, "INTERNAL", "llamaerror")
    chunks, err = chunks_then_failure(stub, "llamaerror")
    assert chunks == []
    assert err.code() == grpc.StatusCode.INTERNAL
    assert LLAMA_CONTEXT_ERROR in err.details()
    assert requests_total(server, "INTERNAL", "llamaerror") == before + 1


def test_an_answer_the_engine_aborted_is_unavailable_not_complete(stub):
    chunks, err = chunks_then_failure(stub, "abort")
    assert chunks == ["The ", "bridge "]
    assert err.code() == grpc.StatusCode.UNAVAILABLE
    assert "finish_reason 'abort'" in err.details() and "cut off" in err.details()


def test_events_with_a_null_error_field_are_an_answer(stub):
    text, final = collect(stub.Generate(ask("errornull"), timeout=10))
    assert text == REPLY + " "
    assert final.finish_reason == pb.STOP


def test_retry_after_as_an_http_date_is_the_retry_hint(server, stub):
    err = chunks_then_failure(stub, "429date")[1]
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    retry = error_details_pb2.RetryInfo()
    assert rpc_status.from_call(err).details[0].Unpack(retry)
    assert 100 <= retry.retry_delay.seconds <= 120  # the date is 120 s ahead of the upstream's clock
    with (
        Client(server.address, condenser=None, policy="none", timeout=10) as client,
        pytest.raises(OverloadedError) as caught,
    ):
        client.generate("When?", model="429date").collect()
    assert 100 <= caught.value.retry_after_s <= 120


@pytest.fixture(autouse=True)
def request_log(caplog):
    caplog.set_level(logging.INFO, logger="splitinfer.server.requests")


def test_a_404_for_an_unknown_model_names_the_model_setting_in_the_log(stub, caplog):
    err = chunks_then_failure(stub, "nomodel")[1]
    assert err.code() == grpc.StatusCode.INTERNAL
    assert "does not know the model or the path" in err.details()
    assert "does not exist" not in err.details()  # the upstream's text
    logged = logged_error(caplog, "nomodel")
    assert "check the model id (--model, model" in logged and "/v1/models" in logged


def test_an_upstream_that_never_accepts_the_connection_is_unavailable_naming_connect_timeout_s(stub, caplog):
    """Nothing reached the engine, so the call may be retried (elsewhere): UNAVAILABLE, as for a
    refused connection, not DEADLINE_EXCEEDED with advice about read_timeout_s."""
    err = chunks_then_failure(stub, "unanswered")[1]
    assert err.code() == grpc.StatusCode.UNAVAILABLE
    assert "unreachable" in err.details() and "connect_timeout_s" not in err.details()
    assert "no connection within connect_timeout_s (0.3 s)" in logged_error(caplog, "unanswered")
