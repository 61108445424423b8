"""Health follows the ``openai`` backend's upstream: NOT_SERVING while it is down or refuses the key."""

from __future__ import annotations

import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from server_openai_standin import OpenAIStandin, unanswered_port
from server_support import collect, free_port, stub_for, wait_until

from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig, app
from splitinfer.v1 import inference_pb2 as pb

KEY_ENV = "SPLITINFER_TEST_HEALTH_KEY"


def status(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return stub.Check(health_pb2.HealthCheckRequest(service="splitinfer.v1.Inference"), timeout=5).status


def serve(base_url: str, model: str = "standin-ok", **options: object) -> BackgroundServer:
    options = {"name": "m", "base_url": base_url, "model": model, "api_key_env": KEY_ENV, **options}
    return BackgroundServer(
        ServerConfig(port=0, models=(ModelConfig("openai", options),), log_requests=False)
    )


@pytest.fixture(autouse=True)
def fast_checks(monkeypatch):
    monkeypatch.setattr(app, "UPSTREAM_CHECK_S", 0.1)
    monkeypatch.setenv(KEY_ENV, "right-key")


def test_health_is_not_serving_while_the_upstream_is_down():
    with serve(f"http://127.0.0.1:{free_port()}/v1") as server:
        wait_until(
            lambda: status(server.address) == health_pb2.HealthCheckResponse.NOT_SERVING,
            what="health to report the dead upstream",
        )


def test_health_is_not_serving_while_the_upstream_refuses_the_key_and_serving_with_the_right_one():
    with OpenAIStandin(api_key="other-key") as upstream, serve(upstream.base_url) as server:
        wait_until(
            lambda: status(server.address) == health_pb2.HealthCheckResponse.NOT_SERVING,
            what="health to report the refused key",
        )
    with OpenAIStandin(api_key="right-key") as upstream, serve(upstream.base_url) as server:
        time.sleep(0.5)  # several checks
        assert status(server.address) == health_pb2.HealthCheckResponse.SERVING


def test_an_engine_without_a_model_list_counts_as_reachable():
    with OpenAIStandin() as upstream, serve(upstream.base_url.removesuffix("/v1") + "/v1/x") as server:
        # the stand-in has no route under /v1/x: every GET /models there is a 404
        time.sleep(0.5)  # several checks
        assert status(server.address) == health_pb2.HealthCheckResponse.SERVING


def test_health_is_not_serving_while_the_upstream_is_gone_and_serving_once_it_is_back():
    with OpenAIStandin() as upstream, serve(upstream.base_url) as server:
        channel, stub = stub_for(server.address)
        ask = pb.GenerateRequest(prompt=pb.Prompt(question="When?"))
        try:
            collect(stub.Generate(ask, timeout=5))  # leaves a keep-alive connection in the pool
            upstream.stop()  # the engine goes down, its connections with it
            wait_until(
                lambda: status(server.address) == health_pb2.HealthCheckResponse.NOT_SERVING,
                what="health to report the upstream gone",
            )
            with OpenAIStandin(port=upstream.port):
                wait_until(
                    lambda: status(server.address) == health_pb2.HealthCheckResponse.SERVING,
                    what="health to report the upstream back",
                )
                assert collect(stub.Generate(ask, timeout=5))[1].finish_reason == pb.STOP
        finally:
            channel.close()


def test_health_stays_serving_while_every_connection_streams_an_answer():
    """The check does not wait behind answers for one of the max_connections: a busy pool is a
    working upstream, and a load balancer must not take a replica out for being busy."""
    with (
        OpenAIStandin() as upstream,
        serve(upstream.base_url, "standin-slow", max_connections=1, connect_timeout_s=0.3) as server,
    ):
        channel, stub = stub_for(server.address)
        answer = stub.Generate(pb.GenerateRequest(prompt=pb.Prompt(question="When?")))
        try:
            next(answer)  # the only connection is streaming (for 10 s)
            seen = set()
            for _ in range(10):  # several checks, each longer than connect_timeout_s
                seen.add(status(server.address))
                time.sleep(0.1)
        finally:
            answer.cancel()
            channel.close()
    assert seen == {health_pb2.HealthCheckResponse.SERVING}


def test_health_logs_that_an_upstream_that_never_accepts_a_connection_did_not_answer_in_time(caplog):
    with unanswered_port() as port, serve(f"http://127.0.0.1:{port}/v1", connect_timeout_s=0.2) as server:
        wait_until(
            lambda: status(server.address) == health_pb2.HealthCheckResponse.NOT_SERVING,
            what="health to report the unreachable upstream",
        )
    assert (
        f"upstream http://127.0.0.1:{port}/v1 did not answer GET /models within 0.2 s "
        "(connect_timeout_s; ConnectTimeout)"
    ) in caplog.text


def health_lines(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if "health" in r.getMessage() and "listening" not in r.getMessage()
    ]


def test_health_logs_every_change_of_reason_not_only_the_first(caplog):
    """Wrong model, then down, then back: an operator who fixes the model id learns the engine is
    down meanwhile."""
    with OpenAIStandin(api_key="right-key") as upstream:
        upstream.state.listed[:] = ["other-model"]
        with serve(upstream.base_url) as server:
            wait_until(lambda: len(health_lines(caplog)) == 1, what="the wrong model to be logged")
            upstream.stop()
            wait_until(lambda: len(health_lines(caplog)) == 2, what="the engine going down to be logged")
            with OpenAIStandin(api_key="right-key", port=upstream.port):
                wait_until(lambda: len(health_lines(caplog)) == 3, what="the engine coming back to be logged")
                assert status(server.address) == health_pb2.HealthCheckResponse.SERVING
                time.sleep(0.5)  # several checks more: nothing changed, nothing logged
                lines = health_lines(caplog)
    where = f"upstream {upstream.base_url}"
    first, second, third = lines
    assert first.startswith(
        f"splitinfer serve: health NOT_SERVING: {where} does not serve model 'standin-ok'"
    )
    assert second.startswith(f"splitinfer serve: health NOT_SERVING: {where} is unreachable")
    assert third == "splitinfer serve: upstream back; health SERVING"


def test_health_needs_the_configured_model_in_the_engines_list_unless_told_not_to_check():
    with OpenAIStandin(api_key="right-key") as upstream:
        upstream.state.listed[:] = ["/models/tiny-llama.gguf"]  # llama.cpp lists its file
        with serve(upstream.base_url) as server:
            wait_until(
                lambda: status(server.address) == health_pb2.HealthCheckResponse.NOT_SERVING,
                what="health to report the model the engine does not list",
            )
        with serve(upstream.base_url, check_model=False) as server:
            time.sleep(0.5)  # several checks
            assert status(server.address) == health_pb2.HealthCheckResponse.SERVING


def test_ollamas_latest_tag_names_the_same_model():
    with OpenAIStandin(api_key="right-key") as upstream:
        upstream.state.listed[:] = ["standin-ok:latest", "other:7b"]
        with serve(upstream.base_url, model="standin-ok") as server:
            time.sleep(0.5)  # several checks
            assert status(server.address) == health_pb2.HealthCheckResponse.SERVING
