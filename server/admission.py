"""Admission control: a bounded number of running and queued requests, refused at once beyond that.

``max_running`` requests hold a slot; up to ``max_queued`` more wait in FIFO order for one. A
request that finds the queue full is refused immediately with :class:`OverloadedError` carrying a
retry hint, so overload never turns into a hang. A waiting request that is cancelled (the caller gave
up or its deadline passed) leaves the queue without taking a slot. Runs on one asyncio loop; the
counters may be read from other threads (metrics) without a lock.

The retry hint says when a slot should free up, plus the time to drain the queue ahead at the
mean pace. A slot frees when the running hold expected to end first ends. Each hold is expected to
last as long as recent holds of its kind (one model's streams, say), minus how long it has run
already, but not below zero. Kinds matter: with one mean over every call, many fast calls would
make it short, and callers refused while long streams hold every slot would be told to come back
long before any slot frees. Until a hold of its kind has ended, nothing says how long one lasts: a
hold is then expected to last the mean over all kinds (1 s before any hold has ended), and at least
as long again as it has run already. On a fresh replica whose slots all hold long streams, callers
who follow the hints thus come back after about 1 s, 2 s, 4 s... rather than every few tenths of a
second until the first stream ends.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from splitinfer.server.errors import OverloadedError

# Bounds of the retry hint, in seconds.
_MIN_RETRY_S = 0.05
_MAX_RETRY_S = 30.0
# Weight of the newest hold time in the moving averages the retry hint is based on.
_EWMA_WEIGHT = 0.1
# The mean hold time assumed before any hold has ended.
_FIRST_MEAN_HOLD_S = 1.0


class Admission:
    """Slots for running requests plus a bounded FIFO queue (see the module docstring)."""

    def __init__(self, max_running: int, max_queued: int, what: str = "server") -> None:
        """``what`` is at capacity, say refusals: the server, or the model it limits."""
        if max_running < 1 or max_queued < 0:
            raise ValueError(f"need max_running >= 1 and max_queued >= 0, got {max_running}, {max_queued}")
        self.what = what
        self.max_running = max_running
        self.max_queued = max_queued
        self.running = 0
        self.rejected = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._mean_hold_s = _FIRST_MEAN_HOLD_S
        self._mean_hold_by_kind: dict[str, float] = {}
        # The kind and start time of each hold taken with slot(), by a token of its own.
        self._holds: dict[object, tuple[str, float]] = {}

    @property
    def queued(self) -> int:
        return len(self._waiters)

    def retry_after_s(self) -> float:
        """How long a refused caller should wait: until the first running hold should end, then
        the queue ahead of it drained at the mean pace (see the module docstring)."""
        now = time.monotonic()
        first_free = min(
            (self._expected_left_s(kind, now - started) for kind, started in self._holds.values()),
            default=self._mean_hold_s / self.max_running,
        )
        wait = first_free + self._mean_hold_s * self.queued / self.max_running
        return min(_MAX_RETRY_S, max(_MIN_RETRY_S, wait))

    def _expected_left_s(self, kind: str, held_s: float) -> float:
        """How much longer a hold of ``kind`` that has run ``held_s`` should last."""
        mean = self._mean_hold_by_kind.get(kind)
        if mean is None:  # none of its kind has ended: at least as long again as it has run
            return max(self._mean_hold_s - held_s, held_s)
        return max(0.0, mean - held_s)

    async def acquire(self) -> None:
        """Takes a slot, waiting in the queue if needed; raises ``OverloadedError`` if the queue is full."""
        if self.running < self.max_running and not self._waiters:
            self.running += 1
            return
        if len(self._waiters) >= self.max_queued:
            self.rejected += 1
            retry_after_s = self.retry_after_s()
            raise OverloadedError(
                f"{self.what} is at capacity ({self.running} running, {self.queued} queued); "
                f"retry after {retry_after_s:.2f}s or send to another replica",
                retry_after_s=retry_after_s,
            )
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the slot was handed over just as we were cancelled
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        """Frees a slot, handing it straight to the oldest waiter if there is one."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.running -= 1

    @asynccontextmanager
    async def slot(self, kind: str = "") -> AsyncIterator[None]:
        """Holds a slot for the block; ``kind`` groups holds of similar length for the retry hint."""
        await self.acquire()
        token = object()
        started = time.monotonic()
        self._holds[token] = (kind, started)
        try:
            yield
        finally:
            del self._holds[token]
            self._account(kind, time.monotonic() - started)
            self.release()

    def _account(self, kind: str, held_s: float) -> None:
        """Folds a hold time into the moving averages (a kind's own starts at its first hold; the
        one over all kinds at :data:`_FIRST_MEAN_HOLD_S`, so one odd first hold, such as a call that
        waited for a model to load, does not set it)."""
        self._mean_hold_s += _EWMA_WEIGHT * (held_s - self._mean_hold_s)
        mean = self._mean_hold_by_kind.get(kind, held_s)
        self._mean_hold_by_kind[kind] = mean + _EWMA_WEIGHT * (held_s - mean)
