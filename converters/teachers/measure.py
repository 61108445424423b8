"""How well a teacher's scores keep the answer: ``python -m splitinfer.converters.teachers.measure``.

For each case, the words are condensed the way the device does it (``forced_mask`` +
``token_budget`` + ``select``, token counts from the SDK tokenizer) at each rate, and the case
counts as *retained* when a SQuAD-normalised gold answer is a substring of the SQuAD-normalised
condensed text. Printed per rate, with digits forced (as the device does by default) and not
(the teacher's ranking alone: on NQ the forced numbers alone often fill a 0.1 budget).

Two sources of scores:
- ``--labels FILE``: the scores already in a labels file (no model runs);
- ``--format nq --data FILE``: run the teacher now (also prints its throughput).
"""

from __future__ import annotations

import argparse
import re
import string
import time
from collections.abc import Sequence

import numpy as np

from splitinfer.sdk._selection import forced_mask, select, token_budget
from splitinfer.sdk._tokenizer import WordPieceTokenizer

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def retained(text: str, answers: Sequence[str]) -> bool:
    """Whether a normalised answer is a substring of the normalised text."""
    norm = normalize_answer(text)
    return any(normalize_answer(a) and normalize_answer(a) in norm for a in answers)


def retention(
    tokenizer: WordPieceTokenizer,
    cases: Sequence[tuple[list[str], np.ndarray, list[str]]],
    rates: Sequence[float],
    keep_digits: bool,
) -> dict[float, float]:
    """Share of ``(words, scores, answers)`` cases whose answer survives each rate."""
    hits = dict.fromkeys(rates, 0)
    for words, scores, answers in cases:
        counts = [len(t) for t in tokenizer.encode_words(words)]
        forced = forced_mask(words, keep_digits=keep_digits)
        for rate in rates:
            kept = select(scores, counts, forced, token_budget(sum(counts), rate=rate))
            hits[rate] += retained(" ".join(words[i] for i in kept), answers)
    return {rate: hits[rate] / max(1, len(cases)) for rate in rates}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m splitinfer.converters.teachers.measure", description=__doc__
    )
    parser.add_argument("--labels", help="a labels file from 'splitinfer distill label'")
    parser.add_argument("--format", default="nq", help="with --data: the corpus format")
    parser.add_argument("--data", help="a data file: run the teacher on its cases now")
    parser.add_argument("--teacher", default="minilm")
    parser.add_argument("--split", default="train")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--rates", default="0.1,0.2,0.33")
    args = parser.parse_args(argv)
    from splitinfer.converters.teachers.minilm import MiniLMTeacher

    tokenizer = MiniLMTeacher().tokenizer
    rates = [float(r) for r in args.rates.split(",")]
    cases: list[tuple[list[str], np.ndarray, list[str]]] = []
    if args.labels:
        from splitinfer.converters.labels import read_labels

        _, records = read_labels(args.labels)
        cases = [(r.words, np.asarray(r.scores, np.float32), r.answers) for r in records[: args.limit]]
    else:
        from splitinfer.converters.corpus import load_cases
        from splitinfer.converters.teachers import get_teacher
        from splitinfer.sdk._text import split_words

        teacher = get_teacher(args.teacher)
        built = load_cases(args.format, args.data, split=args.split, limit=args.limit)
        teacher.score(built[0].question, built[0].context)  # load the model outside the timing
        started = time.perf_counter()
        for case in built:
            cases.append(
                (split_words(case.context)[0], teacher.score(case.question, case.context), case.answers)
            )
        seconds = time.perf_counter() - started
        print(
            f"teacher {args.teacher}: {len(built)} cases in {seconds:.1f} s, {len(built) / seconds:.2f} cases/s"
        )
    for keep_digits in (True, False):
        result = retention(tokenizer, cases, rates, keep_digits)
        cells = "  ".join(f"rate {r:g}: {v:.1%}" for r, v in result.items())
        print(
            f"answer retention, {len(cases)} cases, digits {'forced' if keep_digits else 'not forced'}: {cells}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
