"""How much agreement with the teacher is within reach: ``python -m splitinfer.evaluation.ceiling``.

The bundled condenser is distilled to agree with the ``minilm`` teacher: keep/drop F1 at the
default rate on held-out prompts (``splitinfer.converters.agreement``, the number in the manifest
and the model card). This puts that number beside the same F1 of *the teacher itself* run with a
cheaper encoder in place of its all-MiniLM-L6-v2, on the same held-out cases. What the cheaper
teachers reach shows how much of the teacher's choice a model of a given cost can reproduce.

Variants (``--variants``, in the order given):

- ``student``: the bundle's scores (``--model``, default the bundled condenser), computed as the
  manifest's F1 computes them (the model over the device's windows, no smoothing);
- ``device``: the same scores smoothed over sentences and documents by the bundle's
  ``selection`` weights, as the device smooths them before choosing words (the manifest's F1 is
  of the model's own scores);
- ``int8``: the encoder's linear layers quantized to int8 (PyTorch dynamic quantization), what an
  int8 deployment of the teacher itself would compute;
- ``bfloat16``: the encoder in bfloat16;
- ``layers:N``: the encoder's first N of its 6 transformer layers, then its usual mean pooling;
- ``static``: each token's vector is the encoder's output for that token alone (``[CLS] t
  [SEP]``, mean-pooled, once for the whole vocabulary: Model2Vec's recipe without its PCA), so a
  segment's vector is the mean of its tokens' static vectors;
- ``teacher-segments``: the teacher's order of its segments (sentences and headers, by its mean
  score over each) with the student's order of the words inside each segment;
  ``student-segments`` the other way round (``segment_order``). Where the student's F1 is lost,
  between sentences or inside them, is read off these two.

In the encoder variants everything else of the teacher (segments, titles, lexical overlap,
neighbours, the final mix) is unchanged, so each differs from the teacher by its encoder alone.
Cases: the held-out split of ``nq`` (hard distractors, ``--limit``), and half as many ``essay``,
``kv`` and ``gsm8k`` cases (see ``splitinfer eval``). The teacher is run on every case first: about
1 s per case, or ``--cache build/eval-cache.sqlite`` takes its scores from ``make eval``'s cache
where stored (``--variants student --limit 302``: 151 s with that cache, of which the GSM8K cases,
which ``make eval`` does not give the teacher; 10.7 s the next time; the variants are always run).

Measured here with the encoder variants and the student (40 NQ cases and 20 of each other source;
F1 at rate 0.33; time per case on one core, the teacher's 912 ms):

============  =====  =====  =====  ======  ==========
variant       F1     nq     essay  gsm8k   ms / case
============  =====  =====  =====  ======  ==========
bfloat16      0.998  0.998  0.996  1.000   499
int8          0.926  0.924  0.886  0.978   354
layers:5      0.701  0.703  0.527  0.948   763
layers:3      0.698  0.694  0.536  0.946   460
layers:1      0.686  0.688  0.514  0.930   170
static        0.683  0.676  0.514  0.933   12.5
student 1.3   0.789  0.761  0.705  0.957   7.7
device 1.3    0.752  0.758  0.588  0.954   17.0 (*)
============  =====  =====  =====  ======  ==========

(*) a later run, on a busy machine: the student's row took 16.2 ms in it, with the same F1.

Answers kept, measured with ``--limit 302`` (every held-out NQ case, 151 of each other source,
``minilm-cnn-1.4``; F1 at rate 0.33; held-out NQ answers kept at rates 0.1 / 0.2 with numbers
forced, as ``splitinfer eval`` does by default, and not; times from a machine running other jobs):

===========  =====  =====  =====  =============  =============  ==========
variant      F1     nq     essay  kept, forced   kept, free     ms / case
===========  =====  =====  =====  =============  =============  ==========
teacher      1.000  1.000  1.000  82.1 / 98.7%   96.7 / 99.0%   1011
int8         0.917  0.911  0.877  79.5 / 99.0%   96.7 / 99.3%   543
layers:1     0.683  0.665  0.525  66.6 / 89.4%   82.8 / 91.4%   306
layers:2     0.678  0.659  0.519  62.3 / 86.8%   78.1 / 90.7%   600
layers:3     0.692  0.664  0.554  63.9 / 86.4%   77.8 / 89.4%   839
static       0.669  0.641  0.516  61.3 / 83.4%   77.2 / 85.1%   22.4
student 1.4  0.783  0.751  0.700  70.9 / 93.0%   87.4 / 96.4%   7.8
device 1.4   0.750  0.743  0.605  72.5 / 94.7%   86.8 / 96.7%   8.4
===========  =====  =====  =====  =============  =============  ==========

``minilm-cnn-1.5`` to ``minilm-cnn-1.7`` are 1.4's model with more selection rules (names taken
together; in 1.6 also the names or numbers a question asks for lifted; in 1.7 also each
document's title lifted to its text's best score). In runs of their own their device rows were
F1 0.746 (nq 0.742, essay 0.594), keeping 73.5 / 95.7% and 88.1 / 97.0%; F1 0.744 (nq 0.737,
essay 0.594), keeping 79.1 / 96.7% and 90.7 / 98.0%; and F1 0.735 (nq 0.720, essay 0.594),
keeping 80.5 / 97.4% and 93.4 / 98.0%: the titles 1.7 keeps are words the teacher's own choice
often leaves out.

Every encoder cheaper than MiniLM itself keeps fewer answers than the student, by 4 to 11 points
at rate 0.2: the answers need the teacher's contextual encoder, not just its recipe. Its int8
copy keeps them, but at 354 ms a prompt on an idle core (above) it costs about 40 times the
student's 8 ms.

(kv: 1.000 for every variant; its keys and values are numbers, which every method keeps.) The
teacher tells the sentences of ten related documents apart by small differences of MiniLM's
cosine: its own int8 copy only just clears 0.90 (essays: 0.886), and every cheaper encoder tried
falls to about 0.70, below the student. A student at 0.90 would have to reproduce MiniLM's
sentence similarities about as closely as MiniLM quantized to int8 does.

**Between sentences or inside them.** ``--variants student,teacher-segments,student-segments,device
--limit 302`` with ``minilm-cnn-1.6`` (the teacher 847 ms per case, on a machine running little
else; the variants 7 to 8 ms):

================  =====  =====  =====  =============  =============
variant           F1     nq     essay  kept, forced   kept, free
================  =====  =====  =====  =============  =============
student           0.783  0.751  0.700  70.9 / 93.0%   87.4 / 96.4%
teacher-segments  0.782  0.853  0.517  81.5 / 98.3%   96.7 / 99.0%
student-segments  0.705  0.722  0.494  72.5 / 94.4%   88.7 / 96.0%
device            0.744  0.737  0.594  79.1 / 96.7%   90.7 / 98.0%
================  =====  =====  =====  =============  =============

On NQ, given the teacher's order of sentences the student's own choice of words inside them
agrees at 0.853 and keeps nearly the teacher's answers (the teacher: 82.1 / 98.7% and 96.7 /
99.0%); given its own order, even the teacher's words inside them agree at 0.722 only. The NQ
agreement is lost between sentences, in MiniLM's similarity of each to the question. (The teacher
keeps an essay's rare words wherever they are, not whole sentences, so both orders of whole
segments agree worse there than the student.)
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from splitinfer.converters._progress import is_terminal
from splitinfer.sdk._errors import InvalidInputError, SplitinferError

SOURCES = ("nq", "essay", "kv", "gsm8k")
LAYERS = 6  # all-MiniLM-L6-v2
# Rates at which answers kept are counted: where the bundled condenser misses its targets.
RETENTION_RATES = (0.1, 0.2)
# Variants that take the order of segments from one scorer and of words inside them from the other.
HYBRIDS = ("teacher-segments", "student-segments")
# Variants that run the bundle's student.
STUDENT_VARIANTS = ("student", "device", *HYBRIDS)


@dataclass(frozen=True)
class Variant:
    """One row of the table: a name as given on the command line and what it is."""

    name: str
    layers: int | None = None  # for layers:N

    @property
    def description(self) -> str:
        return {
            "student": "the bundle's student",
            "device": "the bundle's student, smoothed as the device smooths it",
            "int8": "teacher, encoder int8 (dynamic quantization)",
            "bfloat16": "teacher, encoder in bfloat16",
            "static": "teacher, static token vectors of the encoder",
            "teacher-segments": "the teacher's ranking of sentences, the student's of words inside each",
            "student-segments": "the student's ranking of sentences, the teacher's of words inside each",
        }.get(self.name, f"teacher, first {self.layers} of {LAYERS} encoder layers")


def parse_variants(text: str) -> list[Variant]:
    """``student,int8,layers:3`` -> variants; raises ``InvalidInputError`` naming a bad one."""
    variants: list[Variant] = []
    for item in (part.strip() for part in text.split(",")):
        if item in ("student", "device", "int8", "bfloat16", "static", *HYBRIDS):
            variants.append(Variant(item))
            continue
        name, _, count = item.partition(":")
        if name == "layers" and count.isdigit() and 1 <= int(count) <= LAYERS:
            variants.append(Variant(item, layers=int(count)))
            continue
        raise InvalidInputError(
            f"--variants: unknown variant {item!r}; use student, device, int8, bfloat16, static, "
            f"teacher-segments, student-segments or layers:N with N from 1 to {LAYERS}"
        )
    if not variants:
        raise InvalidInputError("--variants: name at least one variant")
    return variants


def load_cases(limit: int, data: str | None = None) -> list[Any]:
    """Held-out cases: ``limit`` NQ (hard distractors) and ``limit // 2`` of each other source."""
    from splitinfer.evaluation.data import load

    other = max(1, limit // 2)
    cases = load("nq", data, "hard", split="heldout", limit=limit)
    cases += load("essay", data, split="heldout", limit=other)  # prose cut from the NQ file
    cases += load("kv", None, split="heldout", limit=other)
    cases += load("gsm8k", None, split="heldout", limit=other)
    return cases


def _static_vectors(teacher: Any, progress: bool) -> np.ndarray:
    """The encoder's mean-pooled output for ``[CLS] t [SEP]``, for every vocabulary id ``t``."""
    import torch
    from tqdm import tqdm

    from splitinfer.converters.teachers.minilm import CLS_ID, SEP_ID

    model = teacher._encoder()
    size = len(teacher.tokenizer.vocab)
    out = np.zeros((size, model.config.hidden_size), dtype=np.float32)
    step = 1024
    for start in tqdm(range(0, size, step), desc="static vectors", unit="batch", disable=not progress):
        ids = np.arange(start, min(size, start + step))
        batch = np.stack([np.full(len(ids), CLS_ID), ids, np.full(len(ids), SEP_ID)], axis=1)
        with torch.inference_mode():
            hidden = model(input_ids=torch.from_numpy(batch))[0].numpy()
        out[start : start + len(ids)] = hidden.mean(axis=1)
    return out


def make_teacher(variant: Variant, progress: bool = False) -> Any:
    """A ``minilm`` teacher whose encoder is the variant's (``student`` is not a teacher)."""
    import torch

    from splitinfer.converters.teachers.minilm import MiniLMTeacher

    teacher = MiniLMTeacher()
    encoder = teacher._encoder()
    if variant.name == "static":
        vectors = _static_vectors(teacher, progress)

        def encode(sequences: list[list[int]]) -> list[tuple[np.ndarray, np.ndarray]]:
            out = []
            for sequence in sequences:
                tokens = vectors[np.asarray(sequence, dtype=np.int64)]
                mean = tokens.mean(axis=0)
                norm = float(np.linalg.norm(mean)) or 1.0
                out.append((mean / norm, tokens / norm))
            return out

        teacher._encode = encode
        teacher.fingerprint = None  # its scores are not the teacher's: never stored or reused as such
        return teacher
    model = copy.deepcopy(encoder)
    if variant.name == "int8":
        # Deprecated in favour of torchao, which torch==2.13.0 does not bring; the pin keeps it working.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (DeprecationWarning, UserWarning))
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    elif variant.name == "bfloat16":
        model = _Float32Output(model.to(torch.bfloat16))
    else:
        model.encoder.layer = model.encoder.layer[: variant.layers]
    teacher._model = model
    teacher.fingerprint = None  # its scores are not the teacher's: never stored or reused as such
    return teacher


class _Float32Output:
    """Calls a bfloat16 encoder and hands its hidden states back as float32 (numpy has no bf16)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def __call__(self, **inputs: Any) -> tuple[Any]:
        return (self.model(**inputs)[0].float(),)


@cache
def _student_bundle(model: str | None) -> tuple[Any, Path]:
    """The student's bundle (``None``: the bundled condenser), read once for the runner and the
    selection weights; ``BundleError`` if unusable."""
    from splitinfer.sdk._bundle import read_bundle
    from splitinfer.sdk._condenser import DEFAULT_BUNDLE

    path = Path(model) if model else DEFAULT_BUNDLE
    return read_bundle(path), path


def load_student(model: str | None) -> Any:
    """A LiteRT runner of the bundle (``None``: the bundled condenser); ``BundleError`` if unusable."""
    from splitinfer.sdk._runner import ModelRunner

    bundle, path = _student_bundle(model)
    return ModelRunner(bundle.model, bundle.manifest, str(path))


def student_scores(prompts: Sequence[Any], runner: Any) -> list[np.ndarray]:
    """The bundle's word scores of each prompt, as the manifest's agreement computes them."""
    from splitinfer.converters.windows import score_prompts

    def scorer(context: np.ndarray, question: np.ndarray) -> np.ndarray:
        return np.stack([runner.score(c, q) for c, q in zip(context, question, strict=True)])

    return score_prompts(prompts, scorer, runner.max_seq_len)


def load_selection(model: str | None) -> Any:
    """The bundle's ``SelectionWeights`` (``None``: the bundled condenser's)."""
    from splitinfer.sdk._selection import SelectionWeights

    return SelectionWeights.from_manifest(_student_bundle(model)[0].manifest)


def load_line_break_id(model: str | None) -> int | None:
    """The id the bundle's model reads at line starts (``None``: it reads none; model ``None``:
    the bundled condenser), checked as the SDK's ``Condenser`` checks it (``BundleError``)."""
    from splitinfer.sdk._condenser import manifest_line_break_id

    bundle, path = _student_bundle(model)
    return manifest_line_break_id(bundle.manifest, len(bundle.vocab), str(path))


def device_scores(
    cases: Sequence[Any], prompts: Sequence[Any], runner: Any, weights: Any
) -> list[np.ndarray]:
    """``student_scores`` smoothed by ``weights`` over each case's segments (and names lifted, with
    ``name_spans``, and the words the question asks for with ``answer_types``), as the device does."""
    from splitinfer.sdk._segments import segment_words
    from splitinfer.sdk._selection import selection_scores
    from splitinfer.sdk._text import split_words

    smoothed = []
    for case, prompt, scores in zip(cases, prompts, student_scores(prompts, runner), strict=True):
        words, gaps = split_words(case.context)
        segments, _ = segment_words(words, gaps, prompt.counts.tolist())
        smoothed.append(selection_scores(scores, prompt.counts, words, segments, weights, case.question))
    return smoothed


def teacher_segments(context: str, counts: np.ndarray) -> list[Any]:
    """The segments the minilm teacher ranks (``segment_words`` with its word and token limits)."""
    from splitinfer.converters.teachers.minilm import MiniLMSettings
    from splitinfer.sdk._segments import segment_words
    from splitinfer.sdk._text import split_words

    words, gaps = split_words(context)
    settings = MiniLMSettings()
    return segment_words(words, gaps, counts.tolist(), settings.max_words, settings.max_tokens)[0]


def segment_order(outer: np.ndarray, inner: np.ndarray, segments: Sequence[Any]) -> np.ndarray:
    """Word scores that rank the segments by ``outer``'s mean over each, best first, and the words
    inside a segment by ``inner`` (ties in text order, as ``select`` breaks them): every word of a
    better segment scores above every word of a worse one. What F1 a scorer would reach with the
    other's choice of sentences shows where it disagrees: between sentences or inside them."""
    out = np.zeros(len(outer), dtype=np.float64)
    means = np.array([float(np.mean(outer[seg.start : seg.end])) for seg in segments])
    # Stable on the negated means: equal means keep text order.
    for place, index in enumerate(np.argsort(-means, kind="stable")):
        seg = segments[index]
        within = np.argsort(np.argsort(-inner[seg.start : seg.end], kind="stable"), kind="stable")
        size = seg.end - seg.start
        out[seg.start : seg.end] = (len(segments) - place) + 0.5 * (size - within) / size
    return out


def measure(
    cases: Sequence[Any],
    variants: Sequence[Variant],
    rate: float,
    student: Any = None,
    progress: bool = False,
    log: Callable[[str], None] = lambda _: None,
    selection: Any = None,
    line_break_id: int | None = None,
    cache: Any = None,
) -> dict[str, Any]:
    """The teacher's scores of every case, then each variant's agreement with them.

    ``student`` is the runner of :func:`load_student`, ``selection`` the weights of
    :func:`load_selection` and ``line_break_id`` what :func:`load_line_break_id` gives for the
    same bundle (defaults: the bundled condenser's). With ``cache`` (an ``EvalCache``) the
    teacher's own scores are taken from it when stored there, by ``splitinfer eval --cache`` or an
    earlier run, and its time per case is what computing them took.
    """
    from tqdm import tqdm

    from splitinfer.converters.agreement import teacher_agreement
    from splitinfer.converters.labels import word_breaks
    from splitinfer.converters.teachers.minilm import MiniLMTeacher
    from splitinfer.converters.windows import default_tokenizer, encode_prompt
    from splitinfer.sdk._text import split_words

    def run(teacher: Any, desc: str) -> tuple[list[np.ndarray], float]:
        teacher._encoder()  # load the model outside the timing
        start = time.perf_counter()
        scores = [
            teacher.score(c.question, c.context)
            for c in tqdm(cases, desc=desc, unit="case", disable=not progress)
        ]
        return scores, (time.perf_counter() - start) * 1000.0 / max(1, len(cases))

    def run_reference() -> tuple[list[np.ndarray], float]:
        if cache is None:
            return run(MiniLMTeacher(), "teacher")
        from splitinfer.evaluation.build import MemoTeacher

        memo = MemoTeacher(MiniLMTeacher(), cache)
        scores, times = [], []
        for c in tqdm(cases, desc="teacher", unit="case", disable=not progress):
            scores.append(memo.score(c.question, c.context))
            times.append(memo.last_ms or 0.0)
        return scores, float(np.mean(times)) if times else 0.0

    if student is None and any(v.name in STUDENT_VARIANTS for v in variants):
        student, line_break_id = load_student(None), load_line_break_id(None)
    reference, reference_ms = run_reference()
    reference_kept = answers_kept(cases, reference)
    log(
        f"{'teacher':<16} F1 1.000 by definition{_kept_text(reference_kept)}  {reference_ms:>8.1f} ms/case  "
        "all-MiniLM-L6-v2, float32"
    )
    tokenizer = default_tokenizer()
    # The question ids only feed the student, so they take its bundle's length.
    question_len = student.max_question_len if student is not None else 64
    prompts = []
    for case, scores in zip(cases, reference, strict=True):
        words, gaps = split_words(case.context)
        record = {"id": case.id, "source": _source(case), "split": "heldout", "words": words}
        record |= {"scores": scores, "question": case.question, "breaks": word_breaks(gaps)}
        prompts.append(encode_prompt(tokenizer, record, question_len, line_break_id))
    rows = []
    for variant in variants:
        if variant.name in STUDENT_VARIANTS:
            start = time.perf_counter()
            if variant.name == "student":
                scores = student_scores(prompts, student)
            elif variant.name in HYBRIDS:
                scores = []
                own = student_scores(prompts, student)
                for case, prompt, ref, mine in zip(cases, prompts, reference, own, strict=True):
                    outer, inner = (ref, mine) if variant.name == "teacher-segments" else (mine, ref)
                    scores.append(segment_order(outer, inner, teacher_segments(case.context, prompt.counts)))
            else:
                weights = selection if selection is not None else load_selection(None)
                scores = device_scores(cases, prompts, student, weights)
            ms = (time.perf_counter() - start) * 1000.0 / max(1, len(cases))
        else:
            scores, ms = run(make_teacher(variant, progress), variant.name)
        agreement = teacher_agreement(prompts, scores, rate)
        row = {
            "variant": variant.name,
            "description": variant.description,
            "ms_per_case": round(ms, 1),
            "f1": round(agreement["f1"], 4),
            "f1_by_source": {s: round(v["f1"], 4) for s, v in agreement["by_source"].items()},
            "answers_kept": answers_kept(cases, scores),
        }
        log(format_row(row))
        rows.append(row)
    return {
        "rate": rate,
        "cases": case_counts(cases),
        "teacher_ms_per_case": round(reference_ms, 1),
        "teacher_answers_kept": reference_kept,
        "rows": rows,
    }


def answers_kept(
    cases: Sequence[Any], scores: Sequence[np.ndarray], rates: Sequence[float] = RETENTION_RATES
) -> dict[str, dict[str, float]] | None:
    """Percentage of the NQ cases whose answer survives each rate, chosen from ``scores`` exactly
    as ``splitinfer eval`` chooses (the SDK's words, forced words and ``select``; an answer kept
    is one found as whole words in the condensed context), with numbers forced (``forced``, the
    default of ``eval``) and not (``free``). Keys are the rates as ``"0.1"``. ``None`` when no
    case is an NQ case with answers."""
    from splitinfer.evaluation.build import default_tokenizer
    from splitinfer.evaluation.methods import layout
    from splitinfer.evaluation.metrics import contains_answer
    from splitinfer.sdk._selection import select, token_budget

    tokenizer = default_tokenizer()
    kept: dict[str, dict[str, list[bool]]] = {"forced": {}, "free": {}}
    for case, case_scores in zip(cases, scores, strict=True):
        answers = getattr(case, "answers", None)
        if _source(case) != "nq" or not answers:
            continue
        for mode, keep_digits in (("forced", True), ("free", False)):
            lay = layout(case.context, tokenizer, keep_digits=keep_digits)
            for rate in rates:
                chosen = select(
                    case_scores, lay.token_counts, lay.forced, token_budget(lay.total_tokens, rate)
                )
                kept[mode].setdefault(f"{rate:g}", []).append(contains_answer(lay.text(chosen), answers))
    if not kept["forced"]:
        return None
    return {
        mode: {rate: round(100.0 * float(np.mean(v)), 1) for rate, v in by.items()}
        for mode, by in kept.items()
    }


def _source(case: Any) -> str:
    """``nq``, ``essay``, ``kv`` or ``gsm8k``: the prefix of the case's id."""
    return str(case.id).split("-")[0]


def case_counts(cases: Sequence[Any]) -> dict[str, int]:
    return {s: sum(1 for c in cases if _source(c) == s) for s in SOURCES}


def format_row(row: dict[str, Any]) -> str:
    by_source = "  ".join(f"{s} {row['f1_by_source'][s]:.3f}" for s in SOURCES if s in row["f1_by_source"])
    return (
        f"{row['variant']:<16} F1 {row['f1']:.3f}  ({by_source}){_kept_text(row.get('answers_kept'))}  "
        f"{row['ms_per_case']:>8.1f} ms/case  {row['description']}"
    )


def _kept_text(kept: dict[str, dict[str, float]] | None) -> str:
    """``  nq kept 0.1/0.2: forced 72.0/94.3%, free 87.6/96.9%`` (empty without NQ answers)."""
    if not kept:
        return ""
    rates = "/".join(kept["forced"])
    forced = "/".join(f"{v:.1f}" for v in kept["forced"].values())
    free = "/".join(f"{v:.1f}" for v in kept["free"].values())
    return f"  nq kept {rates}: forced {forced}%, free {free}%"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m splitinfer.evaluation.ceiling",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--variants",
        default="student,device,teacher-segments,student-segments,int8,bfloat16,"
        "layers:1,layers:3,layers:5,static",
        help="comma-separated, in order: student, device, int8, bfloat16, static, layers:N, "
        "teacher-segments, student-segments (default: %(default)s)",
    )
    parser.add_argument("--model", help="the student's bundle (default: the bundled condenser)")
    parser.add_argument(
        "--limit",
        type=int,
        default=40,
        help="held-out NQ cases; half as many of each other source (default: %(default)s)",
    )
    parser.add_argument("--data", help="the NQ file (default: $SPLITINFER_DATA or ../shared/data)")
    parser.add_argument(
        "--rate",
        type=float,
        default=0.33,
        help="the rate F1 is measured at (default: %(default)s, the bundle's)",
    )
    parser.add_argument(
        "--cache",
        metavar="FILE",
        help="take the teacher's own scores from this evaluation cache when stored there, and store "
        "the others (splitinfer eval --cache; make eval keeps build/eval-cache.sqlite). The "
        "variants are always run (default: none)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    prog = parser.prog
    cache = None
    try:
        variants = parse_variants(args.variants)
        if args.limit < 1:
            raise InvalidInputError(f"--limit must be at least 1, got {args.limit}")
        if not 0.0 < args.rate <= 1.0:
            raise InvalidInputError(f"--rate must be in (0, 1], got {args.rate}")
        cases = load_cases(args.limit, args.data)
        uses_student = any(v.name in STUDENT_VARIANTS for v in variants)
        student = load_student(args.model) if uses_student else None
        selection = load_selection(args.model) if uses_student else None
        line_break_id = load_line_break_id(args.model) if uses_student else None
        if args.cache is not None:
            from splitinfer.evaluation.cache import EvalCache

            cache = EvalCache(args.cache)
    except (SplitinferError, ValueError) as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    progress = not args.json and is_terminal(sys.stderr)
    if not args.json:
        print(
            f"keep/drop F1 against the minilm teacher at rate {args.rate:g}, held-out cases: "
            + ", ".join(f"{s} {n}" for s, n in case_counts(cases).items()),
            flush=True,
        )
    result = measure(
        cases,
        variants,
        args.rate,
        student,
        progress,
        log=(lambda s: None) if args.json else _print,
        selection=selection,
        line_break_id=line_break_id,
        cache=cache,
    )
    if cache is not None:
        cache.close()
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


def _print(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
