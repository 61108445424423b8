"""Closing a client while its calls are on their way: each call ends as a cancelled call
(``RequestCancelledError``), condensing on the device stops, and an awaiting task is not cancelled.

The 16-token test bundle cuts the context into many windows; its model runs are wrapped to take
50 ms each (a slow phone) and counted, and the model itself still runs (LiteRT).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sdk_bundles import MANY_WINDOWS_CONTEXT, MANY_WINDOWS_QUESTION, CountedRuns
from server_support import stub_for

from splitinfer.sdk import AsyncClient, Client, Condenser, RequestCancelledError
from splitinfer.server import BackgroundServer
from splitinfer.v1 import inference_pb2 as pb

pytest_plugins = ["sdk_bundles"]

CONTEXT, QUESTION = MANY_WINDOWS_CONTEXT, MANY_WINDOWS_QUESTION
# A whole run of CONTEXT is more than 40 windows; a stopped one ends a window or two after close().
STOPPED_BY = 10


@pytest.fixture
def slow(small_window_bundle_path: Path) -> tuple[Condenser, CountedRuns]:
    condenser = Condenser.load(small_window_bundle_path)
    return condenser, CountedRuns(condenser, delay_s=0.05)


def test_closing_a_client_cancels_a_call_condensing_on_the_device_and_stops_it(echo_server, slow) -> None:
    condenser, runs = slow
    client = Client(echo_server.address, condenser=condenser, timeout=60)
    ended: list[BaseException] = []

    def call() -> None:
        try:
            client.generate(QUESTION, context=CONTEXT, model="echo")
        except BaseException as err:
            ended.append(err)

    thread = threading.Thread(target=call)
    thread.start()
    assert runs.reached.wait(10)
    client.close()
    thread.join(30)
    assert len(ended) == 1 and isinstance(ended[0], RequestCancelledError), ended
    assert ended[0].code == "CANCELLED"
    assert runs.calls < STOPPED_BY


async def test_closing_an_async_client_cancels_a_call_condensing_on_the_device_and_stops_it(
    echo_server, slow
) -> None:
    condenser, runs = slow
    client = AsyncClient(echo_server.address, condenser=condenser, timeout=60)
    call = asyncio.create_task(client.generate(QUESTION, context=CONTEXT, model="echo"))
    assert await asyncio.to_thread(runs.reached.wait, 10)
    await client.close()
    with pytest.raises(RequestCancelledError):
        await call
    assert runs.calls < STOPPED_BY


async def test_closing_an_async_client_before_its_call_is_sent_cancels_the_call(echo_server) -> None:
    client = AsyncClient(echo_server.address, condenser=None, policy="none", timeout=60)
    call = asyncio.create_task(client.generate(QUESTION, context=CONTEXT, model="echo"))
    await asyncio.sleep(0)  # the call is on its way (in its worker thread), not yet sent
    await client.close()
    with pytest.raises(RequestCancelledError, match="the client was closed while this call was being made"):
        await call


async def test_closing_an_async_client_while_the_server_condenses_is_a_cancelled_call_not_a_cancelled_task(
    small_window_bundle_path: Path,
) -> None:
    from sdk_bundles import echo_server_config

    config = echo_server_config(condenser_path=small_window_bundle_path)
    server = await asyncio.to_thread(BackgroundServer(config).start)
    try:
        channel, stub = stub_for(server.address)
        with channel:  # load the server's condenser, to slow its model runs
            await asyncio.to_thread(
                stub.Condense, pb.CondenseRequest(context="The old road.", question=QUESTION)
            )
        runs = CountedRuns(server.server.core.condensers.loaded(), delay_s=0.05)
        client = AsyncClient(server.address, condenser=None, policy="server", timeout=60)
        call = asyncio.create_task(client.generate(QUESTION, context=CONTEXT, model="echo"))
        assert await asyncio.to_thread(runs.reached.wait, 10)
        await client.close()
        # A bare CancelledError here, in a task nobody cancelled, would break TaskGroups.
        with pytest.raises(RequestCancelledError):
            await call
        assert asyncio.current_task().cancelling() == 0
    finally:
        await asyncio.to_thread(server.stop)
