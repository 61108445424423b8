"""SIGHUP: ``splitinfer serve`` re-reads its bearer tokens and its TLS pair without a restart.

In-process servers are reloaded with ``BackgroundServer.reload()``, which is what the signal
handler of ``splitinfer serve`` runs; the last test sends a real SIGHUP to a real process. The
certificate a new connection gets is read from a raw TLS handshake (ALPN h2, as gRPC clients make).
"""

from __future__ import annotations

import datetime
import logging
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from server_support import make_self_signed, wait_until

from splitinfer.sdk import AuthenticationError, Client, ServerUnavailableError
from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGHUP is POSIX")

SLOW = ModelConfig("echo", {"name": "slow", "chunk_delay_ms": 10, "repeat": 50})
FAST = ModelConfig("echo", {"name": "echo"})


def served_certificate(address: str) -> bytes:
    """The DER certificate a new TLS connection to ``address`` gets."""
    host, port = address.rsplit(":", 1)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    with (
        socket.create_connection((host, int(port)), timeout=10) as sock,
        context.wrap_socket(sock, server_hostname="localhost") as tls,
    ):
        assert tls.selected_alpn_protocol() == "h2"
        certificate = tls.getpeercert(binary_form=True)
    assert certificate is not None
    return certificate


def der(pem: bytes) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem.decode("ascii"))


def answer(client: Client, model: str = "echo") -> str:
    return " ".join(client.generate("a b", model=model, policy="no_condense").collect().text.split())


def reload_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "SIGHUP" in r.getMessage()]


class Pairs:
    """Two self-signed pairs, A and B (for localhost and 127.0.0.1), and the live files the server
    reads, holding A until ``install`` puts another pair there."""

    def __init__(self, folder: Path) -> None:
        for name in ("a", "b", "live"):
            (folder / name).mkdir()
        self.a_cert, self.a_key, self.a_pem = make_self_signed(folder / "a")
        self.b_cert, self.b_key, self.b_pem = make_self_signed(folder / "b")
        self.cert, self.key = folder / "live" / "cert.pem", folder / "live" / "key.pem"
        self.install(self.a_cert, self.a_key)

    def install(self, cert: Path, key: Path) -> None:
        shutil.copyfile(cert, self.cert)
        shutil.copyfile(key, self.key)


@pytest.fixture
def tokens_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens.txt"
    path.write_text("old-token\n")
    path.chmod(0o600)
    return path


def auth_server(tokens_file: Path) -> BackgroundServer:
    return BackgroundServer(ServerConfig(port=0, models=(FAST, SLOW), auth_tokens_file=tokens_file))


def test_reload_swaps_the_tokens_for_new_calls(tokens_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "splitinfer.server")
    with (
        auth_server(tokens_file) as srv,
        Client(srv.address, condenser=None, credentials="old-token") as old,
        Client(srv.address, condenser=None, credentials="new-token") as new,
    ):
        assert answer(old) == "a b"
        tokens_file.write_text("new-token\n# a comment\nother-token\n")
        srv.reload()
        with pytest.raises(AuthenticationError, match="invalid token"):
            answer(old)
        assert answer(new) == "a b"
    assert reload_lines(caplog) == [f"splitinfer serve: SIGHUP: 2 auth tokens loaded from {tokens_file}"]


def test_a_call_in_flight_runs_on_after_its_token_is_revoked(tokens_file: Path) -> None:
    with auth_server(tokens_file) as srv, Client(srv.address, condenser=None, credentials="old-token") as old:
        stream = old.generate("w1 w2", model="slow", policy="no_condense")
        first = next(stream)
        tokens_file.write_text("new-token\n")
        srv.reload()
        assert (first + "".join(stream)).split() == ["w1", "w2"] * 50


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "cannot read the auth tokens file"),
        ("", "holds no tokens"),
        ("# all revoked\n", "holds no tokens"),
        ("new token\n", "line 1 of the auth tokens file"),
        (b"\xff\xfe", "cannot read the auth tokens file"),
    ],
    ids=["missing", "empty", "only-comments", "token-with-a-space", "not-utf8"],
)
def test_a_tokens_file_now_missing_or_invalid_keeps_the_old_tokens_and_says_why(
    tokens_file: Path, caplog: pytest.LogCaptureFixture, content: str | bytes | None, reason: str
) -> None:
    caplog.set_level(logging.INFO, "splitinfer.server")
    with auth_server(tokens_file) as srv, Client(srv.address, condenser=None, credentials="old-token") as old:
        if content is None:
            tokens_file.unlink()
        elif isinstance(content, bytes):
            tokens_file.write_bytes(content)
        else:
            tokens_file.write_text(content)
        srv.reload()
        assert answer(old) == "a b"
    (line,) = reload_lines(caplog)
    assert line.startswith("splitinfer serve: SIGHUP: kept the 1 auth token loaded before: ")
    assert reason in line


def test_reload_of_a_server_without_auth_or_tls_changes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "splitinfer.server")
    with (
        BackgroundServer(ServerConfig(port=0, backend="echo")) as srv,
        Client(srv.address, condenser=None) as client,
    ):
        srv.reload()
        assert answer(client) == "a b"
    assert reload_lines(caplog) == [
        "splitinfer serve: SIGHUP: nothing to re-read (started without --auth-tokens and TLS)"
    ]


def test_reload_serves_the_new_certificate_to_new_connections_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "splitinfer.server")
    pairs = Pairs(tmp_path)
    config = ServerConfig(port=0, backend="echo", tls_cert=pairs.cert, tls_key=pairs.key)
    with (
        BackgroundServer(config) as srv,
        Client(srv.address, condenser=None, root_certificates=pairs.a_pem) as on_a,
    ):
        assert served_certificate(srv.address) == der(pairs.a_pem)
        assert answer(on_a) == "a b"  # connected: this connection shook hands with A
        pairs.install(pairs.b_cert, pairs.b_key)
        srv.reload()
        assert served_certificate(srv.address) == der(pairs.b_pem)
        with Client(srv.address, condenser=None, root_certificates=pairs.b_pem) as on_b:
            assert answer(on_b) == "a b"
        assert answer(on_a) == "a b"  # the connection open before the reload is left alone
        with (
            Client(srv.address, condenser=None, root_certificates=pairs.a_pem, timeout=5) as new_on_a,
            pytest.raises(ServerUnavailableError),
        ):
            answer(new_on_a)  # a new connection gets B, which this client does not trust
    (line,) = reload_lines(caplog)
    assert f"new TLS connections get the certificate of --tls-cert {pairs.cert}" in line


@pytest.mark.parametrize(
    ("install", "reason"),
    [
        (lambda p: p.install(p.b_cert, p.a_key), "are not a pair"),
        (lambda p: p.install(p.b_key, p.b_cert), "are they swapped?"),
        (lambda p: p.key.unlink(), "cannot read TLS file"),
        (
            lambda p: p.cert.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n"),
            "holds no PEM certificate",
        ),
    ],
    ids=["key-of-another-certificate", "swapped", "missing-key", "truncated-certificate"],
)
def test_a_bad_new_pair_keeps_the_old_certificate_and_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, install: object, reason: str
) -> None:
    caplog.set_level(logging.INFO, "splitinfer.server")
    pairs = Pairs(tmp_path)
    config = ServerConfig(port=0, backend="echo", tls_cert=pairs.cert, tls_key=pairs.key)
    with BackgroundServer(config) as srv:
        install(pairs)  # type: ignore[operator]
        srv.reload()
        assert served_certificate(srv.address) == der(pairs.a_pem)
        with Client(srv.address, condenser=None, root_certificates=pairs.a_pem) as client:
            assert answer(client) == "a b"
    (line,) = reload_lines(caplog)
    assert line.startswith("splitinfer serve: SIGHUP: kept the TLS certificate served until now")
    assert reason in line


def test_sighup_to_splitinfer_serve_rotates_token_and_certificate_and_never_stops_it(
    tmp_path: Path, tokens_file: Path
) -> None:
    pairs = Pairs(tmp_path)
    command = [sys.executable, "-m", "splitinfer.cli.main", "serve", "--port", "0", "--backend", "echo"]
    command += ["--auth-tokens", str(tokens_file), "--tls-cert", str(pairs.cert), "--tls-key", str(pairs.key)]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(line.rstrip("\n") for line in proc.stderr), daemon=True
    )
    reader.start()

    def logged(pattern: str) -> str | None:
        return next((m.group(1) for line in list(lines) if (m := re.search(pattern, line))), None)

    def hangup(expected: str) -> None:
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: logged(f"({expected})") is not None or proc.poll() is not None, 10, expected)
        assert proc.poll() is None, f"SIGHUP ended splitinfer serve (exit {proc.returncode}): {lines}"

    try:
        wait_until(lambda: logged(r"listening on (\S+)") is not None or proc.poll() is not None, 60, "start")
        address = logged(r"listening on (\S+)")
        assert address is not None, lines
        assert served_certificate(address) == der(pairs.a_pem)

        tokens_file.write_text("new-token\n")
        pairs.install(pairs.b_cert, pairs.b_key)
        hangup("new TLS connections get the certificate")
        assert logged(r"SIGHUP: (1 auth token loaded from \S+)") == f"1 auth token loaded from {tokens_file}"
        assert served_certificate(address) == der(pairs.b_pem)
        with (
            Client(address, condenser=None, credentials="new-token", root_certificates=pairs.b_pem) as new,
            Client(address, condenser=None, credentials="old-token", root_certificates=pairs.b_pem) as old,
        ):
            assert answer(new) == "a b"
            with pytest.raises(AuthenticationError):
                answer(old)
            tokens_file.unlink()
            hangup("kept the 1 auth token loaded before")
            assert answer(new) == "a b"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=10)


def test_a_pair_renewed_while_it_is_read_is_not_served_half_old_half_new(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A renewal that lands between reading the certificate and reading the key gives A's
    # certificate with B's key, and the checks, which read the files again by name, see B's good
    # pair: served, it would fail every handshake. The re-read must notice and keep A.
    from splitinfer.server import tls

    caplog.set_level(logging.INFO, "splitinfer.server")
    pairs = Pairs(tmp_path)
    config = ServerConfig(port=0, backend="echo", tls_cert=pairs.cert, tls_key=pairs.key)
    with BackgroundServer(config) as srv:
        read = tls._read

        def renewed_after_the_certificate(path: Path) -> bytes:
            data = read(path)
            if Path(path) == pairs.cert:
                monkeypatch.setattr(tls, "_read", read)  # once
                pairs.install(pairs.b_cert, pairs.b_key)
            return data

        monkeypatch.setattr(tls, "_read", renewed_after_the_certificate)
        srv.reload()
        assert served_certificate(srv.address) == der(pairs.a_pem)
        with Client(srv.address, condenser=None, root_certificates=pairs.a_pem) as client:
            assert answer(client) == "a b"
        srv.reload()  # the next SIGHUP finds B whole
        assert served_certificate(srv.address) == der(pairs.b_pem)
    kept, loaded = reload_lines(caplog)
    assert "changed while it was being read" in kept and "kept the TLS certificate" in kept
    assert "new TLS connections get the certificate" in loaded


def test_reloads_and_the_certificate_end_are_metrics(tmp_path: Path, tokens_file: Path) -> None:
    import time

    pairs = Pairs(tmp_path)
    config = ServerConfig(
        port=0, backend="echo", tls_cert=pairs.cert, tls_key=pairs.key, auth_tokens_file=tokens_file
    )
    with BackgroundServer(config) as srv:
        registry = srv.server.metrics.registry

        def sample(name: str, **labels: str) -> float | None:
            return registry.get_sample_value(f"splitinfer_{name}", labels)

        ends = sample("tls_certificate_expiry_timestamp_seconds", file=str(pairs.cert))
        assert ends is not None and abs(ends - (time.time() + 365 * 86400)) < 86400  # valid 365 days
        tokens_file.write_text("")  # invalid: kept
        (tmp_path / "old").mkdir()
        old_cert, old_key, _ = make_self_signed(
            tmp_path / "old",
            valid_from=datetime.timedelta(days=-30),
            valid_to=datetime.timedelta(days=-1),
        )
        pairs.install(old_cert, old_key)  # expired, but a pair: served, with a warning
        srv.reload()
        assert sample("reloads_total", what="auth_tokens", outcome="kept_old") == 1
        assert sample("reloads_total", what="tls", outcome="ok") == 1
        assert sample("tls_certificate_expiry_timestamp_seconds", file=str(pairs.cert)) == 0
        pairs.install(pairs.a_key, pairs.a_cert)  # swapped: kept
        srv.reload()
        assert sample("reloads_total", what="tls", outcome="kept_old") == 1
        assert sample("tls_certificate_expiry_timestamp_seconds", file=str(pairs.cert)) == 0
    with BackgroundServer(ServerConfig(port=0, backend="echo")) as plain:
        text = "\n".join(
            f"{m.name} {s.labels}" for m in plain.server.metrics.registry.collect() for s in m.samples
        )
        assert "tls_certificate_expiry" not in text and "reloads_total" not in text


def test_serve_ignores_sighup_from_before_its_slow_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building the parser imports the server (about 0.2 s). A SIGHUP in that time used to end
    ``splitinfer serve`` with 129 before it started; now it is ignored from the start of main()."""
    import splitinfer.cli.main as cli_main

    seen: list[object] = []
    build_parser = cli_main.build_parser

    def spy() -> object:
        seen.append(signal.getsignal(signal.SIGHUP))
        return build_parser()

    monkeypatch.setattr(cli_main, "build_parser", spy)
    previous = signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        # Other commands leave SIGHUP alone; serve is refused (a bad port) after main() started.
        assert cli_main.main(["inspect", "--card", "no-such-bundle.tflite"]) == 2
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL
        assert cli_main.main(["serve", "--port", "-5"]) == 2
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert seen[0] == signal.SIG_DFL
    assert seen[-1] == signal.SIG_IGN
