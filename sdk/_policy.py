"""Where a prompt's context gets condensed, and what a finished call reports.

``Policy`` is the caller's choice, ``Where`` what happened. Both clients (sync and async) share
the pure parts here: loading the device condenser lazily, building the wire request, and turning
the final message into a ``GenerateResult`` with the savings.
"""

from __future__ import annotations

import enum
import os
import threading
from dataclasses import dataclass
from typing import Any

from splitinfer.sdk._condenser import Condenser, CondenseResult
from splitinfer.sdk._errors import InvalidInputError, SplitinferError
from splitinfer.v1 import inference_pb2 as pb


class Policy(enum.Enum):
    """Where to condense the context before the large model reads it.

    * ``PREFER_DEVICE_CONDENSE`` (default): condense on this device; if the bundle cannot load,
      send the full context to the server's ``Condense``; if the server cannot condense either,
      send the context as it is. The result says which happened and why.
    * ``ONLY_DEVICE_CONDENSE``: condense on this device or fail (``CondenserUnavailableError``):
      the full context never leaves the device.
    * ``SERVER_CONDENSE``: condense with the server's ``Condense`` RPC, then generate; fails if the
      server has no condenser.
    * ``NO_CONDENSE``: send the context as it is.
    """

    PREFER_DEVICE_CONDENSE = "prefer_device_condense"
    ONLY_DEVICE_CONDENSE = "only_device_condense"
    SERVER_CONDENSE = "server_condense"
    NO_CONDENSE = "no_condense"

    @classmethod
    def parse(cls, value: object) -> Policy:
        """A policy from itself, its value or a short name: prefer-device, only-device, server, none."""
        if isinstance(value, Policy):
            return value
        if isinstance(value, str):
            key = value.strip().lower().replace("-", "_")
            for policy in cls:
                if key in (policy.value, policy.name.lower(), _SHORT_NAMES[policy]):
                    return policy
        raise InvalidInputError(f"unknown policy {value!r}; use one of: {', '.join(POLICY_NAMES)}")


_SHORT_NAMES = {
    Policy.PREFER_DEVICE_CONDENSE: "prefer_device",
    Policy.ONLY_DEVICE_CONDENSE: "only_device",
    Policy.SERVER_CONDENSE: "server",
    Policy.NO_CONDENSE: "none",
}
# The short names, as the command line spells them.
POLICY_NAMES = tuple(name.replace("_", "-") for name in _SHORT_NAMES.values())


class Where(enum.Enum):
    """Where the context was condensed for a call."""

    DEVICE = "device"
    SERVER = "server"
    NOWHERE = "none"


@dataclass(frozen=True)
class Usage:
    """The server's count: tokens the model read and wrote, and its timings in ms."""

    prompt_tokens: int
    completion_tokens: int
    time_to_first_chunk_ms: float
    total_ms: float


@dataclass(frozen=True)
class Savings:
    """What condensing saved on this call.

    Tokens are context tokens by the condenser's tokenizer (``None`` when nothing was condensed
    and no condenser counted them). Bytes are serialized request bytes before gzip:
    ``original_bytes`` is the ``Generate`` request with the full context, ``sent_bytes`` what this
    call uploaded, a server-side ``Condense`` request included (so condensing on the server
    saves model tokens but no upload bytes). ``device_ms`` is the time condensing on this device.
    """

    where: Where
    original_tokens: int | None
    sent_tokens: int | None
    original_bytes: int
    sent_bytes: int
    device_ms: float
    server_condense_ms: float = 0.0

    @property
    def tokens_saved(self) -> int:
        if self.original_tokens is None or self.sent_tokens is None:
            return 0
        return self.original_tokens - self.sent_tokens

    @property
    def bytes_saved(self) -> int:
        return self.original_bytes - self.sent_bytes

    def summary(self) -> str:
        """One line for people, e.g. for the end of ``splitinfer ask``."""
        if self.where is Where.NOWHERE:
            tokens = (
                f"{self.sent_tokens:,} context tokens" if self.sent_tokens is not None else "the full context"
            )
            return f"sent {tokens} uncondensed, {self.sent_bytes:,} bytes"
        ratio = (
            self.sent_tokens / self.original_tokens
            if self.sent_tokens is not None and self.original_tokens
            else 1.0
        )
        where = (
            f"condensed on the device in {self.device_ms:.1f} ms"
            if self.where is Where.DEVICE
            else f"condensed on the server in {self.server_condense_ms:.1f} ms"
        )
        # More bytes than the full request: on the server, the Condense request carried the full
        # context; on the device, the condensation report outweighs the few bytes cut.
        extra = (
            "the full context included"
            if self.where is Where.SERVER
            else "the condensation report outweighs what was cut"
        )
        upload = (
            f"saved {self.bytes_saved:,} bytes"
            if self.bytes_saved >= 0
            else f"{-self.bytes_saved:,} bytes more uploaded, {extra}"
        )
        return (
            f"sent {self.sent_tokens:,} of {self.original_tokens:,} context tokens ({ratio:.0%}, saved "
            f"{self.tokens_saved:,}), {self.sent_bytes:,} of {self.original_bytes:,} request bytes ({upload}); {where}"
        )


@dataclass(frozen=True)
class GenerateResult:
    """A finished ``generate`` call: the whole answer, the server's usage and what condensing did.

    ``fallback_reason`` says why condensation did not run where the policy preferred (``None``
    when it did). ``condensed_context`` is the context as sent.
    """

    text: str
    finish_reason: str
    usage: Usage
    savings: Savings
    where: Where
    fallback_reason: str | None
    condensed_context: str
    request_id: str
    model: str
    condense_result: CondenseResult | None = None


class CondenserSlot:
    """The device condenser a client uses, loaded on first need; a load failure is kept as a reason."""

    def __init__(self, spec: object) -> None:
        if not (spec is None or spec == "default" or isinstance(spec, (Condenser, os.PathLike))):
            raise InvalidInputError(
                f"condenser must be a Condenser, 'default', a path (pathlib.Path) or None, got {spec!r}"
            )
        self._spec = spec
        self._condenser: Condenser | None = spec if isinstance(spec, Condenser) else None
        self._failure: str | None = (
            "no device condenser was configured (condenser=None)" if spec is None else None
        )
        self._lock = threading.Lock()

    def get(self) -> tuple[Condenser | None, str | None]:
        """``(condenser, None)`` or ``(None, why it is unavailable)``."""
        if self._condenser is not None or self._failure is not None:
            return self._condenser, self._failure
        with self._lock:
            if self._condenser is None and self._failure is None:
                try:
                    if self._spec == "default":
                        self._condenser = Condenser.default()
                    else:
                        self._condenser = Condenser.load(self._spec)  # type: ignore[arg-type]
                except SplitinferError as err:
                    self._failure = f"the device condenser cannot load: {err}"
        return self._condenser, self._failure


def build_generate_request(
    question: str,
    context: str,
    instruction: str,
    options: dict[str, Any],
    condensation: pb.Condensation | None,
) -> pb.GenerateRequest:
    sampling = pb.SamplingOptions(
        max_new_tokens=options.get("max_new_tokens") or 0, stop=options.get("stop") or ()
    )
    for name in ("temperature", "top_p", "seed"):
        if options.get(name) is not None:
            setattr(sampling, name, options[name])
    return pb.GenerateRequest(
        request_id=options.get("request_id") or "",
        model=options.get("model") or "",
        prompt=pb.Prompt(instruction=instruction, context=context, question=question),
        condensation=condensation,
        sampling=sampling,
    )


def device_condensation(result: CondenseResult) -> pb.Condensation:
    return pb.Condensation(
        where=pb.Condensation.DEVICE,
        original_tokens=result.original_tokens,
        condensed_tokens=result.condensed_tokens,
        rate_requested=result.rate or 0.0,
        target_tokens=result.target_tokens or 0,
        condenser_version=result.model_version,
        condense_ms=result.ms,
    )


def server_condensation(
    response: pb.CondenseResponse, rate: float | None, target: int | None
) -> pb.Condensation:
    return pb.Condensation(
        where=pb.Condensation.SERVER,
        original_tokens=response.original_tokens,
        condensed_tokens=response.condensed_tokens,
        rate_requested=rate or 0.0,
        target_tokens=target or 0,
        condenser_version=response.condenser_version,
        condense_ms=response.condense_ms,
    )


_FINISH = {pb.STOP: "stop", pb.LENGTH: "length", pb.STOP_STRING: "stop_string"}


def finish_reason(final: pb.GenerateFinal) -> str:
    return _FINISH.get(final.finish_reason, "unspecified")


def usage_of(final: pb.GenerateFinal) -> Usage:
    u = final.usage
    return Usage(u.prompt_tokens, u.completion_tokens, u.time_to_first_chunk_ms, u.total_ms)
