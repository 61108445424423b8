"""``echo``: a deliberately trivial backend that streams the prompt's words back.

It is not a model. It exists so that the benchmark measures the server's own overhead (no model
time hides it) and so that tests can exercise streaming, cancellation and draining with a
predictable answer. Tokens are whitespace-separated words, counted exactly by that rule.

Options: ``name`` (default ``"echo"``), ``chunk_delay_ms`` (pause before each chunk, default 0,
to imitate a model's pace), ``repeat`` (stream the words this many times, default 1, for long
streams), ``context_tokens`` and ``max_new_tokens`` (the advertised limits).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from splitinfer.server.backends.base import (
    Finish,
    FinishReason,
    GenerationRequest,
    ModelSpec,
    StopScanner,
    StreamItem,
    non_negative_float,
    option,
    positive_int,
    prompt_text,
    reject_unknown,
)

_OPTIONS = {"name", "chunk_delay_ms", "repeat", "context_tokens", "max_new_tokens"}
# How many finished runs the progress log keeps (oldest dropped first).
_RUNS_KEPT = 1024


@dataclass
class RunProgress:
    """Where one request's stream got to: lets tests and operators see that cancelled work stopped."""

    chunks_sent: int = 0
    chunks_planned: int = 0
    closed_early: bool = False
    ended_at: float | None = None


class EchoBackend:
    """Streams back the words of the prompt; see the module docstring."""

    def __init__(self, **options: Any) -> None:
        reject_unknown(options, _OPTIONS, "echo")
        self.name: str = option(options, "name", str, "echo")
        self.chunk_delay_s = non_negative_float(options, "chunk_delay_ms", 0.0) / 1000.0
        self.repeat = positive_int(options, "repeat", 1)
        self.context_tokens = positive_int(options, "context_tokens", 1_000_000)
        self.max_new_tokens = positive_int(options, "max_new_tokens", 1_000_000)
        self.runs: OrderedDict[str, RunProgress] = OrderedDict()

    def info(self) -> list[ModelSpec]:
        return [
            ModelSpec(
                name=self.name,
                backend="echo",
                context_tokens=self.context_tokens,
                max_new_tokens=self.max_new_tokens,
                description="Echo: streams the prompt's words back (a test and benchmark stand-in, not a model)",
                token_counting="exact",
            )
        ]

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    async def count_tokens(self, text: str) -> int:
        return len(text.split())

    async def generate(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        words = prompt_text(request.instruction, request.context, request.question).split() * self.repeat
        limit = request.sampling.max_new_tokens
        planned = words[:limit]
        progress = self._track(request.request_id, len(planned))
        scanner = StopScanner(request.sampling.stop)
        try:
            for word in planned:
                if self.chunk_delay_s:
                    await asyncio.sleep(self.chunk_delay_s)
                text = scanner.feed(word + " ")
                if text:
                    progress.chunks_sent += 1
                    yield text
                if scanner.stopped:
                    yield Finish(FinishReason.STOP_STRING)
                    return
            tail = scanner.flush()
            if tail:
                yield tail
            reason = FinishReason.LENGTH if len(words) > limit else FinishReason.STOP
            yield Finish(reason)
        finally:
            progress.closed_early = progress.chunks_sent < progress.chunks_planned and not scanner.stopped
            progress.ended_at = time.monotonic()

    def _track(self, request_id: str, planned: int) -> RunProgress:
        progress = RunProgress(chunks_planned=planned)
        self.runs[request_id] = progress
        while len(self.runs) > _RUNS_KEPT:
            self.runs.popitem(last=False)
        return progress


def create(options: Mapping[str, Any]) -> EchoBackend:
    return EchoBackend(**options)
