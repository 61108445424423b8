"""The ``openai`` backend's connections to its upstream when callers give up while all are busy."""

from __future__ import annotations

import time

import pytest
from server_openai_standin import OpenAIStandin
from server_support import stub_for

from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig
from splitinfer.v1 import inference_pb2 as pb


@pytest.fixture(scope="module")
def stub():
    with OpenAIStandin() as upstream:
        model = ModelConfig(
            "openai",
            {
                "name": "one-connection",
                "base_url": upstream.base_url,
                "model": "standin-slow",
                "read_timeout_s": 1.0,
                "max_connections": 1,
            },
        )
        with BackgroundServer(ServerConfig(port=0, models=(model,), log_requests=False)) as server:
            channel, stub = stub_for(server.address)
            yield stub
            channel.close()


def ask() -> pb.GenerateRequest:
    return pb.GenerateRequest(model="one-connection", prompt=pb.Prompt(question="When?"))


def test_calls_cancelled_while_waiting_for_the_busy_connection_do_not_use_it_up(stub):
    """httpcore (1.0.9) loses a pool slot for good when a request waiting for a connection is
    cancelled just as the pool hands it a new one (encode/httpcore#1093). With max_connections 1,
    one lost slot and every later call is refused with RESOURCE_EXHAUSTED; the race is narrow, so
    it is given many chances."""
    for _ in range(15):
        holder = stub.Generate(ask())
        next(holder)  # gets the connection: RESOURCE_EXHAUSTED here once a slot was lost
        waiting = [stub.Generate(ask()) for _ in range(30)]
        time.sleep(0.05)
        for call in (holder, *waiting):
            call.cancel()
        time.sleep(0.1)  # the cancels reach the server before the next holder asks
