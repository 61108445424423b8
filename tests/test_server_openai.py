"""The ``openai`` backend, through our gRPC server, against an OpenAI-compatible HTTP server.

No inference engine runs in CI, so the upstream is ``server_openai_standin``: a stand-in that
speaks the real protocol (chat completions, streaming SSE over chunked HTTP/1.1 with
``data: {...}`` events and ``data: [DONE]``, OpenAI error bodies and statuses, ``Retry-After``,
API-key checks, slow streams that notice a client going away), on loopback in a thread.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from dataclasses import replace

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from server_openai_standin import REPLY, OpenAIStandin
from server_support import collect, free_port, logged_error, stub_for, wait_until

from splitinfer.sdk._errors import InvalidInputError
from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig
from splitinfer.server.backends.base import GenerationRequest, Sampling
from splitinfer.server.backends.openai import OpenAIBackend
from splitinfer.v1 import inference_pb2 as pb

API_KEY = "upstream-key-for-tests"
KEY_ENV = "SPLITINFER_TEST_UPSTREAM_KEY"
CASES = (
    "ok",
    "slow",
    "400",
    "429",
    "500",
    "midstream",
    "hang",
    "json200",
    "html200",
    "nodone",
    "empty200",
    "badchoice",
    "baddelta",
    "textusage",
    "negusage",
)


@pytest.fixture(autouse=True)
def request_log(caplog):
    caplog.set_level(logging.INFO, logger="splitinfer.server.requests")


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
        models.append(
            ModelConfig(
                "openai",
                {
                    "name": "one-connection",
                    "base_url": upstream.base_url,
                    "model": "standin-slow",
                    "api_key_env": KEY_ENV,
                    "read_timeout_s": 1.0,
                    "max_connections": 1,
                },
            )
        )
        with BackgroundServer(ServerConfig(port=0, models=tuple(models), default_model="ok")) as srv:
            yield srv


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


def test_calls_in_a_row_reuse_one_connection_to_the_upstream(stub, upstream):
    first = len(upstream.state.clients)
    for _ in range(3):
        collect(stub.Generate(ask("ok")))
    peers = upstream.state.clients[first:]
    assert len(peers) == 3 and len(set(peers)) == 1  # one TCP connection, not one per call


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


def test_upstream_500_is_unavailable_and_only_the_log_names_the_upstream(stub, upstream, caplog):
    err = failure(stub, ask("500"))
    assert err.code() == grpc.StatusCode.UNAVAILABLE
    assert err.details() == "model '500' is unavailable: its engine failed (HTTP 500); retry later"
    logged = logged_error(caplog, "500")
    assert f"upstream {upstream.base_url} answered HTTP 500" in logged
    assert "engine crashed" not in logged  # the upstream's text: it may quote the prompt


def test_an_unreachable_upstream_is_unavailable(stub):
    err = failure(stub, ask("down"))
    assert err.code() == grpc.StatusCode.UNAVAILABLE
    assert "unreachable" in err.details() and "http" not in err.details()


def chunks_then_failure(stub, request: pb.GenerateRequest) -> tuple[list[str], grpc.RpcError]:
    """The text chunks a call streamed before it failed, and its error."""
    chunks = []
    with pytest.raises(grpc.RpcError) as caught:
        for response in stub.Generate(request):
            chunks.append(response.chunk.text)
    return chunks, caught.value


def test_an_error_event_mid_stream_fails_the_call_after_the_chunks_sent(stub):
    chunks, err = chunks_then_failure(stub, ask("midstream"))
    assert chunks == ["The ", "bridge "]
    assert err.code() == grpc.StatusCode.INTERNAL
    assert err.details() == "model 'midstream' failed mid-answer: its engine reported an error"


def test_a_silent_upstream_times_out_as_deadline_exceeded(stub, caplog):
    err = failure(stub, ask("hang"))
    assert err.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "read_timeout_s" not in err.details()  # the operator's fix, in the log
    assert "raise read_timeout_s" in logged_error(caplog, "hang")


def test_a_wrong_server_api_key_is_an_internal_error_not_the_devices_fault(stub, caplog):
    err = failure(stub, ask("nokey"))
    assert err.code() == grpc.StatusCode.INTERNAL
    assert "misconfigured" in err.details() and "HTTP 401" in err.details()
    assert "api_key_env" not in err.details()
    assert "check api_key_env (--openai-api-key-env)" in logged_error(caplog, "nokey")


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
    assert names == [*CASES, "nokey", "down", "one-connection"]
    ok = listed.models[0]
    assert (ok.backend, ok.token_counting) == ("openai", "estimate")
    assert ok.description == "standin-ok on an OpenAI-compatible engine (chat completions)"


def metric(server, name: str, **labels: str) -> float:
    """One sample of the server's Prometheus registry (0 when it was never counted)."""
    return server.server.metrics.registry.get_sample_value(name, labels) or 0.0


def test_upstream_429_is_counted_apart_from_the_servers_own_overload(server, stub):
    before = (
        metric(server, "splitinfer_rejected_total", reason="upstream_overloaded"),
        metric(server, "splitinfer_rejected_total", reason="overloaded"),
    )
    failure(stub, ask("429"))
    after = (
        metric(server, "splitinfer_rejected_total", reason="upstream_overloaded"),
        metric(server, "splitinfer_rejected_total", reason="overloaded"),
    )
    assert after == (before[0] + 1, before[1])


def test_prompt_tokens_metric_counts_the_upstreams_usage_and_nothing_for_failed_calls(server, stub):
    before_ok = metric(server, "splitinfer_prompt_tokens_total", model="ok")
    before_500 = metric(server, "splitinfer_prompt_tokens_total", model="500")
    _text, final = collect(stub.Generate(ask("ok")))
    failure(stub, ask("500"))
    # The stand-in counts words (10); the server's own estimate, 4 characters a token, says 13.
    assert (
        metric(server, "splitinfer_prompt_tokens_total", model="ok") - before_ok == final.usage.prompt_tokens
    )
    assert metric(server, "splitinfer_prompt_tokens_total", model="500") == before_500


def test_a_full_connection_pool_is_resource_exhausted_with_advice_on_max_connections_in_the_log(
    stub, upstream, caplog
):
    before = len(upstream.state.disconnects)
    holder = stub.Generate(ask("one-connection"))
    next(holder)  # the model's only connection is now streaming
    err = failure(stub, ask("one-connection"))
    logged = logged_error(caplog, "one-connection")
    holder.cancel()
    wait_until(lambda: len(upstream.state.disconnects) > before, what="the upstream to see the holder go")
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "every connection to its engine is in use" in err.details()
    assert "max_connections" not in err.details()
    assert "raise the model's max_connections" in logged and "raise read_timeout_s" not in logged


@pytest.mark.parametrize(
    ("model", "content_type"), [("json200", "application/json"), ("html200", "text/html")]
)
def test_a_200_that_is_not_an_event_stream_is_an_upstream_error_not_an_empty_answer(
    stub, model, content_type, caplog
):
    err = failure(stub, ask(model))
    assert err.code() == grpc.StatusCode.INTERNAL
    assert f"answered 200 with a Content-Type {content_type}, not text/event-stream" in err.details()
    assert "the engine's OpenAI-compatible /v1" in logged_error(caplog, model)


def test_a_stream_that_ends_without_done_or_a_finish_reason_fails_instead_of_looking_complete(stub):
    chunks, err = chunks_then_failure(stub, ask("nodone"))
    assert "".join(chunks) == REPLY + " "
    assert err.code() == grpc.StatusCode.UNAVAILABLE
    assert "ended without [DONE] or a finish_reason" in err.details()
    assert "cut off" in err.details()


def test_a_200_stream_closed_before_any_event_is_not_retried_and_says_why(server, upstream):
    """llama_cpp.server answers a prompt over its n_ctx with 200 and an empty stream: INTERNAL (the
    SDK would retry UNAVAILABLE five times, each time the same refusal) with what to do."""
    before = sum(1 for _, body in upstream.state.requests if body.get("model") == "standin-empty200")
    from splitinfer.sdk import Client, ServerError

    with (
        Client(server.address, condenser=None, policy="none", timeout=30) as client,
        pytest.raises(ServerError) as caught,
    ):
        client.generate("When?", context="The bridge took six years.", model="empty200").collect()
    assert caught.value.code == "INTERNAL"
    message = caught.value.server_message
    assert "without sending a single event" in message
    assert "context window" in message and "shorten or condense it" in message
    assert "context_tokens" not in message  # the operator's fix, in the log
    after = sum(1 for _, body in upstream.state.requests if body.get("model") == "standin-empty200")
    assert after - before == 1  # asked once, not retried


@pytest.mark.parametrize(
    ("model", "field"),
    [
        ("badchoice", "choices[0] is not an object"),
        ("baddelta", "choices[0].delta is not an object"),
        ("textusage", "usage.prompt_tokens is not a whole number"),
        ("negusage", "usage.prompt_tokens is not a whole number"),
    ],
)
def test_a_malformed_event_is_an_upstream_error_naming_the_field(stub, model, field):
    err = failure(stub, ask(model))
    assert err.code() == grpc.StatusCode.INTERNAL
    assert "sent a malformed stream event" in err.details()
    assert field in err.details()


# A client in its own process, as `splitinfer ask` is: it reads each final message and hangs up at
# once (in this process the GIL lets the server end the call first, hiding the race).
_HANG_UP_CLIENT = """
import sys
from splitinfer.sdk import Client
for i in range(int(sys.argv[2])):
    with Client(sys.argv[1], condenser=None, policy="none", timeout=30) as client:
        assert client.generate(f"When? {i}", model="ok").collect().finish_reason == "stop"
"""


def test_an_answer_read_to_its_final_message_is_counted_ok_even_if_the_client_hangs_up_at_once(server):
    """The call delivered its whole answer (and its tokens were counted), so the request log and
    requests_total say OK, not CANCELLED."""
    calls = 20
    codes = ("OK", "CANCELLED")
    before = {
        c: metric(server, "splitinfer_requests_total", method="Generate", code=c, model="ok") for c in codes
    }
    subprocess.run(
        [sys.executable, "-c", _HANG_UP_CLIENT, server.address, str(calls)], check=True, timeout=120
    )

    def ended(code: str) -> float:
        return (
            metric(server, "splitinfer_requests_total", method="Generate", code=code, model="ok")
            - before[code]
        )

    wait_until(lambda: sum(ended(c) for c in codes) == calls, what="the server to end every call")
    assert (ended("OK"), ended("CANCELLED")) == (calls, 0)


def test_a_base_url_without_v1_is_named_with_the_fix_in_the_log(upstream, monkeypatch, caplog):
    monkeypatch.setenv(KEY_ENV, API_KEY)
    root = upstream.base_url.removesuffix("/v1")
    model = ModelConfig(
        "openai", {"name": "m", "base_url": root, "model": "standin-ok", "api_key_env": KEY_ENV}
    )
    with BackgroundServer(ServerConfig(port=0, models=(model,))) as server:
        channel, stub = stub_for(server.address)
        try:
            err = failure(stub, ask("m"))
            logged = logged_error(caplog, "m")
        finally:
            channel.close()
    assert err.code() == grpc.StatusCode.INTERNAL
    assert "HTTP 404" in err.details() and "misconfigured" in err.details()
    assert "under /v1" in logged


def test_connect_and_read_timeouts_stay_apart_and_never_pass_the_deadline():
    """A short read_timeout_s (a stalled stream noticed early) does not shorten the connect
    timeout: a first connection on a busy host may take longer than a gap between chunks."""
    backend = OpenAIBackend(
        base_url="http://127.0.0.1:9/v1", model="m", connect_timeout_s=5.0, read_timeout_s=1.0
    )
    request = GenerationRequest("r", "m", "", "context", "question", Sampling(max_new_tokens=8))
    timeout = backend._timeout(request)
    assert (timeout.connect, timeout.read) == (5.0, 1.0)
    soon = backend._timeout(replace(request, deadline=time.monotonic() + 0.5))
    assert 0 < soon.connect <= 0.5 and 0 < soon.read <= 0.5


@pytest.mark.parametrize("option", ["read_timeout_s", "connect_timeout_s", "chars_per_token"])
def test_a_zero_timeout_or_token_size_is_refused_at_start(option):
    # httpx reads a timeout of 0 as "time out at once": every call would fail.
    options = {"base_url": "http://127.0.0.1:9/v1", "model": "m", option: 0}
    with pytest.raises(InvalidInputError, match=rf"option '{option}' must be a finite number > 0, got 0"):
        BackgroundServer(ServerConfig(port=0, models=(ModelConfig("openai", options),))).start()


def test_the_sdk_tells_an_engine_that_is_down_from_a_server_that_is(server):
    """UNAVAILABLE either way, and retried either way; but when the server answered that its
    engine is unreachable, checking the server's address (the advice for a server that does not
    answer) would send the app developer the wrong way."""
    from splitinfer.sdk import Client, ServerUnavailableError, UpstreamUnavailableError

    with (
        Client(server.address, condenser=None, policy="none", timeout=10) as client,
        pytest.raises(UpstreamUnavailableError) as caught,
    ):
        client.generate("When?", context="The bridge took six years.", model="down").collect()
    assert "unreachable" in caught.value.server_message
    assert "the model engine behind it is down" in str(caught.value)
    assert "TLS" not in str(caught.value)
    with (
        Client(f"127.0.0.1:{free_port()}", condenser=None, policy="none", timeout=30) as client,
        pytest.raises(ServerUnavailableError) as nobody,
    ):
        client.generate("When?", context="The bridge took six years.").collect()
    assert not isinstance(nobody.value, UpstreamUnavailableError)
    assert "nothing listens on that port: check that the server runs at that address" in str(nobody.value)


def test_only_an_upstream_failure_is_marked_as_the_engines(stub):
    from splitinfer.sdk._rpc_errors import UPSTREAM_CAUSE

    assert UPSTREAM_CAUSE in tuple(failure(stub, ask("down")).trailing_metadata())
    assert UPSTREAM_CAUSE in tuple(failure(stub, ask("500")).trailing_metadata())
    assert UPSTREAM_CAUSE not in tuple(failure(stub, ask("no-such-model")).trailing_metadata())
