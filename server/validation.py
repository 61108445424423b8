"""Checks every field of an incoming request and turns it into the core's plain values.

Each check raises :class:`InvalidRequestError` with a message that names the field, the value
received and what to send instead. Limits come from ``inference.proto`` (the wire contract) and
from the model's :class:`ModelSpec`.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any

from splitinfer.sdk._errors import InvalidInputError
from splitinfer.sdk._inputs import MAX_INPUT_CHARS
from splitinfer.sdk._prepare import check_wire_force
from splitinfer.server.backends.base import GenerationRequest, ModelSpec, Sampling
from splitinfer.server.errors import InvalidRequestError, RequestTooLargeError
from splitinfer.server.wire import OversizedRequest, UndecodableRequest
from splitinfer.v1 import inference_pb2 as pb

MAX_REQUEST_ID = 128
MAX_STOP_STRINGS = 8
MAX_STOP_BYTES = 64
MAX_TEMPERATURE = 2.0
# How much of a caller's value an error message repeats: a name of any length must not make the
# status details outgrow gRPC's metadata limit (8-16 KiB) or fill the request log.
MAX_ECHOED_CHARS = 64
_WHERE_VALUES = frozenset(pb.Condensation.Where.values())


def decoded(request: Any) -> Any:
    """The request, or INVALID_ARGUMENT if its bytes did not parse (e.g. a string with invalid UTF-8),
    or RESOURCE_EXHAUSTED if there were more of them than ``--max-request-bytes``."""
    if isinstance(request, OversizedRequest):
        raise RequestTooLargeError(request.message)
    if isinstance(request, UndecodableRequest):
        raise InvalidRequestError(request.message)
    return request


def excerpt(value: str) -> str:
    """``value`` as an error message may repeat it: whole if short, else its start and its length.

    Characters that are not printable (a newline, a terminal escape, a right-to-left override) are
    written as escapes, as ``repr`` does, so that the message stays one readable line.
    """
    start = "".join(c if c.isprintable() else repr(c)[1:-1] for c in value[:MAX_ECHOED_CHARS])
    if len(value) <= MAX_ECHOED_CHARS:
        return start
    return f"{start}… ({len(value)} chars)"


def request_id(value: str) -> str:
    """The caller's id if valid, else a fresh one when empty."""
    if not value:
        return uuid.uuid4().hex[:16]
    if len(value) > MAX_REQUEST_ID or not value.isascii() or not value.isprintable():
        raise InvalidRequestError(
            f"request_id must be at most {MAX_REQUEST_ID} printable ASCII characters "
            f"(got {len(value)} characters starting {value[:20]!r}); leave it empty to get one assigned"
        )
    return value


def generation_request(
    request: pb.GenerateRequest,
    spec: ModelSpec,
    rid: str,
    default_max_new_tokens: int,
    deadline: float | None,
) -> GenerationRequest:
    """A validated :class:`GenerationRequest` (prompt_tokens still 0: the core counts them)."""
    prompt = request.prompt
    if not prompt.context.strip() and not prompt.question.strip():
        raise InvalidRequestError(
            "the prompt is empty: set prompt.question (what to answer) and/or prompt.context "
            "(the material to answer from)"
        )
    return GenerationRequest(
        request_id=rid,
        model=spec.name,
        instruction=prompt.instruction,
        context=prompt.context,
        question=prompt.question,
        sampling=sampling(request.sampling, spec, default_max_new_tokens),
        deadline=deadline,
    )


def sampling(options: pb.SamplingOptions, spec: ModelSpec, default_max_new_tokens: int) -> Sampling:
    max_new = options.max_new_tokens or min(default_max_new_tokens, spec.max_new_tokens)
    if max_new > spec.max_new_tokens:
        raise InvalidRequestError(
            f"sampling.max_new_tokens={max_new} is more than model '{spec.name}' allows; "
            f"ask for at most {spec.max_new_tokens} (or 0 for the default)"
        )
    temperature = options.temperature if options.HasField("temperature") else None
    if temperature is not None and not (math.isfinite(temperature) and 0 <= temperature <= MAX_TEMPERATURE):
        raise InvalidRequestError(
            f"sampling.temperature={temperature} is out of range; use 0 (greedy) to {MAX_TEMPERATURE}, or leave it unset"
        )
    top_p = options.top_p if options.HasField("top_p") else None
    if top_p is not None and not (math.isfinite(top_p) and 0 < top_p <= 1):
        raise InvalidRequestError(
            f"sampling.top_p={top_p} is out of range; use a value in (0, 1], or leave it unset"
        )
    return Sampling(
        max_new_tokens=max_new,
        temperature=temperature,
        top_p=top_p,
        stop=stop_strings(list(options.stop)),
        seed=options.seed if options.HasField("seed") else None,
    )


def stop_strings(stops: list[str]) -> tuple[str, ...]:
    if len(stops) > MAX_STOP_STRINGS:
        raise InvalidRequestError(f"sampling.stop has {len(stops)} strings; send at most {MAX_STOP_STRINGS}")
    for i, stop in enumerate(stops):
        if not stop:
            raise InvalidRequestError(
                f"sampling.stop[{i}] is empty; remove it (an empty stop string would stop at once)"
            )
        if len(stop.encode("utf-8")) > MAX_STOP_BYTES:
            raise InvalidRequestError(
                f"sampling.stop[{i}] is longer than {MAX_STOP_BYTES} bytes of UTF-8; shorten it"
            )
    return tuple(stops)


@dataclass(frozen=True)
class DeviceCondensation:
    """What a device reported about condensing the context it sent (for metrics and logs only)."""

    original_tokens: int
    condensed_tokens: int

    @property
    def ratio(self) -> float:
        return self.condensed_tokens / self.original_tokens


def device_condensation(request: pb.GenerateRequest) -> DeviceCondensation | None:
    """The device's condensation report, checked for consistency; ``None`` if absent or not from a device."""
    if not request.HasField("condensation"):
        return None
    c = request.condensation
    if c.where not in _WHERE_VALUES:
        # proto3 enums are open: an unknown number (a newer or buggy client) arrives as a bare int.
        raise InvalidRequestError(
            f"condensation.where={c.where} is not a known value; use DEVICE ({pb.Condensation.DEVICE}) "
            f"or SERVER ({pb.Condensation.SERVER}), or leave it unset"
        )
    if c.condensed_tokens > c.original_tokens:
        raise InvalidRequestError(
            f"condensation.condensed_tokens ({c.condensed_tokens}) is more than condensation.original_tokens "
            f"({c.original_tokens}); report the token counts before and after condensing"
        )
    if not (math.isfinite(c.rate_requested) and 0 <= c.rate_requested <= 1):
        raise InvalidRequestError(
            f"condensation.rate_requested={c.rate_requested} is out of range; use (0, 1], or 0 for a token budget"
        )
    if not (math.isfinite(c.condense_ms) and c.condense_ms >= 0):
        raise InvalidRequestError(f"condensation.condense_ms={c.condense_ms} must be a finite number >= 0")
    if c.where != pb.Condensation.DEVICE or c.original_tokens == 0:
        return None
    return DeviceCondensation(c.original_tokens, c.condensed_tokens)


def condense_arguments(request: pb.CondenseRequest, max_words: int) -> dict[str, Any]:
    """Keyword arguments for ``Condenser.condense`` (``rate``/``target_tokens`` only when asked for)."""
    if not request.context.strip():
        raise InvalidRequestError("context is empty: send the text to condense")
    if len(request.context) > MAX_INPUT_CHARS:
        # The condenser's own check would name its argument (parts[0].text), not this field.
        raise InvalidRequestError(
            f"context has {len(request.context):,} characters; this server condenses at most "
            f"{MAX_INPUT_CHARS:,} per request: split it"
        )
    words = len(request.context.split())
    if words > max_words:
        raise InvalidRequestError(
            f"context has {words} words; this server condenses at most {max_words} per request: split it"
        )
    if not (math.isfinite(request.rate) and 0 <= request.rate <= 1):
        raise InvalidRequestError(
            f"rate={request.rate} is out of range; use (0, 1], or 0 for target_tokens/the default"
        )
    force = list(request.force)
    try:
        check_wire_force(tuple(force))  # the SDK checks a call against the same rule before sending
    except InvalidInputError as err:
        raise InvalidRequestError(str(err)) from None
    kwargs: dict[str, Any] = {
        "question": request.question,
        "force": force,
        "keep_digits": request.keep_digits if request.HasField("keep_digits") else True,
    }
    if request.rate > 0:
        kwargs["rate"] = request.rate
    if request.target_tokens > 0:
        kwargs["target_tokens"] = request.target_tokens
    return kwargs
