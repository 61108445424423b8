"""splitinfer's device SDK: condense a long prompt here, answer it in the cloud.

    from splitinfer.sdk import Client, Condenser

    condenser = Condenser.default()                    # or Condenser.load("my.tflite")
    result = condenser.condense(long_text, question="When was the bridge opened?", rate=0.33)
    result.text, result.original_tokens, result.condensed_tokens, result.ms

    with Client("api.example.com:443", credentials=token) as client:
        stream = client.generate("When was the bridge opened?", context=long_text)
        for chunk in stream:
            print(chunk, end="")
        stream.result.savings.summary()                # tokens and bytes not sent, device ms

Depends on numpy, ai-edge-litert, grpcio and protobuf only. Names load on first use, so importing
``splitinfer.sdk._errors`` (as the command line does) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_HOME = {
    "splitinfer.sdk._condenser": ("Condenser", "CondenseResult", "Part"),
    "splitinfer.sdk._client": ("Client", "GenerateStream"),
    "splitinfer.sdk._aio": ("AsyncClient", "AsyncGenerateStream"),
    "splitinfer.sdk._policy": ("GenerateResult", "Policy", "Savings", "Usage", "Where"),
    "splitinfer.sdk._inputs": ("MAX_INPUT_CHARS",),
    "splitinfer.sdk._errors": ("BundleError", "CondenseTimeoutError", "InvalidInputError", "SplitinferError"),
    "splitinfer.sdk._rpc_errors": (
        "AnswerInterruptedError",
        "AuthenticationError",
        "CondenserUnavailableError",
        "DeadlineExceededError",
        "InvalidRequestError",
        "MetadataTooLargeError",
        "NotReadyError",
        "OverloadedError",
        "RequestCancelledError",
        "RequestTooLargeError",
        "ServerError",
        "ServerUnavailableError",
        "UpstreamUnavailableError",
    ),
}
_MODULE_OF = {name: module for module, names in _HOME.items() for name in names}
__all__ = [
    "MAX_INPUT_CHARS",
    "AnswerInterruptedError",
    "AsyncClient",
    "AsyncGenerateStream",
    "AuthenticationError",
    "BundleError",
    "Client",
    "CondenseResult",
    "CondenseTimeoutError",
    "Condenser",
    "CondenserUnavailableError",
    "DeadlineExceededError",
    "GenerateResult",
    "GenerateStream",
    "InvalidInputError",
    "InvalidRequestError",
    "MetadataTooLargeError",
    "NotReadyError",
    "OverloadedError",
    "Part",
    "Policy",
    "RequestCancelledError",
    "RequestTooLargeError",
    "Savings",
    "ServerError",
    "ServerUnavailableError",
    "SplitinferError",
    "UpstreamUnavailableError",
    "Usage",
    "Where",
]


# Hidden from type checkers: to them a module __getattr__ makes every name exist (as Any), so a
# misspelt import would pass; the TYPE_CHECKING imports declare the real names.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        module = _MODULE_OF.get(name)
        if module is None:
            raise AttributeError(f"module 'splitinfer.sdk' has no attribute '{name}'")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from splitinfer.sdk._aio import AsyncClient, AsyncGenerateStream
    from splitinfer.sdk._client import Client, GenerateStream
    from splitinfer.sdk._condenser import Condenser, CondenseResult, Part
    from splitinfer.sdk._errors import BundleError, CondenseTimeoutError, InvalidInputError, SplitinferError
    from splitinfer.sdk._inputs import MAX_INPUT_CHARS
    from splitinfer.sdk._policy import GenerateResult, Policy, Savings, Usage, Where
    from splitinfer.sdk._rpc_errors import (
        AnswerInterruptedError,
        AuthenticationError,
        CondenserUnavailableError,
        DeadlineExceededError,
        InvalidRequestError,
        MetadataTooLargeError,
        NotReadyError,
        OverloadedError,
        RequestCancelledError,
        RequestTooLargeError,
        ServerError,
        ServerUnavailableError,
        UpstreamUnavailableError,
    )
