"""The ``openai`` backend, through our gRPC server, against an OpenAI-compatible HTTP server.

No inference engine runs in CI, so the upstream is ``server_openai_standin``: a stand-in that
speaks the real protocol (chat completions, streaming SSE over chunked HTTP/1.1 with
``data: {...}`` events and ``data: [DONE]``, OpenAI error bodies and statuses, ``Retry-After``,
API-key checks, slow streams that notice a client going away), on loopback in a thread.
"""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from server_openai_standin import REPLY, OpenAIStandin
from server_support import collect, free_port, stub_for, wait_until

from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig
from splitinfer.v1 import inference_pb2 as pb

API_KEY = "upstream-key-for-tests"
KEY_ENV = "SPLITINFER_TEST_UPSTREAM_KEY"
CASES = ("ok", "slow", "400", "429", "500", "midstream", "hang")


@pytest.fixture(scope="module")
def upstream():
    with OpenAIStandin(api_key=API_KEY) as standin:
        yield standin


@pytest.fixture(scope="module")
def server(upstream):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_ENV, API_KEY)
        models = [
            ModelConfig(
                "openai",
                {
                    "name": case,
                    "base_url": upstream.base_url,
                    "model": f"standin-{case}",
                    "api_key_env": KEY_ENV,
                    "read_timeout_s": 1.0,
                },
            )
            for case in CASES
        ]
        models.append(
            ModelConfig("openai", {"name": "nokey", "base_url": upstream.base_url, "model": "standin-ok"})
        )
        models.append(
            ModelConfig(
                "openai", {"name": "down", "base_url": f"http://127.0.0.1:{free_port()}/v1", "model": "x"}
            )
        )
        with BackgroundServer(ServerConfig(port=0, models=tuple(models), default_model="ok")) as srv:
            yield srv


@pytest.fixture(scope="module")
def stub(server):
    channel, stub = stub_for(server.address)
    yield stub
    channel.close()


def ask(model: str, **sampling: object) -> pb.GenerateRequest:
    return pb.GenerateRequest(
        model=model,
        prompt=pb.Prompt(
            instruction="Answer briefly.", context="The bridge took six years.", question="When?"
        ),
        sampling=pb.SamplingOptions(**sampling),
    )


def failure(stub, request: pb.GenerateRequest, timeout: float | None = None) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        collect(stub.Generate(request, timeout=timeout))
    return caught.value


def test_streams_the_upstream_answer_with_its_usage(stub, upstream):
    text, final = collect(stub.Generate(ask("ok", temperature=0.2)))
    assert text == REPLY + " "
    assert final.finish_reason == pb.STOP
    assert final.usage.completion_tokens == len(REPLY.split())
    # The stand-in counts prompt tokens as words of the messages, and the server reports its count.
    messages = "Answer briefly. Context: The bridge took six years. Question: When?"
    assert final.usage.prompt_tokens == len(messages.split())


def test_sends_the_prompt_as_chat_messages_with_the_api_key(stub, upstream):
    collect(stub.Generate(ask("ok", temperature=0.2, top_p=0.9, seed=7, max_new_tokens=30)))
    headers, body = upstream.state.requests[-1]
    assert headers["Authorization"] == f"Bearer {API_KEY}"
    assert body["model"] == "standin-ok"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert (body["max_tokens"], body["temperature"], body["top_p"], body["seed"]) == (
        30,
        pytest.approx(0.2),
        pytest.approx(0.9),
        7,
    )
    assert body["messages"] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Context:\nThe bridge took six years.\n\nQuestion: When?"},
    ]


def test_max_new_tokens_reaches_the_upstream_and_ends_with_length(stub):
    text, final = collect(stub.Generate(ask("ok", max_new_tokens=3)))
    assert text == "The bridge opened "
    assert final.finish_reason == pb.LENGTH


def test_a_stop_string_reported_by_the_upstream_ends_with_stop_string(stub):
    text, final = collect(stub.Generate(ask("ok", stop=["1932"])))
    assert text == "The bridge opened to traffic in "
    assert final.finish_reason == pb.STOP_STRING


def test_upstream_400_is_invalid_argument_with_the_upstream_message(stub):
    err = failure(stub, ask("400"))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "maximum context length is 4096" in err.details()


def test_upstream_429_is_resource_exhausted_with_its_retry_after(stub):
    err = failure(stub, ask("429"))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    retry = error_details_pb2.RetryInfo()
    assert rpc_status.from_call(err).details[0].Unpack(retry)
    assert retry.retry_delay.seconds == 3


def test_upstream_500_is_unavailable(stub):
    err = failure(stub, ask("500"))
    assert err.code() == grpc.StatusCode.UNAVAILABLE
    assert "HTTP 500" in err.details() and "engine crashed" in err.details()


def test_an_unreachable_upstream_is_unavailable(stub):
    err = failure(stub, ask("down"))
    assert err.code() == grpc.StatusCode.UNAVAILABLE
    assert "unreachable" in err.details()


def test_an_error_event_mid_stream_fails_the_call_after_the_chunks_sent(stub):
    stream = stub.Generate(ask("midstream"))
    chunks = []
    with pytest.raises(grpc.RpcError) as caught:
        for response in stream:
            chunks.append(response.chunk.text)
    assert chunks == ["The ", "bridge "]
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert "died mid-stream" in caught.value.details()


def test_a_silent_upstream_times_out_as_deadline_exceeded(stub):
    err = failure(stub, ask("hang"))
    assert err.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "read_timeout_s" in err.details()


def test_a_wrong_server_api_key_is_an_internal_error_not_the_devices_fault(stub):
    err = failure(stub, ask("nokey"))
    assert err.code() == grpc.StatusCode.INTERNAL
    assert "HTTP 401" in err.details() and "api_key_env" in err.details()


def test_cancelling_the_call_closes_the_upstream_stream(stub, upstream):
    before = len(upstream.state.disconnects)
    stream = stub.Generate(ask("slow"))
    for received, _response in enumerate(stream, start=1):
        if received == 3:
            stream.cancel()
            break
    wait_until(lambda: len(upstream.state.disconnects) > before, what="the upstream to see the client go")
    gone = upstream.state.disconnects[-1]
    assert gone.model == "standin-slow"
    assert gone.words_sent < 20  # of 200: the upstream stopped generating soon after the cancel


def test_the_callers_deadline_bounds_the_upstream_call(stub, upstream):
    before = len(upstream.state.disconnects)
    err = failure(stub, ask("slow"), timeout=0.4)
    assert err.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    wait_until(lambda: len(upstream.state.disconnects) > before, what="the upstream to see the client go")
    assert upstream.state.disconnects[-1].words_sent < 30


def test_list_models_shows_openai_models_with_estimated_token_counts(stub):
    listed = stub.ListModels(pb.ListModelsRequest())
    names = [m.name for m in listed.models]
    assert names == [*CASES, "nokey", "down"]
    ok = listed.models[0]
    assert (ok.backend, ok.token_counting) == ("openai", "estimate")
    assert "standin-ok" in ok.description
