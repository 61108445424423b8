"""What a caller without a token can make the server do, and how the token file is guarded."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys

import grpc
import pytest
from server_support import question, stub_for, wait_until

from splitinfer.server import BackgroundServer, ServerConfig
from splitinfer.v1 import inference_pb2 as pb

TOKEN = "privacy-test-token-0123456789"
MAX_REQUEST_BYTES = 64 * 1024


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    tokens = tmp_path_factory.mktemp("auth") / "tokens.txt"
    tokens.write_text(f"{TOKEN}\n")
    tokens.chmod(0o600)
    config = ServerConfig(
        port=0, backend="echo", auth_tokens_file=tokens, max_request_bytes=MAX_REQUEST_BYTES
    )
    with BackgroundServer(config) as srv:
        yield srv


def refusals(caplog: pytest.LogCaptureFixture) -> list[dict]:
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == "splitinfer.server.requests")
    return [line for line in map(json.loads, text.splitlines()) if line["code"] == "UNAUTHENTICATED"]


def test_a_caller_without_a_token_is_refused_before_its_request_is_read(auth_server, caplog):
    # Three times --max-request-bytes: past gRPC's own ceiling (twice it), which gRPC enforces
    # only on a request it reads. Refused unread, the call is UNAUTHENTICATED, and logged as such.
    caplog.set_level(logging.INFO, logger="splitinfer.server.requests")
    huge = "x" * (3 * MAX_REQUEST_BYTES)
    channel, stub = stub_for(auth_server.address)
    with channel:
        with pytest.raises(grpc.RpcError) as streamed:
            list(stub.Generate(pb.GenerateRequest(prompt=pb.Prompt(context=huge, question="q")), timeout=10))
        with pytest.raises(grpc.RpcError) as unary:
            stub.Condense(pb.CondenseRequest(context=huge), timeout=10)
    assert streamed.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert unary.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "missing credentials" in unary.value.details()
    wait_until(lambda: len(refusals(caplog)) >= 2, what="the refusals' log lines")
    assert {line["rpc"] for line in refusals(caplog)} == {"Generate", "Condense"}


def test_a_caller_with_a_token_still_gets_the_size_limit(auth_server):
    channel, stub = stub_for(auth_server.address)
    with channel, pytest.raises(grpc.RpcError) as caught:
        stub.Condense(
            pb.CondenseRequest(context="x" * (MAX_REQUEST_BYTES + 1)),
            metadata=(("authorization", f"Bearer {TOKEN}"),),
            timeout=10,
        )
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in caught.value.details()


def _serve_with_token_file(tmp_path, mode: int):
    """A token file of ``mode``, loaded by a server that starts and stops; its path."""
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"{TOKEN}\n")
    tokens.chmod(mode)
    with BackgroundServer(ServerConfig(port=0, backend="echo", auth_tokens_file=tokens)):
        pass
    return tokens


@pytest.mark.skipif(os.name != "posix" or sys.platform == "cygwin", reason="POSIX file modes")
def test_a_token_file_every_user_can_read_is_loaded_with_a_warning_that_does_not_repeat_tokens(
    tmp_path, caplog
):
    caplog.set_level(logging.WARNING, logger="splitinfer.server")
    tokens = _serve_with_token_file(tmp_path, 0o644)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(str(tokens) in w and "chmod 600" in w and "-rw-r--r--" in w for w in warnings)
    assert not any(TOKEN in r.getMessage() for r in caplog.records)


@pytest.mark.skipif(os.name != "posix" or sys.platform == "cygwin", reason="POSIX file modes")
def test_a_private_token_file_is_loaded_without_a_warning(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="splitinfer.server")
    _serve_with_token_file(tmp_path, 0o640)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and "tokens file" in r.getMessage()]


def test_the_request_log_never_holds_prompts_or_tokens_whatever_the_call_did(auth_server, caplog):
    caplog.set_level(logging.INFO, logger="splitinfer.server.requests")
    secret = "my-private-diagnosis-7e3f"
    good = (("authorization", f"Bearer {TOKEN}"),)
    calls = [
        (question(secret, request_id="priv-1"), (("authorization", f"Bearer {TOKEN[:-1]}"),)),
        (question(secret, request_id="priv-2"), (("authorization", TOKEN),)),
        (question(secret, request_id="priv-3", model="no-such-model"), good),
        (question(secret, request_id="priv-4", sampling=pb.SamplingOptions(temperature=9)), good),
        (pb.GenerateRequest(prompt=pb.Prompt(context=secret * 4000), request_id="priv-5"), good),
        (question(secret, request_id="priv-6"), good),
    ]
    channel, stub = stub_for(auth_server.address)
    with channel:
        for request, metadata in calls:
            with contextlib.suppress(grpc.RpcError):  # most of them are meant to fail
                list(stub.Generate(request, metadata=metadata, timeout=10))

    def text() -> str:
        return "\n".join(r.getMessage() for r in caplog.records if r.name == "splitinfer.server.requests")

    wait_until(lambda: text().count('"priv-6"') == 1, what="the last call's log line")
    assert all(f'"priv-{n}"' in text() for n in (3, 4, 6))  # the calls that got past auth and parsing
    assert secret not in text()
    assert TOKEN[:8] not in text()
