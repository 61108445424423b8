"""How many calls a CPU-bound model runs at once, and what happens to the rest.

On 2 cores, 64 extractive calls at once each run 32 times slower: under a burst they all end
together, late, and every caller gets DEADLINE_EXCEEDED. The extractive model therefore runs one
call per core; the rest queue (first come, first served), and past the queue are refused with
RESOURCE_EXHAUSTED and a retry hint.
"""

from __future__ import annotations

import os

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from server_support import collect, question, stub_for, wait_until

from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig
from splitinfer.server.backends.extractive import ExtractiveBackend


def retry_hint_s(err: grpc.RpcError) -> float:
    retry = error_details_pb2.RetryInfo()
    status = rpc_status.from_call(err)
    assert status is not None and status.details[0].Unpack(retry)
    return retry.retry_delay.ToMilliseconds() / 1000.0


def test_the_extractive_model_runs_one_call_per_core_by_default():
    assert ExtractiveBackend().max_concurrent == len(os.sched_getaffinity(0))
    assert ExtractiveBackend(max_concurrent=3).max_concurrent == 3


def test_calls_past_the_models_limit_queue_for_it_without_holding_the_servers_slots():
    models = (
        ModelConfig("extractive", {"max_concurrent": 1, "chunk_delay_ms": 200}),
        ModelConfig("echo", {"name": "echo"}),
    )
    config = ServerConfig(port=0, models=models, max_concurrent=2, max_queued=1, log_requests=False)
    with BackgroundServer(config) as server:
        core = server.server.core
        channel, stub = stub_for(server.address)
        with channel:
            running = stub.Generate(question("When did it open?", model="extractive"), timeout=60)
            next(running)  # the model's only slot
            queued = stub.Generate(question("How long?", model="extractive"), timeout=60)
            wait_until(lambda: core.model_admission["extractive"].queued == 1, what="the call to queue")
            with pytest.raises(grpc.RpcError) as refused:
                list(stub.Generate(question("Who built it?", model="extractive"), timeout=60))
            # The server's own two slots: one held by the running call, one free for another model.
            echoed, _final = collect(stub.Generate(question("still answering", model="echo"), timeout=10))
            running.cancel()
            collect(queued)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert refused.value.details().startswith("model 'extractive' is at capacity (1 running, 1 queued)")
    assert retry_hint_s(refused.value) > 0
    assert echoed == "still answering "
