"""Client.generate's limits: one deadline for the whole call, values the wire cannot carry, a
request larger than the server accepts, a closed client, and how targets and certificates are given."""

from __future__ import annotations

import time
from concurrent import futures
from typing import Any

import grpc
import numpy as np
import pytest
from server_support import free_port, make_self_signed

from splitinfer.sdk import (
    AsyncClient,
    Client,
    Condenser,
    DeadlineExceededError,
    InvalidInputError,
    OverloadedError,
    RequestTooLargeError,
    SplitinferError,
)
from splitinfer.v1 import inference_pb2 as pb
from splitinfer.v1 import inference_pb2_grpc as pb_grpc

pytest_plugins = ["sdk_bundles"]

CONTEXT = "The bridge opened in 1937. " * 40


class SlowCondense(pb_grpc.InferenceServicer):
    """A server whose Condense takes ``condense_s`` and whose answer never ends in time; it
    records the time each Generate had left (its deadline as the server sees it)."""

    def __init__(self, condense_s: float) -> None:
        self.condense_s = condense_s
        self.generate_time_left: list[float] = []

    def Condense(self, request: pb.CondenseRequest, context: grpc.ServicerContext) -> pb.CondenseResponse:
        time.sleep(self.condense_s)
        return pb.CondenseResponse(condensed=request.context[:40], original_tokens=100, condensed_tokens=10)

    def Generate(self, request: pb.GenerateRequest, context: grpc.ServicerContext) -> Any:
        self.generate_time_left.append(context.time_remaining())
        while context.is_active():
            yield pb.GenerateResponse(chunk=pb.Chunk(text="more "))
            time.sleep(0.05)


@pytest.fixture
def slow_condense_server():
    servicer = SlowCondense(condense_s=1.2)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pb_grpc.add_InferenceServicer_to_server(servicer, server)
    port = server.add_insecure_port(f"127.0.0.1:{free_port()}")
    server.start()
    yield f"127.0.0.1:{port}", servicer
    server.stop(0)


def test_server_condensing_and_the_answer_share_one_deadline(slow_condense_server) -> None:
    address, servicer = slow_condense_server
    with (
        Client(address, condenser=None, policy="server", timeout=2.0) as client,
        pytest.raises(DeadlineExceededError),
    ):
        client.generate("When?", context=CONTEXT).collect()
    # Condense used 1.2 s of the 2 s: the answer got what was left, not 2 s of its own.
    assert len(servicer.generate_time_left) == 1
    assert servicer.generate_time_left[0] < 0.85


async def test_the_async_client_shares_one_deadline_too(slow_condense_server) -> None:
    address, servicer = slow_condense_server
    async with AsyncClient(address, condenser=None, policy="server", timeout=2.0) as client:
        stream = await client.generate("When?", context=CONTEXT)
        with pytest.raises(DeadlineExceededError):
            await stream.collect()
    assert servicer.generate_time_left[0] < 0.85


def test_a_deadline_spent_condensing_on_the_device_says_so(
    slow_condense_server, condenser: Condenser
) -> None:
    address, servicer = slow_condense_server
    with (
        Client(address, condenser=condenser, policy="only-device", timeout=0.001) as client,
        pytest.raises(
            DeadlineExceededError,
            match=r"deadline of 0\.001 s passed (before|while) condensing on the device",
        ),
    ):
        client.generate("When?", context=CONTEXT * 20)
    assert servicer.generate_time_left == []  # nothing was sent


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_tokens": 0}, "target_tokens must be between 1 and"),
        ({"target_tokens": 2**32}, "target_tokens must be between 1 and"),
        ({"max_new_tokens": 2**40}, "max_new_tokens must be .* at most 4,294,967,295"),
        ({"seed": 2**70}, "seed must be .* at most"),
        ({"stop": 7}, "stop must be a list of str"),
        ({"keep_digits": "no"}, "keep_digits must be True or False"),
        ({"temperature": "hot"}, "temperature must be a number"),
    ],
)
def test_values_the_wire_cannot_carry_are_refused_before_anything_is_sent(
    echo_server, kwargs: dict[str, Any], message: str
) -> None:
    with (
        Client(echo_server.address, condenser=None, policy="none") as client,
        pytest.raises(InvalidInputError, match=message),
    ):
        client.generate("When?", context=CONTEXT, **kwargs)


def test_numpy_numbers_and_no_stop_list_are_accepted(echo_server, condenser: Condenser) -> None:
    with Client(echo_server.address, condenser=condenser) as client:
        result = client.generate(
            "When?",
            context=CONTEXT,
            rate=np.float32(0.5),
            max_new_tokens=np.int64(5),
            temperature=np.float64(0.0),
            seed=np.uint64(3),
            stop=None,
            model="echo",
        ).collect()
    assert result.usage.completion_tokens <= 5
    assert condenser.condense(CONTEXT, target_tokens=np.int64(30), keep_digits=False).condensed_tokens <= 30


def test_a_request_larger_than_the_server_accepts_is_not_called_an_overload(echo_server) -> None:
    huge = "金" * 2_000_000  # 6 MB of UTF-8, over the server's 4 MiB
    with (
        Client(echo_server.address, condenser=None, policy="none") as client,
        pytest.raises(RequestTooLargeError, match=r"larger than max.*max-request-bytes") as caught,
    ):
        client.generate("When?", context=huge, model="echo").collect()
    assert not isinstance(caught.value, OverloadedError)  # retrying it would never succeed


def test_a_closed_client_says_so(echo_server) -> None:
    client = Client(echo_server.address, condenser=None, policy="none")
    client.close()
    with pytest.raises(SplitinferError, match="is closed; create a new one"):
        client.generate("When?", context=CONTEXT)


def test_a_target_without_a_port_is_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"has no port; pass 'HOST:PORT', e\.g\. localhost:50051"):
        Client("localhost", condenser=None)


def test_root_certificates_may_be_given_as_pem_text(tmp_path) -> None:
    _, _, pem = make_self_signed(tmp_path)
    client = Client(f"localhost:{free_port()}", condenser=None, root_certificates=pem.decode())
    assert client.settings.secure
    client.close()
    with pytest.raises(InvalidInputError, match="root_certificates must be PEM bytes, PEM text or a path"):
        Client("localhost:1", condenser=None, root_certificates=12)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tls": "false"}, "tls must be True or False, got str 'false'"),
        (
            {"credentials": "tok", "tls": False, "allow_insecure_credentials": "false"},
            "allow_insecure_credentials must be True or False",
        ),
        ({"compression": "no"}, "compression must be True or False"),
        ({"tls_server_name": 5}, "tls_server_name must be a str, got int"),
    ],
)
def test_flags_must_be_booleans_not_strings_that_look_false(fields: dict[str, Any], message: str) -> None:
    # "false" is truthy: taken as it is, it would send the token in plaintext or turn TLS on.
    with pytest.raises(InvalidInputError, match=message):
        Client("example.com:50051", condenser=None, **fields)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("ho\x00st:1", "holds a control character"),
        ("host name:1", "holds a space"),
        ("localhost:0", "the port must be a number from 1 to 65535"),
    ],
)
def test_a_target_gRPC_would_read_otherwise_is_refused(target: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        Client(target, condenser=None)


def test_a_timeout_meaning_no_deadline_does_not_fail_every_call(echo_server) -> None:
    # gRPC takes a deadline past about 7e9 s for one already past.
    with Client(echo_server.address, condenser=None, policy="none", timeout=1e12) as client:
        assert (
            client.generate("When?", context="It opened in 1937.", model="echo")
            .collect()
            .usage.completion_tokens
        )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"stop": ["\ud800"]}, r"stop\[0\] is not valid Unicode"),
        ({"force": ["ok", "\ud800"]}, r"force\[1\] is not valid Unicode"),
        ({"force": [""]}, r"force\[0\]='' must be a non-empty word of at most 64 characters"),
        ({"force": ["w"] * 257}, "force has 257 words; a call through a server takes at most 256"),
    ],
)
@pytest.mark.parametrize("policy", ["prefer-device", "server"])
def test_force_and_stop_are_checked_alike_wherever_the_context_is_condensed(
    echo_server, condenser: Condenser, fields: dict[str, Any], message: str, policy: str
) -> None:
    with (
        Client(echo_server.address, condenser=condenser, policy=policy) as client,
        pytest.raises(InvalidInputError, match=message),
    ):
        client.generate("When?", context=CONTEXT, model="echo", **fields)


def test_prefer_device_sends_the_context_as_it_is_when_the_server_will_not_condense_it(tmp_path) -> None:
    from sdk_bundles import echo_server_config

    from splitinfer.server import BackgroundServer

    with (
        BackgroundServer(echo_server_config(max_condense_words=20)) as server,
        Client(server.address, condenser=tmp_path / "missing.tflite") as client,
    ):
        result = client.generate("When?", context=CONTEXT, model="echo", max_new_tokens=5000).collect()
    assert result.where.name == "NOWHERE" and "the server cannot condense either" in result.fallback_reason
    assert "condenses at most 20" in result.fallback_reason
