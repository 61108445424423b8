"""Fixtures every test module may use without importing them."""

from __future__ import annotations

import pytest
from server_support import stub_for


@pytest.fixture(scope="module")
def stub(server):
    """A stub over a plaintext channel to the module's own ``server`` fixture."""
    channel, stub = stub_for(server.address)
    yield stub
    channel.close()
