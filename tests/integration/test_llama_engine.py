"""The ``openai`` backend in front of a real engine: llama.cpp's server, not a stand-in.

Real processes on real loopback ports: ``python -m llama_cpp.server`` serving a tiny random-weight
llama GGUF (``tiny_gguf.py``), our gRPC server (``--backend openai``) in front of it, and the SDK's
``Client`` calling that over gRPC. The model's answers are nonsense letters; what is checked is the
plumbing: streaming, finish reason and token usage, a condensed prompt end to
end, cancellation reaching the engine, and a dead engine. Opt-in: ``make test-llama``.
"""

from __future__ import annotations

import math

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from llama_engine import MODEL_ALIAS, LlamaEngine
from server_support import wait_until

from splitinfer.sdk import Client, RequestCancelledError, ServerError, ServerUnavailableError, Where
from splitinfer.server import BackgroundServer, ServerConfig

pytestmark = pytest.mark.slow

DOCS = (
    " ".join(
        f"Document {i}: the harbour board met again and talked about paint, trees and the old road."
        for i in range(40)
    )
    + " The bridge opened to traffic in 1932 after six years of work."
)
QUESTION = "When did the bridge open?"
# What llama-cpp-python's server prints when a streaming client goes away mid-answer.
DISCONNECTED = "Disconnected from client"


def openai_server(engine: LlamaEngine) -> BackgroundServer:
    """Our server as ``splitinfer serve --backend openai --openai-base-url ... --model ...`` runs it."""
    config = ServerConfig(
        host="127.0.0.1",
        port=0,
        backend="openai",
        model=MODEL_ALIAS,
        openai_base_url=engine.base_url,
        grace_seconds=0.5,
        log_requests=False,
    )
    return BackgroundServer(config)


@pytest.fixture(scope="module")
def server(engine: LlamaEngine):
    with openai_server(engine) as running:
        yield running


def plain_client(server: BackgroundServer) -> Client:
    return Client(server.address, condenser=None, policy="none", timeout=120)


def test_generate_streams_chunks_from_the_engine_and_ends_with_length_and_usage(server) -> None:
    with plain_client(server) as client:
        stream = client.generate("Say something.", max_new_tokens=16, temperature=0.8, seed=7)
        chunks = list(stream)
    result = stream.result
    assert len(chunks) >= 4, chunks
    assert "".join(chunks) == result.text and result.text.strip()
    # The tiny model never emits its end-of-text token, so the answer runs to max_tokens.
    assert result.finish_reason == "length"
    assert result.model == MODEL_ALIAS
    # llama-cpp-python 0.3.36 ignores stream_options.include_usage, so the counts are the backend's
    # documented estimate (chars_per_token = 4), not the engine's; an engine that reports usage
    # (vLLM, llama-server) would give 16 here.
    assert result.usage.completion_tokens == math.ceil(len(result.text) / 4)
    assert result.usage.prompt_tokens >= math.ceil(len("Say something.") / 4)


def test_the_same_seed_gives_the_same_answer_from_the_engine(server) -> None:
    with plain_client(server) as client:
        first = client.generate("Again?", max_new_tokens=12, temperature=0.9, seed=11).collect()
        second = client.generate("Again?", max_new_tokens=12, temperature=0.9, seed=11).collect()
        other = client.generate("Again?", max_new_tokens=12, temperature=0.9, seed=12).collect()
    assert first.text == second.text
    assert other.text != first.text


def test_a_context_condensed_by_the_bundled_condenser_reaches_the_engine_as_fewer_tokens(server) -> None:
    with Client(server.address, condenser="default", timeout=120) as client:
        condensed = client.generate(QUESTION, context=DOCS, rate=0.3, max_new_tokens=8, seed=1).collect()
        full = client.generate(QUESTION, context=DOCS, policy="none", max_new_tokens=8, seed=1).collect()
    assert condensed.where is Where.DEVICE and condensed.fallback_reason is None
    assert "1932" in condensed.condensed_context
    assert len(condensed.condensed_context) < 0.5 * len(DOCS)
    assert condensed.text.strip() and condensed.finish_reason == "length"
    assert full.condensed_context == DOCS and full.finish_reason == "length"
    assert full.usage.prompt_tokens > len(DOCS) // 4
    assert condensed.usage.prompt_tokens < 0.6 * full.usage.prompt_tokens


def test_cancelling_mid_stream_makes_the_engine_see_the_client_go(server, engine: LlamaEngine) -> None:
    before = engine.log().count(DISCONNECTED)
    with plain_client(server) as client:
        stream = client.generate("Tell a long story.", max_new_tokens=1000, temperature=0.8, seed=3)
        first = [next(stream) for _ in range(3)]
        stream.cancel()
        with pytest.raises(RequestCancelledError):
            next(stream)
        assert all(first)
        # The engine answered the cancel by dropping that stream: it is free for the next call.
        after = client.generate("Still there?", max_new_tokens=4, seed=3).collect()
    assert after.finish_reason == "length"
    wait_until(
        lambda: engine.log().count(DISCONNECTED) > before,
        timeout_s=30,
        what="llama_cpp.server to log the disconnect",
    )


def test_a_killed_engine_is_server_unavailable_for_the_client(own_engine: LlamaEngine) -> None:
    with openai_server(own_engine) as server, plain_client(server) as client:
        assert client.generate("Hello?", max_new_tokens=4, seed=1).collect().text
        own_engine.kill()
        with pytest.raises(ServerUnavailableError) as caught:
            client.generate("Hello?", max_new_tokens=4, seed=1).collect()
    error = caught.value
    assert error.code == "UNAVAILABLE"
    assert own_engine.base_url not in error.server_message  # the engine's address stays in the server's log
    assert "unreachable" in error.server_message


def test_an_engine_killed_mid_stream_fails_the_stream_as_unavailable(own_engine: LlamaEngine) -> None:
    with openai_server(own_engine) as server, plain_client(server) as client:
        stream = client.generate("Tell a long story.", max_new_tokens=1000, temperature=0.8, seed=5)
        next(stream)
        own_engine.kill()
        with pytest.raises(ServerUnavailableError) as caught:
            for _ in stream:
                pass
    assert caught.value.code == "UNAVAILABLE"
    assert own_engine.base_url not in caught.value.server_message


def test_a_prompt_over_the_engines_context_is_one_call_that_says_why(server, engine: LlamaEngine) -> None:
    # llama_cpp.server takes such a prompt with 200 and then closes the stream without an event.
    # Byte-level tokens: 12,000 characters are over the engine's 8,192 tokens but under this
    # server's own estimate, so the engine is the one that refuses.
    context = " ".join(f"w{i % 10}" for i in range(4000))
    requests_before = engine.log().count("POST /v1/chat/completions")
    with plain_client(server) as client, pytest.raises(ServerError) as caught:
        client.generate("What?", context=context, max_new_tokens=4, seed=1).collect()
    assert caught.value.code == "INTERNAL"
    assert "context window" in caught.value.server_message
    assert engine.log().count("POST /v1/chat/completions") - requests_before == 1  # not retried


def test_health_follows_the_engine(own_engine: LlamaEngine) -> None:
    with openai_server(own_engine) as server:
        assert health(server.address) == health_pb2.HealthCheckResponse.SERVING
        own_engine.kill()
        wait_until(
            lambda: health(server.address) == health_pb2.HealthCheckResponse.NOT_SERVING,
            timeout_s=30,
            what="health to report the killed engine",
        )


def health(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest(service="splitinfer.v1.Inference")
        return stub.Check(request, timeout=5).status
