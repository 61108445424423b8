"""An upstream's error can quote the request, prompt and all (FastAPI's 422 does): the caller
gets it, the server's request log gets only its length."""

from __future__ import annotations

import json
import logging

import grpc
import pytest
from server_openai_standin import OpenAIStandin
from server_support import stub_for, wait_until

from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig
from splitinfer.v1 import inference_pb2 as pb

SECRET = "MY-PRIVATE-QUESTION-7f3a"


def test_an_upstream_error_quoting_the_prompt_reaches_the_caller_but_not_the_log(caplog):
    caplog.set_level(logging.INFO, logger="splitinfer.server")
    with OpenAIStandin() as upstream:
        options = {"name": "m", "base_url": upstream.base_url, "model": "standin-422echo"}
        config = ServerConfig(port=0, models=(ModelConfig("openai", options),))
        with BackgroundServer(config) as server:
            channel, stub = stub_for(server.address)
            with channel, pytest.raises(grpc.RpcError) as caught:
                list(stub.Generate(pb.GenerateRequest(prompt=pb.Prompt(question=SECRET)), timeout=10))
            wait_until(
                lambda: any(r.name == "splitinfer.server.requests" for r in caplog.records),
                what="the request's log line",
            )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert SECRET in caught.value.details()  # the caller sees what the model refused
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert SECRET not in logged
    line = json.loads(next(r.getMessage() for r in caplog.records if r.name == "splitinfer.server.requests"))
    assert "characters of the upstream's text, left out of the log" in line["error"]
