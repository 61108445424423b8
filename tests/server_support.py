"""Helpers shared by the server tests: self-signed TLS pairs, stubs, polling, a slow network.

Not a test module (no ``test_`` prefix); the ``tests`` folder is on ``sys.path`` under pytest.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from splitinfer.v1 import inference_pb2 as pb
from splitinfer.v1 import inference_pb2_grpc as pb_grpc


def free_port() -> int:
    """A loopback port nothing listens on (bound once by the OS, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_self_signed(
    folder: Path,
    names: tuple[str, ...] = ("localhost", "127.0.0.1"),
    valid_from: datetime.timedelta = datetime.timedelta(minutes=-5),
    valid_to: datetime.timedelta = datetime.timedelta(days=365),
) -> tuple[Path, Path, bytes]:
    """Writes a self-signed certificate and its key; returns (cert, key, cert PEM). ``names``: the
    host names and IP addresses it is for; ``valid_from`` and ``valid_to``: from now."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + valid_from)
        .not_valid_after(now + valid_to)
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert_pem)
    key_path.write_bytes(key_pem)
    return cert_path, key_path, cert_pem


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def stub_for(address: str) -> tuple[grpc.Channel, pb_grpc.InferenceStub]:
    channel = grpc.insecure_channel(address)
    return channel, pb_grpc.InferenceStub(channel)


def question(text: str, **fields: object) -> pb.GenerateRequest:
    """A GenerateRequest with only a question (plus any other top-level fields)."""
    return pb.GenerateRequest(prompt=pb.Prompt(question=text), **fields)


def collect(stream: object) -> tuple[str, pb.GenerateFinal]:
    """Concatenated chunk text and the final message of a Generate stream."""
    texts, final = [], None
    for response in stream:  # type: ignore[attr-defined]
        if response.HasField("chunk"):
            texts.append(response.chunk.text)
        else:
            final = response.final
    assert final is not None, "the stream ended without a final message"
    return "".join(texts), final


def wait_until(predicate: Callable[[], bool], timeout_s: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.01)


def request_log(records: list[logging.LogRecord]) -> list[dict[str, object]]:
    """The calls of the server's request log (``splitinfer.server.requests``) among ``records``
    (caplog's; set its level to INFO for that logger before the calls, or the server logs none)."""
    return [
        json.loads(line)
        for record in records
        if record.name == "splitinfer.server.requests"
        for line in record.getMessage().splitlines()
    ]


def logged_error(caplog: object, model: str, timeout_s: float = 10.0) -> str:
    """The ``error`` of the last request-log line of a failed call to ``model``, once logged."""

    def found() -> str | None:
        errors = [e["error"] for e in request_log(caplog.records) if e.get("model") == model and "error" in e]  # type: ignore[attr-defined]
        return str(errors[-1]) if errors else None

    wait_until(lambda: found() is not None, timeout_s, f"the request log line of a call to {model}")
    return str(found())


class NetworkProxy:
    """A TCP proxy on loopback to ``target`` that behaves like a network, a slow or a failing one.

    ``latency_s``: each piece of data is that late, both ways. With ``hold_s``, only what the
    client sends during the first ``hold_s`` seconds of a connection is (the HTTP/2 preface and a
    call's headers); later bytes, such as the cancel a client sends when its deadline passes, go
    through at once, so the server's copy of a call's deadline (counted from when the headers
    arrived) ends about ``latency_s`` after the client's, as with a client across the internet.
    ``cut()``: the connections open are reset and new ones refused. ``go_silent()``: new
    connections are accepted and nothing is forwarded, as over a radio that went quiet.
    ``with NetworkProxy(server.address) as network:`` and connect to ``network.address``.
    """

    def __init__(self, target: str, latency_s: float = 0.0, hold_s: float | None = None) -> None:
        host, port = target.rsplit(":", 1)
        self._target = (host.strip("[]"), int(port))
        self.latency_s = latency_s
        self.hold_s = hold_s
        self.silent = False
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._sockets: list[socket.socket] = []
        self._frozen: set[socket.socket] = set()

    def __enter__(self) -> NetworkProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cut()

    def go_silent(self) -> None:
        self.silent = True

    def freeze_open(self) -> None:
        """The connections open now go dead without a word (a phone that moved to another network,
        a NAT that forgot them): what is sent on them is dropped. New connections still work."""
        self._frozen.update(self._sockets)

    def cut(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread, or it goes on
        self._listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                # Linger 0: closing sends RST. Shutting the reading side first wakes the thread
                # blocked reading it, which would keep the socket open.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.shutdown(socket.SHUT_RD)
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # cut
            self._sockets.append(client)
            if self.silent:
                continue
            server = socket.create_connection(self._target)
            self._sockets.append(server)
            opened = time.monotonic()
            threading.Thread(target=self._pump, args=(client, server, opened), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, None), daemon=True).start()

    def _late(self, opened: float | None) -> bool:
        """Whether data now is held back: always, or (``hold_s``) the client's early bytes only."""
        if self.hold_s is None:
            return self.latency_s > 0
        return opened is not None and time.monotonic() - opened < self.hold_s

    def _pump(self, source: socket.socket, sink: socket.socket, opened: float | None) -> None:
        """Forwards ``source`` to ``sink``; ``opened``: when the connection opened, for the
        client's side (``None`` for the server's)."""
        with contextlib.suppress(OSError):  # either side went away, or the proxy was cut
            while data := source.recv(65536):
                if source in self._frozen:
                    continue
                if self._late(opened):
                    time.sleep(self.latency_s)
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)
