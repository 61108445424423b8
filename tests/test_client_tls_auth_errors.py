"""TLS and token mistakes made on a first deployment: each fails with the cause and its fix.

Real servers on loopback; every client mistake below is one a user makes. The retries are not what
these tests are about, so the channel makes two attempts instead of five (each failure here is the
same on every attempt).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from pathlib import Path
from typing import Any

import pytest
from server_support import free_port, make_self_signed

from splitinfer.cli.main import main
from splitinfer.sdk import (
    AsyncClient,
    Client,
    DeadlineExceededError,
    InvalidInputError,
    ServerUnavailableError,
)
from splitinfer.sdk._channel import SERVICE_CONFIG
from splitinfer.server import BackgroundServer

pytest_plugins = ["sdk_bundles"]

TOKEN = "tls-auth-test-token"
DAY = datetime.timedelta(days=1)
SERVER_RUNS = "check that the server runs"


@pytest.fixture
def two_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SERVICE_CONFIG["methodConfig"][0]["retryPolicy"], "maxAttempts", 2)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory):
    """The addresses of servers by the certificate they present ("plaintext": none), all requiring
    TOKEN, and those certificates (self-signed: each is its own CA)."""
    from sdk_bundles import echo_server_config

    tokens = tmp_path_factory.mktemp("auth") / "tokens.txt"
    tokens.write_text(f"{TOKEN}\n")
    kinds = {
        "good": {},
        "other-host": {"names": ("api.example.com",)},
        "expired": {"valid_from": -2 * DAY, "valid_to": -DAY},
        "not-yet-valid": {"valid_from": DAY, "valid_to": 2 * DAY},
    }
    certs = {
        kind: make_self_signed(tmp_path_factory.mktemp(kind), **fields) for kind, fields in kinds.items()
    }
    configs = {kind: {"tls_cert": cert, "tls_key": key} for kind, (cert, key, _) in certs.items()}
    configs["plaintext"] = {}
    with contextlib.ExitStack() as stack:
        addresses = {
            kind: stack.enter_context(
                BackgroundServer(echo_server_config(auth_tokens_file=tokens, **config))
            ).address
            for kind, config in configs.items()
        }
        yield addresses, {kind: cert for kind, (cert, _, _) in certs.items()}


def ask(target: str, **settings: Any) -> str:
    with Client(target, condenser=None, policy="none", credentials=TOKEN, timeout=30, **settings) as client:
        return client.generate("Is it up?", model="echo").collect().text


@pytest.mark.parametrize(
    ("server", "ca", "settings", "cause", "fix"),
    [
        ("good", None, {"tls": True}, "does not trust the server's certificate", "root_certificates="),
        ("good", "other-host", {}, "does not trust the server's certificate", "root_certificates="),
        ("other-host", "other-host", {}, "certificate is for another host name", "tls_server_name="),
        ("expired", "expired", {}, "certificate has expired", "renew it"),
        ("not-yet-valid", "not-yet-valid", {}, "certificate is not valid yet", "correct the clock"),
        ("plaintext", "good", {}, "the server does not speak TLS", "tls=False"),
        ("good", None, {"tls": False}, "as a TLS server does to a plaintext client", "root_certificates="),
    ],
    ids=[
        "system-roots",
        "wrong-ca",
        "other-host",
        "expired",
        "not-yet-valid",
        "tls-to-plaintext",
        "plaintext-to-tls",
    ],
)
def test_a_tls_mismatch_names_its_cause_and_fix_not_a_server_that_does_not_run(
    servers, two_attempts, server: str, ca: str | None, settings: dict, cause: str, fix: str
) -> None:
    addresses, certs = servers
    roots = {"root_certificates": certs[ca]} if ca else {}
    with pytest.raises(ServerUnavailableError) as failed:
        ask(addresses[server], **roots, **settings)
    message = str(failed.value)
    assert cause in message and fix in message and SERVER_RUNS not in message


def test_the_name_to_check_in_the_certificate_can_be_given(servers) -> None:
    addresses, certs = servers
    reached = ask(
        addresses["other-host"], root_certificates=certs["other-host"], tls_server_name="api.example.com"
    )
    assert "Is it up?" in reached


def test_a_down_server_still_says_to_check_that_it_runs(two_attempts) -> None:
    with pytest.raises(ServerUnavailableError, match=SERVER_RUNS):
        ask(f"127.0.0.1:{free_port()}")


def test_the_async_client_names_a_tls_mismatch_the_same_way(servers, two_attempts) -> None:
    addresses, _ = servers

    async def call() -> None:
        async with AsyncClient(
            addresses["good"], condenser=None, policy="none", credentials=TOKEN, tls=True
        ) as client:
            stream = await client.generate("Is it up?", model="echo")
            await stream.collect()

    with pytest.raises(ServerUnavailableError, match="does not trust the server's certificate"):
        asyncio.run(call())


def test_a_deadline_shorter_than_the_retries_also_points_at_tls_settings() -> None:
    with (
        Client(f"127.0.0.1:{free_port()}", condenser=None, policy="none", timeout=0.3) as client,
        pytest.raises(DeadlineExceededError, match="TLS settings match"),
    ):
        client.generate("Is it up?").collect()


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        (f"Bearer {TOKEN}", "without 'Bearer '"),
        (f"{TOKEN}\nanother-token", "holds several lines"),
    ],
    ids=["bearer-prefix", "several-lines"],
)
def test_a_token_pasted_with_more_than_the_token_says_what_to_drop(credentials: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        Client("127.0.0.1:50051", credentials=credentials)


def test_an_empty_root_certificates_string_is_named_as_empty() -> None:
    with pytest.raises(InvalidInputError, match="root_certificates is empty"):
        Client("127.0.0.1:50051", root_certificates="")


def test_an_ipv6_address_without_a_port_gets_a_bracketed_example() -> None:
    with pytest.raises(
        InvalidInputError, match=r"has no port; pass '\[ADDRESS\]:PORT', e\.g\. \[::1\]:50051"
    ):
        Client("::1")


def run_ask(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["ask", "--question", "Is it up?", "--policy", "none", "--model", "echo", *args])
    _, err = capsys.readouterr()
    assert err.count("\n") == 1, err
    return code, err


def test_ask_checks_the_name_given_by_tls_server_name(servers, capsys, tmp_path: Path) -> None:
    addresses, certs = servers
    token = tmp_path / "token.txt"
    token.write_text(TOKEN)
    args = [
        "--server",
        addresses["other-host"],
        "--tls-ca",
        str(certs["other-host"]),
        "--token-file",
        str(token),
    ]
    assert run_ask(capsys, *args, "--tls-server-name", "api.example.com")[0] == 0


def test_ask_refuses_tls_flags_with_plaintext_naming_the_flags(capsys) -> None:
    code, err = run_ask(capsys, "--server", "127.0.0.1:50051", "--plaintext", "--tls-server-name", "x")
    assert code == 2 and "--tls-server-name is for TLS, and --plaintext turns TLS off" in err


def test_ask_names_the_flags_that_send_a_token_over_tls(capsys, tmp_path: Path) -> None:
    token = tmp_path / "token.txt"
    token.write_text(TOKEN)
    code, err = run_ask(capsys, "--server", "203.0.113.1:50051", "--plaintext", "--token-file", str(token))
    assert code == 2 and "refusing to send a bearer token in plaintext" in err and "--tls-ca" in err


@pytest.mark.parametrize(
    "content",
    [f"\ufeff{TOKEN}\r\n".encode(), f"# the token of this device\n\n{TOKEN}\n".encode()],
    ids=["byte-order-mark-and-crlf", "comment-and-blank-line"],
)
def test_ask_reads_a_token_file_written_as_the_servers_own(
    servers, capsys, tmp_path: Path, content: bytes
) -> None:
    addresses, certs = servers
    token = tmp_path / "token.txt"
    token.write_bytes(content)
    args = ["--server", addresses["good"], "--tls-ca", str(certs["good"]), "--token-file", str(token)]
    assert run_ask(capsys, *args)[0] == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (f"{TOKEN}\nanother-token\n".encode(), "holds 2 tokens; keep only the one to send"),
        (TOKEN.encode("utf-16"), "is not UTF-8 text (byte offset 0); save it as UTF-8"),
        (b"", "is empty; put the bearer token in it"),
    ],
    ids=["several-tokens", "utf-16", "empty"],
)
def test_ask_names_what_is_wrong_with_a_token_file(
    capsys, tmp_path: Path, content: bytes, message: str
) -> None:
    token = tmp_path / "token.txt"
    token.write_bytes(content)
    code, err = run_ask(capsys, "--server", f"127.0.0.1:{free_port()}", "--token-file", str(token))
    assert code == 2 and f"--token-file {token} {message}" in err


def test_ask_names_a_missing_token_file_without_python_internals(capsys, tmp_path: Path) -> None:
    absent = tmp_path / "absent.txt"
    code, err = run_ask(capsys, "--server", f"127.0.0.1:{free_port()}", "--token-file", str(absent))
    assert code == 2 and err.endswith(f"cannot read --token-file {absent}: No such file or directory\n")
