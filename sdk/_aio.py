"""``AsyncClient``: the asyncio twin of ``Client`` over ``grpc.aio``, same arguments, same results.

    async with AsyncClient("api.example.com:443", credentials=token) as client:
        stream = await client.generate("When did the bridge open?", context=documents)
        async for chunk in stream:
            print(chunk, end="")
        stream.result.savings

Condensing on the device runs in a worker thread (``asyncio.to_thread``) so a long prompt never
blocks the event loop. Cancelling the task that iterates, or ``stream.cancel()``, cancels the
call on the server; the stream then raises ``RequestCancelledError``.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from types import TracebackType

import grpc

from splitinfer.sdk._client import ChannelSettings
from splitinfer.sdk._condenser import Condenser
from splitinfer.sdk._errors import SplitinferError
from splitinfer.sdk._inputs import check_timeout
from splitinfer.sdk._policy import CondenserSlot, GenerateResult, Policy
from splitinfer.sdk._prepare import Deadline, Prepared, sampling_options
from splitinfer.sdk._rpc_errors import RequestCancelledError, ServerError, from_rpc_error
from splitinfer.v1 import inference_pb2 as pb
from splitinfer.v1 import inference_pb2_grpc as pb_grpc


class AsyncGenerateStream:
    """The answer of one ``AsyncClient.generate`` call: ``async for`` it; then read ``result``."""

    def __init__(
        self, call: grpc.aio.UnaryStreamCall, prepared: Prepared, request: pb.GenerateRequest, target: str
    ) -> None:
        self._call = call
        self._iter = call.__aiter__()
        self._prepared = prepared
        self._request = request
        self._target = target
        self._pieces: list[str] = []
        self._result: GenerateResult | None = None
        self._error: ServerError | None = None
        self._cancelled = False

    def __aiter__(self) -> AsyncIterator[str]:
        return self

    async def __anext__(self) -> str:
        if self._result is not None:
            raise StopAsyncIteration
        if self._error is not None:
            raise self._error
        if self._cancelled:
            raise RequestCancelledError("the call was cancelled by this client", "CANCELLED", self._target)
        try:
            while True:
                try:
                    response = await self._iter.__anext__()
                except StopAsyncIteration:
                    raise ServerError(
                        "the answer stream ended without its final message", "INTERNAL", self._target
                    ) from None
                if response.HasField("chunk"):
                    self._pieces.append(response.chunk.text)
                    return response.chunk.text
                if response.HasField("final"):
                    self._result = self._prepared.result("".join(self._pieces), response.final, self._request)
                    raise StopAsyncIteration
        except asyncio.CancelledError:
            task = asyncio.current_task()
            cancelling = getattr(task, "cancelling", None)  # Python 3.11+
            if self._cancelled or (cancelling is not None and cancelling() == 0):
                # grpc.aio reports a call cancelled by this client, or by closing its channel, this
                # way; the reading task itself was not cancelled, so it must not see CancelledError.
                self._cancelled = True
                raise self._failed(
                    RequestCancelledError("the call was cancelled by this client", "CANCELLED", self._target)
                ) from None
            self._cancelled = True  # the reading task was cancelled: stop the call on the server too
            self._call.cancel()
            raise
        except grpc.RpcError as err:
            if self._cancelled or self._call.cancelled():
                raise self._failed(
                    RequestCancelledError("the call was cancelled by this client", "CANCELLED", self._target)
                ) from None
            raise self._failed(from_rpc_error(err, self._target, len(self._pieces))) from None

    def _failed(self, error: ServerError) -> ServerError:
        """``error``, remembered: reading on after it raises it again, as the sync stream does,
        instead of a stream that seems to have ended without its final message."""
        self._error = error
        return error

    @property
    def result(self) -> GenerateResult:
        if self._result is None:
            raise SplitinferError(
                "the answer is not complete: iterate the stream to its end (or await collect())"
            )
        return self._result

    @property
    def prepared(self) -> Prepared:
        return self._prepared

    async def collect(self) -> GenerateResult:
        async for _ in self:
            pass
        return self.result

    def cancel(self) -> None:
        """Cancel the call; the server stops generating within one chunk."""
        if self._result is None and not self._cancelled:
            self._cancelled = True
            self._call.cancel()

    async def __aenter__(self) -> AsyncGenerateStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cancel()


class AsyncClient:
    """The asyncio twin of ``Client``; see it for every argument. Create it inside the event loop."""

    def __init__(
        self,
        target: str,
        condenser: Condenser | str | Path | None = "default",
        policy: Policy | str = Policy.PREFER_DEVICE_CONDENSE,
        credentials: str | None = None,
        *,
        tls: bool | None = None,
        root_certificates: bytes | str | os.PathLike | None = None,
        tls_server_name: str | None = None,
        timeout: float = 60.0,
        compression: bool = True,
        allow_insecure_credentials: bool = False,
    ) -> None:
        self.policy = Policy.parse(policy)
        self.timeout = check_timeout(timeout)
        self._slot = CondenserSlot(condenser)
        self.settings = ChannelSettings(
            target,
            credentials,
            tls,
            root_certificates,
            tls_server_name,
            compression,
            allow_insecure_credentials,
        )
        s = self.settings
        if s.secure:
            self._channel = grpc.aio.secure_channel(s.target, s.credentials, s.options, s.compression)
        else:
            self._channel = grpc.aio.insecure_channel(s.target, s.options, s.compression)
        self._stub = pb_grpc.InferenceStub(self._channel)
        self._closed = False

    @property
    def target(self) -> str:
        return self.settings.target

    def _check_open(self) -> None:
        if self._closed:
            raise SplitinferError(
                f"this AsyncClient of {self.target} is closed; create a new one to make calls"
            )

    async def generate(
        self,
        question: str,
        context: str = "",
        *,
        instruction: str = "",
        rate: float | None = None,
        target_tokens: int | None = None,
        force: Sequence[str] = (),
        keep_digits: bool = True,
        policy: Policy | str | None = None,
        model: str = "",
        max_new_tokens: int = 0,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: Sequence[str] = (),
        seed: int | None = None,
        request_id: str = "",
        timeout: float | None = None,
    ) -> AsyncGenerateStream:
        """As ``Client.generate``; awaiting it condenses, iterating the stream reads the answer."""
        self._check_open()
        deadline = Deadline(check_timeout(self.timeout if timeout is None else timeout))
        prepared = Prepared(
            question=question,
            context=context,
            instruction=instruction,
            rate=rate,
            target_tokens=target_tokens,
            force=force,
            keep_digits=keep_digits,
            policy=self.policy if policy is None else Policy.parse(policy),
            slot=self._slot,
            options=sampling_options(model, max_new_tokens, temperature, top_p, stop, seed, request_id),
        )
        cancelled = threading.Event()
        try:
            await asyncio.to_thread(prepared.condense_on_device, deadline, self.target, cancelled)
        except asyncio.CancelledError:
            cancelled.set()  # the thread stops at its next window instead of condensing for no one
            raise
        if prepared.needs_server_condense:
            try:
                response = await self._stub.Condense(
                    prepared.condense_request(),
                    timeout=deadline.left(self.target, "the server condensed the context"),
                    metadata=self.settings.metadata,
                )
            except grpc.RpcError as err:
                prepared.server_condense_failed(from_rpc_error(err, self.target))
            else:
                prepared.server_condensed(response)
        request = prepared.generate_request()
        timeout_s = deadline.left(self.target, "the question was sent")
        call = self._stub.Generate(request, timeout=timeout_s, metadata=self.settings.metadata)
        return AsyncGenerateStream(call, prepared, request, self.target)

    async def close(self) -> None:
        self._closed = True
        await self._channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
