"""The retry hint of a fresh replica, before any call has ended: nothing says how long calls last, so
a call is expected to last 1 s, and at least as long again as it has run. Clients that follow the
hints while long streams hold every slot come back after about 1, 2, 4 s, not every quarter second.
"""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from server_support import question, stub_for

from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig, admission
from splitinfer.server.admission import Admission
from splitinfer.server.errors import OverloadedError


def test_a_fresh_replica_busy_with_a_stream_asks_callers_to_wait_at_least_a_second():
    model = ModelConfig("echo", {"name": "slow", "chunk_delay_ms": 100, "repeat": 50})
    with BackgroundServer(ServerConfig(port=0, models=(model,), max_concurrent=1, max_queued=0)) as server:
        channel, stub = stub_for(server.address)
        with channel:
            stream = stub.Generate(question("a b"), timeout=30)  # 100 chunks, 10 s
            next(stream)
            with pytest.raises(grpc.RpcError) as refused:
                list(stub.Generate(question("no room"), timeout=30))
            stream.cancel()
    retry = error_details_pb2.RetryInfo()
    assert rpc_status.from_call(refused.value).details[0].Unpack(retry)
    # The stream has run t seconds: max(1 - t, t), at least half a second whatever t is (it was
    # max(0.5 - t, 0): less than half a second).
    assert retry.retry_delay.ToMilliseconds() >= 500


async def test_until_a_call_of_its_kind_has_ended_a_call_is_expected_to_last_as_long_again(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(admission.time, "monotonic", lambda: now[0])
    slots = Admission(max_running=1, max_queued=0)
    async with slots.slot("stream"):
        hints = []
        for ran_s in (0.0, 0.5, 2.0, 8.0):
            now[0] = 1000.0 + ran_s
            with pytest.raises(OverloadedError) as refused:
                await slots.acquire()
            hints.append(refused.value.retry_after_s)
        now[0] = 1010.0
    assert hints == [1.0, 0.5, 2.0, 8.0]
    async with slots.slot("stream"):  # one of its kind lasted 10 s: the next is expected to as well
        now[0] = 1012.0
        with pytest.raises(OverloadedError) as refused:
            await slots.acquire()
    assert refused.value.retry_after_s == 8.0
