"""What an operator relies on: health transitions while draining, reflection, the metrics endpoint,
and one structured log line per request."""

from __future__ import annotations

import datetime
import json
import logging
import re
import socket
import threading
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from prometheus_client.parser import text_string_to_metric_families
from server_support import collect, free_port, question, request_log, stub_for, wait_until

from splitinfer.cli.main import main
from splitinfer.sdk._errors import InvalidInputError
from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig
from splitinfer.v1 import inference_pb2 as pb

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the /metrics page, keyed by (name, sorted labels)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as page:
        text = page.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_health_turns_not_serving_when_draining_while_in_flight_streams_finish():
    config = ServerConfig(
        port=0, models=(ModelConfig("echo", {"name": "slow", "chunk_delay_ms": 20, "repeat": 10}),)
    )
    srv = BackgroundServer(config).start()
    channel, stub = stub_for(srv.address)
    watch = health_pb2_grpc.HealthStub(channel).Watch(
        health_pb2.HealthCheckRequest(service="splitinfer.v1.Inference")
    )
    assert next(watch).status == SERVING
    in_flight = stub.Generate(question("one two three"))  # 30 chunks, ~0.6 s
    first = next(in_flight)

    stopper = threading.Thread(target=srv.stop, kwargs={"grace": 10})
    stopper.start()
    assert next(watch).status == NOT_SERVING
    wait_until(lambda: srv.server.core.draining, what="the server to start draining")
    with pytest.raises(grpc.RpcError) as refused:
        list(stub.Generate(question("too late")))
    rest, final = collect(in_flight)
    stopper.join(timeout=15)
    channel.close()

    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "shutting down" in refused.value.details()
    assert first.chunk.text + rest == "one two three " * 10
    assert final.finish_reason == pb.STOP
    assert not stopper.is_alive()


@pytest.fixture(scope="module")
def server():
    config = ServerConfig(
        port=0,
        metrics_port=0,
        models=(
            ModelConfig("echo", {"name": "echo"}),
            ModelConfig("echo", {"name": "slow", "chunk_delay_ms": 20, "repeat": 20}),
        ),
        max_concurrent=1,
        max_queued=0,
    )
    with BackgroundServer(config) as srv:
        yield srv


def test_reflection_lists_the_service_and_describes_its_methods(server):
    with grpc.insecure_channel(server.address) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = set(database.get_services())
        generate = database.FindFileContainingSymbol("splitinfer.v1.Inference")
    assert {"splitinfer.v1.Inference", "grpc.health.v1.Health"} <= services
    (service,) = [s for s in generate.service if s.name == "Inference"]
    assert {m.name for m in service.method} == {"Generate", "Condense", "GetInfo", "ListModels"}


def test_metrics_endpoint_reports_requests_latency_tokens_rejects_and_device_savings(server):
    channel, stub = stub_for(server.address)
    condensed = pb.GenerateRequest(
        model="echo",
        prompt=pb.Prompt(context="kept words only", question="why"),
        condensation=pb.Condensation(where=pb.Condensation.DEVICE, original_tokens=100, condensed_tokens=25),
    )
    collect(stub.Generate(condensed))
    with pytest.raises(grpc.RpcError):
        list(stub.Generate(question("")))
    busy = stub.Generate(question("hold the slot", model="slow"))
    next(busy)
    with pytest.raises(grpc.RpcError) as overloaded:
        list(stub.Generate(question("no room", model="echo")))
    busy.cancel()
    wait_until(lambda: server.server.core.inflight == 0, what="the cancelled call to end")
    channel.close()

    m = scrape(server.metrics_port)
    assert overloaded.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    for code, model in (
        ("OK", "echo"),
        ("INVALID_ARGUMENT", "echo"),
        ("RESOURCE_EXHAUSTED", "echo"),
        ("CANCELLED", "slow"),
    ):
        assert (
            m[("splitinfer_requests_total", (("code", code), ("method", "Generate"), ("model", model)))] == 1
        )
        assert m[("splitinfer_request_duration_seconds_count", (("code", code), ("method", "Generate")))] == 1
    assert m[("splitinfer_rejected_total", (("reason", "overloaded"),))] == 1
    assert m[("splitinfer_time_to_first_chunk_seconds_count", (("model", "echo"),))] == 1
    assert m[("splitinfer_prompt_tokens_total", (("model", "echo"),))] == 4
    assert m[("splitinfer_device_original_tokens_total", ())] == 100
    assert m[("splitinfer_device_condensed_tokens_total", ())] == 25
    assert m[("splitinfer_device_condensation_ratio_sum", ())] == pytest.approx(0.25)
    assert m[("splitinfer_queue_depth", ())] == 0
    assert m[("splitinfer_running_requests", ())] == 0


def test_each_request_writes_one_structured_log_line(server, caplog):
    caplog.set_level(logging.INFO, logger="splitinfer.server.requests")
    channel, stub = stub_for(server.address)
    collect(stub.Generate(question("log me", model="echo", request_id="log-1")))
    channel.close()

    def lines() -> list[dict]:
        text = "\n".join(r.getMessage() for r in caplog.records if r.name == "splitinfer.server.requests")
        return [json.loads(line) for line in text.splitlines() if '"log-1"' in line]

    wait_until(lambda: bool(lines()), what="the log line")
    (line,) = lines()
    assert (line["rpc"], line["model"], line["code"]) == ("Generate", "echo", "OK")
    assert (line["prompt_tokens"], line["completion_tokens"]) == (2, 2)
    assert 0 < line["ttfc_ms"] <= line["total_ms"]
    assert line["peer"].startswith("ipv4:127.0.0.1")


def test_each_request_log_line_says_when_the_call_ended(server, caplog):
    """Lines are written in batches, so the time of a log record is not the call's."""
    caplog.set_level(logging.INFO, logger="splitinfer.server.requests")
    before = datetime.datetime.now(datetime.timezone.utc)
    channel, stub = stub_for(server.address)
    with channel:
        collect(stub.Generate(question("when", model="echo", request_id="ts-1")))
    after = datetime.datetime.now(datetime.timezone.utc)
    wait_until(lambda: [e for e in request_log(caplog.records) if e.get("id") == "ts-1"], what="the log line")
    (line,) = [e for e in request_log(caplog.records) if e.get("id") == "ts-1"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["ts"])
    ended = datetime.datetime.fromisoformat(line["ts"].replace("Z", "+00:00"))
    assert before - datetime.timedelta(milliseconds=1) <= ended <= after


def test_a_metrics_port_in_use_stops_startup_with_one_line_and_leaves_nothing_running(capsys):
    grpc_port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        metrics_port = taken.getsockname()[1]
        code = main(
            ["serve", "--backend", "echo", "--port", str(grpc_port), "--metrics-port", str(metrics_port)]
        )
    err = capsys.readouterr().err
    assert code == 1
    assert f"cannot serve metrics on 127.0.0.1:{metrics_port}" in err and "already in use" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", grpc_port))  # the gRPC server did not stay behind on its port


def test_a_metrics_host_that_is_not_this_machine_is_bad_input():
    # 192.0.2.1 is TEST-NET-1 (RFC 5737): never an address of this machine.
    config = ServerConfig(port=0, backend="echo", metrics_port=0, metrics_host="192.0.2.1")
    with pytest.raises(InvalidInputError, match=r"192\.0\.2\.1 is not an address of this machine"):
        BackgroundServer(config).start()


def test_serve_logging_keeps_httpx_request_lines_out_of_the_json_request_log():
    import io
    import logging

    from splitinfer.server.observe import configure_logging

    configure_logging(logging.INFO, io.StringIO())
    assert logging.getLogger("httpx").level >= logging.WARNING


def test_stop_may_be_called_from_several_threads_at_once_and_again():
    for _ in range(5):  # the race: a second stop() reaching the loop after the first closed it
        server = BackgroundServer(ServerConfig(port=0, backend="echo", grace_seconds=0)).start()
        stoppers = [threading.Thread(target=server.stop) for _ in range(4)]
        for stopper in stoppers:
            stopper.start()
        server.stop()
        for stopper in stoppers:
            stopper.join()
        server.stop()


def test_metrics_on_an_address_others_can_reach_are_named_in_a_warning(caplog):
    caplog.set_level(logging.WARNING, logger="splitinfer.server")
    with BackgroundServer(ServerConfig(port=0, backend="echo", metrics_port=0)):
        pass
    assert not [r for r in caplog.records if "metrics are served on" in r.getMessage()]
    config = ServerConfig(port=0, backend="echo", metrics_port=0, metrics_host="0.0.0.0")
    with BackgroundServer(config) as server:
        warned = [r.getMessage() for r in caplog.records if "metrics are served on" in r.getMessage()]
        assert warned == [
            f"metrics are served on 0.0.0.0:{server.metrics_port} without TLS or a token: whoever reaches "
            "it sees the call counts, model names and latencies; set --metrics-host 127.0.0.1 (or a "
            "private address) unless a scraper must reach it from elsewhere"
        ]


def test_health_list_names_every_service_with_its_status_and_logs_no_error(caplog) -> None:
    caplog.set_level(logging.ERROR)
    with BackgroundServer(ServerConfig(port=0, backend="echo")) as srv:
        channel, _ = stub_for(srv.address)
        listed = health_pb2_grpc.HealthStub(channel).List(health_pb2.HealthListRequest(), timeout=10)
        channel.close()
    statuses = {name: response.status for name, response in listed.statuses.items()}
    assert statuses == {"": SERVING, "splitinfer.v1.Inference": SERVING}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
