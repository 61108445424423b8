"""Assembles and runs the server: gRPC, interceptors, health, reflection, TLS, metrics, draining.

:class:`SplitinferServer` is the asyncio object; :func:`serve` runs one until SIGTERM/SIGINT (the
``splitinfer serve`` command); :class:`BackgroundServer` runs one in a thread with its own event
loop, for demos and tests in ordinary synchronous code.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from pathlib import Path
from types import TracebackType

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc

from splitinfer.sdk._channel import SERVER_KEEPALIVE_OPTIONS
from splitinfer.sdk._errors import InvalidInputError, SplitinferError
from splitinfer.server.auth import BearerTokenInterceptor, load_tokens
from splitinfer.server.config import ServerConfig
from splitinfer.server.core import InferenceCore
from splitinfer.server.metrics import Metrics
from splitinfer.server.observe import FLUSH_INTERVAL_S, CallRecord, Observer
from splitinfer.server.servicer import SERVICE_NAME, InferenceServicer, add_to_server

log = logging.getLogger("splitinfer.server")
HEALTH_SERVICE = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
# After the last call of ours ends, how long gRPC may take to flush its final status frames.
_FLUSH_S = 1.0


class SplitinferServer:
    """One server: build with a config, ``await start()``, later ``await drain()``."""

    def __init__(self, config: ServerConfig) -> None:
        config.check()
        self.config = config
        self.metrics = Metrics()
        self.observer = Observer(self.metrics, config.log_requests)
        self.core = InferenceCore(config, self.metrics)
        self.health = health.aio.HealthServicer()
        self.port: int | None = None
        self.metrics_port: int | None = None
        self._grpc: grpc.aio.Server | None = None
        self._log_flusher: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        return f"{host}:{self.port}"

    async def start(self) -> None:
        """Binds, starts serving and reports SERVING; raises ``SplitinferError`` if it cannot."""
        server = grpc.aio.server(
            interceptors=self._interceptors(),
            options=[
                ("grpc.max_receive_message_length", self.config.max_request_bytes),
                # Fail loudly when the port is taken instead of silently sharing it.
                ("grpc.so_reuseport", 0),
                # Welcome the SDK client's keepalive pings instead of answering them with GOAWAY.
                *SERVER_KEEPALIVE_OPTIONS,
            ],
        )
        add_to_server(InferenceServicer(self.core, self.observer), server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, GenericHandlersOnly(server))
        reflection_pb2_grpc.add_ServerReflectionServicer_to_server(
            reflection.aio.ReflectionServicer((SERVICE_NAME, HEALTH_SERVICE, reflection.SERVICE_NAME)),
            GenericHandlersOnly(server),
        )
        self.port = self._bind(server)
        await self.core.start()
        await server.start()
        self._grpc = server
        self._log_flusher = asyncio.create_task(self._flush_request_logs())
        for service in ("", SERVICE_NAME):
            await self.health.set(service, health_pb2.HealthCheckResponse.SERVING)
        if self.config.metrics_port is not None:
            self.metrics_port = self.metrics.serve_http(
                self.config.metrics_host or self.config.host, self.config.metrics_port
            )
        log.info(
            "splitinfer serve: listening on %s (%s, auth %s), models: %s (default %s)%s",
            self.address,
            "TLS" if self.config.tls_cert else "plaintext",
            "on" if self.config.auth_tokens_file else "off",
            ", ".join(self.core.routes),
            self.core.default_model,
            f", metrics on port {self.metrics_port}" if self.metrics_port is not None else "",
        )

    async def _flush_request_logs(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            self.observer.flush()

    def _interceptors(self) -> list[grpc.aio.ServerInterceptor]:
        if self.config.auth_tokens_file is None:
            return []
        return [BearerTokenInterceptor(load_tokens(self.config.auth_tokens_file), self._unauthenticated)]

    def _unauthenticated(self, method: str, message: str) -> None:
        record = CallRecord(method.rsplit("/", 1)[-1])
        self.observer.reject(record, "unauthenticated", "UNAUTHENTICATED", message)

    def _bind(self, server: grpc.aio.Server) -> int:
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        address = f"{host}:{self.config.port}"
        try:
            if self.config.tls_cert is not None and self.config.tls_key is not None:
                credentials = grpc.ssl_server_credentials(
                    [(_read(self.config.tls_key), _read(self.config.tls_cert))]
                )
                port = server.add_secure_port(address, credentials)
            else:
                port = server.add_insecure_port(address)
        except RuntimeError as err:
            raise SplitinferError(f"cannot listen on {address}: {err}; is the port already in use?") from err
        if port == 0:
            raise SplitinferError(f"cannot listen on {address}: is the port already in use?")
        return port

    async def drain(self, grace_s: float | None = None) -> bool:
        """Graceful stop: NOT_SERVING, refuse new calls, let calls in flight finish within the grace.

        Returns true if every call finished in time (false: the rest were cancelled).
        """
        grace = self.config.grace_seconds if grace_s is None else grace_s
        await self.health.enter_graceful_shutdown()
        finished = await self.core.drain(grace)
        if not finished:
            log.warning(
                "splitinfer serve: %d call(s) still running after %.1fs; cancelling them",
                self.core.inflight,
                grace,
            )
        if self._grpc is not None:
            await self._grpc.stop(_FLUSH_S if finished else 0)
        if self._log_flusher is not None:
            self._log_flusher.cancel()
        self.observer.flush()
        await self.core.aclose()
        self.metrics.stop_http()
        log.info("splitinfer serve: stopped")
        return finished


class GenericHandlersOnly:
    """Hands a generated ``add_*_to_server`` function's handlers to the server as generic handlers only.

    With grpcio 1.85's asyncio server, services whose methods are also added with
    ``add_registered_method_handlers`` made every call cost 2-4% more instructions (measured with
    callgrind on ``GetInfo``), and generic handlers serve the same methods.
    """

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: tuple[grpc.GenericRpcHandler, ...]) -> None:
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(
        self, service: str, handlers: dict[str, grpc.RpcMethodHandler]
    ) -> None:
        return None


def _read(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise InvalidInputError(f"cannot read TLS file {path}: {err.strerror}") from err


def serve(config: ServerConfig) -> int:
    """Runs a server until SIGTERM or SIGINT, then drains it; returns the exit code (0)."""
    return asyncio.run(_serve(config))


async def _serve(config: ServerConfig) -> int:
    server = SplitinferServer(config)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("splitinfer serve: draining (grace %.1fs)", config.grace_seconds)
    await server.drain()
    return 0


class BackgroundServer:
    """A :class:`SplitinferServer` running in a thread with its own event loop.

    ``with BackgroundServer(config) as srv:`` starts it (``srv.address``, ``srv.port``) and drains it
    on exit; ``start()``/``stop(grace=...)`` do the same without a ``with`` block. Startup errors
    (bad config, port in use) are raised from ``start()``.
    """

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.server: SplitinferServer | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._grace: float | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def port(self) -> int:
        if self.server is None or self.server.port is None:
            raise RuntimeError("the server is not running; call start() first")
        return self.server.port

    @property
    def address(self) -> str:
        if self.server is None:
            raise RuntimeError("the server is not running; call start() first")
        return self.server.address

    @property
    def metrics_port(self) -> int | None:
        return None if self.server is None else self.server.metrics_port

    def start(self, timeout_s: float = 60.0) -> BackgroundServer:
        if self._thread is not None:
            raise RuntimeError("this BackgroundServer was already started")
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._main(),), name="splitinfer-server", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise SplitinferError(f"the server did not start within {timeout_s:.0f}s")
        if self._error is not None:
            raise self._error
        return self

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            server = SplitinferServer(self.config)
            await server.start()
        except BaseException as err:
            self._error = err
            self._ready.set()
            return
        self.server = server
        self._ready.set()
        await self._stop.wait()
        await server.drain(self._grace)

    def stop(self, grace: float | None = None) -> None:
        """Drains the server (``grace`` seconds for calls in flight, default the config's) and joins."""
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None and self.server is not None:
            self._grace = grace
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()
        self._thread = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
