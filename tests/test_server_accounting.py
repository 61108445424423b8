"""Every call the server receives is answered, logged and counted: also one whose client gave up
before the server got to it (its event loop busy), and one that carries no request message."""

from __future__ import annotations

import asyncio
import logging
import threading

import grpc
import pytest
from server_support import question, stub_for, wait_until

from splitinfer.server import BackgroundServer, ServerConfig
from splitinfer.v1 import inference_pb2 as pb

# How long to wait for a count that should come at once (a failure, not a measurement).
_SETTLE_S = 5.0


@pytest.fixture
def server():
    with BackgroundServer(ServerConfig(port=0, backend="echo")) as srv:
        yield srv


def requests_counted(srv: BackgroundServer, method: str, code: str) -> float:
    """``splitinfer_requests_total`` of ``method`` and ``code``, all models together."""
    return sum(
        sample.value
        for family in srv.server.metrics.registry.collect()
        for sample in family.samples
        if sample.name == "splitinfer_requests_total"
        and (sample.labels["method"], sample.labels["code"]) == (method, code)
    )


def request_log(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name == "splitinfer.server.requests")


def hold_event_loop(srv: BackgroundServer) -> threading.Event:
    """Blocks the server's event loop until the returned event is set, as a busy server's is."""
    release, held = threading.Event(), threading.Event()

    def block() -> None:
        held.set()
        release.wait(30)

    srv._loop.call_soon_threadsafe(block)
    held.wait(10)
    return release


@pytest.mark.parametrize(
    "method, call",
    [
        ("Generate", lambda stub: list(stub.Generate(question("a b c"), timeout=0.2))),
        ("GetInfo", lambda stub: stub.GetInfo(pb.GetInfoRequest(), timeout=0.2)),
        ("Condense", lambda stub: stub.Condense(pb.CondenseRequest(context="a b c"), timeout=0.2)),
    ],
)
def test_a_call_whose_deadline_passed_before_the_server_got_to_it_is_logged_and_counted(
    server, caplog, method, call
):
    caplog.set_level(logging.INFO, logger="splitinfer.server.requests")
    channel, stub = stub_for(server.address)
    stub.ListModels(pb.ListModelsRequest(), timeout=10)  # connected, so the call below is sent at once
    release = hold_event_loop(server)
    try:
        with pytest.raises(grpc.RpcError) as failed:
            call(stub)
    finally:
        release.set()
    assert failed.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    wait_until(
        lambda: requests_counted(server, method, "DEADLINE_EXCEEDED") == 1,
        _SETTLE_S,
        f"the {method} call to be counted as DEADLINE_EXCEEDED",
    )
    # Its line has no "id" when the server never got the message; on a busy machine the server
    # may have read it just before the deadline passed, and then the line has one.
    wait_until(
        lambda: any(
            line.startswith(f'{{"rpc": "{method}", ') and '"code": "DEADLINE_EXCEEDED"' in line
            for line in request_log(caplog).splitlines()
        ),
        _SETTLE_S,
        f"the {method} call's log line",
    )
    assert server.server.core.inflight == 0
    channel.close()


@pytest.mark.parametrize("method", ["Generate", "Condense", "GetInfo", "ListModels"])
def test_a_call_without_a_request_message_gets_invalid_argument(server, method):
    channel, _ = stub_for(server.address)
    path = f"/splitinfer.v1.Inference/{method}"
    no_request = iter(())
    with pytest.raises(grpc.RpcError) as refused:
        if method == "Generate":
            list(channel.stream_stream(path)(no_request, timeout=5))
        else:
            channel.stream_unary(path)(no_request, timeout=5)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no request message" in refused.value.details()
    assert requests_counted(server, method, "INVALID_ARGUMENT") == 1
    channel.close()


def handlers_of(srv: BackgroundServer, method: str) -> list[str]:
    """The names of gRPC's tasks still running a handler of ``method`` on the server."""

    async def names() -> list[str]:
        return [t.get_name() for t in asyncio.all_tasks() if t.get_name().endswith(f"/{method}]")]

    return asyncio.run_coroutine_threadsafe(names(), srv._loop).result(10)


def test_a_message_over_grpcs_own_limit_stays_out_of_the_log_and_the_metrics(caplog):
    caplog.set_level(logging.INFO, logger="splitinfer.server.requests")
    with BackgroundServer(ServerConfig(port=0, backend="echo", max_request_bytes=1000)) as srv:
        channel, stub = stub_for(srv.address)
        with pytest.raises(grpc.RpcError) as refused:
            stub.Condense(pb.CondenseRequest(context="x" * 5000), timeout=10)  # over twice the limit
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        stub.GetInfo(pb.GetInfoRequest(), timeout=10)  # taken by the server after the refused call
        wait_until(lambda: not handlers_of(srv, "Condense"), _SETTLE_S, "the Condense handler to end")
        wait_until(lambda: '"rpc": "GetInfo"' in request_log(caplog), _SETTLE_S, "the GetInfo log line")
        counted = [
            sample.labels
            for family in srv.server.metrics.registry.collect()
            for sample in family.samples
            if sample.name == "splitinfer_requests_total"
        ]
        channel.close()
    assert '"rpc": "Condense"' not in request_log(caplog)
    assert {"method": "GetInfo", "code": "OK", "model": ""} in counted
    assert not [labels for labels in counted if labels["method"] == "Condense"]
