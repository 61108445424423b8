"""What the callers of an ``openai`` model learn about its engine: which model failed and how, never
the engine's URL, the operator's fix or the engine's own error text (the server log has them).

Each model below points at one failure of ``server_openai_standin`` (or at a port nothing listens
on); the calls go to our real gRPC server on a real port.
"""

from __future__ import annotations

import logging
import subprocess
import sys

import grpc
import pytest
from server_openai_standin import KEY_HINT, OpenAIStandin
from server_support import free_port, logged_error

from splitinfer.sdk._errors import InvalidInputError
from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig
from splitinfer.v1 import inference_pb2 as pb

FAILURES = (
    "400",
    "429",
    "500",
    "midstream",
    "hang",
    "nomodel",
    "401key",
    "json200",
    "empty200",
    "badchoice",
    "nodone",
    "abort",
    "llamaerror",
)
CREDENTIALS = "admin:pa55w0rd-SECRET"


@pytest.fixture(scope="module")
def upstream():
    with OpenAIStandin() as standin:
        yield standin


@pytest.fixture(scope="module")
def down_url():
    return f"http://127.0.0.1:{free_port()}/v1"


@pytest.fixture(scope="module")
def server(upstream, down_url):
    models = [
        ModelConfig(
            "openai",
            {"name": case, "base_url": upstream.base_url, "model": f"standin-{case}", "read_timeout_s": 1.0},
        )
        for case in FAILURES
    ]
    models.append(ModelConfig("openai", {"name": "down", "base_url": down_url, "model": "x"}))
    with BackgroundServer(ServerConfig(port=0, models=tuple(models))) as srv:
        yield srv


@pytest.fixture(autouse=True)
def request_log(caplog):
    caplog.set_level(logging.INFO, logger="splitinfer.server.requests")


def failure(stub, model: str) -> grpc.RpcError:
    request = pb.GenerateRequest(
        model=model, prompt=pb.Prompt(context="The bridge took six years.", question="When?")
    )
    with pytest.raises(grpc.RpcError) as caught:
        list(stub.Generate(request, timeout=10))
    return caught.value


@pytest.mark.parametrize("model", [*FAILURES, "down"])
def test_no_error_sent_to_a_caller_names_the_upstream_but_the_log_does(
    stub, upstream, down_url, caplog, model
):
    url = down_url if model == "down" else upstream.base_url
    details = failure(stub, model).details()
    assert details.startswith(f"model '{model}' ")
    assert "127.0.0.1" not in details and "http" not in details
    assert f"upstream {url}" in logged_error(caplog, model)


def test_model_descriptions_do_not_name_the_upstream(stub, upstream):
    listed = stub.ListModels(pb.ListModelsRequest(), timeout=10).models
    info = stub.GetInfo(pb.GetInfoRequest(), timeout=10).models
    descriptions = [m.description for m in (*listed, *info)]
    assert descriptions and not [d for d in descriptions if "127.0.0.1" in d or "http" in d]
    assert listed[0].description == "standin-400 on an OpenAI-compatible engine (chat completions)"


@pytest.mark.parametrize(
    ("model", "kept_from_the_caller", "in_the_log"),
    [
        (
            "401key",
            [KEY_HINT, "api_key_env", "Incorrect API key"],
            "check api_key_env (--openai-api-key-env)",
        ),
        ("429", ["slow down"], "retry after 3 s"),
        ("500", ["engine crashed"], "answered HTTP 500"),
        ("nomodel", ["--model", "does not exist", "/v1/models"], "check the model id (--model, model"),
        ("hang", ["read_timeout_s"], "raise read_timeout_s or the call's deadline"),
        ("empty200", ["context_tokens", "llama_cpp"], "setting the model's context_tokens"),
        ("json200", ["base_url", "--openai-base-url", "chatcmpl"], "is base_url (--openai-base-url)"),
    ],
)
def test_operator_advice_and_the_engines_text_stay_in_the_log(
    stub, caplog, model, kept_from_the_caller, in_the_log
):
    details = failure(stub, model).details()
    assert [text for text in kept_from_the_caller if text in details] == []
    logged = logged_error(caplog, model)
    assert in_the_log in logged
    assert KEY_HINT not in logged  # the engine's text: only its length is logged


@pytest.mark.parametrize(
    ("model", "code", "says"),
    [
        ("401key", grpc.StatusCode.INTERNAL, "is misconfigured on this server"),
        ("nomodel", grpc.StatusCode.INTERNAL, "is misconfigured on this server"),
        ("500", grpc.StatusCode.UNAVAILABLE, "is unavailable"),
        ("down", grpc.StatusCode.UNAVAILABLE, "is unavailable: its engine is unreachable"),
        ("429", grpc.StatusCode.RESOURCE_EXHAUSTED, "is overloaded"),
        ("hang", grpc.StatusCode.DEADLINE_EXCEEDED, "timed out"),
    ],
)
def test_the_caller_learns_how_the_model_failed_with_the_same_status_codes_as_before(stub, model, code, says):
    err = failure(stub, model)
    assert err.code() == code
    assert says in err.details()


def test_what_the_engine_says_about_the_callers_own_request_reaches_the_caller(stub):
    """A 400 (a prompt over the engine's context, a value out of range) is the caller's to fix."""
    err = failure(stub, "400")
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (
        err.details()
        == "model '400' refused the request (HTTP 400): This model's maximum context length is 4096 tokens."
    )


def test_a_base_url_with_credentials_is_refused_before_the_server_starts(upstream):
    url = upstream.base_url.replace("http://", f"http://{CREDENTIALS}@")
    model = ModelConfig("openai", {"name": "llm", "base_url": url, "model": "standin-ok"})
    with pytest.raises(InvalidInputError) as refused:
        BackgroundServer(ServerConfig(port=0, models=(model,))).start()
    message = str(refused.value)
    assert "base_url holds credentials" in message and "api_key_env (--openai-api-key-env)" in message
    assert "pa55w0rd" not in message


def serve_refusal(*flags: str) -> subprocess.CompletedProcess[str]:
    """``splitinfer serve FLAGS`` in its own process, which must stop before serving."""
    command = [sys.executable, "-m", "splitinfer.cli.main", "serve", "--port", "0", *flags]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_splitinfer_serve_refuses_credentials_in_a_config_file_in_one_line_with_exit_2(tmp_path):
    config = tmp_path / "serve.toml"
    config.write_text(
        '[[models]]\nbackend = "openai"\nname = "llm"\n'
        f'base_url = "http://{CREDENTIALS}@127.0.0.1:9/v1"\nmodel = "m"\n'
    )
    done = serve_refusal("--config", str(config))
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "splitinfer serve: error: cannot configure model 'llm': base_url holds credentials "
        "(user:password@127.0.0.1:9); remove them and put the engine's API key in an environment "
        "variable named by api_key_env (--openai-api-key-env)"
    ]


def test_splitinfer_serve_refuses_credentials_in_the_base_url_flag_too():
    done = serve_refusal(
        "--backend", "openai", "--model", "m", "--openai-base-url", "http://u:p@localhost:9/v1"
    )
    assert done.returncode == 2, done.stderr
    assert "base_url holds credentials (user:password@localhost:9)" in done.stderr
    assert "u:p" not in done.stderr
