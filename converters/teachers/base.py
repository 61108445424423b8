"""The ``Teacher`` contract: text in, one keep score per word out.

A teacher is the large model whose judgement the small on-device condenser learns. It reads a
question and a long context and says, for every word of the context, how much that word matters
for answering the question. ``splitinfer distill label`` runs a teacher over a corpus and writes
its scores; ``splitinfer distill train`` fits the student to them.

Contract of ``Teacher.score(question, context) -> np.ndarray``:

- *Words* are exactly ``split_words(context)[0]`` from ``splitinfer.sdk._text`` (maximal runs of
  non-whitespace, punctuation attached), the same unit the device keeps or drops. The result has
  one entry per word, in order (``shape == (len(words),)``), dtype float32. An empty or
  whitespace-only context gives an empty array.
- Each score is in ``[0, 1]``: higher means keep first. Scores are compared across the whole
  context (the device keeps the best-scoring words up to a token budget, see
  ``splitinfer.sdk._selection.select``), so they need not be calibrated probabilities, but a
  teacher that labels hard keep/drop decisions returns exactly 0.0 and 1.0.
- A teacher sees only ``question`` and ``context``: never the gold answer or any annotation of
  where it is, so its labels are what a real deployment could produce.
- Deterministic for the same inputs and settings (up to floating-point noise of the backend).
- ``settings()`` returns a JSON-serialisable dict of everything that changes the scores (model
  name, weights, thresholds); it is written into the labels file and the bundle's manifest.
- Models load lazily, on first use, on the CPU; constructing a teacher is cheap.
- Optionally, ``fingerprint()`` returns a string that changes whenever the scores could: the
  settings, the teacher's code and the weights it loads (``splitinfer.converters._fingerprint``
  helps). A teacher that has one can have its scores kept on disk and reused (``splitinfer eval
  --cache``); one without is always asked.

``score_batch(pairs)`` scores several ``(question, context)`` pairs; teachers that batch their
backend calls override it, the default loops over ``score``.

Example::

    teacher = get_teacher("minilm")
    words, _ = split_words(context)
    scores = teacher.score(question, context)   # len(scores) == len(words)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from splitinfer.sdk._errors import SplitinferError


@runtime_checkable
class Teacher(Protocol):
    """Scores every word of a context for how much it matters to a question; see the module doc."""

    name: str

    def settings(self) -> dict[str, Any]:
        """Everything that changes the scores, JSON-serialisable."""
        ...

    def score(self, question: str, context: str) -> np.ndarray:
        """One keep score in [0, 1] per word of ``split_words(context)[0]``."""
        ...


def score_batch(teacher: Teacher, pairs: Sequence[tuple[str, str]]) -> list[np.ndarray]:
    """``teacher.score_batch(pairs)`` when the teacher has it, else ``score`` on each pair."""
    batch = getattr(teacher, "score_batch", None)
    if batch is not None:
        return list(batch(pairs))
    return [teacher.score(q, c) for q, c in pairs]


def score_stream(
    teacher: Teacher, pairs: Sequence[tuple[str, str]]
) -> Iterator[tuple[int, np.ndarray | Exception]]:
    """``(index, scores)`` for each pair, in completion order; a pair that fails gives its error.

    Teachers that work concurrently (``llm``) provide ``score_stream`` themselves and yield as
    results arrive; the default scores the pairs one after the other. Only ``SplitinferError``
    counts as a failed pair (a bad answer, a server that gave up); anything else is a bug and
    propagates.
    """
    stream = getattr(teacher, "score_stream", None)
    if stream is not None:
        yield from stream(pairs)
        return
    for index, (question, context) in enumerate(pairs):
        try:
            yield index, teacher.score(question, context)
        except SplitinferError as err:
            yield index, err
