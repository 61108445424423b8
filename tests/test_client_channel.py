"""The channel done right: retries, deadlines, a down server, TLS and bearer tokens, overload hints."""

from __future__ import annotations

import threading
from pathlib import Path

import grpc
import pytest
from server_support import free_port, make_self_signed

from splitinfer.sdk import (
    AuthenticationError,
    Client,
    DeadlineExceededError,
    InvalidInputError,
    OverloadedError,
    ServerUnavailableError,
)
from splitinfer.server import BackgroundServer
from splitinfer.v1 import inference_pb2 as pb
from splitinfer.v1 import inference_pb2_grpc as pb_grpc

pytest_plugins = ["sdk_bundles"]

TOKEN = "s3cret-token-for-tests"


def ask(client: Client, model: str = "echo", **kwargs: object) -> str:
    return client.generate("Is it up?", context="The server is up.", model=model, **kwargs).collect().text


def test_a_down_server_raises_server_unavailable_after_the_retries_not_at_the_deadline() -> None:
    with (
        Client(f"127.0.0.1:{free_port()}", condenser=None, policy="none", timeout=60) as client,
        pytest.raises(
            ServerUnavailableError, match=r"UNAVAILABLE from 127\.0\.0\.1:\d+.*check that the server runs"
        ),
    ):
        ask(client)


def test_a_server_that_starts_late_is_reached_by_the_retries() -> None:
    from sdk_bundles import echo_server_config

    port = free_port()
    server = BackgroundServer(echo_server_config(port=port))
    starter = threading.Timer(0.3, server.start)
    starter.start()
    try:
        with Client(f"127.0.0.1:{port}", condenser=None, policy="none", timeout=30) as client:
            assert ask(client).split() == ["The", "server", "is", "up.", "Is", "it", "up?"]
    finally:
        starter.join()
        server.stop()


def test_without_the_retry_policy_the_same_late_start_fails() -> None:
    """The contrast that shows the previous test's success comes from the service config."""
    from sdk_bundles import echo_server_config

    port = free_port()
    server = BackgroundServer(echo_server_config(port=port))
    starter = threading.Timer(0.3, server.start)
    starter.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.enable_retries", 0)]) as channel:
            request = pb.GenerateRequest(prompt=pb.Prompt(question="Is it up?"), model="echo")
            with pytest.raises(grpc.RpcError) as err:
                list(pb_grpc.InferenceStub(channel).Generate(request, timeout=30))
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        starter.join()
        server.stop()


def test_a_call_past_its_deadline_raises_deadline_exceeded(echo_server) -> None:
    with (
        Client(echo_server.address, condenser=None, policy="none", timeout=0.5) as client,
        pytest.raises(DeadlineExceededError, match="allow more time"),
    ):
        ask(client, model="echo-slow", max_new_tokens=5000)


def test_a_timeout_per_call_overrides_the_client_default(echo_server) -> None:
    with (
        Client(echo_server.address, condenser=None, policy="none", timeout=60) as client,
        pytest.raises(DeadlineExceededError),
    ):
        ask(client, model="echo-slow", max_new_tokens=5000, timeout=0.3)


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("-inf"), None])
def test_every_call_needs_a_positive_deadline(timeout: object) -> None:
    with pytest.raises(InvalidInputError, match="every call has a deadline"):
        Client("127.0.0.1:1", timeout=timeout)  # type: ignore[arg-type]


def test_an_endless_timeout_is_the_longest_deadline_grpc_keeps() -> None:
    from splitinfer.sdk._inputs import MAX_TIMEOUT_S

    for endless in (float("inf"), 1e30):
        assert Client("127.0.0.1:1", timeout=endless, condenser=None).timeout == MAX_TIMEOUT_S


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes]:
    return make_self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def secure_server(tls_files: tuple[Path, Path, bytes], tmp_path_factory: pytest.TempPathFactory):
    from sdk_bundles import echo_server_config

    tokens = tmp_path_factory.mktemp("auth") / "tokens.txt"
    tokens.write_text(f"# test tokens\n{TOKEN}\n")
    cert, key, _ = tls_files
    with BackgroundServer(echo_server_config(tls_cert=cert, tls_key=key, auth_tokens_file=tokens)) as server:
        yield server


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory):
    from sdk_bundles import echo_server_config

    tokens = tmp_path_factory.mktemp("auth-plain") / "tokens.txt"
    tokens.write_text(f"{TOKEN}\n")
    with BackgroundServer(echo_server_config(auth_tokens_file=tokens)) as server:
        yield server


def test_tls_with_the_servers_certificate_and_a_token_works(secure_server, tls_files) -> None:
    cert, _, _ = tls_files
    with Client(
        secure_server.address, condenser=None, policy="none", credentials=TOKEN, root_certificates=cert
    ) as client:
        assert client.settings.secure
        assert "Is it up?" in ask(client)


def test_tls_against_an_untrusted_certificate_is_unavailable_not_a_hang(secure_server) -> None:
    with (
        Client(
            secure_server.address, condenser=None, policy="none", credentials=TOKEN, tls=True, timeout=30
        ) as client,
        pytest.raises(ServerUnavailableError),
    ):
        ask(client)


def test_plaintext_against_a_tls_server_is_unavailable(secure_server) -> None:
    with (
        Client(
            secure_server.address, condenser=None, policy="none", credentials=TOKEN, tls=False, timeout=30
        ) as client,
        pytest.raises(ServerUnavailableError),
    ):
        ask(client)


@pytest.mark.parametrize(
    ("token", "message"),
    [(None, "missing credentials"), ("wrong-token", "invalid token")],
)
def test_a_refused_token_raises_authentication_error_with_the_servers_reason(
    secure_server, tls_files, token: str | None, message: str
) -> None:
    cert, _, _ = tls_files
    with (
        Client(
            secure_server.address, condenser=None, policy="none", credentials=token, root_certificates=cert
        ) as client,
        pytest.raises(AuthenticationError, match=f"{message}.*UNAUTHENTICATED.*pass a valid token"),
    ):
        ask(client)


def test_a_token_travels_as_metadata_on_plaintext_loopback(auth_server) -> None:
    with Client(auth_server.address, condenser=None, policy="none", credentials=TOKEN) as client:
        assert not client.settings.secure
        assert "Is it up?" in ask(client)


def test_a_token_is_never_sent_in_plaintext_beyond_loopback() -> None:
    with pytest.raises(InvalidInputError, match="refusing to send a bearer token in plaintext"):
        Client("api.example.com:50051", credentials=TOKEN, tls=False)


def test_non_loopback_targets_use_tls_by_default() -> None:
    with Client("api.example.com:443", condenser=None) as client:
        assert client.settings.secure


def test_an_overloaded_server_raises_overloaded_with_its_retry_hint() -> None:
    from sdk_bundles import echo_server_config

    with (
        BackgroundServer(echo_server_config(max_concurrent=1, max_queued=0)) as server,
        Client(server.address, condenser=None, policy="none", timeout=30) as client,
    ):
        busy = client.generate("Is it up?", context="x", model="echo-slow", max_new_tokens=5000)
        next(busy)
        with pytest.raises(OverloadedError) as err:
            ask(client)
        busy.cancel()
    assert err.value.retry_after_s is not None and err.value.retry_after_s > 0
    assert "retry after" in str(err.value)
