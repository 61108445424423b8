"""The cloud server: a ``grpc.aio`` front for the large model (``splitinfer serve``).

Public API::

    from splitinfer.server import ServerConfig, BackgroundServer

    with BackgroundServer(ServerConfig(port=0, backend="echo")) as srv:
        ...  # talk to srv.address with any splitinfer.v1 client

``ServerConfig`` holds every option; ``BackgroundServer`` runs a server in a thread;
``SplitinferServer`` is the asyncio object underneath; ``serve(config)`` runs one until SIGTERM.
Backends live in :mod:`splitinfer.server.backends`.
"""

from __future__ import annotations

from splitinfer.server.app import BackgroundServer, SplitinferServer, serve
from splitinfer.server.config import ModelConfig, ServerConfig, load_config_file

__all__ = ["BackgroundServer", "ModelConfig", "ServerConfig", "SplitinferServer", "load_config_file", "serve"]
