"""A phone's network misbehaves: the calls end, on time, with an error that says where to look.

A real server on a loopback port, reached through ``NetworkProxy``, a TCP proxy that can be slow,
cut the connections open and refuse new ones, or go silent (accept connections, forward nothing).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from server_support import NetworkProxy, make_self_signed, wait_until

from splitinfer.sdk import AsyncClient, Client, ServerUnavailableError
from splitinfer.server import BackgroundServer, ModelConfig

pytest_plugins = ["sdk_bundles"]

QUESTION = "Which road is old?"
# No chunk before 3 s: a call cut meanwhile has reached the server but not been answered.
LATE = ModelConfig("echo", {"name": "echo-late", "chunk_delay_ms": 3000})
SLOW = ModelConfig("echo", {"name": "echo-slow", "chunk_delay_ms": 50, "repeat": 200})
NETWORK_HINT = "this device's network is down or very slow"


@pytest.fixture(scope="module")
def server():
    from sdk_bundles import echo_server_config

    with BackgroundServer(echo_server_config(models=(LATE, SLOW))) as server:
        yield server


def run_of(server: BackgroundServer, request_id: str, model: str = "echo-late"):
    """How the server's run of ``request_id`` went, once it started."""
    from sdk_bundles import echo_backend

    return echo_backend(server, model).runs.get(request_id)


@pytest.mark.timeout(30)
def test_a_call_cut_off_before_its_first_chunk_fails_when_its_retries_do_instead_of_hanging(server) -> None:
    with (
        NetworkProxy(server.address) as network,
        Client(network.address, condenser=None, timeout=20) as client,
    ):
        stream = client.generate(QUESTION, model="echo-late", request_id="cut-sync")
        wait_until(lambda: run_of(server, "cut-sync") is not None, what="the call to reach the server")
        network.cut()
        started = time.monotonic()
        with pytest.raises(ServerUnavailableError) as failed:
            stream.collect()
    # The retries' few seconds, not the 20 s deadline (gRPC's own reader never returned here).
    assert time.monotonic() - started < 15
    assert "Connection refused" in failed.value.server_message


@pytest.mark.timeout(30)
async def test_the_async_client_fails_the_same_way(server) -> None:
    with NetworkProxy(server.address) as network:
        async with AsyncClient(network.address, condenser=None, timeout=20) as client:
            stream = await client.generate(QUESTION, model="echo-late", request_id="cut-async")
            await asyncio.to_thread(
                wait_until,
                lambda: run_of(server, "cut-async") is not None,
                10.0,
                "the call to reach the server",
            )
            network.cut()
            with pytest.raises(ServerUnavailableError, match="Connection refused"):
                await stream.collect()


def test_a_tls_client_connects_over_a_slow_network(server, tmp_path: Path) -> None:
    """Half a second each way: the TLS handshake takes seconds, longer than a reconnect backoff."""
    from sdk_bundles import echo_server_config

    cert, key, _ = make_self_signed(tmp_path)
    config = echo_server_config(tls_cert=cert, tls_key=key)
    with (
        BackgroundServer(config) as tls_server,
        NetworkProxy(tls_server.address, latency_s=0.5) as network,
        Client(network.address, condenser=None, root_certificates=cert, timeout=20) as client,
    ):
        assert client.generate(QUESTION, model="echo").collect().text.split() == QUESTION.split()


def test_an_address_that_never_answers_points_at_the_network_not_at_tls(
    server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("splitinfer.sdk._channel.CONNECT_TIMEOUT_MS", 1000)  # a quick test
    with (
        NetworkProxy(server.address) as network,
        Client(network.address, condenser=None, timeout=20) as client,
    ):
        network.go_silent()
        with pytest.raises(ServerUnavailableError) as failed:
            client.generate(QUESTION, model="echo").collect()
    message = str(failed.value)
    assert NETWORK_HINT in message and "TLS" not in message


def test_a_port_nothing_listens_on_says_so_without_blaming_tls(server) -> None:
    with (
        NetworkProxy(server.address) as network,
        Client(network.address, condenser=None, timeout=20) as client,
    ):
        network.cut()
        with pytest.raises(ServerUnavailableError) as failed:
            client.generate(QUESTION, model="echo").collect()
    message = str(failed.value)
    assert "nothing listens on that port: check that the server runs" in message and "TLS" not in message


async def test_an_async_stream_dropped_unread_cancels_its_call_on_the_server(server) -> None:
    async with AsyncClient(server.address, condenser=None, timeout=30) as client:
        stream = await client.generate(QUESTION, model="echo-slow", request_id="dropped")
        await asyncio.to_thread(
            wait_until, lambda: run_of(server, "dropped", "echo-slow") is not None, 10.0, "the call to start"
        )
        del stream  # never read
        await asyncio.to_thread(
            wait_until,
            lambda: run_of(server, "dropped", "echo-slow").ended_at is not None,
            10.0,
            "the server to stop the dropped call",
        )
    assert run_of(server, "dropped", "echo-slow").closed_early


def test_a_connection_that_died_while_idle_is_not_used_for_the_next_call(server, monkeypatch) -> None:
    import grpc

    from splitinfer.sdk import _channel

    monkeypatch.setattr(_channel, "IDLE_TIMEOUT_MS", 1000)  # the default is 30 s
    with (
        NetworkProxy(server.address) as network,
        Client(network.address, condenser=None, timeout=10) as client,
    ):
        assert client.generate(QUESTION, context="a b c", model="echo-slow", max_new_tokens=2).collect().text
        network.freeze_open()  # the phone moved to another network: the connection is dead
        states: list[grpc.ChannelConnectivity] = []
        client._channel.subscribe(states.append)
        wait_until(
            lambda: grpc.ChannelConnectivity.IDLE in states, 20.0, "the unused connection to be closed"
        )
        started = time.monotonic()
        assert client.generate(QUESTION, context="a b c", model="echo-slow", max_new_tokens=2).collect().text
    # A new connection at once, not the dead one until the deadline (10 s).
    assert time.monotonic() - started < 5.0
