"""Admission control: a bounded number of running and queued requests, refused at once beyond that.

``max_running`` requests hold a slot; up to ``max_queued`` more wait in FIFO order for one. A
request that finds the queue full is refused immediately with :class:`OverloadedError` carrying a
retry hint, so overload never turns into a hang. A waiting request that is cancelled (the caller gave
up or its deadline passed) leaves the queue without taking a slot. Runs on one asyncio loop; the
counters may be read from other threads (metrics) without a lock.
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
# Weight of the newest hold time in the moving average the retry hint is based on.
_EWMA_WEIGHT = 0.1


class Admission:
    """Slots for running requests plus a bounded FIFO queue (see the module docstring)."""

    def __init__(self, max_running: int, max_queued: int) -> None:
        if max_running < 1 or max_queued < 0:
            raise ValueError(f"need max_running >= 1 and max_queued >= 0, got {max_running}, {max_queued}")
        self.max_running = max_running
        self.max_queued = max_queued
        self.running = 0
        self.rejected = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._mean_hold_s = 0.5

    @property
    def queued(self) -> int:
        return len(self._waiters)

    def retry_after_s(self) -> float:
        """How long a refused caller should wait: the queue ahead of it, drained at the mean pace."""
        wait = self._mean_hold_s * (self.queued + 1) / self.max_running
        return min(_MAX_RETRY_S, max(_MIN_RETRY_S, wait))

    async def acquire(self) -> None:
        """Takes a slot, waiting in the queue if needed; raises ``OverloadedError`` if the queue is full."""
        if self.running < self.max_running and not self._waiters:
            self.running += 1
            return
        if len(self._waiters) >= self.max_queued:
            self.rejected += 1
            raise OverloadedError(
                f"server is at capacity ({self.running} running, {self.queued} queued); "
                f"retry after {self.retry_after_s():.2f}s or send to another replica",
                retry_after_s=self.retry_after_s(),
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

    def release(self, held_s: float | None = None) -> None:
        """Frees a slot, handing it straight to the oldest waiter if there is one."""
        if held_s is not None:
            self._mean_hold_s += _EWMA_WEIGHT * (held_s - self._mean_hold_s)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.running -= 1

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self.acquire()
        started = time.monotonic()
        try:
            yield
        finally:
            self.release(time.monotonic() - started)
