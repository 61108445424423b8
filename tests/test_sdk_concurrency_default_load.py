"""The default condenser is loaded once however many threads ask for it first at the same moment."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from splitinfer.sdk import Condenser
from splitinfer.sdk import _condenser as condenser_module

pytest_plugins = ["sdk_bundles"]


def test_threads_asking_for_the_default_condenser_at_once_share_one_load(
    monkeypatch, bundle_path: Path
) -> None:
    monkeypatch.setattr(condenser_module, "DEFAULT_BUNDLE", bundle_path)
    condenser_module._load_default.cache_clear()
    threads = 32
    start = threading.Barrier(threads)

    def first_call(_: int) -> Condenser:
        start.wait()
        return Condenser.default()

    try:
        with ThreadPoolExecutor(threads) as pool:
            condensers = list(pool.map(first_call, range(threads)))
        assert all(c is condensers[0] for c in condensers)
        assert Condenser.default() is condensers[0]
    finally:
        condenser_module._load_default.cache_clear()
