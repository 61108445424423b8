"""What ``/metrics`` counts: the calls users make, by model, with their latency kept apart from
refusals; not the load balancer's health checks, nor reflection (a refused one is a refusal); and no
``*_created`` series.

The server runs with auth and a metrics port; the page is scraped over HTTP, as Prometheus does.
"""

from __future__ import annotations

import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from prometheus_client.parser import text_string_to_metric_families
from server_support import collect, question, wait_until

from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig
from splitinfer.v1 import inference_pb2_grpc as pb_grpc

TOKEN = "metrics-test-token"
AUTH = (("authorization", f"Bearer {TOKEN}"),)


class _Authorized(grpc.AuthMetadataPlugin):
    def __call__(self, context, callback):
        callback(AUTH, None)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tokens = tmp_path_factory.mktemp("auth") / "tokens.txt"
    tokens.write_text(TOKEN + "\n")
    tokens.chmod(0o600)
    models = (ModelConfig("echo", {"name": "echo"}), ModelConfig("echo", {"name": "other"}))
    config = ServerConfig(port=0, metrics_port=0, models=models, auth_tokens_file=tokens)
    with BackgroundServer(config) as srv:
        yield srv


def page(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


@pytest.fixture(scope="module")
def scraped(server) -> str:
    """The page after: 2 health checks, reflection refused once and served once, 3 Generate calls
    refused for their token, 2 answered by 'echo' and 1 by 'other'."""
    with grpc.insecure_channel(server.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for _ in range(2):
            health.Check(health_pb2.HealthCheckRequest(), timeout=5)
        with pytest.raises(grpc.RpcError):
            ProtoReflectionDescriptorDatabase(channel).get_services()
        stub = pb_grpc.InferenceStub(channel)
        for _ in range(3):
            with pytest.raises(grpc.RpcError):
                collect(stub.Generate(question("no token"), timeout=5))
        for model in ("echo", "echo", "other"):
            collect(stub.Generate(question("hello", model=model), metadata=AUTH, timeout=5))
    authorized = grpc.composite_channel_credentials(
        grpc.local_channel_credentials(), grpc.metadata_call_credentials(_Authorized())
    )
    with grpc.secure_channel(server.address, authorized) as channel:
        assert "splitinfer.v1.Inference" in ProtoReflectionDescriptorDatabase(channel).get_services()

    def counted() -> float:
        generate = samples(page(server.metrics_port), "splitinfer_requests_total")
        return sum(value for labels, value in generate.items() if ("method", "Generate") in labels)

    wait_until(lambda: counted() == 6, what="the server to count the six Generate calls")
    return page(server.metrics_port)


def test_requests_total_counts_the_inference_calls_by_model_and_nothing_else(scraped):
    assert samples(scraped, "splitinfer_requests_total") == {
        (("code", "UNAUTHENTICATED"), ("method", "Generate"), ("model", "")): 3.0,
        (("code", "OK"), ("method", "Generate"), ("model", "echo")): 2.0,
        (("code", "OK"), ("method", "Generate"), ("model", "other")): 1.0,
    }


def test_a_refused_reflection_call_is_a_refusal_but_not_a_request(scraped):
    # 3 Generate calls and the reflection call without a token.
    assert samples(scraped, "splitinfer_rejected_total") == {(("reason", "unauthenticated"),): 4.0}


def test_the_latency_of_answers_is_apart_from_that_of_refusals(scraped):
    assert samples(scraped, "splitinfer_request_duration_seconds_count") == {
        (("code", "OK"), ("method", "Generate")): 3.0,
        (("code", "UNAUTHENTICATED"), ("method", "Generate")): 3.0,
    }


def test_no_created_series(scraped):
    assert "_created" not in scraped
