"""What ``splitinfer serve`` refuses before it serves, and how it reads its config file.

Each refusal names the flag or key to fix; ``splitinfer serve`` prints it on one line and exits 2.
"""

from __future__ import annotations

import argparse
import codecs
import re

import pytest
from server_support import free_port, stub_for

from splitinfer.cli.main import build_parser, main
from splitinfer.cli.serve import build_config
from splitinfer.sdk._errors import InvalidInputError
from splitinfer.server import BackgroundServer, load_config_file
from splitinfer.v1 import inference_pb2 as pb


def serve_parser() -> argparse.ArgumentParser:
    subcommands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return subcommands.choices["serve"]


def serve_refusal(*flags: str) -> str:
    """The error that stops ``splitinfer serve FLAGS`` before it serves; fails the test if it serves."""
    try:
        server = BackgroundServer(build_config(build_parser().parse_args(["serve", *flags])))
        server.start()
    except InvalidInputError as err:
        return str(err)
    server.stop()
    pytest.fail(f"'splitinfer serve {' '.join(flags)}' started instead of refusing")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--config", ""], "--config is empty; give the path of a TOML or JSON file"),
        (["--host", ""], "--host is empty"),
        (["--backend", ""], "--backend is empty"),
        (["--model", ""], "--model is empty"),
        (["--default-model", ""], "--default-model is empty"),
        (
            ["--openai-base-url", "http://localhost:8000/v1"],
            "--openai-base-url only applies to --backend openai, but the backend is echo",
        ),
        (["--openai-api-key-env", "HOME"], "--openai-api-key-env only applies to --backend openai"),
        (["--metrics-host", "127.0.0.1"], "--metrics-host does nothing without --metrics-port"),
    ],
)
def test_options_that_would_be_ignored_or_misread_are_refused(flags, message):
    assert message in serve_refusal("--backend", "echo", "--port", "0", *flags)


def test_the_metrics_port_cannot_be_the_grpc_port(capsys):
    port = str(free_port())
    code = main(["serve", "--backend", "echo", "--port", port, "--metrics-port", port])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"--metrics-port {port} is also the gRPC --port" in err and "choose another --metrics-port" in err


@pytest.mark.parametrize(
    ("name", "text"), [("serve.toml", "[server]\nport = 0\n"), ("serve.conf", '{"server": {"port": 0}}')]
)
def test_a_config_file_may_start_with_a_utf8_byte_order_mark(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(codecs.BOM_UTF8 + text.encode())
    assert load_config_file(path) == {"port": 0}


def test_relative_paths_in_a_config_file_are_relative_to_the_file(tmp_path, monkeypatch):
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "tokens.txt").write_text("s3cret-token\n")
    (folder / "serve.toml").write_text(
        '[server]\nport = 0\nbackend = "echo"\nauth_tokens_file = "tokens.txt"\n'
    )
    monkeypatch.chdir(tmp_path)  # the working directory has no tokens.txt
    args = build_parser().parse_args(["serve", "--config", "etc/serve.toml"])
    with BackgroundServer(build_config(args)) as server:
        channel, stub = stub_for(server.address)
        with channel:
            token = [("authorization", "Bearer s3cret-token")]
            info = stub.GetInfo(pb.GetInfoRequest(), metadata=token, timeout=30)
    assert [model.name for model in info.models] == ["echo"]


def test_max_condense_words_flag_is_what_get_info_advertises():
    args = build_parser().parse_args(
        ["serve", "--backend", "echo", "--port", "0", "--max-condense-words", "321"]
    )
    with BackgroundServer(build_config(args)) as server:
        channel, stub = stub_for(server.address)
        with channel:
            info = stub.GetInfo(pb.GetInfoRequest(), timeout=30)
    assert [condenser.max_input_words for condenser in info.condensers] == [321]


def test_serve_help_gives_the_default_of_every_option_or_says_it_is_required():
    actions = [
        action for action in serve_parser()._actions if action.option_strings and action.dest != "help"
    ]
    silent = [
        a.option_strings[0]
        for a in actions
        if not {"default", "required"} & set(re.findall(r"\w+", a.help or ""))
    ]
    assert silent == []


def test_serve_help_is_plain_text_and_lists_the_exit_codes():
    text = serve_parser().format_help()
    assert "``" not in text
    assert "exit codes:" in text and "2  bad configuration" in text


def test_a_bad_torch_thread_count_is_refused_at_start_not_on_the_first_call(monkeypatch):
    monkeypatch.setenv("SPLITINFER_TORCH_THREADS", "abc")
    message = serve_refusal("--port", "0", "--backend", "extractive")
    assert "SPLITINFER_TORCH_THREADS must be a number of threads from 1 to 1024, got 'abc'" in message


def test_a_bad_model_option_names_the_model_it_belongs_to(tmp_path):
    config = tmp_path / "serve.toml"
    config.write_text(
        "[[models]]\nbackend = 'echo'\nname = 'fast'\n\n"
        "[[models]]\nbackend = 'echo'\nname = 'slow'\nchunk_delay_ms = 'lots'\n"
    )
    message = serve_refusal("--port", "0", "--config", str(config))
    assert (
        message
        == "cannot configure model 'slow' (models[1]): option 'chunk_delay_ms' must be a number, got 'lots'"
    )


def test_a_port_in_use_is_one_line_of_ours_not_grpcs_log_too():
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [
            sys.executable,
            "-m",
            "splitinfer.cli.main",
            "serve",
            "--backend",
            "echo",
            "--port",
            str(port),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1
    assert lines == [
        f"splitinfer serve: error: cannot listen on 127.0.0.1:{port}: the port is already in use; choose "
        "another --port or stop the process that holds it"
    ], done.stderr


def test_no_log_requests_turns_the_per_call_lines_off_as_the_file_key_does(tmp_path):
    config = build_config(build_parser().parse_args(["serve", "--backend", "echo", "--no-log-requests"]))
    assert config.log_requests is False
    assert build_config(build_parser().parse_args(["serve", "--backend", "echo"])).log_requests is True
    assert "--no-log-requests" in serve_parser().format_help()
