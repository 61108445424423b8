"""Client.generate against a real server: streaming, the result, and what reaches the server."""

from __future__ import annotations

import pytest
from server_support import wait_until

from splitinfer.sdk import (
    Client,
    Condenser,
    DeadlineExceededError,
    InvalidInputError,
    InvalidRequestError,
    RequestCancelledError,
    SplitinferError,
    Where,
)

pytest_plugins = ["sdk_bundles"]

DOCS = (
    " ".join(
        f"Document {i}: the harbour board met again and talked about paint, trees and the old road."
        for i in range(60)
    )
    + " The bridge opened to traffic in 1932 after six years of work."
)
QUESTION = "When did the bridge open?"


@pytest.fixture
def client(echo_server, condenser: Condenser):
    with Client(echo_server.address, condenser=condenser, timeout=20) as client:
        yield client


def test_the_answer_streams_in_chunks_that_add_up_to_the_result(client: Client) -> None:
    stream = client.generate(QUESTION, context=DOCS, rate=0.3, model="echo", max_new_tokens=5000)
    chunks = list(stream)
    assert len(chunks) > 10
    assert "".join(chunks) == stream.result.text


def test_the_server_receives_the_condensed_context_and_the_whole_question(client: Client) -> None:
    stream = client.generate(
        QUESTION, context=DOCS, instruction="Answer briefly.", rate=0.3, model="echo", max_new_tokens=5000
    )
    result = stream.collect()
    # The echo model streams back instruction, context and question as it received them.
    assert result.text.split() == ("Answer briefly. " + result.condensed_context + " " + QUESTION).split()
    assert "1932" in result.condensed_context.split()
    assert len(result.condensed_context) < 0.5 * len(DOCS)


def test_the_result_reports_usage_place_and_savings(client: Client, condenser: Condenser) -> None:
    result = client.generate(
        QUESTION, context=DOCS, rate=0.3, model="echo", max_new_tokens=5000, request_id="savings-1"
    ).collect()
    assert result.where is Where.DEVICE and result.fallback_reason is None
    assert result.usage.prompt_tokens == len(result.text.split())
    assert result.usage.completion_tokens == len(result.text.split())
    assert result.finish_reason == "stop" and result.model == "echo" and result.request_id == "savings-1"
    savings = result.savings
    assert savings.original_tokens == condenser.count_tokens(DOCS)
    assert savings.sent_tokens == condenser.count_tokens(result.condensed_context)
    assert savings.tokens_saved > 0.6 * savings.original_tokens
    assert savings.bytes_saved > len(DOCS.encode()) // 2
    assert savings.device_ms > 0
    assert "condensed on the device" in savings.summary()


def test_result_before_the_end_of_the_stream_says_to_read_it_first(client: Client) -> None:
    stream = client.generate(QUESTION, context=DOCS, model="echo")
    next(stream)
    with pytest.raises(SplitinferError, match="iterate the stream"):
        _ = stream.result
    stream.cancel()


def test_result_after_a_failed_stream_raises_why_it_failed(echo_server, condenser: Condenser) -> None:
    with Client(echo_server.address, condenser=condenser, policy="none", timeout=0.5) as client:
        stream = client.generate(QUESTION, context=DOCS, model="echo-slow", max_new_tokens=5000)
        with pytest.raises(DeadlineExceededError):
            stream.collect()
        with pytest.raises(DeadlineExceededError):  # not "the answer is not complete: iterate..."
            _ = stream.result


def test_cancel_stops_the_work_on_the_server(echo_server, client: Client) -> None:
    from sdk_bundles import echo_backend

    stream = client.generate(QUESTION, context=DOCS, model="echo-slow", request_id="cancel-me")
    next(stream)
    next(stream)
    stream.cancel()
    with pytest.raises(RequestCancelledError):
        next(stream)
    backend = echo_backend(echo_server)
    wait_until(lambda: backend.runs["cancel-me"].ended_at is not None, 5.0, "the server to stop the run")
    assert backend.runs["cancel-me"].closed_early


def test_leaving_a_with_block_early_cancels_the_call(echo_server, client: Client) -> None:
    from sdk_bundles import echo_backend

    with client.generate(QUESTION, context=DOCS, model="echo-slow", request_id="with-exit") as stream:
        next(stream)
    backend = echo_backend(echo_server)
    wait_until(lambda: backend.runs["with-exit"].ended_at is not None, 5.0, "the server to stop the run")
    assert backend.runs["with-exit"].closed_early


def test_a_request_the_server_rejects_raises_invalid_request_with_its_message(client: Client) -> None:
    with pytest.raises(InvalidRequestError, match=r"unknown model 'gpt-99'.*echo"):
        client.generate(QUESTION, context="short", model="gpt-99").collect()


def test_an_empty_question_and_context_is_refused_before_sending(client: Client) -> None:
    with pytest.raises(InvalidInputError, match="nothing to ask"):
        client.generate("  ", context="")


def test_a_question_without_context_is_sent_as_is(client: Client) -> None:
    result = client.generate(QUESTION, model="echo").collect()
    assert result.text.split() == QUESTION.split()
    assert result.where is Where.NOWHERE
    assert "context is empty" in (result.fallback_reason or "")
