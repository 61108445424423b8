"""Every kind of bad input gets INVALID_ARGUMENT (RESOURCE_EXHAUSTED for size) with a helpful message,
and the server keeps serving others afterwards."""

from __future__ import annotations

import json
import logging
import math

import grpc
import pytest
from server_support import collect, question, wait_until

from splitinfer.sdk._inputs import MAX_INPUT_CHARS
from splitinfer.sdk._rpc_errors import RequestTooLargeError, from_rpc_error
from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig
from splitinfer.v1 import inference_pb2 as pb
from splitinfer.v1 import inference_pb2_grpc as pb_grpc

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


def rejected(call) -> grpc.RpcError:
    """The error a streaming call ends with (it must end with one)."""
    with pytest.raises(grpc.RpcError) as caught:
        list(call())
    return caught.value


def assert_still_serving(stub) -> None:
    text, _ = collect(stub.Generate(question("still here")))
    assert text == "still here "


def logged(caplog, predicate) -> list[dict]:
    """The request log lines (as dicts) that ``predicate`` accepts, once at least one is written."""

    def lines() -> list[dict]:
        text = "\n".join(r.getMessage() for r in caplog.records if r.name == "splitinfer.server.requests")
        return [line for line in map(json.loads, text.splitlines()) if predicate(line)]

    wait_until(lambda: bool(lines()), what="the request log line")
    return lines()


def sample(server, name: str, labels: dict[str, str]) -> float:
    return server.server.metrics.registry.get_sample_value(name, labels) or 0.0


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


def test_a_long_unknown_model_name_is_cut_short_in_the_message_and_the_log(stub, caplog):
    # Echoed whole, 20,000 characters outgrow gRPC's metadata limit: the client would get
    # RESOURCE_EXHAUSTED ("metadata size exceeds hard limit") instead of this INVALID_ARGUMENT.
    caplog.set_level(logging.INFO, logger="splitinfer.server.requests")
    name = "m" * 20_000
    err = rejected(lambda: stub.Generate(question("hi", model=name, request_id="long-model")))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"unknown model '{'m' * 64}\u2026 (20000 chars)'" in err.details()
    assert len(err.details()) < 500
    (line,) = logged(caplog, lambda line: line.get("id") == "long-model")
    assert line["code"] == "INVALID_ARGUMENT" and "(20000 chars)" in line["error"]
    assert len(json.dumps(line)) < 1000


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


@pytest.mark.parametrize(
    ("method", "response"),
    [
        ("Condense", pb.CondenseResponse),
        # Their requests have no fields, but the proto promises INVALID_ARGUMENT for bad input on
        # every RPC: a client that sends garbage has a bug it should hear about.
        ("GetInfo", pb.GetInfoResponse),
        ("ListModels", pb.ListModelsResponse),
    ],
)
def test_bytes_that_are_no_message_at_all_are_invalid_argument(server, method, response):
    channel = grpc.insecure_channel(server.address)
    call = channel.unary_unary(
        f"/splitinfer.v1.Inference/{method}",
        request_serializer=lambda b: b,
        response_deserializer=response.FromString,
    )
    with pytest.raises(grpc.RpcError) as caught:
        call(b"\xff\xff\xff\xff")
    channel.close()
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"not a valid splitinfer.v1.{method}Request" in caught.value.details()


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


@pytest.mark.parametrize(
    "size",
    # Just over the limit (refused by the server's parser), and over twice it (refused by gRPC).
    [MAX_REQUEST_BYTES + 10, 3 * MAX_REQUEST_BYTES],
    ids=["over", "far-over"],
)
def test_oversized_message_is_resource_exhausted_and_the_server_keeps_serving(stub, size):
    huge = question("x" * size)
    err = rejected(lambda: stub.Generate(huge))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in err.details()
    assert isinstance(from_rpc_error(err, "test"), RequestTooLargeError)  # not retried as overload
    assert_still_serving(stub)


def test_an_oversized_message_is_logged_and_counted(server, stub, caplog):
    caplog.set_level(logging.INFO, logger="splitinfer.server.requests")
    refused = {"method": "Generate", "code": "RESOURCE_EXHAUSTED", "model": ""}  # never routed
    before = sample(server, "splitinfer_requests_total", refused)
    rejected_before = sample(server, "splitinfer_rejected_total", {"reason": "too_large"})
    huge = question("x" * (MAX_REQUEST_BYTES + 10))
    err = rejected(lambda: stub.Generate(huge))
    assert (
        f"the request is {huge.ByteSize()} bytes, larger than max ({MAX_REQUEST_BYTES}, "
        "the server's --max-request-bytes)"
    ) in err.details()
    (line,) = logged(caplog, lambda line: line["code"] == "RESOURCE_EXHAUSTED")
    assert line["rpc"] == "Generate" and "--max-request-bytes" in line["error"]
    assert line["peer"].startswith("ipv4:127.0.0.1")
    assert sample(server, "splitinfer_requests_total", refused) == before + 1
    assert sample(server, "splitinfer_rejected_total", {"reason": "too_large"}) == rejected_before + 1


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


def send_raw(channel: grpc.Channel, path: str, raw: bytes) -> object:
    """Calls ``path`` with ``raw`` as its one request message, however the method streams."""
    plain = {"request_serializer": lambda b: b, "response_deserializer": lambda b: b}
    if path.endswith("/ServerReflectionInfo"):
        return list(channel.stream_stream(path, **plain)(iter([raw]), timeout=5))
    if path.endswith("/Watch"):
        return next(channel.unary_stream(path, **plain)(raw, timeout=5))
    return channel.unary_unary(path, **plain)(raw, timeout=5)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/grpc.health.v1.Health/Check", "grpc.health.v1.HealthCheckRequest"),
        ("/grpc.health.v1.Health/Watch", "grpc.health.v1.HealthCheckRequest"),
        (
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            "grpc.reflection.v1alpha.ServerReflectionRequest",
        ),
    ],
)
def test_bytes_that_are_no_message_are_invalid_argument_on_health_and_reflection_too(
    server, stub, path, message
):
    # grpcio's own servicers answer them with UNKNOWN and log a traceback, unless the server parses
    # their requests as it parses its own.
    channel = grpc.insecure_channel(server.address)
    with pytest.raises(grpc.RpcError) as caught:
        send_raw(channel, path, b"\xff\xff")
    channel.close()
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"the request is not a valid {message} message" in caught.value.details()
    assert_still_serving(stub)


def test_an_unknown_model_name_with_control_characters_is_repeated_escaped_on_one_line(stub):
    err = rejected(lambda: stub.Generate(question("hi", model="gpt\n\x1b[31mred\u202e")))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "unknown model 'gpt\\n\\x1b[31mred\\u202e'" in err.details()
    assert err.details().isprintable()


def many_entries(count: int) -> tuple[tuple[str, str], ...]:
    """Call metadata of ``count`` tiny entries: about 37 bytes each as HTTP/2 counts them."""
    return tuple((f"m{i:03d}", "v") for i in range(count))


def test_call_metadata_under_16_kib_is_always_accepted(stub):
    # About 15 KiB: over gRPC's soft limit (8 KiB), past which it refuses calls at random unless
    # the server sets the soft limit to the hard one.
    for _ in range(8):
        assert stub.ListModels(pb.ListModelsRequest(), metadata=many_entries(400), timeout=5).models


def test_call_metadata_over_16_kib_is_resource_exhausted_and_the_server_keeps_serving(stub):
    for _ in range(3):
        with pytest.raises(grpc.RpcError) as caught:
            stub.ListModels(pb.ListModelsRequest(), metadata=many_entries(500), timeout=5)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert_still_serving(stub)


def test_a_condense_context_over_the_condensers_character_limit_names_the_field():
    # Only reachable with --max-request-bytes above 4 MiB. Checked before the condenser runs (here
    # none loads), whose own check named its argument, parts[0].text, which no client sends.
    config = ServerConfig(
        port=0, backend="echo", max_request_bytes=8 * 1024 * 1024, condenser_path="no-such-bundle.tflite"
    )
    with BackgroundServer(config) as srv:
        channel = grpc.insecure_channel(srv.address, options=[("grpc.max_send_message_length", -1)])
        with pytest.raises(grpc.RpcError) as caught:
            pb_grpc.InferenceStub(channel).Condense(pb.CondenseRequest(context="a" * (MAX_INPUT_CHARS + 1)))
        channel.close()
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"context has {MAX_INPUT_CHARS + 1:,} characters" in caught.value.details()
