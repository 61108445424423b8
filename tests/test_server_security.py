"""Bearer-token auth, TLS, and the rule that plaintext off loopback must be asked for."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from grpc_health.v1 import health_pb2, health_pb2_grpc
from server_support import collect, free_port, make_self_signed, question, stub_for, wait_until

from splitinfer.cli.main import main
from splitinfer.sdk._errors import InvalidInputError
from splitinfer.server import BackgroundServer, ServerConfig
from splitinfer.server.auth import BearerTokenInterceptor, load_tokens
from splitinfer.v1 import inference_pb2 as pb
from splitinfer.v1 import inference_pb2_grpc as pb_grpc

TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    tokens = tmp_path_factory.mktemp("auth") / "tokens.txt"
    tokens.write_text(f"# tokens of the test\n\nother-token\n{TOKEN}\n")
    with BackgroundServer(ServerConfig(port=0, backend="echo", auth_tokens_file=tokens)) as srv:
        yield srv


@pytest.fixture(scope="module")
def stub(auth_server):
    channel, stub = stub_for(auth_server.address)
    yield stub
    channel.close()


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def test_auth_on_accepts_a_known_token(stub):
    text, _ = collect(stub.Generate(question("let me in"), metadata=bearer(TOKEN)))
    assert text == "let me in "
    assert stub.GetInfo(pb.GetInfoRequest(), metadata=bearer("other-token")).default_model == "echo"


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ((), "missing credentials"),
        (bearer("wrong-token"), "invalid token"),
        ((("authorization", TOKEN),), "malformed credentials"),
    ],
)
def test_auth_on_refuses_missing_wrong_or_malformed_credentials(stub, metadata, message):
    with pytest.raises(grpc.RpcError) as caught:
        list(stub.Generate(question("let me in"), metadata=metadata))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert message in caught.value.details()
    with pytest.raises(grpc.RpcError) as unary:
        stub.ListModels(pb.ListModelsRequest(), metadata=metadata)
    assert unary.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_call_refused_by_auth_is_logged_with_its_peer_like_any_other(stub, caplog):
    caplog.set_level(logging.INFO, logger="splitinfer.server.requests")
    with pytest.raises(grpc.RpcError):
        stub.ListModels(pb.ListModelsRequest(), metadata=bearer("wrong-token"))

    def refusals() -> list[dict]:
        text = "\n".join(r.getMessage() for r in caplog.records if r.name == "splitinfer.server.requests")
        return [line for line in map(json.loads, text.splitlines()) if line["code"] == "UNAUTHENTICATED"]

    wait_until(lambda: bool(refusals()), what="the refusal's log line")
    (line,) = refusals()
    assert line["rpc"] == "ListModels" and line["error"].startswith("invalid token")
    assert line["peer"].startswith("ipv4:127.0.0.1")


def test_auth_on_keeps_health_checks_open(auth_server):
    with grpc.insecure_channel(auth_server.address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_auth_off_needs_no_token():
    with BackgroundServer(ServerConfig(port=0, backend="echo")) as srv:
        channel, stub = stub_for(srv.address)
        text, _ = collect(stub.Generate(question("open door")))
        channel.close()
    assert text == "open door "


def test_token_check_accepts_any_case_of_the_bearer_scheme_and_any_listed_token(tmp_path):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("first\nsecond\n")
    interceptor = BearerTokenInterceptor(load_tokens(tokens), on_reject=lambda method, problem, peer: None)
    assert interceptor.check([("authorization", "bearer second")]) is None
    assert interceptor.check([("authorization", "BEARER first")]) is None
    assert interceptor.check([("authorization", "Bearer third")]).startswith("invalid token")
    assert interceptor.check([("x-other", "1")]).startswith("missing credentials")


def test_token_file_written_with_a_byte_order_mark_accepts_its_first_token(tmp_path):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("first\nsecond\n", encoding="utf-8-sig")  # what Windows editors write
    interceptor = BearerTokenInterceptor(load_tokens(tokens), on_reject=lambda method, problem, peer: None)
    assert interceptor.check([("authorization", "Bearer first")]) is None


@pytest.mark.parametrize(
    "token",
    ["caf\u00e9-token", "two words", "tab\tinside", "bell\x07"],
    ids=["non-ascii", "space", "tab", "control"],
)
def test_token_file_with_a_token_no_client_can_send_is_refused_naming_the_line(tmp_path, token):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"# tokens\ngood-token\n{token}\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="line 3 of the auth tokens file") as caught:
        load_tokens(tokens)
    assert "printable ASCII without spaces" in str(caught.value)
    assert token not in str(caught.value)  # a token is a secret: the line number says which


def test_serve_command_exits_2_on_a_token_no_client_can_send(tmp_path):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("caf\u00e9\n", encoding="utf-8")
    # A process, not main(): were the token accepted, the server would run until the timeout.
    command = ["serve", "--backend", "echo", "--port", "0", "--auth-tokens", str(tokens)]
    serve = subprocess.run(
        [sys.executable, "-m", "splitinfer.cli.main", *command],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert serve.returncode == 2
    assert "line 1 of the auth tokens file" in serve.stderr
    assert len(serve.stderr.strip().splitlines()) == 1


def test_token_file_without_tokens_is_refused_with_the_fix(tmp_path):
    empty = tmp_path / "tokens.txt"
    empty.write_text("# nothing yet\n\n")
    with pytest.raises(InvalidInputError, match="one token per line"):
        load_tokens(empty)


def test_tls_serves_a_client_that_trusts_the_certificate(tmp_path):
    cert, key, cert_pem = make_self_signed(tmp_path)
    with BackgroundServer(ServerConfig(port=0, backend="echo", tls_cert=cert, tls_key=key)) as srv:
        credentials = grpc.ssl_channel_credentials(root_certificates=cert_pem)
        with grpc.secure_channel(f"localhost:{srv.port}", credentials) as channel:
            text, _ = collect(pb_grpc.InferenceStub(channel).Generate(question("over tls")))
        with grpc.insecure_channel(srv.address) as plain, pytest.raises(grpc.RpcError) as caught:
            pb_grpc.InferenceStub(plain).GetInfo(pb.GetInfoRequest(), timeout=5)
    assert text == "over tls "
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_tls_serves_with_a_certificate_file_that_has_non_ascii_text_around_the_pem(tmp_path):
    # OpenSSL reads the PEM blocks and skips the text around them ("explanatory text", RFC 7468),
    # whatever its encoding; so must the check that runs before gRPC.
    cert, key, cert_pem = make_self_signed(tmp_path)
    cert.write_bytes("Émis pour la démo, clé à part\n".encode("latin-1") + cert_pem + b"\xe9\n")
    with BackgroundServer(ServerConfig(port=0, backend="echo", tls_cert=cert, tls_key=key)) as srv:
        credentials = grpc.ssl_channel_credentials(root_certificates=cert_pem)
        with grpc.secure_channel(f"localhost:{srv.port}", credentials) as channel:
            text, _ = collect(pb_grpc.InferenceStub(channel).Generate(question("over tls")))
    assert text == "over tls "


def bad_tls_pair(folder, kind: str):
    """(cert, key) paths for one kind of unusable TLS pair."""
    cert, key, _ = make_self_signed(folder)
    if kind == "garbage cert":
        garbage = folder / "garbage.pem"
        garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
        return garbage, key
    if kind == "binary cert":
        binary = folder / "binary.pem"
        binary.write_bytes(bytes(range(256)))
        return binary, key
    if kind == "swapped":
        return key, cert
    if kind == "not a pair":
        other = folder / "other"
        other.mkdir()
        _other_cert, other_key, _ = make_self_signed(other)
        return cert, other_key
    if kind == "encrypted key":
        private = serialization.load_pem_private_key(key.read_bytes(), password=None)
        encrypted = folder / "encrypted.pem"
        encrypted.write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"passphrase"),
            )
        )
        return cert, encrypted
    raise AssertionError(kind)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("garbage cert", r"--tls-cert \S+garbage\.pem holds a PEM certificate that does not parse"),
        ("binary cert", r"--tls-cert \S+binary\.pem holds no PEM certificate; pass"),
        (
            "swapped",
            r"^--tls-cert \S+key\.pem holds a private key and --tls-key \S+cert\.pem a certificate: are "
            r"they swapped\? Pass the certificate chain as --tls-cert and its private key as --tls-key$",
        ),
        ("not a pair", r"--tls-key \S+other/key\.pem and --tls-cert \S+cert\.pem are not a pair"),
        ("encrypted key", r"--tls-key \S+encrypted\.pem is encrypted with a passphrase"),
    ],
    ids=["garbage-cert", "binary-cert", "swapped", "not-a-pair", "encrypted-key"],
)
def test_an_unusable_tls_pair_is_named_as_such_not_as_a_port_in_use(tmp_path, kind, message):
    cert, key = bad_tls_pair(tmp_path, kind)
    with pytest.raises(InvalidInputError, match=message) as caught:
        BackgroundServer(ServerConfig(port=0, backend="echo", tls_cert=cert, tls_key=key)).start()
    assert "port" not in str(caught.value)


def test_serve_command_exits_2_on_an_unusable_tls_pair_and_leaves_the_port_free(tmp_path, capsys):
    cert, key = bad_tls_pair(tmp_path, "not a pair")
    port = free_port()
    code = main(
        ["serve", "--backend", "echo", "--port", str(port), "--tls-cert", str(cert), "--tls-key", str(key)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "are not a pair" in err and len(err.strip().splitlines()) == 1
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # nothing of the server's is left listening there


def test_tls_needs_both_cert_and_key(tmp_path):
    cert, _key, _ = make_self_signed(tmp_path)
    with pytest.raises(InvalidInputError, match="both --tls-cert and --tls-key"):
        ServerConfig(port=0, tls_cert=cert).check()


def test_plaintext_on_a_non_loopback_address_needs_insecure():
    with pytest.raises(InvalidInputError, match="--insecure"):
        ServerConfig(host="0.0.0.0", port=0, backend="echo").check()
    ServerConfig(host="0.0.0.0", port=0, backend="echo", insecure=True).check()
    ServerConfig(host="::1", port=0, backend="echo").check()


def test_insecure_server_on_all_interfaces_starts_when_asked_for():
    config = ServerConfig(host="0.0.0.0", port=0, backend="echo", insecure=True)
    with BackgroundServer(config) as srv, grpc.insecure_channel(f"127.0.0.1:{srv.port}") as channel:
        info = pb_grpc.InferenceStub(channel).GetInfo(pb.GetInfoRequest())
    assert info.default_model == "echo"


@pytest.mark.parametrize(
    ("valid_from_days", "valid_to_days", "says"),
    [
        (-10, -1, "certificate has expired: every TLS client will refuse it; renew it"),
        (2, 10, "certificate is not yet valid: every TLS client will refuse it"),
        (-1, 3, "expires in 3.0 days; renew it before then"),
        (-1, 365, None),
    ],
    ids=["expired", "not-yet-valid", "ending-soon", "fine"],
)
def test_the_servers_certificate_dates_are_checked_at_start(
    tmp_path, caplog, valid_from_days: int, valid_to_days: int, says: str | None
):
    """It serves (a clock can be wrong), but the operator learns at start, not from every client."""
    import datetime

    cert, key, _ = make_self_signed(
        tmp_path,
        valid_from=datetime.timedelta(days=valid_from_days),
        valid_to=datetime.timedelta(days=valid_to_days),
    )
    with (
        caplog.at_level(logging.WARNING, logger="splitinfer.server"),
        BackgroundServer(ServerConfig(port=0, backend="echo", tls_cert=cert, tls_key=key)) as srv,
    ):
        assert srv.port > 0
    warnings = [r.getMessage() for r in caplog.records if "--tls-cert" in r.getMessage()]
    if says is None:
        assert warnings == []
    else:
        assert len(warnings) == 1 and says in warnings[0], warnings
