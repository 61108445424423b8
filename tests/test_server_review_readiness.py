"""Health says NOT_SERVING until the models can answer: the extractive model loads for a few
seconds after the server starts listening, and load balancers must not send it calls until then."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import threading

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from server_support import stub_for, wait_until

from splitinfer.server import BackgroundServer, ServerConfig
from splitinfer.server.backends import extractive
from splitinfer.v1 import inference_pb2 as pb

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
READY = re.compile(r"splitinfer serve: model extractive ready, loaded in \d+\.\d s; health SERVING")


def health(address: str) -> set[int]:
    """The status of the server as a whole and of splitinfer.v1.Inference, as a set."""
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return {
            stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
            for service in ("", "splitinfer.v1.Inference")
        }


def test_health_is_not_serving_until_the_extractive_model_has_loaded(monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="splitinfer.server")
    loading = threading.Event()
    real_load = extractive.load_encoder

    def held_load():
        loading.wait(60)
        return real_load()

    monkeypatch.setattr(extractive, "load_encoder", held_load)
    with BackgroundServer(ServerConfig(port=0, log_requests=False)) as server:
        assert health(server.address) == {NOT_SERVING}
        loading.set()
        wait_until(lambda: health(server.address) == {SERVING}, 60, "health to say SERVING once loaded")
        channel, stub = stub_for(server.address)
        with channel:
            request = pb.GenerateRequest(prompt=pb.Prompt(question="When?", context="It opened in 1932."))
            answer = "".join(r.chunk.text for r in stub.Generate(request, timeout=30))
    assert answer == "It opened in 1932."
    messages = [r.getMessage() for r in caplog.records if r.name == "splitinfer.server"]
    assert any(m.endswith("; health NOT_SERVING until model extractive loaded") for m in messages)
    assert [m for m in messages if READY.fullmatch(m)], messages


def test_splitinfer_serve_logs_when_the_model_is_ready_and_nothing_else_about_loading():
    command = [sys.executable, "-m", "splitinfer.cli.main", "serve", "--port", "0"]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as process:
        give_up = threading.Timer(120, process.terminate)  # a server that never says it is ready
        give_up.start()
        try:
            lines = []
            for line in process.stderr:
                lines.append(line.rstrip("\n"))
                if "ready, loaded in" in line or "could not load" in line:
                    break
        finally:
            give_up.cancel()
            process.terminate()
            lines += process.stderr.read().splitlines()
    assert process.returncode == 0, lines
    assert lines[0].startswith("splitinfer serve: listening on 127.0.0.1:")
    assert lines[0].endswith("; health NOT_SERVING until model extractive loaded")
    assert READY.fullmatch(lines[1]), lines
    assert all(line.startswith("splitinfer serve: ") for line in lines), lines
