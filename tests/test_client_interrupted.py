"""A server that goes away after the answer has started: the error says the answer is cut off."""

from __future__ import annotations

import threading

import pytest

from splitinfer.sdk import AnswerInterruptedError, AsyncClient, Client, ServerUnavailableError
from splitinfer.server import BackgroundServer

pytest_plugins = ["sdk_bundles"]


def slow_server() -> BackgroundServer:
    from sdk_bundles import echo_server_config

    return BackgroundServer(echo_server_config(grace_seconds=0.2)).start()


def test_a_server_stopping_mid_answer_is_an_interrupted_answer_not_an_unreachable_server() -> None:
    server = slow_server()
    try:
        with Client(server.address, condenser=None, timeout=30) as client:
            stream = client.generate("Which road is old?", context="", model="echo-slow")
            chunks = [next(stream), next(stream)]
            threading.Thread(target=server.stop).start()
            with pytest.raises(AnswerInterruptedError) as caught:
                chunks.extend(stream)
    finally:
        server.stop()
    assert isinstance(caught.value, ServerUnavailableError) and caught.value.code == "UNAVAILABLE"
    message = str(caught.value)
    assert (
        f"(after {len(chunks)} chunks of the answer)" in message
        and "the answer is cut off; ask again" in message
    )
    assert "check that the server runs" not in message


async def test_the_async_client_says_the_same() -> None:
    server = slow_server()
    try:
        async with AsyncClient(server.address, condenser=None, timeout=30) as client:
            stream = await client.generate("Which road is old?", context="", model="echo-slow")
            chunks = [await stream.__anext__(), await stream.__anext__()]
            threading.Thread(target=server.stop).start()
            with pytest.raises(AnswerInterruptedError, match=r"after \d+ chunks of the answer"):
                async for chunk in stream:
                    chunks.append(chunk)
    finally:
        server.stop()
