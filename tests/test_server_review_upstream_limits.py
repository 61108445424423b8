"""What an upstream can make the server read: an error body only as far as the caller is told of it,
an event line up to 1 MiB. A broken proxy or a hostile engine cannot fill the replica's memory."""

from __future__ import annotations

import asyncio

import grpc
import httpx
import pytest
from server_openai_standin import HUGE_ERROR_BYTES, REPLY, OpenAIStandin
from server_support import collect, wait_until

from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig
from splitinfer.server.backends._sse import LineTooLong, sse_lines
from splitinfer.v1 import inference_pb2 as pb

CASES = ("hugeerror", "longline", "crlfsplit")


@pytest.fixture(scope="module")
def upstream():
    with OpenAIStandin() as standin:
        yield standin


@pytest.fixture(scope="module")
def server(upstream):
    models = tuple(
        ModelConfig("openai", {"name": case, "base_url": upstream.base_url, "model": f"standin-{case}"})
        for case in CASES
    )
    with BackgroundServer(ServerConfig(port=0, models=models, log_requests=False)) as srv:
        yield srv


def ask(model: str) -> pb.GenerateRequest:
    return pb.GenerateRequest(model=model, prompt=pb.Prompt(question="When?"))


def test_a_64_mib_error_body_is_not_read_past_what_the_caller_is_told(stub, upstream):
    with pytest.raises(grpc.RpcError) as caught:
        collect(stub.Generate(ask("hugeerror"), timeout=30))
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    wait_until(lambda: upstream.state.error_bytes_sent, what="the stand-in to stop writing the body")
    # The server hung up after a few KiB; what the stand-in wrote meanwhile is socket buffers.
    assert upstream.state.error_bytes_sent[-1] < HUGE_ERROR_BYTES // 4
    assert (
        caught.value.details()
        == "model 'hugeerror' is unavailable: its engine failed (HTTP 500); retry later"
    )


def test_an_event_line_over_1_mib_fails_the_call_naming_the_limit(stub):
    with pytest.raises(grpc.RpcError) as caught:
        collect(stub.Generate(ask("longline"), timeout=30))
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert caught.value.details() == (
        "model 'longline' failed: its engine sent a stream event line longer than 1,048,576 bytes, the "
        "most this server reads"
    )


def test_a_crlf_cut_between_two_reads_ends_one_line(stub):
    text, final = collect(stub.Generate(ask("crlfsplit"), timeout=30))
    assert text == REPLY + " "
    assert final.finish_reason == pb.STOP


def lines_of(pieces: list[bytes]) -> list[str]:
    """What ``sse_lines`` makes of a body that arrives in these reads."""

    async def body():
        for piece in pieces:
            yield piece

    async def read() -> list[str]:
        return [line async for line in sse_lines(httpx.Response(200, content=body()), max_bytes=64)]

    return asyncio.run(read())


def test_event_lines_end_at_cr_lf_or_crlf_wherever_the_reads_cut_the_body():
    body = "data: a\r\ndata: b\rdata: c\n\ndata: é\u2028\r\n".encode()
    expected = ["data: a", "data: b", "data: c", "", "data: é\u2028"]
    for first in range(len(body)):
        for second in range(first, len(body)):
            pieces = [body[:first], body[first:second], body[second:]]
            assert lines_of(pieces) == expected, pieces


def test_a_line_longer_than_the_limit_is_refused_even_when_it_comes_in_small_reads():
    with pytest.raises(LineTooLong):
        lines_of([b"data: " + b"y" * 10 for _ in range(10)])
    assert lines_of([b"data: " + b"y" * 58 + b"\r", b"\n"]) == ["data: " + "y" * 58]  # 64 bytes: the limit
