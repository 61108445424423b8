"""Configuring the server: config files, flags, backend options, and the errors that say what to fix."""

from __future__ import annotations

import json
import socket

import pytest

from splitinfer.cli.main import main
from splitinfer.sdk._errors import InvalidInputError, SplitinferError
from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig, load_config_file
from splitinfer.server.backends import StopScanner

TOML = """
default_model = "big"

[server]
max_concurrent = 7
grace_seconds = 2.5

[[models]]
backend = "openai"
name = "big"
base_url = "http://vllm:8000/v1"
model = "meta-llama/Llama-3.1-8B-Instruct"

[[models]]
backend = "extractive"
"""


def test_a_toml_file_lists_models_and_server_options(tmp_path):
    path = tmp_path / "serve.toml"
    path.write_text(TOML)
    config = ServerConfig(**load_config_file(path))
    assert config.default_model == "big"
    assert (config.max_concurrent, config.grace_seconds) == (7, 2.5)
    assert config.model_configs() == (
        ModelConfig(
            "openai",
            {"name": "big", "base_url": "http://vllm:8000/v1", "model": "meta-llama/Llama-3.1-8B-Instruct"},
        ),
        ModelConfig("extractive", {}),
    )


def test_a_json_file_works_the_same(tmp_path):
    path = tmp_path / "serve.json"
    path.write_text(json.dumps({"models": [{"backend": "echo", "name": "e"}], "server": {"port": 0}}))
    config = ServerConfig(**load_config_file(path))
    assert config.port == 0
    assert config.model_configs() == (ModelConfig("echo", {"name": "e"}),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("modles = []", "unknown key(s) modles"),
        ("[server]\nmax_concurent = 3", "unknown [server] key(s) max_concurent"),
        ("[[models]]\nname = 'x'", "needs a 'backend'"),
        ('[server]\nport = "50051"', "[server] port must be an integer"),
        ("[server]\ninsecure = 1", "[server] insecure must be true or false"),
        ("[[models]\nbackend = 'echo'", "not valid TOML"),
        ("default_model = 5", "default_model must be a string (a model's name), got 5"),
    ],
)
def test_config_file_mistakes_are_named(tmp_path, text, message):
    path = tmp_path / "serve.toml"
    path.write_text(text)
    with pytest.raises(InvalidInputError) as caught:
        load_config_file(path)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("models", "default_model", "message"),
    [
        (
            (ModelConfig("echo", {"chunk_delay": 5}),),
            None,
            "unknown option(s) for the 'echo' backend: chunk_delay",
        ),
        ((ModelConfig("vllm", {}),), None, "unknown backend 'vllm'"),
        ((ModelConfig("echo", {}), ModelConfig("echo", {})), None, "two models are named 'echo'"),
        ((ModelConfig("echo", {}),), "other", "default_model 'other' is not one of"),
        ((ModelConfig("openai", {"base_url": "http://x/v1"}),), None, "needs a base_url and a model"),
        ((ModelConfig("echo", {"chunk_delay_ms": -1}),), None, "chunk_delay_ms"),
        (
            (ModelConfig("echo", {"context_tokens": 2**32}),),
            None,
            "'context_tokens' must be a positive integer of at most 4,294,967,295",
        ),
        ((ModelConfig("echo", {"name": ""}),), None, "models[0] has an empty name"),
    ],
)
def test_bad_model_configuration_fails_at_start_with_the_fix(models, default_model, message):
    with pytest.raises(InvalidInputError) as caught:
        BackgroundServer(ServerConfig(port=0, models=models, default_model=default_model)).start()
    assert message in str(caught.value)


def test_a_port_in_use_is_refused_instead_of_shared():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SplitinferError, match=r"cannot listen on 127\.0\.0\.1"):
            BackgroundServer(ServerConfig(port=port, backend="echo")).start()


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("10.255.255.1", "10.255.255.1 is not an address of this machine; set --host"),
        ("nohost.invalid", "cannot resolve the host 'nohost.invalid'"),
    ],
)
def test_a_host_that_is_not_this_machine_is_bad_input_not_a_port_in_use(host, message):
    with pytest.raises(InvalidInputError, match=message):
        BackgroundServer(ServerConfig(host=host, port=0, backend="echo", insecure=True)).start()


def test_serve_command_explains_a_missing_upstream_on_one_line(capsys):
    code = main(["serve", "--backend", "openai", "--model", "m", "--port", "0"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--openai-base-url" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("url", ["notaurl", "ftp://vllm:8000/v1", "http://[::1/v1"])
def test_an_upstream_url_that_is_not_http_is_refused_at_start(capsys, url):
    code = main(["serve", "--backend", "openai", "--model", "m", "--port", "0", "--openai-base-url", url])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"--openai-base-url) {url!r}" in err and ("http(s) base URL" in err or "is not a URL" in err)


def test_serve_refuses_a_condenser_bundle_it_cannot_read_before_listening(capsys, tmp_path):
    not_a_bundle = tmp_path / "condenser.tflite"
    not_a_bundle.write_bytes(b"not a flatbuffer")
    for path, message in ((tmp_path / "missing.tflite", "no such condenser bundle"), (not_a_bundle, "")):
        code = main(["serve", "--backend", "echo", "--port", "0", "--condenser", str(path)])
        err = capsys.readouterr().err
        assert code == 2 and len(err.strip().splitlines()) == 1
        assert str(path) in err and message in err and "listening" not in err


def test_serve_refuses_a_host_that_is_not_utf8(capsys):
    with pytest.raises(SystemExit) as usage:
        main(["serve", "--backend", "echo", "--port", "0", "--host", "a\udcff"])
    assert usage.value.code == 2
    assert "argument --host: is not valid UTF-8" in capsys.readouterr().err


def test_a_json_config_file_is_read_whatever_its_name(tmp_path):
    path = tmp_path / "serve.conf"
    path.write_text(json.dumps({"server": {"port": 50123}}))
    assert load_config_file(path)["port"] == 50123


def test_flags_win_over_the_config_file(tmp_path):
    from splitinfer.cli.main import build_parser
    from splitinfer.cli.serve import build_config

    path = tmp_path / "serve.toml"
    path.write_text(TOML)
    args = build_parser().parse_args(["serve", "--config", str(path), "--max-concurrent", "3", "--port", "0"])
    config = build_config(args)
    assert (config.max_concurrent, config.grace_seconds, config.port) == (3, 2.5, 0)


@pytest.mark.parametrize(
    "flags",
    [
        ["--model", "meta-llama/Llama-3.1-8B-Instruct"],
        ["--backend", "extractive"],
        ["--openai-base-url", "http://localhost:8000/v1", "--openai-api-key-env", "VLLM_API_KEY"],
    ],
)
def test_one_model_flags_next_to_a_models_list_are_refused_instead_of_ignored(tmp_path, flags):
    from splitinfer.cli.main import build_parser
    from splitinfer.cli.serve import build_config

    path = tmp_path / "serve.toml"
    path.write_text(TOML)
    config = build_config(build_parser().parse_args(["serve", "--config", str(path), *flags]))
    with pytest.raises(InvalidInputError) as caught:
        config.check()
    message = str(caught.value)
    assert all(flag in message for flag in flags if flag.startswith("--"))
    assert "[[models]]" in message and "in the file" in message


def test_one_model_keys_in_the_server_table_next_to_a_models_list_are_refused(tmp_path):
    path = tmp_path / "serve.toml"
    path.write_text('[server]\nbackend = "openai"\n\n[[models]]\nbackend = "echo"\n')
    with pytest.raises(InvalidInputError, match=r"--backend describes a single model .*\[\[models\]\]"):
        ServerConfig(**load_config_file(path)).check()


def test_max_request_bytes_beyond_what_grpc_carries_is_refused_with_the_bound(capsys):
    code = main(["serve", "--backend", "echo", "--port", "0", "--max-request-bytes", "3000000000"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--max-request-bytes must be at most 2147483647" in err and "3000000000" in err
    assert len(err.strip().splitlines()) == 1
    ServerConfig(max_request_bytes=2**31 - 1).check()


def test_stop_scanner_holds_back_text_that_may_start_a_stop_string():
    scanner = StopScanner(("</end>",))
    assert scanner.feed("answer </e") == "answer "
    assert scanner.feed("nd> more") == ""
    assert scanner.stopped


def test_stop_scanner_releases_held_text_that_turned_out_not_to_stop():
    scanner = StopScanner(("STOP",))
    assert scanner.feed("go ST") == "go "
    assert scanner.feed("ay") == "STay"
    assert scanner.feed(" ST") == " "
    assert scanner.flush() == "ST"
    assert not scanner.stopped
