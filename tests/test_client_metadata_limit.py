"""A call's metadata (the bearer token, above all) over what a server accepts: refused before it is
sent, with the limit, and never reported as an overloaded server (gRPC answers RESOURCE_EXHAUSTED
for both, and sends metadata of any size without a check of its own)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from server_support import free_port

import splitinfer.sdk
from splitinfer.sdk import (
    AsyncClient,
    Client,
    InvalidInputError,
    MetadataTooLargeError,
    OverloadedError,
    RequestTooLargeError,
)
from splitinfer.server import BackgroundServer

pytest_plugins = ["sdk_bundles"]

# A server's metadata limit is 16 KiB (sdk/_channel.py's MAX_METADATA_BYTES, which server/app.py uses).
TOO_LARGE_TOKEN = "t" * 16_000
FITTING_TOKEN = "t" * 15_000


@pytest.fixture(scope="module")
def echo_address() -> Iterator[str]:
    from sdk_bundles import echo_server_config

    with BackgroundServer(echo_server_config()) as server:
        yield server.address


@pytest.fixture
def small_limit_server() -> Iterator[str]:
    """A gRPC server that accepts 4 KiB of metadata: a proxy or another server in front that
    takes less than a splitinfer server does."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=2),
        options=[("grpc.max_metadata_size", 4096), ("grpc.absolute_max_metadata_size", 4096)],
    )
    port = server.add_insecure_port(f"127.0.0.1:{free_port()}")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(0)


def ask(client: Client) -> str:
    return client.generate("Is it up?", model="echo").collect().text


def test_a_token_too_large_for_a_servers_metadata_is_refused_before_a_call_naming_the_limit(
    echo_address: str,
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        Client(echo_address, condenser=None, policy="none", credentials=TOO_LARGE_TOKEN)
    message = str(refused.value)
    assert "the bearer token is 16,000 bytes" in message
    assert "16,384 (16 KiB)" in message and "use a shorter token" in message
    assert "overload" not in message and "busy" not in message


def test_the_async_client_refuses_a_token_too_large_the_same_way(echo_address: str) -> None:
    with pytest.raises(InvalidInputError, match="16,384"):
        AsyncClient(echo_address, condenser=None, policy="none", credentials=TOO_LARGE_TOKEN)


def test_a_token_that_fits_the_servers_metadata_limit_reaches_it(echo_address: str) -> None:
    with Client(echo_address, condenser=None, policy="none", credentials=FITTING_TOKEN) as client:
        assert "Is it up?" in ask(client)


def test_a_server_that_refuses_the_metadata_says_so_not_that_it_is_overloaded(
    small_limit_server: str,
) -> None:
    with (
        Client(small_limit_server, condenser=None, policy="none", credentials="t" * 6000) as client,
        pytest.raises(MetadataTooLargeError) as refused,
    ):
        ask(client)
    error = refused.value
    assert not isinstance(error, OverloadedError)
    assert isinstance(error, RequestTooLargeError) and isinstance(error, InvalidInputError)
    assert error.code == "RESOURCE_EXHAUSTED"
    assert "metadata is too large, the server is not overloaded" in str(error)
    assert "shorter bearer token" in str(error)


def test_the_async_client_reads_a_refused_metadata_the_same_way(small_limit_server: str) -> None:
    async def call() -> None:
        async with AsyncClient(
            small_limit_server, condenser=None, policy="none", credentials="t" * 6000
        ) as client:
            await (await client.generate("Is it up?", model="echo")).collect()

    with pytest.raises(MetadataTooLargeError):
        asyncio.run(call())


def test_the_metadata_error_is_part_of_the_public_api() -> None:
    assert "MetadataTooLargeError" in splitinfer.sdk.__all__
    assert splitinfer.sdk.MetadataTooLargeError is MetadataTooLargeError
