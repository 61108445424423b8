"""One client serving many users at once: every call gets its own answer, calls cancelled mid-stream
stop on the server, calls past tiny deadlines fail alone, and the rest complete."""

from __future__ import annotations

import asyncio
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from server_support import wait_until

from splitinfer.sdk import (
    AsyncClient,
    Client,
    Condenser,
    DeadlineExceededError,
    GenerateResult,
    RequestCancelledError,
    Where,
)

pytest_plugins = ["sdk_bundles"]

USERS = 24
TAG = re.compile(r"user\d\d")


def prompt(user: int) -> tuple[str, str, str]:
    """A question and context that name their user, so an answer shows whose prompt it echoes."""
    tag = f"user{user:02d}"
    context = " ".join(f"Note {j}: the {tag} road is old and {tag} paints it." for j in range(12))
    return tag, f"Which road does {tag} paint?", context


def only_own_words(tag: str, text: str) -> bool:
    return set(TAG.findall(text)) == {tag}


def test_threads_sharing_a_client_get_their_own_answers_and_cancelled_calls_stop_on_the_server(
    echo_server, condenser: Condenser
) -> None:
    from sdk_bundles import echo_backend

    start = threading.Barrier(USERS)

    def user(i: int) -> str:
        tag, question, context = prompt(i)
        start.wait()
        if i % 3 == 0:
            stream = client.generate(
                question, context=context, model="echo-slow", request_id=tag, rate=0.5, max_new_tokens=15
            )
            result = stream.collect()
            assert result.request_id == tag and result.where is Where.DEVICE
            assert only_own_words(tag, result.text), result.text
            return "answered"
        if i % 3 == 1:
            stream = client.generate(question, context=context, model="echo-slow", request_id=tag)
            assert only_own_words(tag, next(stream) + next(stream) + next(stream))
            stream.cancel()
            with pytest.raises(RequestCancelledError):
                next(stream)
            return "cancelled"
        with pytest.raises(DeadlineExceededError):
            client.generate(
                question, context=context, model="echo-slow", request_id=tag, timeout=0.3
            ).collect()
        return "past its deadline"

    with (
        Client(echo_server.address, condenser=condenser, timeout=30) as client,
        ThreadPoolExecutor(USERS) as pool,
    ):
        outcomes = list(pool.map(user, range(USERS)))
    assert outcomes == ["answered", "cancelled", "past its deadline"] * (USERS // 3)
    runs = echo_backend(echo_server).runs
    cancelled = [f"user{i:02d}" for i in range(1, USERS, 3)]
    wait_until(lambda: all(runs[tag].ended_at is not None for tag in cancelled), 10, "the server to stop")
    assert all(runs[tag].closed_early for tag in cancelled)


async def test_tasks_sharing_an_async_client_get_their_own_answers_and_cancelled_calls_stop_on_the_server(
    echo_server, condenser: Condenser
) -> None:
    from sdk_bundles import echo_backend

    streaming = asyncio.Event()
    streams_open = 0

    async def user(i: int) -> GenerateResult | None:
        nonlocal streams_open
        tag, question, context = prompt(i)
        if i % 3 == 2:
            with pytest.raises(DeadlineExceededError):
                await (
                    await client.generate(question, context=context, model="echo-slow", timeout=0.3)
                ).collect()
            return None
        limit = 15 if i % 3 == 0 else 0
        stream = await client.generate(
            question, context=context, model="echo-slow", request_id=tag, rate=0.5, max_new_tokens=limit
        )
        text = await stream.__anext__()
        streams_open += 1
        if streams_open == 2 * USERS // 3:
            streaming.set()
        async for chunk in stream:
            text += chunk
        assert only_own_words(tag, text), text
        return stream.result

    async with AsyncClient(echo_server.address, condenser=condenser, timeout=30) as client:
        tasks = [asyncio.create_task(user(i)) for i in range(USERS)]
        await asyncio.wait_for(streaming.wait(), 20)
        for i in range(1, USERS, 3):
            tasks[i].cancel()  # mid-stream: the reading task goes away
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    for i, outcome in enumerate(outcomes):
        if i % 3 == 0:
            assert isinstance(outcome, GenerateResult) and outcome.request_id == f"user{i:02d}"
        elif i % 3 == 1:
            assert isinstance(outcome, asyncio.CancelledError)
        else:
            assert outcome is None
    runs = echo_backend(echo_server).runs
    cancelled = [f"user{i:02d}" for i in range(1, USERS, 3)]
    await asyncio.to_thread(
        wait_until, lambda: all(runs[tag].ended_at is not None for tag in cancelled), 10, "the server to stop"
    )
    assert all(runs[tag].closed_early for tag in cancelled)
    # grpc.aio's own tasks reading each call's final status end a moment after the channel closes.
    for _ in range(100):
        if asyncio.all_tasks() == {asyncio.current_task()}:
            break
        await asyncio.sleep(0.05)
    assert asyncio.all_tasks() == {asyncio.current_task()}
