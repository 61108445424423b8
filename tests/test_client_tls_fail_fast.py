"""TLS settings that certainly do not match the server's fail a call at its first attempt.

gRPC retries a connection that failed (UNAVAILABLE) for about 3 s; a client that does not trust
the server's certificate, or speaks TLS to a plaintext port, fails the same way every time. Real
servers behind a ``NetworkProxy`` that counts the connections the client opens: one, not one per
retry, with the default retry policy (five attempts).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_support import NetworkProxy, make_self_signed

from splitinfer.sdk import AsyncClient, Client, ServerUnavailableError
from splitinfer.sdk._channel import MAX_ATTEMPTS
from splitinfer.server import BackgroundServer

pytest_plugins = ["sdk_bundles"]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], dict[str, Path]]]:
    """The addresses of a TLS and a plaintext echo server, and two self-signed certificates: the
    TLS server's ("good") and one of another CA ("other")."""
    from sdk_bundles import echo_server_config

    good_cert, good_key, _ = make_self_signed(tmp_path_factory.mktemp("good"))
    other_cert, _, _ = make_self_signed(tmp_path_factory.mktemp("other"))
    with contextlib.ExitStack() as stack:
        tls = stack.enter_context(BackgroundServer(echo_server_config(tls_cert=good_cert, tls_key=good_key)))
        plaintext = stack.enter_context(BackgroundServer(echo_server_config()))
        yield {"tls": tls.address, "plaintext": plaintext.address}, {"good": good_cert, "other": other_cert}


def connections(network: NetworkProxy) -> int:
    """How many connections the client opened through ``network`` (each has two sockets)."""
    return len(network._sockets) // 2


def ask(target: str, **settings: Any) -> str:
    with Client(target, condenser=None, policy="none", timeout=30, **settings) as client:
        return client.generate("Is it up?", model="echo").collect().text


CASES = [
    ("tls", "other", "does not trust the server's certificate"),
    ("plaintext", "good", "the server does not speak TLS"),
]
IDS = ["untrusted-ca", "tls-to-plaintext"]


@pytest.mark.parametrize(("server", "ca", "cause"), CASES, ids=IDS)
def test_a_tls_mismatch_fails_at_the_first_attempt_with_its_hint(
    servers: tuple[dict[str, str], dict[str, Path]], server: str, ca: str, cause: str
) -> None:
    addresses, certs = servers
    with NetworkProxy(addresses[server]) as network:
        with pytest.raises(ServerUnavailableError, match=cause):
            ask(network.address, root_certificates=certs[ca])
        opened = connections(network)
    assert MAX_ATTEMPTS == 5
    assert 1 <= opened <= 2, f"{opened} connections: the call was retried"


@pytest.mark.parametrize(("server", "ca", "cause"), CASES, ids=IDS)
def test_the_async_client_fails_a_tls_mismatch_at_the_first_attempt_too(
    servers: tuple[dict[str, str], dict[str, Path]], server: str, ca: str, cause: str
) -> None:
    addresses, certs = servers

    async def call(target: str) -> None:
        async with AsyncClient(
            target, condenser=None, policy="none", root_certificates=certs[ca], timeout=30
        ) as client:
            await (await client.generate("Is it up?", model="echo")).collect()

    with NetworkProxy(addresses[server]) as network:
        with pytest.raises(ServerUnavailableError, match=cause):
            asyncio.run(call(network.address))
        opened = connections(network)
    assert 1 <= opened <= 2, f"{opened} connections: the call was retried"


def test_a_plaintext_client_of_a_tls_server_is_still_retried(
    servers: tuple[dict[str, str], dict[str, Path]],
) -> None:
    # gRPC says only "Socket closed": a server shutting down says the same, and may be back.
    addresses, _ = servers
    with NetworkProxy(addresses["tls"]) as network:
        with pytest.raises(ServerUnavailableError, match="as a TLS server does to a plaintext client"):
            ask(network.address, tls=False)
        assert connections(network) >= 3


def test_a_tls_client_with_matching_settings_is_answered_after_the_check(
    servers: tuple[dict[str, str], dict[str, Path]],
) -> None:
    addresses, certs = servers
    with Client(addresses["tls"], condenser=None, policy="none", root_certificates=certs["good"]) as client:
        for _ in range(2):  # connecting, then connected
            assert "Is it up?" in client.generate("Is it up?", model="echo").collect().text
