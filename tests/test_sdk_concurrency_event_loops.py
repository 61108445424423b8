"""An AsyncClient belongs to the event loop of its first call: made outside any loop it serves
that loop, and another loop (a second ``asyncio.run``, or a thread's) gets a clear error at once,
not gRPC's bare RuntimeError, a hang, or a coroutine left never awaited."""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings

import pytest

from splitinfer.sdk import AsyncClient, AsyncGenerateStream, GenerateResult, SplitinferError

pytest_plugins = ["sdk_bundles"]

QUESTION = "Which road is old?"
ONE_PER_LOOP = "create one AsyncClient per event loop"


async def ask(client: AsyncClient) -> GenerateResult:
    stream = await asyncio.wait_for(client.generate(QUESTION, model="echo"), 10)
    return await asyncio.wait_for(stream.collect(), 10)


def test_an_async_client_made_outside_any_event_loop_serves_the_loop_of_its_first_call(echo_server) -> None:
    client = AsyncClient(echo_server.address, condenser=None, timeout=20)

    async def main() -> GenerateResult:
        async with client:
            return await ask(client)

    assert asyncio.run(main()).text.split() == QUESTION.split()


def test_a_second_event_loop_gets_a_clear_error_and_no_call_is_left_never_awaited(echo_server) -> None:
    async def first() -> AsyncClient:
        client = AsyncClient(echo_server.address, condenser=None, timeout=20)
        await ask(client)
        return client

    client = asyncio.run(first())  # it belongs to that loop, which asyncio.run has closed
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(SplitinferError, match=rf"that loop has been closed\); {ONE_PER_LOOP}"):
            asyncio.run(ask(client))
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]


def test_closing_a_client_whose_loop_has_closed_only_marks_it_closed(echo_server) -> None:
    # A shared client and a close() in an exit hook: the channel went with its loop, nothing to raise.
    async def first() -> AsyncClient:
        client = AsyncClient(echo_server.address, condenser=None, timeout=20)
        await ask(client)
        return client

    client = asyncio.run(first())
    asyncio.run(client.close())
    asyncio.run(client.close())
    with pytest.raises(SplitinferError, match="is closed; create a new one"):
        asyncio.run(ask(client))


def test_a_stream_read_from_another_running_loop_gets_a_clear_error(echo_server) -> None:
    loop = asyncio.new_event_loop()
    try:

        async def start() -> tuple[AsyncClient, AsyncGenerateStream]:
            client = AsyncClient(echo_server.address, condenser=None, timeout=20)
            return client, await client.generate(QUESTION, model="echo-slow")

        client, stream = loop.run_until_complete(start())
        errors: list[BaseException] = []

        def read_elsewhere() -> None:
            try:
                asyncio.run(asyncio.wait_for(stream.collect(), 10))
            except BaseException as err:
                errors.append(err)

        thread = threading.Thread(target=read_elsewhere)
        thread.start()
        thread.join(30)
        assert len(errors) == 1 and isinstance(errors[0], SplitinferError), errors
        assert f"that loop is still open); {ONE_PER_LOOP}" in str(errors[0])
        stream.cancel()
        loop.run_until_complete(client.close())
    finally:
        loop.close()
