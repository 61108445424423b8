"""``AsyncClient``: the asyncio twin of ``Client`` over ``grpc.aio``, same arguments, same results.

    async with AsyncClient("api.example.com:443", credentials=token) as client:
        stream = await client.generate("When did the bridge open?", context=documents)
        async for chunk in stream:
            print(chunk, end="")
        stream.result.savings

Condensing on the device runs in a worker thread (``asyncio.to_thread``) so a long prompt never
blocks the event loop. Cancelling the task that iterates, or ``stream.cancel()``, cancels the
call on the server; the stream then raises ``RequestCancelledError``.

grpc.aio ties a channel to one event loop: a client and its streams belong to the loop of the
client's first call, and another loop gets a ``SplitinferError`` saying so (gRPC alone raises a
bare ``RuntimeError`` and leaves a coroutine never awaited).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from types import TracebackType
from typing import Any, Literal

import grpc

from splitinfer.sdk._channel import PROBE_METHOD
from splitinfer.sdk._client import CLOSED_MID_CALL, ChannelSettings
from splitinfer.sdk._condenser import Condenser
from splitinfer.sdk._errors import SplitinferError
from splitinfer.sdk._inputs import check_timeout
from splitinfer.sdk._policy import CondenserSlot, GenerateResult, Policy
from splitinfer.sdk._prepare import Deadline, Prepared, sampling_options
from splitinfer.sdk._rpc_errors import (
    RequestCancelledError,
    ServerError,
    deadline_passed,
    from_rpc_error,
    is_tls_mismatch,
)
from splitinfer.v1 import inference_pb2 as pb
from splitinfer.v1 import inference_pb2_grpc as pb_grpc


def task_was_cancelled() -> bool:
    """Whether the running task itself was cancelled, rather than only a gRPC call it awaited
    (grpc.aio raises ``CancelledError`` for a call cancelled by ``cancel()`` or by closing its
    channel too). Python 3.10 cannot tell, and says it was."""
    cancelling = getattr(asyncio.current_task(), "cancelling", None)  # Python 3.11+
    return cancelling is None or cancelling() > 0


def check_loop(loop: asyncio.AbstractEventLoop, what: str, target: str) -> None:
    """``SplitinferError`` unless the running event loop is ``loop``, the one ``what`` belongs to."""
    if asyncio.get_running_loop() is not loop:
        state = "has been closed" if loop.is_closed() else "is still open"
        raise SplitinferError(
            f"this {what} of {target} belongs to the event loop of its client's first call, not to this "
            f"one (that loop {state}); create one AsyncClient per event loop (per asyncio.run), inside it"
        )


class AsyncGenerateStream:
    """The answer of one ``AsyncClient.generate`` call: ``async for`` it; then read ``result``.
    A stream dropped before its end cancels its call, as a ``GenerateStream`` does."""

    def __init__(
        self, call: grpc.aio.UnaryStreamCall, prepared: Prepared, request: pb.GenerateRequest, target: str
    ) -> None:
        self._call = call
        self._iter = call.__aiter__()
        self._loop = asyncio.get_running_loop()
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
        check_loop(self._loop, "AsyncGenerateStream", self._target)
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
            if self._cancelled or not task_was_cancelled():
                # The reading task itself was not cancelled, so it must not see CancelledError.
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
            error = from_rpc_error(err, self._target, len(self._pieces), deadline_passed(self._call))
            raise self._failed(error) from None

    def _failed(self, error: ServerError) -> ServerError:
        """``error``, remembered: reading on after it raises it again, as the sync stream does,
        instead of a stream that seems to have ended without its final message."""
        self._error = error
        return error

    @property
    def result(self) -> GenerateResult:
        if self._error is not None:
            raise self._error
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

    def __del__(self) -> None:
        # Dropped before its end: cancel the call, as the sync stream does. grpc.aio's own tasks
        # keep a call alive without it: it would hold a server slot and two tasks until its deadline.
        if self._result is None and not self._cancelled and self._error is None:
            with contextlib.suppress(RuntimeError):  # the loop is closed, and the channel with it
                self._loop.call_soon_threadsafe(self._call.cancel)

    async def __aenter__(self) -> AsyncGenerateStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cancel()


class AsyncClient:
    """The asyncio twin of ``Client``; see it for every argument. It belongs to the event loop
    of its first call (see the module docstring): one client per loop."""

    def __init__(
        self,
        target: str,
        condenser: Condenser | Literal["default"] | os.PathLike[str] | None = "default",
        policy: Policy | str = Policy.PREFER_DEVICE_CONDENSE,
        credentials: str | None = None,
        *,
        tls: bool | None = None,
        root_certificates: bytes | str | os.PathLike[str] | None = None,
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
        # Made on the first call, in its event loop (grpc.aio binds a channel to the loop it is made in).
        self._loop: asyncio.AbstractEventLoop | None = None
        self._channel: grpc.aio.Channel | None = None
        self._stub: pb_grpc.InferenceStub | None = None
        self._closed = False
        # Calls condensing on the device; close() stops them at their next model window.
        self._condensing: set[threading.Event] = set()

    @property
    def target(self) -> str:
        return self.settings.target

    def _check_open(self) -> None:
        if self._closed:
            raise SplitinferError(
                f"this AsyncClient of {self.target} is closed; create a new one to make calls"
            )

    def _stub_here(self) -> pb_grpc.InferenceStub:
        """The stub over this client's channel, made in the running loop on the first call."""
        if self._loop is None:
            s = self.settings
            if s.secure:
                self._channel = grpc.aio.secure_channel(s.target, s.credentials, s.options, s.compression)
            else:
                self._channel = grpc.aio.insecure_channel(s.target, s.options, s.compression)
            self._stub = pb_grpc.InferenceStub(self._channel)
            self._loop = asyncio.get_running_loop()
        check_loop(self._loop, "AsyncClient", self.target)
        return self._stub  # type: ignore[return-value]

    async def _check_tls(self, deadline: Deadline, before: str) -> None:
        """As ``Client._check_tls``: fail at once when a TLS channel cannot connect because its
        settings do not match the server's, instead of after gRPC's retries."""
        channel = self._channel
        if not self.settings.secure or self._closed or channel is None:
            return
        waiting = (grpc.ChannelConnectivity.IDLE, grpc.ChannelConnectivity.CONNECTING)
        try:
            state = channel.get_state(try_to_connect=True)
            while state in waiting:
                await asyncio.wait_for(
                    channel.wait_for_state_change(state), deadline.left(self.target, before)
                )
                state = channel.get_state(try_to_connect=True)
            if state is not grpc.ChannelConnectivity.TRANSIENT_FAILURE:
                return
            await channel.unary_unary(PROBE_METHOD)(b"", timeout=deadline.left(self.target, before))
        except grpc.RpcError as err:
            error = from_rpc_error(err, self.target)
            if is_tls_mismatch(error):
                raise error from None
        except (asyncio.TimeoutError, grpc.aio.UsageError):
            return  # not connected in time, or closed: the call says so

    def _start(self, method: Callable[..., Any], request: object, deadline: Deadline, before: str) -> Any:
        """``method(request)`` with what is left of the call's deadline; a call that ``close()``
        caught on its way is cancelled (gRPC refuses it on the closed channel with a UsageError)."""
        timeout = deadline.left(self.target, before)
        try:
            return method(request, timeout=timeout, metadata=self.settings.metadata)
        except grpc.aio.UsageError:
            if not self._closed:
                raise
            raise RequestCancelledError(CLOSED_MID_CALL, "CANCELLED", self.target) from None

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
        stub = self._stub_here()
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
        self._condensing.add(cancelled)
        try:
            await asyncio.to_thread(prepared.condense_on_device, deadline, self.target, cancelled)
        except asyncio.CancelledError:
            cancelled.set()  # the thread stops at its next window instead of condensing for no one
            raise
        finally:
            self._condensing.discard(cancelled)
        if prepared.needs_server_condense:
            await self._check_tls(deadline, "the server condensed the context")
            try:
                response = await self._start(
                    stub.Condense, prepared.condense_request(), deadline, "the server condensed the context"
                )
            except grpc.RpcError as err:
                prepared.server_condense_failed(from_rpc_error(err, self.target))
            except asyncio.CancelledError:
                if not self._closed or task_was_cancelled():
                    raise
                # close() cancelled the Condense call, not this task: it must not see CancelledError.
                raise RequestCancelledError(CLOSED_MID_CALL, "CANCELLED", self.target) from None
            else:
                prepared.server_condensed(response)
        request = prepared.generate_request()
        await self._check_tls(deadline, "the question was sent")
        call = self._start(stub.Generate, request, deadline, "the question was sent")
        return AsyncGenerateStream(call, prepared, request, self.target)

    async def close(self) -> None:
        """Close the channel; calls still open are cancelled, condensing on the device included.
        Once the event loop of its first call has closed, its channel went with it, and ``close``
        only marks the client closed (an exit hook in another loop may call it)."""
        self._closed = True
        for cancelled in self._condensing:
            cancelled.set()
        channel, self._channel = self._channel, None
        if channel is not None and not self._loop.is_closed():  # type: ignore[union-attr]
            check_loop(self._loop, "AsyncClient", self.target)  # type: ignore[arg-type]
            await channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
