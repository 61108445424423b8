"""An engine that stalls behind the server is the engine's fault, not the client's deadline.

The server's ``openai`` backend gives up on an upstream that sends nothing for ``read_timeout_s``;
the SDK must then say the engine failed (``UpstreamUnavailableError``), not give a client that had
plenty of time left the advice to allow more. A call whose own deadline passes is still a
``DeadlineExceededError``. Real server, real HTTP stand-in, real SDK client.
"""

from __future__ import annotations

import pytest
from server_openai_standin import OpenAIStandin

from splitinfer.sdk import Client, DeadlineExceededError, UpstreamUnavailableError
from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig


@pytest.fixture(scope="module")
def server():
    with OpenAIStandin() as upstream:
        models = tuple(
            ModelConfig(
                "openai",
                {
                    "name": name,
                    "base_url": upstream.base_url,
                    "model": "standin-hang",
                    "read_timeout_s": wait,
                },
            )
            for name, wait in (("stalls", 1.0), ("patient", 20.0))
        )
        with BackgroundServer(ServerConfig(port=0, models=models, default_model="stalls")) as srv:
            yield srv


def test_an_engine_that_stalls_is_the_engine_s_failure_not_the_client_s_deadline(server) -> None:
    client = Client(server.address, condenser=None, policy="none", timeout=30)
    with client, pytest.raises(UpstreamUnavailableError) as raised:  # after the server's 1 s, not 30 s
        client.generate("Why?", model="stalls").collect()
    assert "allow more time" not in str(raised.value)


def test_a_call_whose_own_deadline_passes_is_still_deadline_exceeded(server) -> None:
    client = Client(server.address, condenser=None, policy="none", timeout=1.5)
    with client, pytest.raises(DeadlineExceededError):
        client.generate("Why?", model="patient").collect()
