"""The seam between the gRPC service and the large model: one ``Backend`` protocol.

A backend turns a validated :class:`GenerationRequest` into a stream of text. The servicer never
knows which backend it talks to; adding vLLM, TGI, llama.cpp or a hosted API is one new file in
this package plus one line in :data:`splitinfer.server.backends.BACKENDS`. Nothing here imports
``grpc``: backends raise the plain exceptions of :mod:`splitinfer.server.errors` and the servicer
maps them to status codes.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import math
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

T = TypeVar("T")


class FinishReason(enum.Enum):
    """Why the model stopped; mirrors ``splitinfer.v1.FinishReason``."""

    STOP = "stop"
    LENGTH = "length"
    STOP_STRING = "stop_string"


@dataclass(frozen=True)
class ModelSpec:
    """What a backend tells clients about one model it serves (``splitinfer.v1.ModelInfo``).

    ``context_tokens`` is the longest prompt accepted (longer prompts are rejected with
    INVALID_ARGUMENT before the backend sees them); ``max_new_tokens`` the most tokens one request may
    ask for; ``token_counting`` is ``"exact"`` when :meth:`Backend.count_tokens` uses the model's own
    tokenizer and ``"estimate"`` otherwise.
    """

    name: str
    backend: str
    context_tokens: int
    max_new_tokens: int
    description: str
    token_counting: str = "exact"


@dataclass(frozen=True)
class Sampling:
    """Validated sampling options. ``None`` means "the model's default"."""

    max_new_tokens: int
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None


@dataclass(frozen=True)
class GenerationRequest:
    """One validated request, as a backend receives it.

    ``prompt_tokens`` was counted by the backend's own :meth:`Backend.count_tokens` on
    :func:`prompt_text` of this request. ``deadline`` is a ``time.monotonic()`` instant after which
    the caller has given up (``None``: no deadline); backends that wait on the network should not wait
    past it.
    """

    request_id: str
    model: str
    instruction: str
    context: str
    question: str
    sampling: Sampling
    prompt_tokens: int = 0
    deadline: float | None = None


@dataclass(frozen=True)
class Chunk:
    """A piece of the answer. A backend may yield a plain ``str`` instead."""

    text: str


@dataclass(frozen=True)
class Finish:
    """Optional last item of a backend's stream: why it stopped and what it counted.

    Fields left ``None`` are filled in by the service: ``STOP`` for the reason, ``prompt_tokens``
    from the request, ``completion_tokens`` by :meth:`Backend.count_tokens` on the whole answer.
    """

    reason: FinishReason | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


StreamItem = str | Chunk | Finish


@runtime_checkable
class Backend(Protocol):
    """A large model the server can answer with.

    Lifecycle
        The server builds a backend from its options (``Backend(**options)`` via
        :func:`splitinfer.server.backends.create_backend`), calls :meth:`start` once inside the
        server's event loop before the first request, and :meth:`aclose` once after the last. A
        backend loads heavy resources (weights, connection pools) lazily or in :meth:`start`, never
        at import time.

    ``info() -> list[ModelSpec]``
        The models this backend instance serves, usually one. Cheap and synchronous; called for
        ``GetInfo``/``ListModels`` and at startup to route requests by model name.

    ``async count_tokens(text) -> int``
        Tokens of ``text`` for the model, used for the prompt limit and usage. Must not block the
        event loop for long: offload real tokenizers to a thread.

    ``generate(request) -> AsyncIterator[str | Chunk | Finish]``
        An async generator that streams the answer to ``request``:

        * yield each new piece of text, in order, as ``str`` or :class:`Chunk`; empty pieces are
          dropped by the service. Concatenating them gives the whole answer.
        * optionally yield one :class:`Finish` last, with the finish reason and exact usage.
        * honour ``request.sampling``: stop after ``max_new_tokens`` tokens (reason ``LENGTH``),
          stop before any ``stop`` string (reason ``STOP_STRING``; :class:`StopScanner` helps);
          ignoring temperature/top_p/seed is allowed for deterministic backends but must be
          documented.
        * cancellation: when the caller cancels or its deadline passes, the service closes the
          generator (``CancelledError`` at the current ``await`` or ``GeneratorExit`` at the
          current ``yield``). Release everything in ``finally``/``async with`` (close upstream
          streams, stop work running in a thread) so the work stops within one chunk. Do not
          swallow ``CancelledError``. Run blocking work with :func:`run_in_thread`, not
          ``asyncio.to_thread``: a cancelled ``to_thread`` returns at once while its thread runs on,
          so the server would stop counting work that still burns CPU.
        * errors: raise :class:`splitinfer.server.errors.ServiceError` subclasses
          (``InvalidRequestError`` for inputs the model rejects, ``UnavailableError`` when an
          upstream is down, ...), with a message that says what to change. Any other exception
          becomes ``INTERNAL`` and is logged with its traceback.

    Optional, looked up with ``getattr``:

    ``async ready() -> None``
        Returns once the backend answers at full speed (its weights loaded), or raises what stopped
        it. The server calls it after :meth:`start` and reports NOT_SERVING until it has returned,
        so that load balancers send no calls to a replica still loading; calls that come anyway
        are served, more slowly. Without it a backend is ready once :meth:`start` returned.

    ``async check() -> str | None``
        Whether what the backend depends on (an upstream engine) works: ``None``, or what is
        wrong, for the log. The server calls it every few seconds and reports NOT_SERVING while
        it names a problem.

    ``max_concurrent: int``
        The most calls worth running at once (a CPU-bound model: about one per core). The server
        runs no more of this backend's calls at once, queues the rest in its admission queue
        (``--max-queued``) and refuses the calls it cannot queue with RESOURCE_EXHAUSTED. Without
        it only ``--max-concurrent`` bounds the backend's calls.

    Example::

        class Upper:
            def info(self): return [ModelSpec("upper", "upper", 4096, 256, "shouts the question")]
            async def start(self): pass
            async def aclose(self): pass
            async def count_tokens(self, text): return len(text.split())
            async def generate(self, request):
                for word in request.question.upper().split():
                    yield word + " "
    """

    def info(self) -> list[ModelSpec]: ...

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...

    async def count_tokens(self, text: str) -> int: ...

    def generate(self, request: GenerationRequest) -> AsyncIterator[StreamItem]: ...


async def run_in_thread(
    func: Callable[..., T], /, *args: Any, cancel_event: threading.Event | None = None, **kwargs: Any
) -> T:
    """``func(*args, **kwargs)`` in a worker thread; a cancelled caller waits for the thread to return.

    ``asyncio.to_thread`` stops waiting when its caller is cancelled, but the thread runs on: the
    call ends, its admission slot is freed and draining no longer waits for it, while its work still
    burns CPU. Here a cancelled caller sets ``cancel_event`` (give the same event to ``func`` so it
    can stop between steps), waits until the thread has really returned, and only then re-raises
    ``CancelledError``. The caller's admission slot is held until then, so it counts the real work.
    """
    future = asyncio.ensure_future(asyncio.to_thread(functools.partial(func, *args, **kwargs)))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        if cancel_event is not None:
            cancel_event.set()
        while not future.done():
            try:
                await asyncio.wait((future,))
            except asyncio.CancelledError:
                continue  # cancelled again (e.g. the server stopping): the thread still has to end
        if not future.cancelled():
            future.exception()  # nobody wants the result any more; mark the error, if any, as seen
        raise


def prompt_text(instruction: str, context: str, question: str) -> str:
    """The one-string rendering of a prompt that token limits and usage are counted on."""
    parts = [instruction.strip(), context.strip(), question.strip()]
    return "\n\n".join(p for p in parts if p)


@dataclass
class StopScanner:
    """Cuts a stream of text before the first stop string, across chunk boundaries.

    ``feed(text)`` returns what may be emitted now; text that could be the start of a stop string
    is held back until the next piece decides it. ``stopped`` turns true once a stop string is seen;
    ``flush()`` returns what was held back when the stream ends without one.
    """

    stops: tuple[str, ...]
    stopped: bool = False
    _held: str = field(default="", repr=False)

    def feed(self, text: str) -> str:
        if self.stopped:
            return ""
        if not self.stops:
            return text
        buf = self._held + text
        cut = min((i for i in (buf.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            self._held = ""
            return buf[:cut]
        keep = max(_overlap(buf, s) for s in self.stops)
        self._held = buf[len(buf) - keep :] if keep else ""
        return buf[: len(buf) - keep]

    def flush(self) -> str:
        held, self._held = self._held, ""
        return "" if self.stopped else held


def _overlap(text: str, stop: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``stop``."""
    for n in range(min(len(text), len(stop) - 1), 0, -1):
        if text.endswith(stop[:n]):
            return n
    return 0


_KINDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def option(options: Mapping[str, Any], name: str, kind: type, default: Any) -> Any:
    """Reads one backend option with a type check and a message that names the option."""
    value = options.get(name, default)
    if value is None:
        return None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    raise ValueError(f"option '{name}' must be {_KINDS.get(kind, kind.__name__)}, got {value!r}")


def reject_unknown(options: Mapping[str, Any], known: set[str], backend: str) -> None:
    """Refuses misspelt options instead of silently ignoring them."""
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(
            f"unknown option(s) for the '{backend}' backend: {', '.join(unknown)}; "
            f"it accepts: {', '.join(sorted(known))}"
        )


# The largest value the wire's uint32 fields carry (GetInfo advertises the limits).
UINT32_MAX = 2**32 - 1


def positive_int(options: Mapping[str, Any], name: str, default: int) -> int:
    value = option(options, name, int, default)
    if not 0 < value <= UINT32_MAX:
        raise ValueError(f"option '{name}' must be a positive integer of at most {UINT32_MAX:,}, got {value}")
    return value


def positive_float(options: Mapping[str, Any], name: str, default: float) -> float:
    value = option(options, name, float, default)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"option '{name}' must be a finite number > 0, got {value}")
    return value


def non_negative_float(options: Mapping[str, Any], name: str, default: float) -> float:
    value = option(options, name, float, default)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"option '{name}' must be a finite number >= 0, got {value}")
    return value
