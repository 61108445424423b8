"""One ``generate`` call's preparation, free of I/O, shared by ``Client`` and ``AsyncClient``.

The clients drive it in this order::

    call = Prepared(...)                 # checks every argument
    call.condense_on_device(deadline)    # per policy; may decide the server must condense
    if call.needs_server_condense:
        try: response = <Condense RPC>(call.condense_request())
        except ServerError as err: call.server_condense_failed(err)   # falls back or raises
        else: call.server_condensed(response)
    request = call.generate_request()    # what goes on the wire
    ... stream ...
    call.result(text, final)             # GenerateResult with usage and savings
"""

from __future__ import annotations

import numbers
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from splitinfer.sdk._condenser import CondenseResult, Part, StopClock
from splitinfer.sdk._errors import CondenseTimeoutError, InvalidInputError
from splitinfer.sdk._inputs import (
    UINT32_MAX,
    UINT64_MAX,
    check_bool,
    check_force,
    check_integer,
    check_rate_or_target,
    check_text,
)
from splitinfer.sdk._policy import (
    CondenserSlot,
    GenerateResult,
    Policy,
    Savings,
    Where,
    build_generate_request,
    device_condensation,
    finish_reason,
    server_condensation,
    usage_of,
)
from splitinfer.sdk._rpc_errors import (
    CondenserUnavailableError,
    DeadlineExceededError,
    InvalidRequestError,
    NotReadyError,
    RequestCancelledError,
    RequestTooLargeError,
    ServerError,
)
from splitinfer.v1 import inference_pb2 as pb

# What a server's Condense accepts of ``force`` (splitinfer.server.validation applies this same
# check). A call through a server checks them whether it condenses on the device or not, so the
# same call does not work on the device and fail after a fallback to the server.
MAX_FORCE_WORDS = 256
MAX_FORCE_CHARS = 64


def check_wire_force(force: tuple[str, ...]) -> tuple[str, ...]:
    """``force`` if a server would take it, or ``InvalidInputError`` saying what to send."""
    if len(force) > MAX_FORCE_WORDS:
        raise InvalidInputError(
            f"force has {len(force):,} words; a call through a server takes at most {MAX_FORCE_WORDS}"
        )
    for i, word in enumerate(force):
        if not word.strip() or len(word) > MAX_FORCE_CHARS:
            raise InvalidInputError(
                f"force[{i}]={word[:20]!r} must be a non-empty word of at most {MAX_FORCE_CHARS} characters"
            )
    return force


class Deadline:
    """One ``generate`` call's deadline, shared by everything it does: condensing on the device,
    the server's ``Condense`` and the streamed answer each get what is left of it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def left(self, target: str, before: str) -> float:
        """Seconds left for the next RPC; ``DeadlineExceededError`` if none are."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise DeadlineExceededError(
                f"the call's deadline of {self.seconds:g} s passed before {before}",
                "DEADLINE_EXCEEDED",
                target,
            )
        return left


def sampling_options(
    model: str,
    max_new_tokens: int,
    temperature: float | None,
    top_p: float | None,
    stop: Sequence[str],
    seed: int | None,
    request_id: str,
) -> dict[str, Any]:
    """The sampling/routing options as a dict, type-checked and within what the wire carries
    (the server checks its own ranges)."""
    max_new_tokens = check_integer(
        max_new_tokens, "max_new_tokens", UINT32_MAX, "an integer >= 0 (0 = the server's default)"
    )
    for name, value in (("temperature", temperature), ("top_p", top_p)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
            raise InvalidInputError(f"{name} must be a number or None, got {value!r}")
    if seed is not None:
        seed = check_integer(seed, "seed", UINT64_MAX, "an integer >= 0 or None")
    if stop is None:
        stop = ()
    if not isinstance(stop, (str, Iterable)):
        raise InvalidInputError(f"stop must be a list of str, got {type(stop).__name__}")
    stops = (stop,) if isinstance(stop, str) else tuple(stop)
    if not all(isinstance(s, str) for s in stops):
        raise InvalidInputError("stop must be a list of str")
    stops = tuple(check_text(s, f"stop[{i}]") for i, s in enumerate(stops))
    return {
        "model": check_text(model, "model"),
        "max_new_tokens": max_new_tokens,
        "temperature": None if temperature is None else float(temperature),
        "top_p": None if top_p is None else float(top_p),
        "stop": stops,
        "seed": seed,
        "request_id": check_text(request_id, "request_id"),
    }


class Prepared:
    """The state of one call between the arguments and the wire (see the module docstring)."""

    def __init__(
        self,
        *,
        question: object,
        context: object,
        instruction: object,
        rate: object,
        target_tokens: object,
        force: object,
        keep_digits: bool,
        policy: Policy,
        slot: CondenserSlot,
        options: dict[str, Any],
    ) -> None:
        self.question = check_text(question, "question", optional=True)
        self.context = check_text(context, "context", optional=True)
        self.instruction = check_text(instruction, "instruction", optional=True)
        if not self.question.strip() and not self.context.strip():
            raise InvalidInputError("question and context are both empty: there is nothing to ask")
        self.rate, self.target_tokens = check_rate_or_target(rate, target_tokens)
        if self.target_tokens is not None and not 1 <= self.target_tokens <= UINT32_MAX:
            # On the wire 0 means "not set": the server would condense at its default rate, the
            # device to the forced words alone. One meaning whichever side condenses.
            raise InvalidInputError(
                f"target_tokens must be between 1 and {UINT32_MAX:,} when asking a server, got "
                f"{self.target_tokens}; to keep only forced words, condense on the device alone (Condenser.condense, "
                "splitinfer condense)"
            )
        self.force = check_wire_force(check_force(force))
        self.keep_digits = check_bool(keep_digits, "keep_digits")
        self.policy = policy
        self._slot = slot
        self.options = options
        self.where = Where.NOWHERE
        self.fallback_reason: str | None = None
        self.sent_context = self.context
        self.condensation: pb.Condensation | None = None
        self.device_result: CondenseResult | None = None
        self.needs_server_condense = False
        self._condense_request_bytes = 0
        self._server_ms = 0.0
        self._tokens: tuple[int | None, int | None] = (None, None)

    def condense_on_device(
        self, deadline: Deadline, target: str, cancelled: threading.Event | None = None
    ) -> None:
        """Condense here if the policy says so; else mark the server step or leave the context as is.

        Condensing here stops with ``DeadlineExceededError`` when the call's ``deadline`` passes
        (checked between the model's windows), or with ``RequestCancelledError`` once
        ``cancelled`` is set."""
        if not self.context.strip():
            self.fallback_reason = (
                None if self.policy is Policy.NO_CONDENSE else "nothing to condense: the context is empty"
            )
            return
        if self.policy is Policy.NO_CONDENSE:
            return
        if self.policy is Policy.SERVER_CONDENSE:
            self.needs_server_condense = True
            return
        condenser, why = self._slot.get()
        if condenser is None:
            if self.policy is Policy.ONLY_DEVICE_CONDENSE:
                raise CondenserUnavailableError(
                    f"{why}; policy ONLY_DEVICE_CONDENSE never sends the full context, so nothing was sent "
                    "(fix the bundle, or use PREFER_DEVICE_CONDENSE, --policy prefer-device on the command line, "
                    "to fall back to the server)"
                )
            self.fallback_reason = str(why)
            self.needs_server_condense = True
            return
        clock = StopClock(deadline.left(target, "condensing on the device"), cancelled)
        try:
            result = condenser.run(
                [Part(self.context)],
                self.question,
                clock=clock,
                rate=self.rate,
                target_tokens=self.target_tokens,
                force=self.force,
                keep_digits=self.keep_digits,
            )
        except CondenseTimeoutError as err:
            if cancelled is not None and cancelled.is_set():
                raise RequestCancelledError(
                    f"the call was cancelled while it condensed on the device (stopped {err.step}): its "
                    "client was closed, or its task cancelled",
                    "CANCELLED",
                    target,
                ) from None
            raise DeadlineExceededError(
                f"the call's deadline of {deadline.seconds:g} s passed while condensing on the device "
                f"(stopped {err.step}); a shorter context, or policy "
                "SERVER_CONDENSE, takes less of it",
                "DEADLINE_EXCEEDED",
                target,
            ) from None
        self.device_result = result
        self.sent_context = result.text
        self.condensation = device_condensation(result)
        self.where = Where.DEVICE
        self._tokens = (result.original_tokens, result.condensed_tokens)

    def condense_request(self) -> pb.CondenseRequest:
        request = pb.CondenseRequest(
            request_id=self.options.get("request_id") or "",
            context=self.context,
            question=self.question,
            rate=self.rate or 0.0,
            target_tokens=self.target_tokens or 0,
            force=self.force,
            keep_digits=self.keep_digits,
        )
        self._condense_request_bytes = request.ByteSize()
        return request

    def server_condensed(self, response: pb.CondenseResponse) -> None:
        self.needs_server_condense = False
        self.sent_context = response.condensed
        self.condensation = server_condensation(response, self.rate, self.target_tokens)
        self.where = Where.SERVER
        self._server_ms = response.condense_ms
        self._tokens = (response.original_tokens, response.condensed_tokens)

    def server_condense_failed(self, err: ServerError) -> None:
        """Fall back to the uncondensed context if the policy allows it and the server cannot condense."""
        self.needs_server_condense = False
        if self.policy is Policy.SERVER_CONDENSE and isinstance(err, NotReadyError):
            raise CondenserUnavailableError(
                f"policy SERVER_CONDENSE, but the server cannot condense: {err.server_message}; "
                "condense on the device (PREFER_DEVICE_CONDENSE) or send it as is (NO_CONDENSE)"
            ) from err
        # Under PREFER_DEVICE_CONDENSE a server that lacks a condenser, or will not condense this
        # context (too many words for it), leaves the context as it is, as the policy says; one that
        # would not take the request at all (too large) would not take it uncondensed either.
        cannot = isinstance(err, NotReadyError) or (
            isinstance(err, InvalidRequestError) and not isinstance(err, RequestTooLargeError)
        )
        if self.policy is not Policy.PREFER_DEVICE_CONDENSE or not cannot:
            raise err
        self.fallback_reason = f"{self.fallback_reason}; the server cannot condense either ({err.server_message}): sent uncondensed"

    def generate_request(self) -> pb.GenerateRequest:
        return build_generate_request(
            self.question, self.sent_context, self.instruction, self.options, self.condensation
        )

    def result(self, text: str, final: pb.GenerateFinal, sent: pb.GenerateRequest) -> GenerateResult:
        original = build_generate_request(self.question, self.context, self.instruction, self.options, None)
        savings = Savings(
            where=self.where,
            original_tokens=self._tokens[0],
            sent_tokens=self._tokens[1],
            original_bytes=original.ByteSize(),
            sent_bytes=sent.ByteSize() + self._condense_request_bytes,
            device_ms=self.device_result.ms if self.device_result is not None else 0.0,
            server_condense_ms=self._server_ms,
        )
        return GenerateResult(
            text=text,
            finish_reason=finish_reason(final),
            usage=usage_of(final),
            savings=savings,
            where=self.where,
            fallback_reason=self.fallback_reason,
            condensed_context=self.sent_context,
            request_id=final.request_id,
            model=final.model,
            condense_result=self.device_result,
        )
