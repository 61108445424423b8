"""The cloud server: a ``grpc.aio`` front for the large model (``splitinfer serve``).

Public API::

    from splitinfer.server import ServerConfig, BackgroundServer

    with BackgroundServer(ServerConfig(port=0, backend="echo")) as srv:
        ...  # talk to srv.address with any splitinfer.v1 client

``ServerConfig`` holds every option; ``BackgroundServer`` runs a server in a thread;
``SplitinferServer`` is the asyncio object underneath; ``serve(config)`` runs one until SIGTERM.
Backends live in :mod:`splitinfer.server.backends`.

The names are imported on first use, so importing a submodule (``splitinfer.server.bench``, which
``splitinfer --help`` lists) does not import gRPC's server, asyncio and the metrics with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from splitinfer.server.app import BackgroundServer, SplitinferServer, serve
    from splitinfer.server.config import ModelConfig, ServerConfig, load_config_file

__all__ = ["BackgroundServer", "ModelConfig", "ServerConfig", "SplitinferServer", "load_config_file", "serve"]

_HOMES = {
    "BackgroundServer": "app",
    "SplitinferServer": "app",
    "serve": "app",
    "ModelConfig": "config",
    "ServerConfig": "config",
    "load_config_file": "config",
}


# Hidden from type checkers: to them a module __getattr__ makes every name exist (as Any), so a
# misspelt import would pass; the TYPE_CHECKING imports declare the real names.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
