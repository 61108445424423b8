"""Pipeline steps run side by side, each in a process of its own (``make model``, ``make eval``)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any


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
    drawn there), the calls under way finish, and its exception is raised here."""
    import multiprocessing
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

    from tqdm import tqdm

    # spawn, not fork: a forked TensorFlow, LiteRT or PyTorch runtime is not safe to use.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(arguments)), mp_context=context) as pool:
        pending = {pool.submit(call, *args) for args in arguments}
        while pending:
            done, pending = wait(pending, timeout=every if tick else None, return_when=FIRST_EXCEPTION)
            if tick:
                tick()
            errors = [e for e in (f.exception() for f in done) if e is not None]
            if errors:
                tqdm.write(failed, file=sys.stderr)
                pool.shutdown(wait=True, cancel_futures=True)
                raise errors[0]
