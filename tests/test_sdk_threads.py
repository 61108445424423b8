"""One Condenser serves many threads at once and gives each the single-thread answer."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from splitinfer.sdk import Condenser

pytest_plugins = ["sdk_bundles"]

WORDS = [
    "the",
    "bridge",
    "opened",
    "in",
    "1932",
    "after",
    "years",
    "of",
    "work",
    "by",
    "engineers",
    "paint",
    "trees",
    "river",
    "road",
    "harbour",
]


def prompts() -> list[tuple[str, str, float]]:
    rng = np.random.default_rng(7)
    cases = []
    for i in range(12):
        text = " ".join(rng.choice(WORDS, size=int(rng.integers(50, 1500))))
        cases.append((text, ["when did it open?", "", "who worked?"][i % 3], [0.2, 0.33, 0.5, 0.8][i % 4]))
    return cases


def test_eight_threads_hammering_one_condenser_get_the_single_thread_results(condenser: Condenser) -> None:
    cases = prompts()
    expected = [condenser.condense(text, question, rate=rate) for text, question, rate in cases]
    barrier = threading.Barrier(8)

    def worker(offset: int) -> list[tuple[int, str, list[int]]]:
        barrier.wait()
        seen = []
        for round_ in range(3):
            for j in range(len(cases)):
                i = (j + offset + round_) % len(cases)
                text, question, rate = cases[i]
                result = condenser.condense(text, question, rate=rate)
                seen.append((i, result.text, result.kept_indices.tolist()))
        return seen

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [r for batch in pool.map(worker, range(8)) for r in batch]
    assert len(results) == 8 * 3 * len(cases)
    for i, text, kept in results:
        assert text == expected[i].text
        assert kept == expected[i].kept_indices.tolist()
