"""Assembles and runs the server: gRPC, interceptors, health, reflection, TLS, metrics, draining.

:class:`SplitinferServer` is the asyncio object; :func:`serve` runs one until SIGTERM/SIGINT (the
``splitinfer serve`` command), re-reading its token file and TLS pair on SIGHUP;
:class:`BackgroundServer` runs one in a thread with its own event loop, for demos and tests in
ordinary synchronous code.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
import threading
import time
from types import TracebackType

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc

from splitinfer.sdk._channel import MAX_METADATA_BYTES, SERVER_KEEPALIVE_OPTIONS
from splitinfer.sdk._errors import InvalidInputError, SplitinferError
from splitinfer.server.auth import BearerTokenInterceptor, load_tokens, tokens
from splitinfer.server.config import ServerConfig, is_loopback
from splitinfer.server.core import InferenceCore
from splitinfer.server.metrics import Metrics
from splitinfer.server.observe import FLUSH_INTERVAL_S, CallRecord, Observer
from splitinfer.server.servicer import SERVICE_NAME, InferenceServicer, add_to_server, refuse_undecodable
from splitinfer.server.tls import ServerCertificate
from splitinfer.server.wire import grpc_receive_limit

log = logging.getLogger("splitinfer.server")
HEALTH_SERVICE = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
# After the last call of ours ends, how long gRPC may take to flush its final status frames.
_FLUSH_S = 1.0
# After the grace period, how long the cancelled calls may take to end (each stops within a chunk
# of its backend's work) before the server stops without them.
_CUT_OFF_WAIT_S = 5.0
# How often health re-checks the upstreams of backends that have a check() (the openai one).
UPSTREAM_CHECK_S = 5.0
# New calls gRPC holds before the server takes them; past it, it cancels them at random. Admission
# control (--max-concurrent, --max-queued) is what should refuse a burst, and it answers each call
# within microseconds, so this only has to hold a burst long enough for it to.
MAX_PENDING_CALLS = 100_000


class SplitinferServer:
    """One server: build with a config, ``await start()``, later ``await drain()``."""

    def __init__(self, config: ServerConfig) -> None:
        config.check()
        self.config = config
        self.metrics = Metrics()
        self.observer = Observer(self.metrics, config.log_requests)
        self.core = InferenceCore(config, self.metrics)
        self.health = HealthServicer()
        self.port: int | None = None
        self.metrics_port: int | None = None
        self._grpc: grpc.aio.Server | None = None
        self._log_flusher: asyncio.Task[None] | None = None
        self._upstream_watch: asyncio.Task[None] | None = None
        self._readiness: asyncio.Task[None] | None = None
        # Why health says NOT_SERVING: models still loading, and what the upstream checks found.
        self._loading: list[str] = []
        self._upstream_problem = ""
        # Made by start(), re-read by reload().
        self._auth: BearerTokenInterceptor | None = None
        self._certificate: ServerCertificate | None = None

    @property
    def address(self) -> str:
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        return f"{host}:{self.port}"

    async def start(self) -> None:
        """Binds, starts serving and reports SERVING; raises ``SplitinferError`` if it cannot.

        On failure nothing is left running: the metrics endpoint and the backends are stopped again,
        and gRPC is bound last, just before it starts.
        """
        credentials = self._tls_credentials()
        server = grpc.aio.server(
            interceptors=self._interceptors(),
            options=[
                # A ceiling: the servicer's parsers enforce --max-request-bytes, so that oversized
                # requests are logged and counted (see splitinfer.server.wire).
                ("grpc.max_receive_message_length", grpc_receive_limit(self.config.max_request_bytes)),
                # Fail loudly when the port is taken instead of silently sharing it.
                ("grpc.so_reuseport", 0),
                # Welcome the SDK client's keepalive pings instead of answering them with GOAWAY.
                *SERVER_KEEPALIVE_OPTIONS,
                # gRPC cancels new calls at random past 1000 not yet taken by the server (3000
                # at its hard limit): a burst then got CANCELLED, which no client retries, before
                # admission control could answer RESOURCE_EXHAUSTED with a retry hint.
                ("grpc.server.max_pending_requests", MAX_PENDING_CALLS),
                ("grpc.server.max_pending_requests_hard_limit", MAX_PENDING_CALLS),
                # The most call metadata (headers, as HTTP/2 counts them) a call may carry, the SDK's
                # own limit: gRPC's hard limit. Below it gRPC also has a soft limit (8 KiB) past which
                # it refuses calls at random, often without a message; set to the same value, the
                # same call is always served or always refused.
                ("grpc.max_metadata_size", MAX_METADATA_BYTES),
                ("grpc.absolute_max_metadata_size", MAX_METADATA_BYTES),
                *connection_age_options(self.config.max_connection_age, self.config.max_connection_age_grace),
            ],
        )
        add_to_server(InferenceServicer(self.core, self.observer), server)
        foreign = GenericHandlersOnly(server, self.config.max_request_bytes)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, foreign)
        reflection_pb2_grpc.add_ServerReflectionServicer_to_server(
            reflection.aio.ReflectionServicer((SERVICE_NAME, HEALTH_SERVICE, reflection.SERVICE_NAME)),
            foreign,
        )
        bound = False
        started = time.monotonic()
        try:
            if self.config.metrics_port is not None:
                self.metrics_port = self._serve_metrics(self.config.metrics_port)
            await self.core.start()
            # Before gRPC serves: grpcio's health service says SERVING until told otherwise.
            self._loading = [
                spec.name
                for backend in self.core.backends
                if hasattr(backend, "ready")
                for spec in backend.info()
            ]
            await self._publish_health()
            self.port = self._bind(server, credentials)
            bound = True
            await server.start()
        except BaseException:
            self.metrics.stop_http()
            self.metrics_port = None
            if bound:
                await server.stop(None)
            await self.core.aclose()
            raise
        self._grpc = server
        self._log_flusher = asyncio.create_task(self._flush_request_logs())
        self._readiness = asyncio.create_task(self._await_ready(started))
        self._upstream_watch = asyncio.create_task(self._watch_upstreams())
        log.info(
            "splitinfer serve: listening on %s (%s, auth %s), models: %s (default %s)%s%s",
            self.address,
            "TLS" if self.config.tls_cert else "plaintext",
            f"on, {tokens(self._auth.count)}" if self._auth is not None else "off",
            ", ".join(self.core.routes),
            self.core.default_model,
            f", metrics on port {self.metrics_port}" if self.metrics_port is not None else "",
            f"; health NOT_SERVING until {_models(self._loading)} loaded" if self._loading else "",
        )

    def _not_serving_because(self) -> str:
        """Why health says NOT_SERVING; empty while it says SERVING."""
        loading = f"{_models(self._loading)} still loading" if self._loading else ""
        return "; ".join(reason for reason in (loading, self._upstream_problem) if reason)

    async def _publish_health(self) -> str:
        """Sets health from the reasons it has (none: SERVING) and returns them. A no-op once
        draining: the health service then says NOT_SERVING for good."""
        reasons = self._not_serving_because()
        status = (
            health_pb2.HealthCheckResponse.NOT_SERVING if reasons else health_pb2.HealthCheckResponse.SERVING
        )
        for service in ("", SERVICE_NAME):
            await self.health.set(service, status)
        return reasons

    async def _await_ready(self, started: float) -> None:
        """Health turns SERVING once every backend is ready (its optional ``ready()``, e.g. the
        extractive model loaded), with one log line per backend that had to load."""
        for backend in self.core.backends:
            if not hasattr(backend, "ready"):
                continue
            names = [spec.name for spec in backend.info()]
            try:
                await self.core.ready(backend)
            except Exception as err:
                log.error(
                    "splitinfer serve: %s could not load (%s: %s); health stays NOT_SERVING",
                    _models(names),
                    type(err).__name__,
                    err,
                )
                return
            if self.core.draining:
                return
            self._loading = [name for name in self._loading if name not in names]
            reasons = await self._publish_health()
            log.info(
                "splitinfer serve: %s ready, loaded in %.1f s; health %s",
                _models(names),
                time.monotonic() - started,
                f"still NOT_SERVING: {reasons}" if reasons else "SERVING",
            )

    async def _watch_upstreams(self) -> None:
        """Health follows the upstreams: NOT_SERVING while a backend's ``check()`` names a problem
        (engine down, too slow, API key refused, model not served), SERVING again once it passes,
        so a load balancer that uses the standard health check sends calls to a replica that can
        answer. Each change of the reason is logged, not only the first: an engine that goes from
        listing the wrong model to being down says so."""
        checks = [backend.check for backend in self.core.backends if hasattr(backend, "check")]
        while checks and not self.core.draining:
            problems = [p for p in await asyncio.gather(*(check() for check in checks)) if p]
            problem = "; ".join(problems)
            if problem != self._upstream_problem and not self.core.draining:
                self._upstream_problem = problem
                reasons = await self._publish_health()
                if problem:
                    log.warning("splitinfer serve: health NOT_SERVING: %s", problem)
                else:
                    health = f"NOT_SERVING: {reasons}" if reasons else "SERVING"
                    log.warning("splitinfer serve: upstream back; health %s", health)
            await asyncio.sleep(UPSTREAM_CHECK_S)

    async def _flush_request_logs(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            self.observer.flush()

    def _interceptors(self) -> list[grpc.aio.ServerInterceptor]:
        if self.config.auth_tokens_file is None:
            return []
        self._auth = BearerTokenInterceptor(load_tokens(self.config.auth_tokens_file), self._unauthenticated)
        return [self._auth]

    def _unauthenticated(self, method: str, message: str, peer: str) -> None:
        service, _, name = method.lstrip("/").rpartition("/")
        # Logged and counted as refused whatever was called; in requests_total only if it is one
        # of ours (reflection is not counted there: see splitinfer.server.metrics).
        self.observer.reject(
            CallRecord(name, peer=peer),
            "unauthenticated",
            "UNAUTHENTICATED",
            message,
            service == SERVICE_NAME,
        )

    def _tls_credentials(self) -> grpc.ServerCredentials | None:
        """The server's TLS credentials (``None`` for plaintext), after checking the PEM pair."""
        if self.config.tls_cert is None or self.config.tls_key is None:
            return None
        self._certificate = ServerCertificate(self.config.tls_cert, self.config.tls_key)
        self.metrics.certificate_ends(str(self._certificate.cert), self._certificate.not_after)
        return self._certificate.credentials()

    def reload(self) -> None:
        """What SIGHUP does: reads ``--auth-tokens`` and the TLS pair again, and uses them for new
        calls and new connections; calls in flight and connections open are left as they are.

        A file that is now missing or fails the checks of start-up is not used: what the server
        used until now stays, and a line of the log says why. A server started without auth or
        TLS stays without; it only logs that there was nothing to re-read.
        """
        if self._auth is None and self._certificate is None:
            log.info("splitinfer serve: SIGHUP: nothing to re-read (started without --auth-tokens and TLS)")
            return
        if self._auth is not None and self.config.auth_tokens_file is not None:
            self.metrics.reloaded("auth_tokens", self._auth.reload(self.config.auth_tokens_file))
        if self._certificate is not None:
            self.metrics.reloaded("tls", self._certificate.reload())
            # The pair served now: the new one, or the one kept.
            self.metrics.certificate_ends(str(self._certificate.cert), self._certificate.not_after)

    def _serve_metrics(self, port: int) -> int:
        """Starts the metrics endpoint; a clear error (not a traceback) if it cannot listen."""
        host = self.config.metrics_host or self.config.host
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            bound = self.metrics.serve_http(host, port)
        except socket.gaierror as err:
            raise InvalidInputError(
                f"cannot serve metrics on {address}: cannot resolve the host {host!r} ({err.strerror}); "
                "set --metrics-host to an address or name of this machine"
            ) from err
        except OSError as err:
            if err.errno == errno.EADDRNOTAVAIL:
                raise InvalidInputError(
                    f"cannot serve metrics on {address}: {host} is not an address of this machine; "
                    "set --metrics-host to one of its addresses (or leave it out to use --host)"
                ) from err
            hint = {
                errno.EADDRINUSE: "is the port already in use? Choose another --metrics-port",
                errno.EACCES: "ports below 1024 need privileges; choose a higher --metrics-port",
            }.get(err.errno or 0, "check --metrics-host and --metrics-port")
            raise SplitinferError(
                f"cannot serve metrics on {address}: {err.strerror or err}; {hint}"
            ) from err
        if not is_loopback(host):
            log.warning(
                "metrics are served on %s without TLS or a token: whoever reaches it sees the call "
                "counts, model names and latencies; set --metrics-host 127.0.0.1 (or a private "
                "address) unless a scraper must reach it from elsewhere",
                f"[{host}]:{bound}" if ":" in host else f"{host}:{bound}",
            )
        return bound

    def _bind(self, server: grpc.aio.Server, credentials: grpc.ServerCredentials | None) -> int:
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        address = f"{host}:{self.config.port}"
        if self.config.port:
            # Found first with a plain socket: gRPC would log its own lines about it before ours.
            problem = _listen_problem(self.config.host, self.config.port, address)
            if problem is not None:
                raise problem
        try:
            if credentials is not None:
                port = server.add_secure_port(address, credentials)
            else:
                port = server.add_insecure_port(address)
        except RuntimeError:
            port = 0
        if port == 0:  # gRPC says only that it failed: find out why with a plain socket
            raise _bind_error(self.config.host, self.config.port, address)
        return port

    async def drain(self, grace_s: float | None = None) -> bool:
        """Graceful stop: NOT_SERVING, refuse new calls, let calls in flight finish within the grace
        (or until :meth:`end_now`).

        Returns true if every call finished in time (false: the rest were cancelled).
        """
        grace = self.config.grace_seconds if grace_s is None else grace_s
        for task in (self._upstream_watch, self._readiness):
            if task is not None:
                task.cancel()
        await self.health.enter_graceful_shutdown()
        started = time.monotonic()
        finished = await self.core.drain(grace)
        if not finished:
            log.warning(
                "splitinfer serve: %d call(s) still running after %.1fs; cancelling them",
                self.core.inflight,
                time.monotonic() - started,
            )
            self.core.cut_off = True
        if self._grpc is not None:
            await self._grpc.stop(_FLUSH_S if finished else 0)
        if not finished:
            # gRPC has cancelled the calls still running. Let their handlers end (each logs itself
            # as UNAVAILABLE and waits for its backend's thread) before the log is flushed and
            # the event loop closes under them.
            if not await self.core.wait_idle(_CUT_OFF_WAIT_S):
                log.warning(
                    "splitinfer serve: %d cancelled call(s) did not end within %.0fs",
                    self.core.inflight,
                    _CUT_OFF_WAIT_S,
                )
            await _settle()
        if self._log_flusher is not None:
            self._log_flusher.cancel()
        self.observer.flush()
        await self.core.aclose()
        self.metrics.stop_http()
        log.info("splitinfer serve: stopped")
        return finished

    def end_now(self) -> None:
        """Cuts a drain short: the calls still running are cancelled now, not at the end of the grace."""
        self.core.hurry()


def connection_age_options(age_s: float, grace_s: float | None) -> list[tuple[str, int]]:
    """gRPC server options for ``--max-connection-age`` and its grace (none for an age of 0:
    connections then live for ever, gRPC's default; no grace option for ``None``: calls open at
    the GOAWAY run to their end, gRPC's default too). gRPC adds +/-10% to the age of each
    connection, so that clients that connected together do not all come back together."""
    if age_s == 0:
        return []
    options = [("grpc.max_connection_age_ms", max(1, round(age_s * 1000)))]
    if grace_s is not None:
        options.append(("grpc.max_connection_age_grace_ms", round(grace_s * 1000)))
    return options


class HealthServicer(health.aio.HealthServicer):
    """grpcio's asyncio health service, with the ``List`` method of the current health protocol,
    which it lacks: left to the generated base class, every ``List`` call (health needs no token)
    answered UNIMPLEMENTED and wrote a traceback to the server log."""

    async def List(
        self, request: health_pb2.HealthListRequest, context: grpc.aio.ServicerContext
    ) -> health_pb2.HealthListResponse:
        statuses = dict(getattr(self, "_server_status", {}))  # what set() recorded, per service
        return health_pb2.HealthListResponse(
            statuses={
                name: health_pb2.HealthCheckResponse(status=status) for name, status in statuses.items()
            }
        )


class GenericHandlersOnly:
    """Hands a generated ``add_*_to_server`` function's handlers to the server as generic handlers only,
    parsing requests as the server's own service does (:func:`refuse_undecodable`).

    With grpcio 1.85's asyncio server, services whose methods are also added with
    ``add_registered_method_handlers`` made every call cost 2-4% more instructions (measured with
    callgrind on ``GetInfo``), and generic handlers serve the same methods.
    """

    def __init__(self, server: grpc.aio.Server, max_request_bytes: int) -> None:
        self._server = server
        self._max_request_bytes = max_request_bytes

    def add_generic_rpc_handlers(self, handlers: tuple[grpc.GenericRpcHandler, ...]) -> None:
        self._server.add_generic_rpc_handlers(
            tuple(refuse_undecodable(handler, self._max_request_bytes) for handler in handlers)
        )

    def add_registered_method_handlers(
        self, service: str, handlers: dict[str, grpc.RpcMethodHandler]
    ) -> None:
        return None


def _models(names: list[str]) -> str:
    """``model a`` or ``models a, b``, for the log."""
    return f"model{'s' if len(names) > 1 else ''} {', '.join(names)}"


async def _settle() -> None:
    """A few turns of the event loop: gRPC's own task of each call ends just after its handler."""
    for _ in range(3):
        await asyncio.sleep(0)


def serve(config: ServerConfig) -> int:
    """Runs a server until SIGTERM or SIGINT, then drains it; returns the exit code: 0, or 128 +
    the signal's number (130 for SIGINT, 143 for SIGTERM) when a second one cut the drain short.
    SIGHUP re-reads the token file and the TLS pair (:meth:`SplitinferServer.reload`). Call it from
    the main thread: signals are handled there."""
    return asyncio.run(_serve(config))


async def _serve(config: ServerConfig) -> int:
    server = SplitinferServer(config)
    # Before start(), which says "listening": a SIGTERM or Ctrl-C the moment it is said must drain
    # the server, not kill it undrained or tear the loop down under it.
    stop = asyncio.Event()
    ended_by: list[signal.Signals] = []
    loop = asyncio.get_running_loop()

    def stop_signal(sig: signal.Signals) -> None:
        if not stop.is_set():
            stop.set()
            return
        # The usual "press Ctrl-C again to quit": the calls still running are cancelled now (their
        # clients get UNAVAILABLE and the log records them), the log is flushed, and the exit code
        # says the drain was cut short.
        ended_by.append(sig)
        log.warning(
            "splitinfer serve: %s during the drain: ending now, cancelling the %d call(s) still running",
            sig.name,
            server.core.inflight,
        )
        server.end_now()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_signal, sig)
    # SIGHUP's default action ends a process without a word. A plain handler rather than the
    # loop's: the loop would restore that default when it closes, and a SIGHUP after it closed,
    # while Python exits, would end the process with 129 instead of 0. The handler runs in this
    # thread, between two steps of the loop.
    hangup = getattr(signal, "SIGHUP", None)  # None on Windows
    if hangup is not None:
        signal.signal(hangup, lambda signum, frame: loop.call_soon_threadsafe(server.reload))
    try:
        await server.start()
        await stop.wait()
        log.info(
            "splitinfer serve: draining (grace %.1fs; a second SIGTERM or SIGINT ends it now)",
            config.grace_seconds,
        )
        await server.drain()
    finally:
        if hangup is not None:
            signal.signal(hangup, signal.SIG_IGN)
    return 128 + ended_by[0] if ended_by else 0


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

    def reload(self, timeout_s: float = 10.0) -> None:
        """What SIGHUP does to ``splitinfer serve`` (:meth:`SplitinferServer.reload`); returns once
        it is done."""
        if self._loop is None or self.server is None:
            raise RuntimeError("the server is not running; call start() first")
        server = self.server

        async def reload() -> None:
            server.reload()

        asyncio.run_coroutine_threadsafe(reload(), self._loop).result(timeout_s)

    def stop(self, grace: float | None = None) -> None:
        """Drains the server (``grace`` seconds for calls in flight, default the config's) and joins.
        Safe to call again, from any thread, while or after it stops."""
        thread = self._thread
        if thread is None:
            return
        if self._loop is not None and self._stop is not None and self.server is not None:
            self._grace = grace
            with contextlib.suppress(RuntimeError):  # the loop already closed: another stop() ran
                self._loop.call_soon_threadsafe(self._stop.set)
        thread.join()
        self._thread = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _bind_error(host: str, port: int, address: str) -> SplitinferError:
    """Why gRPC could not listen on ``host:port`` (see ``_listen_problem``)."""
    return _listen_problem(host, port, address) or SplitinferError(
        f"cannot listen on {address}: is the port already in use? Choose another --port or stop "
        "the process that holds it"
    )


def _listen_problem(host: str, port: int, address: str) -> SplitinferError | None:
    """Why nothing can listen on ``host:port``, found by binding a plain socket there, or None if
    one can: a name that does not resolve or is not this machine's is bad input (exit 2), a port
    in use or needing privileges is a failed start (exit 1)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        return InvalidInputError(
            f"cannot listen on {address}: cannot resolve the host {host!r} ({err.strerror}); "
            "set --host to an address or name of this machine (0.0.0.0 for all of them)"
        )
    for family, kind, proto, _, sockaddr in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(sockaddr)
            except OSError as err:
                if err.errno == errno.EADDRNOTAVAIL:
                    return InvalidInputError(
                        f"cannot listen on {address}: {host} is not an address of this machine; set "
                        "--host to one of its addresses (0.0.0.0 for all of them)"
                    )
                if err.errno == errno.EACCES:
                    return SplitinferError(
                        f"cannot listen on {address}: permission denied (ports below 1024 need "
                        "privileges); choose a --port above 1023"
                    )
                if err.errno == errno.EADDRINUSE:
                    return SplitinferError(
                        f"cannot listen on {address}: the port is already in use; choose another "
                        "--port or stop the process that holds it"
                    )
                return SplitinferError(f"cannot listen on {address}: {err.strerror or err}")
    return None
