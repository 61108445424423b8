"""Pipeline steps run side by side, each in a process of its own (``make model``, ``make eval``)."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

# How long the steps under way get to stop on their own after this process is interrupted (a
# Ctrl-C at a terminal reaches them too) before they are sent the interrupt themselves.
STOP_GRACE_S = 2.0
# How long they then get to finish stopping (a labelling step writes its last line) before they
# are terminated.
STOP_WAIT_S = 60.0


def run_side_by_side(
    call: Callable[..., Any],
    arguments: Sequence[tuple[Any, ...]],
    jobs: int,
    failed: str,
    tick: Callable[[], None] | None = None,
    every: float = 2.0,
) -> None:
    """``call(*args)`` for each of ``arguments``, ``jobs`` at a time, each in a spawned process
    (``call`` and its arguments must pickle). ``tick`` (when given) runs in this process every
    ``every`` seconds and once more at the end, e.g. to redraw a progress bar. The first call that
    raises stops the calls not yet started: ``failed`` is printed on stderr (above any progress bar
    drawn there), the calls under way finish, and its exception is raised here.

    Interrupted (Ctrl-C, or SIGINT to this process alone, as ``timeout -s INT`` and CI cancels
    send it), the calls not started are dropped and the calls under way are interrupted too, so
    they stop as at a Ctrl-C (a labelling step keeps what it wrote), and the interrupt is raised
    here once they have."""
    import multiprocessing
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

    from tqdm import tqdm

    # spawn, not fork: a forked TensorFlow, LiteRT or PyTorch runtime is not safe to use.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(arguments)), mp_context=context) as pool:
        # Submitted as workers come free, not all at once: the pool hands queued calls to its
        # workers ahead of time, where neither a failure nor an interrupt could take them back.
        waiting = iter(arguments)
        pending: set[Any] = set()

        def fill() -> None:
            for args in itertools.islice(waiting, jobs - len(pending)):
                pending.add(pool.submit(call, *args))

        fill()
        try:
            while pending:
                done, pending = wait(pending, timeout=every if tick else None, return_when=FIRST_EXCEPTION)
                if tick:
                    tick()
                errors = [e for e in (f.exception() for f in done) if e is not None]
                if errors:
                    tqdm.write(failed, file=sys.stderr)
                    pool.shutdown(wait=True)
                    raise errors[0]
                fill()
        except KeyboardInterrupt:
            # Left to itself the pool would run the calls under way to their end before this
            # process could exit.
            workers = list(getattr(pool, "_processes", {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            _interrupt(workers)
            raise


def _interrupt(workers: list[Any]) -> None:
    """SIGINT to each worker still running ``STOP_GRACE_S`` after the interrupt; then wait for
    them all, terminating any still running after ``STOP_WAIT_S`` more."""
    deadline = time.monotonic() + STOP_GRACE_S
    while any(w.is_alive() for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    for worker in workers:
        if worker.is_alive() and worker.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGINT)
    deadline = time.monotonic() + STOP_WAIT_S
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            worker.terminate()
            worker.join()
