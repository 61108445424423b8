"""The Condense RPC runs the device SDK's condenser on the server, for devices without the model.

Most tests give the server a tiny but real bundle built by ``sdk_bundles`` (TensorFlow converts it,
LiteRT runs it). The last one uses the SDK's default bundle and skips until ``make model`` has built
it; it becomes a real test by itself once ``Condenser.default()`` loads.
"""

from __future__ import annotations

import grpc
import pytest
from sdk_bundles import bundle_path  # noqa: F401  (a session fixture)
from server_support import stub_for

from splitinfer.sdk import Condenser
from splitinfer.server import BackgroundServer, ServerConfig
from splitinfer.v1 import inference_pb2 as pb

CONTEXT = (
    "The Golden Gate Bridge is a suspension bridge spanning the strait. Construction began in 1933 "
    "and the bridge opened to traffic in 1937. It was the longest suspension bridge span at the time. "
    "Tourists often photograph it from the hills to the north, where fog rolls in most summer mornings."
)


@pytest.fixture(scope="module")
def server(bundle_path):  # noqa: F811
    with BackgroundServer(ServerConfig(port=0, backend="echo", condenser_path=bundle_path)) as srv:
        yield srv


def test_condense_returns_what_the_sdk_condenser_returns(stub, bundle_path):  # noqa: F811
    reply = stub.Condense(pb.CondenseRequest(context=CONTEXT, question="When did the bridge open?", rate=0.4))
    local = Condenser.load(bundle_path).condense(CONTEXT, "When did the bridge open?", rate=0.4)
    assert reply.condensed == local.text
    assert (reply.original_tokens, reply.condensed_tokens) == (local.original_tokens, local.condensed_tokens)
    assert reply.achieved_rate == pytest.approx(local.achieved_rate)
    assert reply.condensed_tokens < reply.original_tokens
    assert reply.condense_ms > 0
    assert reply.condenser_version == "test-cnn-1"


def test_condense_keeps_forced_words_and_digits(stub):
    reply = stub.Condense(
        pb.CondenseRequest(context=CONTEXT, question="", target_tokens=12, force=["Tourists"])
    )
    assert "Tourists" in reply.condensed
    assert "1933" in reply.condensed and "1937" in reply.condensed
    without_digits = stub.Condense(pb.CondenseRequest(context=CONTEXT, target_tokens=5, keep_digits=False))
    assert without_digits.condensed_tokens <= 5


def test_get_info_lists_the_servers_condenser(stub):
    info = stub.GetInfo(pb.GetInfoRequest())
    (condenser,) = info.condensers
    assert condenser.model_version == "test-cnn-1"
    assert condenser.default_rate == pytest.approx(0.5)
    assert condenser.max_input_words == 20_000


def test_asking_for_another_condenser_is_invalid_argument(stub):
    with pytest.raises(grpc.RpcError) as caught:
        stub.Condense(pb.CondenseRequest(context=CONTEXT, condenser="minilm-cnn-9"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "test-cnn-1" in caught.value.details()


def test_a_long_unknown_condenser_name_is_cut_short_in_the_message(stub):
    # Echoed whole, it would outgrow gRPC's metadata limit and reach the client as RESOURCE_EXHAUSTED.
    with pytest.raises(grpc.RpcError) as caught:
        stub.Condense(pb.CondenseRequest(context=CONTEXT, condenser="c" * 20_000))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"unknown condenser '{'c' * 64}\u2026 (20000 chars)'" in caught.value.details()
    assert "test-cnn-1" in caught.value.details() and len(caught.value.details()) < 500


def test_the_sdks_own_input_errors_become_invalid_argument(stub):
    with pytest.raises(grpc.RpcError) as caught:
        stub.Condense(pb.CondenseRequest(context=CONTEXT, rate=0.5, target_tokens=10))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "target_tokens" in caught.value.details()


def _default_condenser_problem() -> str | None:
    try:
        Condenser.default()
    except Exception as err:
        return f"Condenser.default() does not load yet ({err})"
    return None


_DEFAULT_PROBLEM = _default_condenser_problem()


@pytest.mark.skipif(_DEFAULT_PROBLEM is not None, reason=str(_DEFAULT_PROBLEM))
def test_condense_uses_the_sdks_default_bundle_when_given_none():
    with BackgroundServer(ServerConfig(port=0, backend="echo")) as srv:
        channel, stub = stub_for(srv.address)
        reply = stub.Condense(pb.CondenseRequest(context=CONTEXT, question="When did the bridge open?"))
        channel.close()
    assert reply.condenser_version == Condenser.default().model_version
    assert 0 < reply.condensed_tokens < reply.original_tokens
