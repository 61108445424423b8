"""Condensing stops when its time is up: ``Condenser.condense(timeout=...)``, a call's deadline
(``Client``), and a caller that went away (``AsyncClient`` cancelled, the server's ``Condense``
past its deadline).

The 16-token test bundle cuts a long context into many windows. To stand for a slow phone, the
model's runs are wrapped to take 50 ms each and counted; the model itself still runs (LiteRT).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from sdk_bundles import MANY_WINDOWS_CONTEXT, MANY_WINDOWS_QUESTION, CountedRuns
from server_support import stub_for

from splitinfer.sdk import (
    AsyncClient,
    Client,
    Condenser,
    CondenseTimeoutError,
    DeadlineExceededError,
    InvalidInputError,
)
from splitinfer.sdk._condenser import Part, StopClock
from splitinfer.server import BackgroundServer
from splitinfer.v1 import inference_pb2 as pb

pytest_plugins = ["sdk_bundles"]

CONTEXT, QUESTION = MANY_WINDOWS_CONTEXT, MANY_WINDOWS_QUESTION
SLOW_S = 0.05


@pytest.fixture
def fresh(small_window_bundle_path: Path) -> Condenser:
    """A condenser of its own (its runs get wrapped)."""
    return Condenser.load(small_window_bundle_path)


def test_timeout_must_be_a_positive_number_or_none(fresh: Condenser) -> None:
    for bad in (0, -1, float("nan"), float("-inf"), "1", True):
        with pytest.raises(InvalidInputError, match="timeout must be a number of seconds > 0"):
            fresh.condense(CONTEXT, QUESTION, timeout=bad)
    with pytest.raises(InvalidInputError, match="timeout"):
        fresh.condense_parts([Part(CONTEXT)], QUESTION, timeout=-0.5)


def test_a_timeout_that_is_not_reached_changes_nothing(fresh: Condenser) -> None:
    plain = fresh.condense(CONTEXT, QUESTION, rate=0.3)
    timed = fresh.condense(CONTEXT, QUESTION, rate=0.3, timeout=1e6)
    assert timed.text == plain.text and timed.kept_indices.tolist() == plain.kept_indices.tolist()
    assert fresh.condense(CONTEXT, QUESTION, rate=0.3, timeout=float("inf")).text == plain.text  # no limit
    parts = fresh.condense_parts(
        [Part("Note: be brief.", keep_verbatim=True), Part(CONTEXT)], QUESTION, timeout=1e12
    )
    assert parts.parts[0] == "Note: be brief."


def test_a_timeout_already_past_stops_before_the_model_runs(fresh: Condenser) -> None:
    runs = CountedRuns(fresh)
    with pytest.raises(
        CondenseTimeoutError, match=r"timeout of 1e-09 s \(stopped after reading the words\)"
    ) as err:
        fresh.condense(CONTEXT, QUESTION, timeout=1e-9)
    assert isinstance(err.value, TimeoutError)
    assert "allow more time" in str(err.value)
    assert runs.calls == 0


def test_condensing_stops_at_the_next_window_once_cancelled(fresh: Condenser) -> None:
    runs = CountedRuns(fresh)
    fresh.condense(CONTEXT, QUESTION)
    windows = runs.calls  # a whole run's
    assert windows > 20
    runs = CountedRuns(fresh, after=3)
    clock = StopClock(None, runs.reached)  # cancelled as the third window is scored
    with pytest.raises(CondenseTimeoutError, match=rf"cancelled \(after 3 of {windows} model windows\)"):
        fresh.run([Part(CONTEXT)], QUESTION, clock=clock)
    assert runs.calls == 3


def test_a_clients_deadline_stops_condensing_on_the_device(echo_server, fresh: Condenser) -> None:
    runs = CountedRuns(fresh, delay_s=SLOW_S)
    with (
        Client(echo_server.address, condenser=fresh, timeout=0.5) as client,
        pytest.raises(DeadlineExceededError, match="passed while condensing on the device") as err,
    ):
        client.generate(QUESTION, context=CONTEXT, model="echo")
    assert "model windows" in str(err.value) and err.value.code == "DEADLINE_EXCEEDED"
    # 60 sentences are more than 40 windows of 50 ms: the whole run would take over 2 s.
    assert runs.calls < 40


async def test_a_cancelled_async_call_stops_condensing_on_the_device(echo_server, fresh: Condenser) -> None:
    runs = CountedRuns(fresh, delay_s=SLOW_S, after=2)
    async with AsyncClient(echo_server.address, condenser=fresh, timeout=60) as client:
        task = asyncio.create_task(client.generate(QUESTION, context=CONTEXT, model="echo"))
        await asyncio.to_thread(runs.reached.wait, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        stopped_at = await asyncio.to_thread(runs.settle)
    assert 2 <= stopped_at < 10  # not the 40-odd windows of a whole run


def test_the_server_stops_condensing_for_a_caller_whose_deadline_passed(
    small_window_bundle_path: Path,
) -> None:
    from sdk_bundles import echo_server_config

    config = echo_server_config(condenser_path=small_window_bundle_path, max_concurrent=1)
    with BackgroundServer(config) as server:
        channel, stub = stub_for(server.address)
        with channel:
            stub.Condense(pb.CondenseRequest(context="Load the condenser first.", question=QUESTION))
            runs = CountedRuns(server.server.core.condensers.loaded(), delay_s=SLOW_S)
            with pytest.raises(grpc.RpcError) as err:
                stub.Condense(pb.CondenseRequest(context=CONTEXT, question=QUESTION), timeout=0.5)
            assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            assert runs.settle() < 40
            # The one admission slot is free again: the next call is served.
            reply = stub.Condense(
                pb.CondenseRequest(context="A short one about the old road.", question=QUESTION)
            )
            assert reply.condensed
