"""SIGTERM on a real ``splitinfer serve`` process: drain, let in-flight streams finish, exit 0."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from server_support import collect, question, stub_for, wait_until

from splitinfer.v1 import inference_pb2 as pb

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM semantics are POSIX")


class ServeProcess:
    """``splitinfer serve`` in a subprocess, with its stderr collected by a thread."""

    def __init__(self, tmp_path: Path, grace_s: float) -> None:
        config = tmp_path / "serve.json"
        config.write_text(
            json.dumps({"models": [{"backend": "echo", "name": "slow", "chunk_delay_ms": 20, "repeat": 20}]})
        )
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "splitinfer.cli.main",
                "serve",
                "--port",
                "0",
                "--config",
                str(config),
                "--grace-seconds",
                str(grace_s),
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        wait_until(
            lambda: self.address is not None or self.proc.poll() is not None, 60, "the server to listen"
        )
        assert self.address is not None, f"serve did not start: {self.lines}"

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def address(self) -> str | None:
        for line in self.lines:
            found = re.search(r"listening on (\S+)", line)
            if found:
                return found.group(1)
        return None

    def wait(self) -> int:
        """The exit code, once the process has ended and all it wrote to stderr is in ``lines``."""
        try:
            return self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self._reader.join(timeout=30)

    def sigterm_mid_stream(self, request: pb.GenerateRequest) -> tuple[grpc.RpcError, int]:
        """Start ``request``'s stream, send SIGTERM after its first chunk: the stream's error once
        the grace period cuts it off, and the exit code."""
        channel, stub = stub_for(self.address)
        try:
            stream = stub.Generate(request)
            next(stream)
            self.proc.send_signal(signal.SIGTERM)
            with pytest.raises(grpc.RpcError) as cut:
                collect(stream)
            return cut.value, self.wait()
        finally:
            channel.close()


def test_sigterm_lets_in_flight_streams_finish_then_exits_zero(tmp_path):
    serve = ServeProcess(tmp_path, grace_s=20)
    channel, stub = stub_for(serve.address)
    in_flight = stub.Generate(question("one two three", request_id="in-flight"))  # 60 chunks, ~1.2 s
    first = next(in_flight)

    serve.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: any("draining" in line for line in serve.lines), what="the server to start draining")
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
    with pytest.raises(grpc.RpcError) as refused:
        list(stub.Generate(question("new call")))
    rest, final = collect(in_flight)
    code = serve.wait()
    channel.close()

    assert health.status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert first.chunk.text + rest == "one two three " * 20
    assert final.finish_reason == pb.STOP
    assert code == 0
    logged = [json.loads(line) for line in serve.lines if line.startswith("{") and '"in-flight"' in line]
    assert [entry["code"] for entry in logged] == ["OK"]


def test_sigterm_with_no_grace_stops_an_idle_server_without_cancelling_anything(tmp_path):
    serve = ServeProcess(tmp_path, grace_s=0)
    serve.proc.send_signal(signal.SIGTERM)
    code = serve.wait()
    assert code == 0
    assert not [line for line in serve.lines if "cancelling" in line or "still running" in line]
    assert serve.lines[-1].endswith("stopped")


def test_sigterm_cuts_off_streams_still_running_when_the_grace_period_ends(tmp_path):
    serve = ServeProcess(tmp_path, grace_s=0.3)
    cut, code = serve.sigterm_mid_stream(question("a b c d e f g h i j"))  # 200 chunks, ~4 s
    assert cut.code() in (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE)
    assert code == 0


def test_calls_cut_off_when_the_grace_period_ends_are_logged_and_end_without_tracebacks(tmp_path):
    serve = ServeProcess(tmp_path, grace_s=0.3)
    cut, code = serve.sigterm_mid_stream(question("a b c d e f g h i j", request_id="cut-off"))  # ~4 s
    assert cut.code() == grpc.StatusCode.UNAVAILABLE
    assert code == 0
    logged = [json.loads(line) for line in serve.lines if line.startswith("{") and '"cut-off"' in line]
    assert [entry["code"] for entry in logged] == ["UNAVAILABLE"]
    assert "--grace-seconds" in logged[0]["error"]
    assert not [line for line in serve.lines if "Traceback" in line or "Exception not handled" in line]
    assert serve.lines[-1].endswith("stopped")


def test_a_stop_signal_the_moment_it_says_listening_drains_it(tmp_path):
    config = tmp_path / "serve.json"
    config.write_text(json.dumps({"models": [{"backend": "echo"}]}))
    command = [sys.executable, "-m", "splitinfer.cli.main", "serve", "--port", "0", "--config", str(config)]
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGINT):
        proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if "listening on" in line:
                proc.send_signal(sig)
                break
        lines += proc.stderr.readlines()
        assert proc.wait(timeout=30) == 0, "".join(lines)
        assert lines[-1].rstrip().endswith("stopped") and not any("Traceback" in line for line in lines)


@pytest.mark.parametrize("second", [signal.SIGINT, signal.SIGTERM])
def test_a_second_stop_signal_during_the_drain_cancels_the_calls_left_and_ends_now(tmp_path, second):
    serve = ServeProcess(tmp_path, grace_s=60)
    channel, stub = stub_for(serve.address)
    with channel:
        stream = stub.Generate(question("a b c d e f g h i j", request_id="cut-short"))  # ~4 s
        next(stream)
        serve.proc.send_signal(signal.SIGTERM)
        wait_until(
            lambda: any("draining" in line for line in serve.lines), what="the server to start draining"
        )
        serve.proc.send_signal(second)
        with pytest.raises(grpc.RpcError) as cut:
            collect(stream)
        code = serve.wait()
    assert code == 128 + second
    assert cut.value.code() == grpc.StatusCode.UNAVAILABLE
    assert (
        f"splitinfer serve: {second.name} during the drain: ending now, cancelling the 1 call(s) still running"
        in serve.lines
    )
    logged = [json.loads(line) for line in serve.lines if line.startswith("{") and '"cut-short"' in line]
    assert [entry["code"] for entry in logged] == ["UNAVAILABLE"]  # the log was flushed
    assert serve.lines[-1].endswith("stopped")
