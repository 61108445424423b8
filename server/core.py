"""The service's business logic, free of ``grpc``: route, admit, run the backend, account.

:class:`InferenceCore` takes parsed ``splitinfer.v1`` messages and returns or streams response
messages; it raises :mod:`splitinfer.server.errors` for the servicer to map to status codes. It
also owns the server's lifecycle state that calls must respect: the admission queue, the count of
calls in flight and the draining flag.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from splitinfer.sdk._condenser import Part, StopClock
from splitinfer.sdk._errors import InvalidInputError
from splitinfer.server import validation
from splitinfer.server.admission import Admission
from splitinfer.server.backends import (
    Backend,
    Chunk,
    Finish,
    FinishReason,
    ModelSpec,
    create_backend,
    prompt_text,
    run_in_thread,
)
from splitinfer.server.condensing import CondenserHost
from splitinfer.server.config import ServerConfig
from splitinfer.server.errors import DrainingError, InvalidRequestError, NotReadyError
from splitinfer.server.metrics import Metrics
from splitinfer.server.observe import CallRecord
from splitinfer.v1 import inference_pb2 as pb

_FINISH = {
    FinishReason.STOP: pb.STOP,
    FinishReason.LENGTH: pb.LENGTH,
    FinishReason.STOP_STRING: pb.STOP_STRING,
}


def server_version() -> str:
    try:
        return version("splitinfer")
    except PackageNotFoundError:
        return "0+unknown"


class InferenceCore:
    """Everything ``splitinfer.v1.Inference`` does, behind a transport-free interface."""

    def __init__(self, config: ServerConfig, metrics: Metrics) -> None:
        self.config = config
        self.metrics = metrics
        self.backends: list[Backend] = []
        self.routes: dict[str, tuple[Backend, ModelSpec]] = {}
        configs = config.model_configs()
        for i, model in enumerate(configs):
            try:
                backend = create_backend(model.backend, model.options)
            except ValueError as err:
                name = model.options.get("name") or model.options.get("model")
                which = f"model '{name}'" if isinstance(name, str) and name else f"a '{model.backend}' model"
                if len(configs) > 1:
                    which += f" (models[{i}])"
                raise InvalidInputError(f"cannot configure {which}: {err}") from err
            self.backends.append(backend)
            for spec in backend.info():
                if spec.name in self.routes:
                    raise InvalidInputError(
                        f"two models are named '{spec.name}'; give each a distinct 'name'"
                    )
                self.routes[spec.name] = (backend, spec)
        self.default_model = config.default_model or next(iter(self.routes))
        if self.default_model not in self.routes:
            raise InvalidInputError(
                f"default_model '{self.default_model}' is not one of the configured models: {', '.join(self.routes)}"
            )
        self.admission = Admission(config.max_concurrent, config.max_queued)
        self.model_admission = self._model_admission()
        metrics.watch_admission(
            lambda: self.admission.running,
            lambda: self.admission.queued + sum(a.queued for a in set(self.model_admission.values())),
        )
        self.condensers = CondenserHost(config.condenser_path)
        self.draining = False
        # Set when the grace period ended and the calls still running are being cancelled.
        self.cut_off = False
        self.inflight = 0
        self._idle: asyncio.Event | None = None
        self._hurry: asyncio.Event | None = None
        self._info_cache: tuple[Any, pb.GetInfoResponse] | None = None

    def _model_admission(self) -> dict[str, Admission]:
        """By model name, the admission of each backend that runs fewer calls at once than
        ``--max-concurrent`` (its ``max_concurrent``; see the ``Backend`` protocol); the models of
        one backend share it."""
        limits: dict[str, Admission] = {}
        for backend in self.backends:
            limit = getattr(backend, "max_concurrent", None)
            if isinstance(limit, int) and limit < self.config.max_concurrent:
                names = [spec.name for spec in backend.info()]
                admission = Admission(
                    limit, self.config.max_queued, "model " + ", ".join(f"'{n}'" for n in names)
                )
                limits.update(dict.fromkeys(names, admission))
        return limits

    async def start(self) -> None:
        self._idle = asyncio.Event()
        self._idle.set()
        self._hurry = asyncio.Event()
        for backend in self.backends:
            await backend.start()

    async def ready(self, backend: Backend) -> None:
        """Returns once ``backend`` answers at full speed (its optional ``ready()``)."""
        ready = getattr(backend, "ready", None)
        if ready is not None:
            await ready()

    async def aclose(self) -> None:
        for backend in self.backends:
            await backend.aclose()

    # Lifecycle of one call -------------------------------------------------------------------

    def enter(self) -> None:
        """Counts a call in; refuses it while draining."""
        if self.draining:
            raise DrainingError(
                "the server is shutting down and takes no new requests; retry, or use another replica"
            )
        self.inflight += 1
        if self._idle is not None:
            self._idle.clear()

    def leave(self) -> None:
        self.inflight -= 1
        if self.inflight == 0 and self._idle is not None:
            self._idle.set()

    async def drain(self, grace_s: float) -> bool:
        """Refuses new calls and waits up to ``grace_s`` for calls in flight; true if they all ended."""
        self.draining = True
        return await self.wait_idle(grace_s, hurried=True)

    async def wait_idle(self, timeout_s: float, hurried: bool = False) -> bool:
        """Waits up to ``timeout_s`` for no call to be in flight (``hurried``: or until
        :meth:`hurry`); true if none is."""
        if self._idle is None or self._idle.is_set():
            # Not left to asyncio.wait: with a timeout of 0 it times out even when the event is set.
            return True
        waits = [asyncio.ensure_future(self._idle.wait())]
        if hurried and self._hurry is not None:
            waits.append(asyncio.ensure_future(self._hurry.wait()))
        try:
            await asyncio.wait(waits, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        return self._idle.is_set()

    def hurry(self) -> None:
        """Ends the wait of :meth:`drain` now: the calls still running are to be cut off."""
        if self._hurry is not None:
            self._hurry.set()

    # RPCs ----------------------------------------------------------------------------------

    def route(self, name: str) -> tuple[Backend, ModelSpec]:
        found = self.routes.get(name or self.default_model)
        if found is None:
            raise InvalidRequestError(
                f"unknown model '{validation.excerpt(name)}'; this server serves: {', '.join(sorted(self.routes))} "
                "(see ListModels), or leave model empty for the default"
            )
        return found

    async def generate(
        self, request: pb.GenerateRequest, record: CallRecord, deadline: float | None
    ) -> AsyncIterator[pb.GenerateResponse]:
        """Streams chunks then one final message; see ``Inference.Generate`` in the proto."""
        request = validation.decoded(request)
        record.request_id = rid = validation.request_id(request.request_id)
        backend, spec = self.route(request.model)
        record.model = spec.name
        job = validation.generation_request(request, spec, rid, self.config.default_max_new_tokens, deadline)
        device = validation.device_condensation(request)
        if device is not None:
            record.condensation_ratio = device.ratio
            self.metrics.device_condensation(device.original_tokens, device.condensed_tokens)
        kind = f"Generate {spec.name}"
        # The model's own limit first: a call waiting for it holds none of the server's slots.
        model_admission = self.model_admission.get(spec.name)
        async with (
            model_admission.slot(kind) if model_admission is not None else contextlib.nullcontext(),
            self.admission.slot(kind),
        ):
            prompt_tokens = await backend.count_tokens(
                prompt_text(job.instruction, job.context, job.question)
            )
            record.prompt_tokens = prompt_tokens
            if prompt_tokens > spec.context_tokens:
                raise InvalidRequestError(
                    f"the prompt has {prompt_tokens} tokens but model '{spec.name}' reads at most "
                    f"{spec.context_tokens}; condense the context harder (a lower rate or target_tokens) or shorten it"
                )
            job = dataclasses.replace(job, prompt_tokens=prompt_tokens)
            pieces: list[str] = []
            finish = Finish()
            async with aclosing(backend.generate(job)) as stream:
                async for item in stream:
                    if isinstance(item, Finish):
                        finish = item
                        continue
                    text = item.text if isinstance(item, Chunk) else item
                    if not text:
                        continue
                    if not pieces:
                        record.ttfc_ms = record.elapsed_ms()
                    pieces.append(text)
                    yield pb.GenerateResponse(chunk=pb.Chunk(text=text, index=len(pieces) - 1))
            completion = finish.completion_tokens
            if completion is None:
                completion = await backend.count_tokens("".join(pieces))
        if finish.prompt_tokens is not None:
            record.prompt_tokens = finish.prompt_tokens
        record.completion_tokens = completion
        # Counted once the backend has answered, with the usage it reports (an upstream's own count
        # rather than our estimate); calls refused or failed before an answer count nothing.
        self.metrics.prompt_tokens.labels(spec.name).inc(record.prompt_tokens)
        self.metrics.completion_tokens.labels(spec.name).inc(completion)
        total_ms = record.elapsed_ms()
        usage = pb.Usage(
            prompt_tokens=record.prompt_tokens,
            completion_tokens=completion,
            time_to_first_chunk_ms=record.ttfc_ms if record.ttfc_ms is not None else total_ms,
            total_ms=total_ms,
        )
        reason = _FINISH[finish.reason or FinishReason.STOP]
        yield pb.GenerateResponse(
            final=pb.GenerateFinal(finish_reason=reason, usage=usage, request_id=rid, model=spec.name)
        )

    async def condense(self, request: pb.CondenseRequest, record: CallRecord) -> pb.CondenseResponse:
        """Runs the SDK's condenser on the server; see ``Inference.Condense`` in the proto."""
        request = validation.decoded(request)
        record.request_id = validation.request_id(request.request_id)
        kwargs = validation.condense_arguments(request, self.config.max_condense_words)
        async with self.admission.slot("Condense"):
            condenser = await self.condensers.get()
            model_version = str(condenser.manifest.get("model_version", ""))
            if request.condenser and request.condenser != model_version:
                raise InvalidRequestError(
                    f"unknown condenser '{validation.excerpt(request.condenser)}'; this server has '{model_version}' "
                    "(see GetInfo.condensers), or leave condenser empty"
                )
            record.model = model_version
            started = time.perf_counter()
            try:
                # The slot stays held until the thread returns; a caller that gives up stops it at
                # its next model window.
                cancelled = threading.Event()
                result = await run_in_thread(
                    condenser.run,
                    [Part(request.context)],
                    clock=StopClock(None, cancelled),
                    cancel_event=cancelled,
                    **kwargs,
                )
            except InvalidInputError as err:
                raise InvalidRequestError(str(err)) from err
            condense_ms = (time.perf_counter() - started) * 1000.0
        record.prompt_tokens = result.original_tokens
        record.completion_tokens = result.condensed_tokens
        return pb.CondenseResponse(
            condensed=result.text,
            original_tokens=result.original_tokens,
            condensed_tokens=result.condensed_tokens,
            achieved_rate=result.achieved_rate,
            condense_ms=condense_ms,
            condenser_version=model_version,
        )

    def model_infos(self) -> list[pb.ModelInfo]:
        return [
            pb.ModelInfo(
                name=spec.name,
                backend=spec.backend,
                context_tokens=spec.context_tokens,
                max_new_tokens=spec.max_new_tokens,
                description=spec.description,
                token_counting=spec.token_counting,
            )
            for _backend, spec in self.routes.values()
        ]

    def list_models(self, request: pb.ListModelsRequest) -> pb.ListModelsResponse:
        validation.decoded(request)  # the request has no fields, but bad bytes are still bad input
        return pb.ListModelsResponse(models=self.model_infos(), default_model=self.default_model)

    async def info(self, request: pb.GetInfoRequest) -> pb.GetInfoResponse:
        validation.decoded(request)
        condenser = self.condensers.loaded()
        if condenser is None and not self.condensers.attempted:
            try:
                condenser = await self.condensers.get()
            except NotReadyError:
                condenser = None
        if self._info_cache is None or self._info_cache[0] is not condenser:
            condensers = [] if condenser is None else [self._condenser_info(condenser.manifest)]
            response = pb.GetInfoResponse(
                server_version=server_version(),
                models=self.model_infos(),
                default_model=self.default_model,
                condensers=condensers,
                max_request_bytes=self.config.max_request_bytes,
            )
            self._info_cache = (condenser, response)
        return self._info_cache[1]

    def _condenser_info(self, manifest: dict[str, Any]) -> pb.CondenserInfo:
        return pb.CondenserInfo(
            model_version=str(manifest.get("model_version", "")),
            format_version=int(manifest.get("format_version", 0)),
            default_rate=float(manifest.get("default_rate", 0.0)),
            teacher=str(manifest.get("teacher", "")),
            sha256=str(manifest.get("sha256", "")),
            max_input_words=self.config.max_condense_words,
        )
