"""Health follows the ``openai`` backend's upstream: NOT_SERVING while it is down or refuses the key."""

from __future__ import annotations

import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from server_openai_standin import OpenAIStandin
from server_support import free_port, wait_until

from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig, app

KEY_ENV = "SPLITINFER_TEST_HEALTH_KEY"


def status(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return stub.Check(health_pb2.HealthCheckRequest(service="splitinfer.v1.Inference"), timeout=5).status


def serve(base_url: str) -> BackgroundServer:
    model = ModelConfig(
        "openai", {"name": "m", "base_url": base_url, "model": "standin-ok", "api_key_env": KEY_ENV}
    )
    return BackgroundServer(ServerConfig(port=0, models=(model,), log_requests=False))


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
