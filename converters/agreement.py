"""Keep/drop agreement between two scorers of the same prompts, after the device's selection.

The student is judged the way it is used: each prompt's word scores go through the SDK's
selection (``forced_mask`` with ``keep_digits``, ``token_budget`` at a rate, ``select``), and two
scorers agree on a word when both keep it or both drop it. Two numbers come out:

- ``f1``: F1 of the kept words of ``candidate`` against those of ``reference`` (pooled over all
  words of all prompts; kept = positive). The teacher-agreement target is stated in it.
- ``agreement``: the fraction of words with the same decision (the quantization parity gate).

Words forced by ``keep_digits`` are kept by both sides and so agree by construction; the
``*_unforced`` variants count only the words the scores decided, the stricter view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from splitinfer.sdk._selection import forced_mask, select, token_budget


def keep_mask(
    scores: np.ndarray, counts: np.ndarray, words: Sequence[str], rate: float, keep_digits: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """``(kept, forced)`` boolean masks of one prompt at ``rate``, by the SDK's rules."""
    forced = forced_mask(words, (), keep_digits)
    budget = token_budget(int(np.sum(counts)), rate)
    kept = np.zeros(len(words), dtype=bool)
    kept[select(scores, counts, forced, budget)] = True
    return kept, forced


@dataclass
class Agreement:
    """Pooled keep/drop agreement of ``candidate`` with ``reference`` over a set of prompts."""

    prompts: int
    words: int
    f1: float
    agreement: float
    f1_unforced: float
    agreement_unforced: float
    macro_f1: float

    def to_dict(self) -> dict[str, float | int]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _f1(tp: int, fp: int, fn: int) -> float:
    return 1.0 if tp + fp + fn == 0 else 2.0 * tp / (2.0 * tp + fp + fn)


def compare(
    reference: Sequence[np.ndarray],
    candidate: Sequence[np.ndarray],
    counts: Sequence[np.ndarray],
    words: Sequence[Sequence[str]],
    rate: float,
    keep_digits: bool = True,
) -> Agreement:
    """Agreement of ``candidate`` word scores with ``reference`` word scores, prompt by prompt."""
    totals = np.zeros(4, dtype=np.int64)  # tp, fp, fn, same
    unforced = np.zeros(5, dtype=np.int64)  # tp, fp, fn, same, words
    per_prompt: list[float] = []
    n_words = 0
    for ref, cand, cnt, wds in zip(reference, candidate, counts, words, strict=True):
        ref_keep, forced = keep_mask(ref, cnt, wds, rate, keep_digits)
        cand_keep, _ = keep_mask(cand, cnt, wds, rate, keep_digits)
        counts_here = _confusion(ref_keep, cand_keep)
        totals += counts_here
        free = ~forced
        unforced[:4] += _confusion(ref_keep[free], cand_keep[free])
        unforced[4] += int(free.sum())
        n_words += len(wds)
        per_prompt.append(_f1(*counts_here[:3].tolist()))
    tp, fp, fn, same = totals.tolist()
    utp, ufp, ufn, usame, uwords = unforced.tolist()
    return Agreement(
        prompts=len(per_prompt),
        words=n_words,
        f1=_f1(tp, fp, fn),
        agreement=same / n_words if n_words else 1.0,
        f1_unforced=_f1(utp, ufp, ufn),
        agreement_unforced=usame / uwords if uwords else 1.0,
        macro_f1=float(np.mean(per_prompt)) if per_prompt else 1.0,
    )


def _confusion(ref: np.ndarray, cand: np.ndarray) -> np.ndarray:
    return np.array(
        [
            int(np.sum(ref & cand)),
            int(np.sum(~ref & cand)),
            int(np.sum(ref & ~cand)),
            int(np.sum(ref == cand)),
        ],
        dtype=np.int64,
    )


def teacher_agreement(prompts: Sequence, student: Sequence[np.ndarray], rate: float) -> dict:
    """Agreement of ``student`` word scores with each prompt's ``teacher`` scores, overall and per
    ``source`` (``prompts`` are ``windows.Prompt``)."""

    def of(chosen: list[int]) -> dict:
        return compare(
            [prompts[i].teacher for i in chosen],
            [student[i] for i in chosen],
            [prompts[i].counts for i in chosen],
            [prompts[i].words for i in chosen],
            rate,
        ).to_dict()

    sources = sorted({p.source for p in prompts})
    by_source = {s: of([i for i, p in enumerate(prompts) if p.source == s]) for s in sources}
    return {"rate": rate, **of(list(range(len(prompts)))), "by_source": by_source}
