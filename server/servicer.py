"""The gRPC face of :class:`~splitinfer.server.core.InferenceCore`: thin on purpose.

Each method opens a :class:`CallRecord`, calls the core, and maps what comes back: responses go out
as they are, :class:`ServiceError` becomes its status code (with ``google.rpc.RetryInfo`` in the
rich status details when it carries a retry hint), cancellation and deadlines are recorded as
``CANCELLED``/``DEADLINE_EXCEEDED`` (``UNAVAILABLE`` for calls cut off because the server stopped),
and anything unexpected becomes ``INTERNAL`` with the traceback in the server log (never in the
reply).

Every method is registered as taking a request *stream* and reads the one message the client sends
itself. For a unary request, gRPC reads the message before it calls the handler, and never calls it
if the call has ended by then (the client gave up while the server was busy) or if the client sent
no message: such a call would be missing from the request log and the metrics, and a call without a
message would get no answer until its deadline. Read here, the first is recorded as ``CANCELLED``
or ``DEADLINE_EXCEEDED`` like any call its client left, and the second gets INVALID_ARGUMENT. A
message gRPC refuses itself (over twice ``--max-request-bytes``, see :mod:`splitinfer.server.wire`)
stays out of both: gRPC answers that call. On the wire each call is still unary: clients cannot
tell the difference. Handlers take the request stream but read with ``context.read()``: against a
unary handler, a ``GetInfo`` costs about 3% more instructions so, and 10% more iterating the stream
(callgrind).

Telling a deadline from a cancel: when a client's deadline passes, the client cancels the call, and
the server sees that cancel up to the one-way network latency (plus a few milliseconds of
``grpc-timeout`` rounding) *before* its own copy of the deadline. A cancel that arrives within
:func:`deadline_slack_s` of the deadline is therefore counted as ``DEADLINE_EXCEEDED``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from splitinfer.sdk._rpc_errors import UPSTREAM_CAUSE
from splitinfer.server import validation
from splitinfer.server.core import InferenceCore
from splitinfer.server.errors import (
    DrainingError,
    InvalidRequestError,
    OverloadedError,
    RequestTooLargeError,
    ServiceError,
    UpstreamOverloadedError,
)
from splitinfer.server.observe import CallRecord, Observer
from splitinfer.server.wire import safe_deserializer
from splitinfer.v1 import inference_pb2 as pb

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Inference"].full_name
_REJECT_REASONS = {
    OverloadedError: "overloaded",
    UpstreamOverloadedError: "upstream_overloaded",
    DrainingError: "draining",
    RequestTooLargeError: "too_large",
}
# Bounds and share of the deadline slack (see the module docstring and deadline_slack_s).
_MIN_DEADLINE_SLACK_S = 0.05
_MAX_DEADLINE_SLACK_S = 0.25
_DEADLINE_SLACK_SHARE = 0.1
# How long a call whose request message did not come waits for gRPC to cancel it (see _one_request);
# gRPC does at once, so only a client that sent no message at all waits this long for its answer.
_LOST_MESSAGE_WAIT_S = 0.25
_CUT_OFF = (
    "the server stopped before the call finished (its --grace-seconds ran out); retry, or use another replica"
)
log = logging.getLogger("splitinfer.server")


def status_of(err: ServiceError) -> tuple[grpc.StatusCode, str, tuple[tuple[str, Any], ...]]:
    """``(code, message, trailing_metadata)`` for ``context.abort``; RetryInfo when there is a hint,
    ``UPSTREAM_CAUSE`` when the upstream failed rather than this server."""
    code = grpc.StatusCode[err.code]
    cause = (UPSTREAM_CAUSE,) if err.upstream else ()
    if err.retry_after_s is None:
        return code, err.message, cause
    delay = duration_pb2.Duration()
    delay.FromMilliseconds(max(1, round(err.retry_after_s * 1000)))
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
    status = rpc_status.to_status(
        status_pb2.Status(code=code.value[0], message=err.message, details=[detail])
    )
    return status.code, status.details, (*status.trailing_metadata, *cause)


def _deadline(context: grpc.aio.ServicerContext) -> float | None:
    remaining = context.time_remaining()
    return None if remaining is None else time.monotonic() + remaining


def deadline_slack_s(timeout_s: float) -> float:
    """How close to its deadline a cancel of a call given ``timeout_s`` seconds counts as the deadline.

    10% of the timeout, at least 50 ms (loopback and LAN latency, ``grpc-timeout`` rounding) and at
    most 250 ms (a mobile network's one-way latency), so a real cancel is rarely mistaken for it.
    """
    return min(_MAX_DEADLINE_SLACK_S, max(_MIN_DEADLINE_SLACK_S, _DEADLINE_SLACK_SHARE * timeout_s))


class InferenceServicer:
    """``splitinfer.v1.Inference`` over the core; register it with :func:`add_to_server`."""

    def __init__(self, core: InferenceCore, observer: Observer) -> None:
        self.core = core
        self.observer = observer

    async def Generate(
        self, requests: AsyncIterator[Any], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.GenerateResponse]:
        record = CallRecord("Generate", peer=context.peer())
        deadline = _deadline(context)
        entered = False
        answered = False
        try:
            request = await _one_request(context, pb.GenerateRequest, record)
            self.core.enter()
            entered = True
            async with aclosing(self.core.generate(request, record, deadline)) as stream:
                async for response in stream:
                    answered = response.HasField("final")
                    yield response
        except ServiceError as err:
            await self._fail(context, record, err)
        except (asyncio.CancelledError, GeneratorExit):
            if answered:
                # The final message was handed to gRPC (and its tokens counted): a client that
                # hangs up once it has read it (the SDK does not wait for the status) got its
                # whole answer, so the call counts as OK, not CANCELLED.
                self.observer.end(record, "OK")
            else:
                self._cancelled(record, context)
            raise
        except Exception as err:
            await self._crash(context, record, err)
        else:
            self.observer.end(record, "OK")
        finally:
            if entered:
                self.core.leave()

    async def Condense(
        self, requests: AsyncIterator[Any], context: grpc.aio.ServicerContext
    ) -> pb.CondenseResponse:
        return await self._unary("Condense", pb.CondenseRequest, context, self.core.condense)

    async def GetInfo(
        self, requests: AsyncIterator[Any], context: grpc.aio.ServicerContext
    ) -> pb.GetInfoResponse:
        async def work(request: Any, record: CallRecord) -> pb.GetInfoResponse:
            return await self.core.info(request)

        return await self._unary("GetInfo", pb.GetInfoRequest, context, work)

    async def ListModels(
        self, requests: AsyncIterator[Any], context: grpc.aio.ServicerContext
    ) -> pb.ListModelsResponse:
        async def work(request: Any, record: CallRecord) -> pb.ListModelsResponse:
            return self.core.list_models(request)

        return await self._unary("ListModels", pb.ListModelsRequest, context, work)

    async def _unary(
        self,
        method: str,
        message: type[Message],
        context: grpc.aio.ServicerContext,
        work: Callable[[Any, CallRecord], Awaitable[Any]],
    ) -> Any:
        record = CallRecord(method, peer=context.peer())
        entered = False
        try:
            request = await _one_request(context, message, record)
            self.core.enter()
            entered = True
            response = await work(request, record)
        except ServiceError as err:
            await self._fail(context, record, err)
        except asyncio.CancelledError:
            self._cancelled(record, context)
            raise
        except Exception as err:
            await self._crash(context, record, err)
        else:
            self.observer.end(record, "OK")
            return response
        finally:
            if entered:
                self.core.leave()

    async def _fail(self, context: grpc.aio.ServicerContext, record: CallRecord, err: ServiceError) -> None:
        reason = _REJECT_REASONS.get(type(err))
        if reason is not None:
            self.observer.reject(record, reason, err.code, err.log_message)
        else:
            self.observer.end(record, err.code, err.log_message)
        await context.abort(*status_of(err))

    async def _crash(self, context: grpc.aio.ServicerContext, record: CallRecord, err: Exception) -> None:
        log.exception("unexpected error in %s (request %s)", record.method, record.request_id or "-")
        await self._fail(
            context,
            record,
            ServiceError(f"internal error ({type(err).__name__}); the server log has the details"),
        )

    def _cancelled(self, record: CallRecord, context: grpc.aio.ServicerContext) -> None:
        if record.message_lost:
            return  # gRPC answered the call itself, without handing over its request
        if self.core.cut_off:
            self.observer.end(record, "UNAVAILABLE", _CUT_OFF)
            return
        remaining = context.time_remaining()
        expired = remaining is not None and remaining <= deadline_slack_s(
            record.elapsed_ms() / 1000.0 + remaining
        )
        self.observer.end(record, "DEADLINE_EXCEEDED" if expired else "CANCELLED")


async def _one_request(context: grpc.aio.ServicerContext, message: type[Message], record: CallRecord) -> Any:
    """The call's request message, read by the handler (see the module docstring).

    When none comes, either gRPC dropped it (over its own size limit, or the client left while
    sending it) and is about to cancel the call, or the client sent none and waits for an answer:
    INVALID_ARGUMENT, unless gRPC cancels the call within :data:`_LOST_MESSAGE_WAIT_S`.
    """
    request = await context.read()
    if request is not grpc.aio.EOF:
        return request
    record.message_lost = True
    await asyncio.sleep(_LOST_MESSAGE_WAIT_S)
    raise InvalidRequestError(f"the call carried no request message; send one {message.DESCRIPTOR.full_name}")


def add_to_server(servicer: InferenceServicer, server: grpc.aio.Server) -> None:
    """Registers the service with request parsers that answer bad bytes with INVALID_ARGUMENT and
    requests over ``--max-request-bytes`` with RESOURCE_EXHAUSTED (see :mod:`splitinfer.server.wire`),
    each method taking its one request as a stream (see the module docstring)."""
    max_bytes = servicer.core.config.max_request_bytes
    handlers = {
        "Generate": grpc.stream_stream_rpc_method_handler(
            servicer.Generate,
            request_deserializer=safe_deserializer(pb.GenerateRequest, max_bytes),
            response_serializer=pb.GenerateResponse.SerializeToString,
        ),
        "Condense": grpc.stream_unary_rpc_method_handler(
            servicer.Condense,
            request_deserializer=safe_deserializer(pb.CondenseRequest, max_bytes),
            response_serializer=pb.CondenseResponse.SerializeToString,
        ),
        "GetInfo": grpc.stream_unary_rpc_method_handler(
            servicer.GetInfo,
            request_deserializer=safe_deserializer(pb.GetInfoRequest, max_bytes),
            response_serializer=pb.GetInfoResponse.SerializeToString,
        ),
        "ListModels": grpc.stream_unary_rpc_method_handler(
            servicer.ListModels,
            request_deserializer=safe_deserializer(pb.ListModelsRequest, max_bytes),
            response_serializer=pb.ListModelsResponse.SerializeToString,
        ),
    }
    # Generic handlers only: see splitinfer.server.app.GenericHandlersOnly for why not registered ones.
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))


def refuse_undecodable(handler: grpc.GenericRpcHandler, max_bytes: int) -> grpc.GenericRpcHandler:
    """``handler``, a service of grpcio's own packages (health, reflection), with the request parsing
    of :func:`add_to_server`: bytes that are not a request message get INVALID_ARGUMENT naming its
    type, and more than ``max_bytes`` RESOURCE_EXHAUSTED. Left to gRPC, bad bytes get UNKNOWN and
    an error with a traceback in the server log."""
    return _DecodingGuard(handler, max_bytes)


_HANDLER_KINDS = {
    (False, False): ("unary_unary", grpc.unary_unary_rpc_method_handler),
    (False, True): ("unary_stream", grpc.unary_stream_rpc_method_handler),
    (True, False): ("stream_unary", grpc.stream_unary_rpc_method_handler),
    (True, True): ("stream_stream", grpc.stream_stream_rpc_method_handler),
}


class _DecodingGuard(grpc.GenericRpcHandler):
    """See :func:`refuse_undecodable`."""

    def __init__(self, inner: grpc.GenericRpcHandler, max_bytes: int) -> None:
        self._inner = inner
        self._max_bytes = max_bytes

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        handler = self._inner.service(handler_call_details)
        message = getattr(getattr(handler, "request_deserializer", None), "__self__", None)
        if handler is None or not (isinstance(message, type) and issubclass(message, Message)):
            return handler
        attribute, make = _HANDLER_KINDS[(handler.request_streaming, handler.response_streaming)]
        behavior = getattr(handler, attribute)
        checked = _checked_stream(behavior) if handler.request_streaming else _checked_unary(behavior)
        return make(
            checked,
            request_deserializer=safe_deserializer(message, self._max_bytes),
            response_serializer=handler.response_serializer,
        )


async def _decoded(request: Any, context: grpc.aio.ServicerContext) -> Any:
    """``request``, or the call aborted with the status that says why it did not parse."""
    try:
        return validation.decoded(request)
    except ServiceError as err:
        await context.abort(*status_of(err))


def _checked_unary(behavior: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.isasyncgenfunction(behavior):

        async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            async for response in behavior(await _decoded(request, context), context):
                yield response

        return stream

    async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
        return await behavior(await _decoded(request, context), context)

    return call


def _checked_stream(behavior: Callable[..., Any]) -> Callable[..., Any]:
    async def decoded(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        async for request in requests:
            yield await _decoded(request, context)

    if inspect.isasyncgenfunction(behavior):

        async def stream(
            requests: AsyncIterator[Any], context: grpc.aio.ServicerContext
        ) -> AsyncIterator[Any]:
            async for response in behavior(decoded(requests, context), context):
                yield response

        return stream

    async def call(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
        return await behavior(decoded(requests, context), context)

    return call
