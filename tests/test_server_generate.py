"""Generate, GetInfo and ListModels through a real server on a loopback port and a real client.

The models are the ``echo`` backend (streams the prompt's words back), so the expected answers
are known exactly and the tests stay fast.
"""

from __future__ import annotations

import asyncio

import grpc
import pytest
from server_support import collect, question

from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig
from splitinfer.v1 import inference_pb2 as pb
from splitinfer.v1 import inference_pb2_grpc as pb_grpc


@pytest.fixture(scope="module")
def server():
    config = ServerConfig(
        port=0,
        models=(
            ModelConfig("echo", {"name": "echo"}),
            ModelConfig("echo", {"name": "echo-small", "max_new_tokens": 4, "context_tokens": 6}),
        ),
        default_model="echo",
    )
    with BackgroundServer(config) as srv:
        yield srv


def test_generate_streams_chunks_in_order_then_one_final(stub):
    responses = list(stub.Generate(question("one two three")))
    chunks = [r.chunk for r in responses[:-1]]
    assert [c.text for c in chunks] == ["one ", "two ", "three "]
    assert [c.index for c in chunks] == [0, 1, 2]
    assert responses[-1].HasField("final")
    assert all(r.HasField("chunk") for r in responses[:-1])


def test_final_reports_usage_model_and_finish_reason(stub):
    text, final = collect(
        stub.Generate(pb.GenerateRequest(prompt=pb.Prompt(context="a b c d", question="e f")))
    )
    assert text == "a b c d e f "
    assert final.finish_reason == pb.STOP
    assert final.model == "echo"
    assert final.usage.prompt_tokens == 6
    assert final.usage.completion_tokens == 6
    assert 0 < final.usage.time_to_first_chunk_ms <= final.usage.total_ms


def test_caller_request_id_is_echoed_and_a_missing_one_is_assigned(stub):
    _, mine = collect(stub.Generate(question("hi", request_id="device-42")))
    _, assigned = collect(stub.Generate(question("hi")))
    assert mine.request_id == "device-42"
    assert len(assigned.request_id) >= 8


def test_max_new_tokens_cuts_the_answer_with_finish_reason_length(stub):
    request = question("w1 w2 w3 w4 w5 w6", sampling=pb.SamplingOptions(max_new_tokens=2))
    text, final = collect(stub.Generate(request))
    assert text == "w1 w2 "
    assert final.finish_reason == pb.LENGTH
    assert final.usage.completion_tokens == 2


def test_stop_string_ends_the_answer_before_it(stub):
    request = question("alpha beta gamma delta", sampling=pb.SamplingOptions(stop=["gam"]))
    text, final = collect(stub.Generate(request))
    assert text == "alpha beta "
    assert final.finish_reason == pb.STOP_STRING


def test_model_field_picks_among_several_models(stub):
    text, final = collect(stub.Generate(question("a b c d e f", model="echo-small")))
    assert final.model == "echo-small"
    assert final.finish_reason == pb.LENGTH  # echo-small generates at most 4 tokens by default
    assert text == "a b c d "


def test_list_models_lists_every_configured_model_and_the_default(stub):
    listed = stub.ListModels(pb.ListModelsRequest())
    assert [m.name for m in listed.models] == ["echo", "echo-small"]
    assert listed.default_model == "echo"
    small = listed.models[1]
    assert (small.backend, small.context_tokens, small.max_new_tokens, small.token_counting) == (
        "echo",
        6,
        4,
        "exact",
    )


def test_get_info_describes_server_models_and_limits(stub):
    info = stub.GetInfo(pb.GetInfoRequest())
    assert info.server_version
    assert [m.name for m in info.models] == ["echo", "echo-small"]
    assert info.default_model == "echo"
    assert info.max_request_bytes == 4 * 1024 * 1024


async def test_many_concurrent_streams_each_get_their_own_answer(server):
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = pb_grpc.InferenceStub(channel)

        async def one(i: int) -> str:
            parts = []
            async for response in stub.Generate(question(f"stream {i} here")):
                if response.HasField("chunk"):
                    parts.append(response.chunk.text)
            return "".join(parts)

        answers = await asyncio.gather(*(one(i) for i in range(50)))
    assert answers == [f"stream {i} here " for i in range(50)]
