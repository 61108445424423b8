"""Differential test of the Android Java core against the Python SDK, on random inputs.

Run from the repository root::

    .venv/bin/python android_demo/golden/differential.py --cases 20000            # seed 1
    .venv/bin/python android_demo/golden/differential.py --seed 7 --only 1234 --minimize

``fuzz_cases.py`` makes the cases; for each, both sides compute the same steps (``FIELDS``, in
pipeline order), the Python side with ``splitinfer.sdk`` and the Java side with
``android_demo/core`` (``DifferentialMain.java``, a test-source program started once by
``build.sh differential`` that answers one JSON line per case), and each case's first field that
differs is reported with a short diff. Each side feeds its own earlier results into the later
steps, so the first differing field is where the two part. ``--minimize`` shrinks a failing case
(text, question, forced words) while the same field still differs.

The end-to-end step runs the SDK's own ``Condenser.run`` with a stand-in for LiteRT
(``HashRunner``) that scores each token from its id, its place in the window, the window's number
and the question's ids by a splitmix64 hash; ``HashScores.java`` is the same model for the Java
``Condenser``, so windows, padding, line-break ids and long words are compared without a TFLite
model. Floats are compared as float32 bits.
"""

from __future__ import annotations

import argparse
import copy
import json
import struct
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from splitinfer.sdk._condenser import Condenser
from splitinfer.sdk._errors import InvalidInputError
from splitinfer.sdk._segments import segment_words
from splitinfer.sdk._selection import (
    AnswerTypes,
    SelectionWeights,
    answer_kind,
    answer_type_words,
    chunk_words,
    forced_mask,
    lift_titles,
    line_break_marks,
    name_spans,
    question_input,
    question_opening,
    select,
    selection_scores,
    smooth_scores,
    title_words,
    token_budget,
    word_scores,
)
from splitinfer.sdk._text import join_words, split_words
from splitinfer.sdk._tokenizer import WordPieceTokenizer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import fuzz_cases  # noqa: E402
from make_golden import FORMULA_BUNDLE, VOCAB, splitmix64_scores  # noqa: E402

BUILD = ROOT / "android_demo" / "core" / "build.sh"
# The steps both sides compute, in the order a difference is looked for.
FIELDS = (
    "words",
    "gaps",
    "token_ids",
    "question_ids",
    "model_question_ids",
    "opening",
    "forced",
    "budget",
    "windows",
    "line_break_marks",
    "segments",
    "segments_capped",
    "name_spans",
    "answer_kind",
    "number_words",
    "title_words",
    "word_scores",
    "smoothed",
    "titles_lifted",
    "selection_scores",
    "kept",
    "condensed",
    "join",
    "condenser",
    "manifest",
)
_M64 = np.uint64((1 << 64) - 1)


def hash_scores(seed: int, levels: int, call: int, question_sum: int, ids: np.ndarray) -> np.ndarray:
    """The stand-in model: float32 scores of one window's ``ids`` (see ``HashScores.java``)."""
    with np.errstate(over="ignore"):
        pos = np.arange(len(ids), dtype=np.uint64)
        key = (
            np.uint64(seed)
            + np.uint64(call) * np.uint64(0x9E3779B97F4A7C15)
            + np.uint64(question_sum & ((1 << 64) - 1)) * np.uint64(0xD1B54A32D192ED03)
            + pos * np.uint64(0xBF58476D1CE4E5B9)
            + ids.astype(np.int64).astype(np.uint64) * np.uint64(0x94D049BB133111EB)
        )
        z = key + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        u = (z ^ (z >> np.uint64(31))) >> np.uint64(40)
    if levels > 0:
        return ((u % np.uint64(levels)).astype(np.float64) / levels).astype(np.float32)
    scores = (u.astype(np.float64) / float(1 << 24)).astype(np.float32)
    return wild(scores) if levels < 0 else scores


# What ``wild`` puts in place of a score u / 2**24, by u % 16 (see ``HashScores.wild``).
_WILD = np.array([np.nan, np.inf, -np.inf, -0.0, 2.0**127, 2.0**-149, -(2.0**127), 1.0], dtype=np.float32)


def wild(scores: np.ndarray) -> np.ndarray:
    """Scores a broken or unusual model could give (``score_levels`` -1): NaN, infinities, -0.0,
    huge and subnormal values by ``u % 16`` for u = score * 2**24 < 8, else ``4 * score - 2``."""
    u = (np.asarray(scores, dtype=np.float64) * (1 << 24)).astype(np.int64)
    out = (scores.astype(np.float32) * np.float32(4) - np.float32(2)).astype(np.float32)
    special = u % 16 < len(_WILD)
    out[special] = _WILD[u[special] % 16]
    return out


def token_scores(seed: int, n: int, levels: int) -> np.ndarray:
    """The given token scores of the pure steps: ``splitmix64_scores``, ``wild`` for levels -1."""
    return wild(splitmix64_scores(seed, n, 0)) if levels < 0 else splitmix64_scores(seed, n, levels)


class HashRunner:
    """A ``ModelRunner`` stand-in: ``hash_scores`` of each window, counting the calls."""

    def __init__(self, max_seq_len: int, max_question_len: int, seed: int, levels: int) -> None:
        self.max_seq_len = max_seq_len
        self.max_question_len = max_question_len
        self._seed, self._levels, self._calls = seed, levels, 0

    def score(self, context_ids: np.ndarray, question_ids: np.ndarray) -> np.ndarray:
        scores = hash_scores(self._seed, self._levels, self._calls, int(question_ids.sum()), context_ids)
        self._calls += 1
        return scores


def skipped_title_lines(text: str, tokenizer: WordPieceTokenizer) -> int:
    """How many title lines of ``text`` (header segments whose ``title_words`` start where they do:
    no ``#`` marks, not a ``Document [n](Title: ...)`` header) over a text ``lift_titles`` leaves
    as they are, the SDK's own rule read off its result: header words scored 0 under text words
    scored 1 stay 0. The fuzz's cases should have many (``fuzz_cases.GOES_ON``), or the
    ``titles_lifted`` step would hardly check that skip."""
    words, gaps = split_words(text)
    segments = segment_words(words, gaps, [len(t) for t in tokenizer.encode_words(words)])[0]
    header = np.zeros(len(words), dtype=bool)
    for s in segments:
        header[s.start : s.end] |= s.header
    lifted = lift_titles(np.where(header, 0.0, 1.0).astype(np.float32), words, segments)
    texts = {s.doc for s in segments if not s.header and s.end > s.start}
    return sum(
        1
        for s in segments
        if s.header
        and s.doc in texts
        and s.end > s.start
        and title_words(words, s)[0] == s.start
        and not lifted[s.start : s.end].any()
    )


def _bits(values: np.ndarray) -> list[int]:
    """float32 bits, every NaN as 0x7FC00000: a NaN's sign and payload carry nothing (numpy's
    ``-scores`` flips it, x86 makes negative ones), as Java's ``Float.floatToIntBits`` writes it."""
    floats = np.asarray(values, dtype=np.float32)
    bits = floats.view(np.uint32).copy()
    bits[np.isnan(floats)] = 0x7FC00000
    return bits.tolist()


def _segments(segments: list[Any]) -> list[list[int]]:
    return [[s.start, s.end, s.doc, int(s.header)] for s in segments]


def _kept_at(fractions: list[float], n: int) -> list[int]:
    return sorted({int(p * n) for p in fractions}) if n else []


class PythonSide:
    """What the SDK computes for a case, field by field (``FIELDS``)."""

    def __init__(self) -> None:
        self.tokenizer = WordPieceTokenizer.from_file(ROOT / VOCAB)
        self._condenser = Condenser.load(ROOT / FORMULA_BUNDLE)
        self._condenser.tokenizer = self.tokenizer

    def condenser(self, case: dict[str, Any]) -> Condenser:
        """The SDK's ``Condenser`` shaped as the case says, scoring with ``HashRunner``."""
        out = copy.copy(self._condenser)
        out._runner = HashRunner(
            case["max_seq_len"], case["max_question_len"], case["score_seed"], case["score_levels"]
        )
        out.default_rate = case["default_rate"]
        out.selection = weights_of(case)
        out.line_break_id = None if case["line_break_id"] < 0 else case["line_break_id"]
        return out

    def outputs(self, case: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        steps = _Steps(case, self)
        for field in FIELDS:
            out[field] = _guarded(getattr(steps, field))
        return out


def weights_of(case: dict[str, Any]) -> SelectionWeights:
    weight = case["answer_weight"]
    return SelectionWeights(
        case["segment_weight"],
        case["document_weight"],
        case["name_spans"],
        None if weight is None else AnswerTypes(weight),
        case["title_lift"],
    )


def _guarded(step: Callable[[], Any]) -> Any:
    try:
        return step()
    except InvalidInputError:
        return {"error": "invalid input"}
    except Exception as err:  # a crash is a result to compare
        return {"error": f"crash {type(err).__name__}: {err}"}


class _Steps:
    """One case's steps; each reads the results of the ones before it."""

    def __init__(self, case: dict[str, Any], side: PythonSide) -> None:
        self.case, self.side = case, side
        self.w, self.g = split_words(case["text"])
        self.ids = side.tokenizer.encode_words(self.w)
        self.counts = [len(t) for t in self.ids]
        self.weights = weights_of(case)
        self._segments = segment_words(self.w, self.g, self.counts)[0]
        self._scores = word_scores(
            token_scores(case["score_seed"], sum(self.counts), case["score_levels"]), self.counts
        )
        self._forced = forced_mask(self.w, case["force"], case["keep_digits"])

    def words(self) -> list[str]:
        return self.w

    def gaps(self) -> list[str]:
        return self.g

    def token_ids(self) -> list[list[int]]:
        return [list(t) for t in self.ids]

    def question_ids(self) -> list[int]:
        return self.side.tokenizer.encode(self.case["question"])

    def model_question_ids(self) -> list[int]:
        return question_input(self.question_ids(), self.case["max_question_len"]).tolist()

    def opening(self) -> str:
        return question_opening(self.case["question"])

    def forced(self) -> list[bool]:
        return self._forced.tolist()

    def budget(self) -> int:
        c = self.case
        rate = c["default_rate"] if c["rate"] is None and c["target_tokens"] is None else c["rate"]
        return token_budget(sum(self.counts), rate=rate, target_tokens=c["target_tokens"])

    def windows(self) -> list[list[int]]:
        return [list(w) for w in chunk_words(self.counts, self.case["max_seq_len"])]

    def line_break_marks(self) -> list[int]:
        return line_break_marks(self.g)

    def segments(self) -> list[list[int]]:
        return _segments(self._segments)

    def segments_capped(self) -> list[list[int]]:
        c = self.case
        return _segments(segment_words(self.w, self.g, self.counts, c["max_words"], c["max_tokens"])[0])

    def name_spans(self) -> list[list[int]]:
        return [list(s) for s in name_spans(self.w, self._segments)]

    def answer_kind(self) -> str | None:
        return answer_kind(self.case["question"], AnswerTypes(self.case["answer_weight"] or 0.1))

    def number_words(self) -> list[bool]:
        return answer_type_words(self.w, self._segments, "numbers").tolist()

    def title_words(self) -> list[list[int]]:
        return [list(title_words(self.w, s)) for s in self._segments if s.header]

    def word_scores(self) -> list[int]:
        return _bits(self._scores)

    def smoothed(self) -> list[int]:
        return _bits(smooth_scores(self._scores, self.counts, self._segments, self.weights))

    def titles_lifted(self) -> list[int]:
        # The word scores (NaN, infinities and -0.0 among them with score_levels -1), whatever
        # the case's title_lift; + 0.0 as in selection_scores: which zero numpy's maximum keeps
        # of -0.0 and 0.0 depends on the CPU.
        return _bits(lift_titles(self._scores, self.w, self._segments) + np.float32(0.0))

    def _selection_scores(self) -> np.ndarray:
        return selection_scores(
            self._scores, self.counts, self.w, self._segments, self.weights, self.case["question"]
        )

    def selection_scores(self) -> list[int]:
        # + 0.0 makes -0.0 0.0: which zero numpy's max keeps of a name's -0.0 and 0.0 depends on
        # the CPU's SIMD max (x86 keeps the later one, IEEE 754-2019 and Java the positive one);
        # it never changes which words are kept.
        return _bits(self._selection_scores() + np.float32(0.0))

    def kept(self) -> list[int]:
        return select(self._selection_scores(), self.counts, self._forced, self.budget()).tolist()

    def condensed(self) -> str:
        return join_words(self.w, self.g, self.kept())

    def join(self) -> str:
        return join_words(self.w, self.g, _kept_at(self.case["join_at"], len(self.w)))

    def condenser(self) -> dict[str, Any]:
        c = self.case
        result = self.side.condenser(c).condense(
            c["text"],
            c["question"],
            rate=c["rate"],
            target_tokens=c["target_tokens"],
            force=c["force"],
            keep_digits=c["keep_digits"],
        )
        return {
            "text": result.text,
            "kept": result.kept_indices.tolist(),
            "original_tokens": result.original_tokens,
            "condensed_tokens": result.condensed_tokens,
        }

    def manifest(self) -> dict[str, Any]:
        try:
            weights = SelectionWeights.from_manifest({"selection": self.case["selection_manifest"]})
        except ValueError as err:
            return {"refused": str(err)}
        types = weights.answer_types
        return {
            "segment": _double_bits(weights.segment),
            "document": _double_bits(weights.document),
            "name_spans": weights.name_spans,
            "title_lift": weights.title_lift,
            "answer_types": None
            if types is None
            else {
                "weight": _double_bits(types.weight),
                "names": list(types.names),
                "numbers": list(types.numbers),
                "question_kind": answer_kind(self.case["question"], types),
            },
        }


def _double_bits(value: float) -> int:
    return struct.unpack("<q", struct.pack("<d", float(value)))[0]


class JavaSide:
    """``DifferentialMain`` running in the background: one JSON line in, one JSON line out."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            ["bash", str(BUILD), "differential"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def outputs(self, case: dict[str, Any]) -> dict[str, Any]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(case, ensure_ascii=True) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(
                f"the Java side stopped (exit status {self._proc.wait()}); see its stderr above"
            )
        return json.loads(line)

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(timeout=60)

    def __enter__(self) -> JavaSide:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc.poll() is None and exc[0] is not None:
            self._proc.kill()
        self.close()


def _escape(text: str) -> str:
    """``text`` in ASCII: non-ASCII and control characters as Python escapes."""
    return (
        text.encode("ascii", "backslashreplace")
        .decode("ascii")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )


def _show(value: Any, limit: int = 160) -> str:
    text = _escape(value if isinstance(value, str) else repr(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def diff(expected: Any, actual: Any) -> str:
    """Where two values of one field part: the first differing index or character, with context."""
    if isinstance(expected, str) and isinstance(actual, str) and max(len(expected), len(actual)) <= 100:
        return f"\n      python: {_escape(expected)}\n      java:   {_escape(actual)}"
    if isinstance(expected, str) and isinstance(actual, str):
        k = next(
            (i for i, (a, b) in enumerate(zip(expected, actual, strict=False)) if a != b),
            min(len(expected), len(actual)),
        )
        lo = max(0, k - 20)
        return (
            f"first difference at character {k}:\n"
            f"      python: ...{_escape(expected[lo : k + 30])!s}\n"
            f"      java:   ...{_escape(actual[lo : k + 30])!s}"
        )
    if isinstance(expected, dict) and isinstance(actual, dict) and expected.keys() == actual.keys():
        key = next(k for k in expected if expected[k] != actual[k])
        return f"[{key!r}] " + diff(expected[key], actual[key])
    if isinstance(expected, list) and isinstance(actual, list):
        k = next((i for i, (a, b) in enumerate(zip(expected, actual, strict=False)) if a != b), None)
        if k is None:
            return f"lengths differ: python {len(expected)}, java {len(actual)}"
        return f"first difference at index {k} (lengths {len(expected)}/{len(actual)}): " + (
            diff(expected[k], actual[k])
            if isinstance(expected[k], (str, list, dict))
            else f"python {_show(expected[k])}, java {_show(actual[k])}"
        )
    return f"python {_show(expected)}, java {_show(actual)}"


def first_difference(expected: dict[str, Any], actual: dict[str, Any]) -> str | None:
    """The first field of ``FIELDS`` that differs, or None."""
    for field in FIELDS:
        if expected.get(field) != actual.get(field):
            return field
    return None


def report(case: dict[str, Any], field: str, expected: dict[str, Any], actual: dict[str, Any]) -> str:
    """A readable account of one case's first difference: the diff, then the inputs it depends on."""
    lines = [f"{case['name']}: '{field}' differs: {diff(expected[field], actual.get(field))}"]
    if field == "manifest":
        lines.append(f"    manifest: {_show(case['selection_manifest'], 400)}")
        lines.append(f"    question: {_show(case['question'])}")
        return "\n".join(lines)
    lines.append(f"    text:     {_show(case['text'], 300)}")
    if case["question"]:
        lines.append(f"    question: {_show(case['question'])}")
    if case["force"]:
        lines.append(f"    force:    {_show(case['force'])}")
    hidden = ("name", "text", "question", "force", "selection_manifest")
    options = {k: v for k, v in case.items() if k not in hidden}
    lines.append(f"    options:  {_show(options, 400)}")
    return "\n".join(lines)


def minimize(
    case: dict[str, Any], field: str, still_differs: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """A smaller case on which ``field`` still differs: chunks of the text, then of the question
    and the forced words, removed while it does (greedy delta debugging)."""
    best = dict(case)
    for key in ("force", "question", "text", "question", "text"):
        value = best[key]
        size = max(1, len(value) // 2)
        while size >= 1:
            k = 0
            while k < len(best[key]):
                candidate = dict(best)
                candidate[key] = best[key][:k] + best[key][k + size :]
                if still_differs(candidate):
                    best = candidate
                else:
                    k += size
            size //= 2
    return best


def disagreements(
    seed: int, n: int, start: int = 0, *, python: PythonSide, java: JavaSide
) -> Iterator[tuple[dict[str, Any], str, dict[str, Any], dict[str, Any]]]:
    """Each case of ``seed`` from ``start`` the two sides disagree on: the case, its first
    differing field and both sides' results."""
    for case in fuzz_cases.cases(seed, n, start):
        expected, actual = python.outputs(case), java.outputs(case)
        field = first_difference(expected, actual)
        if field is not None:
            yield case, field, expected, actual


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--start", type=int, default=0, help="the first case's number")
    parser.add_argument("--only", type=int, help="run this one case of the seed")
    parser.add_argument("--show", type=int, default=3, help="reports shown per differing field")
    parser.add_argument("--minimize", action="store_true", help="shrink each shown case first")
    args = parser.parse_args(argv)
    start, n = (args.only, 1) if args.only is not None else (args.start, args.cases)
    began = time.monotonic()
    by_field: Counter[str] = Counter()
    python = PythonSide()
    with JavaSide() as java:
        for case, field, expected, actual in disagreements(args.seed, n, start, python=python, java=java):
            by_field[field] += 1
            if by_field[field] > args.show:
                continue
            if args.minimize:

                def still_differs(c: dict[str, Any], field: str = field) -> bool:
                    return first_difference(python.outputs(c), java.outputs(c)) == field

                case = minimize(case, field, still_differs)
                expected, actual = python.outputs(case), java.outputs(case)
            print(report(case, field, expected, actual), flush=True)
    total = sum(by_field.values())
    skips = sum(
        skipped_title_lines(c["text"], python.tokenizer) > 0 for c in fuzz_cases.cases(args.seed, n, start)
    )
    print(
        f"{n} cases (seed {args.seed}), {total} differ, in {time.monotonic() - began:.1f} s; "
        f"{skips} have a title line the title lift skips"
        + "".join(f"\n  {field}: {count}" for field, count in by_field.most_common())
    )
    return 1 if total else 0


if __name__ == "__main__":
    raise SystemExit(main())
