"""A burst of calls far past --max-concurrent + --max-queued is refused by admission control,
with RESOURCE_EXHAUSTED and a retry hint, not cancelled at random by gRPC before it is seen."""

from __future__ import annotations

import asyncio
import collections

import grpc

from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig
from splitinfer.v1 import inference_pb2 as pb
from splitinfer.v1 import inference_pb2_grpc as pb_grpc

BURST = 2500  # past gRPC's own default of 1000 pending calls, at which it cancels at random


async def burst(address: str) -> collections.Counter:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.InferenceStub(channel)

        async def one() -> str:
            try:
                call = stub.Generate(pb.GenerateRequest(prompt=pb.Prompt(question="Which road?")), timeout=60)
                async for _ in call:
                    pass
                return "OK"
            except grpc.RpcError as err:
                return err.code().name

        return collections.Counter(await asyncio.gather(*(one() for _ in range(BURST))))


def test_a_burst_is_refused_by_admission_control_not_cancelled_by_grpc() -> None:
    config = ServerConfig(
        port=0,
        models=(ModelConfig("echo", {"chunk_delay_ms": 100}),),
        max_concurrent=4,
        max_queued=8,
        log_requests=False,
    )
    with BackgroundServer(config) as server:
        codes = asyncio.run(burst(server.address))
    assert set(codes) == {"OK", "RESOURCE_EXHAUSTED"}, codes
    assert codes["OK"] >= 12 and codes["RESOURCE_EXHAUSTED"] > BURST // 2
