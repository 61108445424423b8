"""AsyncClient, the asyncio twin: same behaviour as Client over grpc.aio, against a real server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from server_support import free_port, wait_until

from splitinfer.sdk import (
    AsyncClient,
    Condenser,
    DeadlineExceededError,
    RequestCancelledError,
    ServerUnavailableError,
    Where,
)

pytest_plugins = ["sdk_bundles"]

DOCS = " ".join(f"Part {i} is about the paint, the trees and the old road by the river." for i in range(50))
QUESTION = "Which road is old?"


async def test_the_answer_streams_and_the_result_says_it_was_condensed_on_the_device(
    echo_server, condenser: Condenser
) -> None:
    async with AsyncClient(echo_server.address, condenser=condenser, timeout=20) as client:
        stream = await client.generate(QUESTION, context=DOCS, rate=0.3, model="echo", max_new_tokens=5000)
        chunks = [chunk async for chunk in stream]
    result = stream.result
    assert len(chunks) > 10 and "".join(chunks) == result.text
    assert result.where is Where.DEVICE
    assert result.text.split() == (result.condensed_context + " " + QUESTION).split()
    assert result.savings.tokens_saved > 0 and result.usage.completion_tokens == len(chunks)


async def test_the_async_client_falls_back_to_the_server_like_the_sync_one(echo_server) -> None:
    broken = Path("no-such-dir") / "missing.tflite"
    async with AsyncClient(echo_server.address, condenser=broken, timeout=20) as client:
        result = await (
            await client.generate(QUESTION, context=DOCS, model="echo", max_new_tokens=5000)
        ).collect()
    assert result.where is Where.SERVER
    assert "cannot load" in result.fallback_reason


async def test_cancelling_the_reading_task_cancels_the_call_on_the_server(
    echo_server, condenser: Condenser
) -> None:
    from sdk_bundles import echo_backend

    async with AsyncClient(echo_server.address, condenser=condenser, timeout=20) as client:
        stream = await client.generate(
            QUESTION, context=DOCS, model="echo-slow", request_id="aio-task-cancel"
        )
        first = asyncio.Event()

        async def read() -> None:
            async for _ in stream:
                first.set()

        task = asyncio.create_task(read())
        await asyncio.wait_for(first.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(RequestCancelledError):  # the stream remembers why it ended
            await stream.__anext__()
    backend = echo_backend(echo_server)
    await asyncio.to_thread(
        wait_until, lambda: backend.runs["aio-task-cancel"].ended_at is not None, 5.0, "the server to stop"
    )
    assert backend.runs["aio-task-cancel"].closed_early


async def test_stream_cancel_reaches_the_server_and_further_reads_say_cancelled(
    echo_server, condenser: Condenser
) -> None:
    from sdk_bundles import echo_backend

    async with AsyncClient(echo_server.address, condenser=condenser, timeout=20) as client:
        stream = await client.generate(QUESTION, context=DOCS, model="echo-slow", request_id="aio-cancel")
        await stream.__anext__()
        stream.cancel()
        with pytest.raises(RequestCancelledError):
            await stream.__anext__()
    backend = echo_backend(echo_server)
    await asyncio.to_thread(
        wait_until, lambda: backend.runs["aio-cancel"].ended_at is not None, 5.0, "the server to stop"
    )
    assert backend.runs["aio-cancel"].closed_early


async def test_a_down_server_raises_server_unavailable(condenser: Condenser) -> None:
    async with AsyncClient(f"127.0.0.1:{free_port()}", condenser=condenser, timeout=60) as client:
        stream = await client.generate(QUESTION, context=DOCS)
        with pytest.raises(ServerUnavailableError):
            await stream.collect()


async def test_a_call_past_its_deadline_raises_deadline_exceeded(echo_server) -> None:
    async with AsyncClient(echo_server.address, condenser=None, policy="none", timeout=0.5) as client:
        stream = await client.generate(QUESTION, context=DOCS, model="echo-slow", max_new_tokens=5000)
        with pytest.raises(DeadlineExceededError):
            await stream.collect()


async def test_reading_on_after_a_deadline_repeats_it(echo_server) -> None:
    async with AsyncClient(echo_server.address, condenser=None, policy="none", timeout=0.5) as client:
        stream = await client.generate(QUESTION, context=DOCS, model="echo-slow", max_new_tokens=5000)
        with pytest.raises(DeadlineExceededError):
            await stream.collect()
        with pytest.raises(DeadlineExceededError):  # not "the stream ended without its final message"
            await stream.__anext__()
        with pytest.raises(DeadlineExceededError):  # nor "the answer is not complete"
            stream.result  # noqa: B018


async def test_closing_the_client_mid_stream_is_a_cancelled_call_not_a_cancelled_task(echo_server) -> None:
    client = AsyncClient(echo_server.address, condenser=None, policy="none", timeout=60)
    stream = await client.generate(QUESTION, context=DOCS, model="echo-slow", max_new_tokens=5000)
    await stream.__anext__()
    await client.close()
    # The reading task was never cancelled: a bare CancelledError here would break TaskGroups.
    with pytest.raises(RequestCancelledError):
        await stream.__anext__()
    assert asyncio.current_task().cancelling() == 0
