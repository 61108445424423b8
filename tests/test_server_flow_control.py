"""Cancellation, deadlines and admission control, through a real server and a real client.

The ``echo`` backend pauses before each chunk like a model would and records how far each
request's stream got, so a test can see that cancelled work stopped.
"""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from server_support import NetworkProxy, collect, question, stub_for, wait_until

from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig
from splitinfer.server.admission import Admission
from splitinfer.server.errors import OverloadedError
from splitinfer.v1 import inference_pb2_grpc as pb_grpc

CHUNK_DELAY_MS = 20
SLOW = {"name": "slow", "chunk_delay_ms": CHUNK_DELAY_MS, "repeat": 50}


def progress(srv: BackgroundServer, model: str, request_id: str):
    backend, _spec = srv.server.core.routes[model]
    return backend.runs.get(request_id)


def finished(srv: BackgroundServer, model: str, request_id: str) -> bool:
    run = progress(srv, model, request_id)
    return run is not None and run.ended_at is not None


@pytest.fixture(scope="module")
def server():
    config = ServerConfig(port=0, models=(ModelConfig("echo", SLOW),), max_concurrent=8, max_queued=8)
    with BackgroundServer(config) as srv:
        yield srv


def test_cancel_mid_stream_stops_the_backend_within_a_chunk(server):
    channel, stub = stub_for(server.address)
    call = stub.Generate(question("a b c d e", request_id="cancel-me"))  # 250 chunks, ~5 s
    received = 0
    for _response in call:
        received += 1
        if received == 5:
            call.cancel()
            break
    wait_until(lambda: finished(server, "slow", "cancel-me"), what="the backend to stop")
    run = progress(server, "slow", "cancel-me")
    channel.close()
    assert run.closed_early
    assert run.chunks_planned == 250
    # The chunk being produced when the cancel arrived may complete; nothing after it.
    assert received <= run.chunks_sent <= received + 2


def test_client_deadline_ends_the_call_with_deadline_exceeded_and_stops_the_backend(server):
    channel, stub = stub_for(server.address)
    with pytest.raises(grpc.RpcError) as caught:
        list(stub.Generate(question("a b c d e", request_id="late"), timeout=0.3))
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    wait_until(lambda: finished(server, "slow", "late"), what="the backend to stop")
    run = progress(server, "slow", "late")
    channel.close()
    assert run.closed_early
    assert run.chunks_sent < 0.3 * 1000 / CHUNK_DELAY_MS + 5


def test_a_deadline_that_fires_on_the_client_first_is_counted_as_deadline_exceeded(server):
    # Over a network, the request reaches the server after the client started its clock, so the
    # client's deadline fires (and its cancel arrives) before the server's copy of the deadline ends.
    registry = server.server.metrics.registry

    def ended(code: str) -> float:
        return (
            registry.get_sample_value(
                "splitinfer_requests_total", {"method": "Generate", "code": code, "model": "slow"}
            )
            or 0.0
        )

    before = {code: ended(code) for code in ("DEADLINE_EXCEEDED", "CANCELLED")}
    with (
        NetworkProxy(server.address, latency_s=0.06, hold_s=0.5) as proxy,
        grpc.insecure_channel(proxy.address) as channel,
    ):
        with pytest.raises(grpc.RpcError) as caught:
            list(pb_grpc.InferenceStub(channel).Generate(question("a b c d e"), timeout=2))
        wait_until(lambda: sum(ended(c) - before[c] for c in before) == 1, what="the server to end the call")
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert ended("DEADLINE_EXCEEDED") - before["DEADLINE_EXCEEDED"] == 1
    assert ended("CANCELLED") == before["CANCELLED"]


@pytest.fixture()
def tiny_server():
    """One request runs, one waits, the next is refused."""
    config = ServerConfig(port=0, models=(ModelConfig("echo", SLOW),), max_concurrent=1, max_queued=1)
    with BackgroundServer(config) as srv:
        yield srv


def test_overload_is_refused_at_once_with_resource_exhausted_and_a_retry_hint(tiny_server):
    channel, stub = stub_for(tiny_server.address)
    admission = tiny_server.server.core.admission
    running = stub.Generate(question("a b c d e", request_id="running"))
    next(running)  # holds the only slot
    queued = stub.Generate(question("short", request_id="queued"))
    wait_until(lambda: admission.queued == 1, what="the second call to queue")

    with pytest.raises(grpc.RpcError) as caught:
        # A generous deadline: an overloaded server must answer long before it, not hang.
        list(stub.Generate(question("one more"), timeout=10))
    err = caught.value
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "at capacity" in err.details() and "retry after" in err.details()
    assert retry_hint_s(err) > 0

    running.cancel()  # frees the slot: the queued call now runs to completion
    text, _final = collect(queued)
    channel.close()
    assert text == " ".join(["short"] * 50) + " "


def retry_hint_s(err: grpc.RpcError) -> float:
    """The ``google.rpc.RetryInfo`` delay of a refused call, in seconds."""
    status = rpc_status.from_call(err)
    retry = error_details_pb2.RetryInfo()
    assert status is not None and status.details[0].Unpack(retry)
    return retry.retry_delay.ToMilliseconds() / 1000.0


def test_the_retry_hint_waits_for_the_running_stream_however_fast_other_calls_were():
    config = ServerConfig(
        port=0,
        models=(ModelConfig("echo", {"name": "fast"}), ModelConfig("echo", SLOW)),
        max_concurrent=1,
        max_queued=0,
    )
    with BackgroundServer(config) as srv:
        channel, stub = stub_for(srv.address)
        collect(stub.Generate(question("quick", model="fast")))  # connects: the stream is timed alone
        started = time.monotonic()
        collect(stub.Generate(question("a b", model="slow")))  # 100 chunks, ~2 s
        slow_s = time.monotonic() - started
        for _ in range(20):  # many fast calls: the mean hold time over all calls becomes short
            collect(stub.Generate(question("quick", model="fast")))

        running = stub.Generate(question("a b", model="slow"))
        started = time.monotonic()
        next(running)
        with pytest.raises(grpc.RpcError) as caught:
            list(stub.Generate(question("no room", model="fast")))
        remaining_s = slow_s - (time.monotonic() - started)
        running.cancel()
        channel.close()

    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # Roughly: the server measures the stream without the client's share of the call.
    assert retry_hint_s(caught.value) >= 0.8 * remaining_s


def test_a_queued_call_that_gives_up_leaves_the_queue(tiny_server):
    channel, stub = stub_for(tiny_server.address)
    admission = tiny_server.server.core.admission
    running = stub.Generate(question("a b c d e"))
    next(running)
    waiting = stub.Generate(question("never runs"))
    wait_until(lambda: admission.queued == 1, what="the call to queue")
    waiting.cancel()
    wait_until(lambda: admission.queued == 0, what="the cancelled call to leave the queue")
    assert admission.running == 1
    running.cancel()
    wait_until(lambda: admission.running == 0, what="the slot to be freed")
    channel.close()


async def test_admission_hands_slots_over_in_arrival_order():
    admission = Admission(max_running=1, max_queued=2)
    order: list[str] = []
    await admission.acquire()

    async def waiter(name: str) -> None:
        async with admission.slot():
            order.append(name)

    first = asyncio.create_task(waiter("first"))
    await asyncio.sleep(0)
    second = asyncio.create_task(waiter("second"))
    await asyncio.sleep(0)
    assert admission.queued == 2
    with pytest.raises(OverloadedError) as caught:
        await admission.acquire()
    assert caught.value.retry_after_s and caught.value.retry_after_s > 0
    admission.release()
    await asyncio.gather(first, second)
    assert order == ["first", "second"]
    assert (admission.running, admission.queued) == (0, 0)
