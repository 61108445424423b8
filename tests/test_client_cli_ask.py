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
    code = main(["ask", *args])
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


def test_a_fallback_is_explained_on_stderr(
    capsys, echo_server_without_condenser, context_file: Path, tmp_path: Path
) -> None:
    code, out, err = ask(
        capsys,
        "--server",
        echo_server_without_condenser.address,
        "--question",
        "When?",
        "--context-file",
        str(context_file),
        "--condenser",
        str(tmp_path / "missing.tflite"),
        "--model",
        "echo",
        "--max-new-tokens",
        "5000",
    )
    assert code == 0
    assert out.split() == (CONTEXT + " When?").split()
    assert "note: the device condenser cannot load" in err and "sent uncondensed" in err


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
