"""``splitinfer ask`` against a real server: the answer streams to stdout, the savings to stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from server_support import free_port, make_self_signed

from splitinfer.cli.main import main
from splitinfer.server import BackgroundServer

pytest_plugins = ["sdk_bundles"]

CONTEXT = " ".join(f"Note {i}: the ferry leaves the north pier when the tide turns." for i in range(40))
TOKEN = "ask-test-token"


@pytest.fixture
def context_file(tmp_path: Path) -> Path:
    path = tmp_path / "context.txt"
    path.write_text(CONTEXT, encoding="utf-8")
    return path


def ask(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = main(["ask", *args])
    except SystemExit as usage_error:  # argparse's own checks exit
        code = int(usage_error.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_the_answer_streams_to_stdout_and_one_savings_line_goes_to_stderr(
    capsys, echo_server, bundle_path: Path, context_file: Path
) -> None:
    code, out, err = ask(
        capsys,
        "--server",
        echo_server.address,
        "--question",
        "When does the ferry leave?",
        "--context-file",
        str(context_file),
        "--condenser",
        str(bundle_path),
        "--rate",
        "0.3",
        "--model",
        "echo",
        "--max-new-tokens",
        "5000",
    )
    assert code == 0
    assert out.split()[-5:] == ["When", "does", "the", "ferry", "leave?"]
    assert len(out) < 0.6 * len(CONTEXT)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "condensed on the device" in lines[0] and "context tokens" in lines[0]


def test_json_reports_where_usage_and_savings(
    capsys, echo_server, bundle_path: Path, context_file: Path
) -> None:
    code, out, _ = ask(
        capsys,
        "--server",
        echo_server.address,
        "--question",
        "When?",
        "--context-file",
        str(context_file),
        "--condenser",
        str(bundle_path),
        "--policy",
        "server",
        "--model",
        "echo",
        "--json",
    )
    record = json.loads(out)
    assert code == 0
    assert record["where"] == "server" and record["savings"]["tokens_saved"] > 0
    assert record["usage"]["completion_tokens"] > 0 and record["model"] == "echo"


def test_a_fallback_is_explained_on_stderr(capsys, echo_server_without_condenser) -> None:
    # No context: nothing to condense on the device, so the question goes as it is, and says why.
    code, out, err = ask(
        capsys, "--server", echo_server_without_condenser.address, "--question", "When?", "--model", "echo"
    )
    assert code == 0 and out.split() == ["When?"]
    assert "note: nothing to condense: the context is empty" in err


@pytest.mark.parametrize("policy", ["prefer-device", "only-device"])
def test_a_condenser_named_on_the_command_line_must_load(
    capsys, echo_server_without_condenser, context_file: Path, tmp_path: Path, policy: str
) -> None:
    # A typo in --condenser is bad input, not a reason to send the whole context to the server.
    args = ["--server", echo_server_without_condenser.address, "--question", "When?"]
    args += ["--context-file", str(context_file), "--model", "echo", "--policy", policy]
    code, out, err = ask(capsys, *args, "--condenser", str(tmp_path / "missing.tflite"))
    assert code == 2 and out == ""
    assert "missing.tflite: no such condenser bundle" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ("127.0.0.1:99999", "the port must be a number from 1 to 65535, got '99999'"),
        ("127.0.0.1:abc", "the port must be a number from 1 to 65535, got 'abc'"),
        (":50051", "has no host"),
        ("::1:50051", "put an IPv6 address in brackets, e.g. [::1]:50051"),
        ("a\udcff:1", "argument --server: is not valid UTF-8 (byte 0xFF at character 1)"),
    ],
    ids=["port-too-big", "port-not-a-number", "no-host", "ipv6-unbracketed", "not-utf8"],
)
def test_a_bad_server_address_is_bad_input(capsys, server: str, message: str) -> None:
    code, out, err = ask(capsys, "--server", server, "--question", "When?", "--policy", "none")
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1


def test_a_tls_ca_that_is_no_certificate_is_named(capsys, tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.bin"
    not_pem.write_bytes(bytes(range(256)))
    args = ["--server", f"127.0.0.1:{free_port()}", "--question", "When?", "--policy", "none"]
    code, _, err = ask(capsys, *args, "--tls-ca", str(not_pem))
    assert code == 2
    assert f"--tls-ca {not_pem} holds no PEM certificate" in err and err.count("\n") == 1
    code, _, err = ask(capsys, *args, "--tls-ca", str(tmp_path / "absent.pem"))
    assert code == 2 and "cannot read --tls-ca" in err


def test_a_token_with_a_control_character_is_refused_before_any_call(capsys, tmp_path: Path) -> None:
    token = tmp_path / "token.txt"
    token.write_bytes(b"tok\x01en\n")
    args = ["--server", f"127.0.0.1:{free_port()}", "--question", "When?", "--policy", "none"]
    code, _, err = ask(capsys, *args, "--token-file", str(token))
    assert code == 2 and "printable ASCII without spaces or control characters" in err


def test_tls_and_a_token_file_work_and_a_missing_token_fails_in_one_line(
    capsys, tmp_path: Path, context_file: Path
) -> None:
    from sdk_bundles import echo_server_config

    cert, key, _ = make_self_signed(tmp_path)
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(TOKEN + "\n")
    with BackgroundServer(echo_server_config(tls_cert=cert, tls_key=key, auth_tokens_file=tokens)) as server:
        common = ["--server", server.address, "--question", "When?", "--context-file", str(context_file)]
        common += ["--policy", "none", "--model", "echo", "--max-new-tokens", "5000", "--tls-ca", str(cert)]
        code, out, _ = ask(capsys, *common, "--token-file", str(tokens))
        assert code == 0 and out.strip().endswith("When?")
        code, out, err = ask(capsys, *common)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "missing credentials" in err and "UNAUTHENTICATED" in err


def test_a_down_server_fails_with_one_line_saying_it_is_unavailable(capsys, context_file: Path) -> None:
    code, _, err = ask(
        capsys, "--server", f"127.0.0.1:{free_port()}", "--question", "When?", "--policy", "none"
    )
    assert code == 1
    assert err.startswith("splitinfer ask: error:") and "UNAVAILABLE" in err and err.count("\n") == 1
