"""Every kind of bad input gets INVALID_ARGUMENT (RESOURCE_EXHAUSTED for size) with a helpful message,
and the server keeps serving others afterwards."""

from __future__ import annotations

import math

import grpc
import pytest
from server_support import collect, question, stub_for

from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig
from splitinfer.v1 import inference_pb2 as pb

MAX_REQUEST_BYTES = 64 * 1024


@pytest.fixture(scope="module")
def server():
    config = ServerConfig(
        port=0,
        models=(ModelConfig("echo", {"name": "echo", "context_tokens": 50, "max_new_tokens": 100}),),
        max_request_bytes=MAX_REQUEST_BYTES,
        condenser_path="no-such-bundle.tflite",
    )
    with BackgroundServer(config) as srv:
        yield srv


@pytest.fixture(scope="module")
def stub(server):
    channel, stub = stub_for(server.address)
    yield stub
    channel.close()


def rejected(call) -> grpc.RpcError:
    """The error a streaming call ends with (it must end with one)."""
    with pytest.raises(grpc.RpcError) as caught:
        list(call())
    return caught.value


def assert_still_serving(stub) -> None:
    text, _ = collect(stub.Generate(question("still here")))
    assert text == "still here "


def test_empty_prompt_is_invalid_argument_naming_the_fields(stub):
    err = rejected(
        lambda: stub.Generate(pb.GenerateRequest(prompt=pb.Prompt(instruction="be brief", context="  ")))
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "prompt is empty" in err.details() and "prompt.question" in err.details()
    assert_still_serving(stub)


def test_prompt_over_the_model_limit_says_how_many_tokens_and_what_to_do(stub):
    err = rejected(lambda: stub.Generate(question(" ".join(["word"] * 51))))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "51 tokens" in err.details() and "at most 50" in err.details() and "condense" in err.details()
    assert_still_serving(stub)


def test_unknown_model_lists_the_models_served(stub):
    err = rejected(lambda: stub.Generate(question("hi", model="gpt-17")))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "unknown model 'gpt-17'" in err.details() and "echo" in err.details()


def test_invalid_utf8_from_a_non_python_client_names_the_field(server, stub):
    # What a client in another language can put on the wire: field 3 (prompt) holding field 3
    # (question) with the bytes ff fe, which are not UTF-8. Python's protobuf refuses to build it.
    raw = bytes([0x1A, 0x04, 0x1A, 0x02, 0xFF, 0xFE])
    channel = grpc.insecure_channel(server.address)
    generate = channel.unary_stream(
        "/splitinfer.v1.Inference/Generate",
        request_serializer=lambda b: b,
        response_deserializer=pb.GenerateResponse.FromString,
    )
    err = rejected(lambda: generate(raw))
    channel.close()
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "prompt.question is not valid UTF-8" in err.details()
    assert_still_serving(stub)


def test_bytes_that_are_no_message_at_all_are_invalid_argument(server):
    channel = grpc.insecure_channel(server.address)
    condense = channel.unary_unary(
        "/splitinfer.v1.Inference/Condense",
        request_serializer=lambda b: b,
        response_deserializer=pb.CondenseResponse.FromString,
    )
    with pytest.raises(grpc.RpcError) as caught:
        condense(b"\xff\xff\xff\xff")
    channel.close()
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid splitinfer.v1.CondenseRequest" in caught.value.details()


@pytest.mark.parametrize(
    ("sampling", "field"),
    [
        (pb.SamplingOptions(temperature=5.0), "temperature"),
        (pb.SamplingOptions(temperature=-0.1), "temperature"),
        (pb.SamplingOptions(temperature=math.nan), "temperature"),
        (pb.SamplingOptions(top_p=0.0), "top_p"),
        (pb.SamplingOptions(top_p=1.5), "top_p"),
        (pb.SamplingOptions(max_new_tokens=101), "max_new_tokens"),
        (pb.SamplingOptions(stop=[str(i) for i in range(9)]), "stop"),
        (pb.SamplingOptions(stop=[""]), "stop[0]"),
        (pb.SamplingOptions(stop=["x" * 65]), "stop[0]"),
    ],
)
def test_absurd_sampling_values_are_invalid_argument_naming_the_field(stub, sampling, field):
    err = rejected(lambda: stub.Generate(question("hi", sampling=sampling)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"sampling.{field}" in err.details()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"request_id": "x" * 129}, "request_id"),
        ({"request_id": "caf\u00e9"}, "request_id"),
        ({"condensation": pb.Condensation(original_tokens=10, condensed_tokens=11)}, "condensed_tokens"),
        (
            {"condensation": pb.Condensation(original_tokens=10, condensed_tokens=5, rate_requested=2)},
            "rate_requested",
        ),
        (
            # proto3 enums are open: a client may send a number the schema does not define.
            {"condensation": pb.Condensation(where=7, original_tokens=10, condensed_tokens=5)},
            "condensation.where=7",
        ),
    ],
)
def test_inconsistent_request_fields_are_invalid_argument(stub, fields, expected):
    err = rejected(lambda: stub.Generate(question("hi", **fields)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert expected in err.details()


def test_oversized_message_is_resource_exhausted_and_the_server_keeps_serving(stub):
    huge = question("x" * (MAX_REQUEST_BYTES + 10))
    err = rejected(lambda: stub.Generate(huge))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in err.details()
    assert_still_serving(stub)


@pytest.mark.parametrize(
    ("condense_request", "expected"),
    [
        (pb.CondenseRequest(context=" "), "context is empty"),
        (pb.CondenseRequest(context="a b", rate=1.5), "rate=1.5"),
        (pb.CondenseRequest(context="a b", force=["w"] * 257), "force has 257"),
        (pb.CondenseRequest(context="a b", force=[""]), "force[0]"),
    ],
)
def test_bad_condense_requests_are_invalid_argument(stub, condense_request, expected):
    with pytest.raises(grpc.RpcError) as caught:
        stub.Condense(condense_request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert expected in caught.value.details()


def test_condense_without_a_usable_bundle_is_failed_precondition_with_the_reason(stub):
    with pytest.raises(grpc.RpcError) as caught:
        stub.Condense(pb.CondenseRequest(context="some long context", rate=0.5))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "no-such-bundle.tflite" in caught.value.details()
    assert "condense on the device" in caught.value.details()
