"""The processes of ``splitinfer bench server``: the two servers and the load generator.

Each runs in its own process (started with the ``spawn`` method) so that the client's work and the
GIL never slow the server being measured. Servers report their bound port, then answer ``"cpu"``
with their process CPU seconds and stop on ``"stop"``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import grpc

from splitinfer.v1 import inference_pb2 as pb
from splitinfer.v1 import inference_pb2_grpc as pb_grpc


async def _serve_commands(conn: Connection, port: int) -> None:
    conn.send(port)
    while True:
        command = await asyncio.to_thread(conn.recv)
        if command == "cpu":
            conn.send(time.process_time())
        else:
            return


def run_ours(options: dict[str, Any], log_path: str, conn: Connection) -> None:
    """Our full server: echo backend, auth interceptor, admission, metrics, one log line per call."""
    from splitinfer.server.observe import configure_logging

    configure_logging(logging.INFO, open(log_path, "w", encoding="utf-8"))  # noqa: SIM115 (lives as long as the process)

    async def main() -> None:
        from splitinfer.server import ModelConfig, ServerConfig, SplitinferServer

        models = (ModelConfig("echo", {"name": "echo", "chunk_delay_ms": options["chunk_delay_ms"]}),)
        config = ServerConfig(
            port=0,
            models=models,
            auth_tokens_file=options["tokens_file"],
            metrics_port=0,
            max_concurrent=options["max_concurrent"],
            max_queued=options["max_concurrent"],
            grace_seconds=1.0,
        )
        server = SplitinferServer(config)
        await server.start()
        await _serve_commands(conn, server.port or 0)
        await server.drain(1.0)

    asyncio.run(main())


class _BareServicer(pb_grpc.InferenceServicer):
    """The baseline: same messages, no interceptors, no validation, no accounting, no logging."""

    def __init__(self, info: pb.GetInfoResponse, chunk_delay_s: float) -> None:
        self.info = info
        self.chunk_delay_s = chunk_delay_s

    async def GetInfo(self, request: pb.GetInfoRequest, context: Any) -> pb.GetInfoResponse:
        return self.info

    async def Generate(self, request: pb.GenerateRequest, context: Any) -> AsyncIterator[pb.GenerateResponse]:
        words = request.prompt.question.split()
        for i, word in enumerate(words):
            if self.chunk_delay_s:
                await asyncio.sleep(self.chunk_delay_s)
            yield pb.GenerateResponse(chunk=pb.Chunk(text=word + " ", index=i))
        usage = pb.Usage(prompt_tokens=len(words), completion_tokens=len(words))
        yield pb.GenerateResponse(
            final=pb.GenerateFinal(finish_reason=pb.STOP, usage=usage, request_id="r", model="echo")
        )


def run_baseline(info_bytes: bytes, chunk_delay_ms: float, conn: Connection) -> None:
    async def main() -> None:
        server = grpc.aio.server()
        servicer = _BareServicer(pb.GetInfoResponse.FromString(info_bytes), chunk_delay_ms / 1000.0)
        pb_grpc.add_InferenceServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        await _serve_commands(conn, port)
        await server.stop(1.0)

    asyncio.run(main())


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def _unary_load(address: str, token: str, callers: int, seconds: float) -> dict[str, Any]:
    metadata = (("authorization", f"Bearer {token}"),)
    latencies: list[float] = []
    errors = 0
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.InferenceStub(channel)
        await stub.GetInfo(pb.GetInfoRequest(), metadata=metadata)  # connect and warm up
        stop_at = time.perf_counter() + seconds

        async def caller() -> None:
            nonlocal errors
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                try:
                    await stub.GetInfo(pb.GetInfoRequest(), metadata=metadata)
                except grpc.aio.AioRpcError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(callers)))
        elapsed = time.perf_counter() - started
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "calls": len(latencies),
        "errors": errors,
    }


async def _stream_load(address: str, token: str, streams: int, chunks: int, channels: int) -> dict[str, Any]:
    metadata = (("authorization", f"Bearer {token}"),)
    # Asks for every chunk: our server would otherwise end each answer at its default 256 tokens.
    request = pb.GenerateRequest(
        prompt=pb.Prompt(question=" ".join(["w"] * chunks)),
        sampling=pb.SamplingOptions(max_new_tokens=chunks),
    )
    ttfts: list[float] = []
    totals = {"chunks": 0, "errors": 0, "lost": 0}
    opened = [grpc.aio.insecure_channel(address) for _ in range(channels)]
    try:
        stubs = [pb_grpc.InferenceStub(c) for c in opened]
        for stub in stubs:
            await stub.GetInfo(pb.GetInfoRequest(), metadata=metadata)

        async def one(i: int) -> None:
            started = time.perf_counter()
            got, final = 0, False
            try:
                async for response in stubs[i % channels].Generate(request, metadata=metadata):
                    if response.HasField("chunk"):
                        if got == 0:
                            ttfts.append(time.perf_counter() - started)
                        got += 1
                    else:
                        final = True
            except grpc.aio.AioRpcError:
                totals["errors"] += 1
                return
            totals["chunks"] += got
            if not final or got != chunks:
                totals["lost"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(streams)))
        elapsed = time.perf_counter() - started
    finally:
        for channel in opened:
            await channel.close()
    return {
        "ttft_p50_ms": percentile(ttfts, 0.5) * 1000,
        "ttft_p99_ms": percentile(ttfts, 0.99) * 1000,
        "chunks_per_s": totals["chunks"] / elapsed,
        "seconds": elapsed,
        "errors": totals["errors"],
        "lost": totals["lost"],
    }


def run_client(token: str, plan: dict[str, Any], conn: Connection) -> None:
    """Load generator: answers ``("unary" | "stream", address)`` commands with results until ``"stop"``."""

    async def main() -> None:
        while True:
            command = await asyncio.to_thread(conn.recv)
            if command == "stop":
                return
            phase, address = command
            try:
                if phase == "unary":
                    result = await _unary_load(address, token, plan["callers"], plan["seconds"])
                else:
                    result = await _stream_load(
                        address, token, plan["streams"], plan["chunks"], plan["channels"]
                    )
            except Exception as err:  # reported to the parent, which fails the run with the reason
                result = {"failed": f"{type(err).__name__}: {err}"}
            conn.send(result)

    asyncio.run(main())


def write_tokens(folder: Path, token: str) -> Path:
    path = folder / "tokens.txt"
    path.write_text(token + "\n")
    path.chmod(0o600)  # as a token file should be (the server warns about one others can read)
    return path
