"""Write the golden vectors that pin the Java port (android_demo/core) to the Python SDK.

Run from the repository root (``make golden``)::

    .venv/bin/python android_demo/golden/make_golden.py          # rewrite the files
    .venv/bin/python android_demo/golden/make_golden.py --check  # exit 1 if any is stale

It writes, all derived from ``splitinfer.sdk`` (``_text``, ``_tokenizer``, ``_selection``,
``_bundle``) and ``sdk/assets/vocab.txt``, deterministically:

- ``android_demo/golden/golden_vectors.json``: per case (see ``cases.py``) the words and their
  gaps, each word's token ids, the question's ids, given token scores (splitmix64 from the case's
  seed, float32), word scores, forced mask, budget, 16-token windows, kept indices and condensed
  text; budget requests that must fail; and a fingerprint sweep of the tokenizer over every
  code point (``unicode_tables.sweep``).
  Each case also carries what the Python SDK's ``Condenser`` returns for it, with the case's
  rate or target and with the bundle's default rate, on ``formula_bundle.tflite`` (a real
  LiteRT model computing an exact formula, see ``make_formula_model.py``), so the Java
  ``Condenser`` is checked end to end: windows of 16 tokens, padding, question, long words;
  and with the case's rate or target on ``formula_selection_bundle.tflite``, the same bundle
  with ``selection`` weights in its manifest, so the Java ``Condenser`` smooths its scores,
  takes names together, lifts the names or numbers a question asks for and lifts each
  document's title to its text's best word as the SDK does (the ``answer_type_*`` cases ask
  "who", "when", "how many" and "how"; the ``title_lift_*`` cases have headers, headings and
  a hard-wrapped paragraph whose first line is not lifted);
  and on
  ``formula_line_breaks_bundle.tflite``, which also has a ``line_break_id``, so it reads line
  breaks as the SDK does (each case's ``line_break_marks`` pins ``line_break_marks`` alone).
  Then ``segments``, ``smoothing``, ``names``, ``answer_kinds``, ``answer_types``, ``titles``
  and ``answer_type_manifests``: ``segment_words``, ``smooth_scores``, ``name_spans`` /
  ``lift_name_spans``, ``answer_kind``, ``answer_type_words`` / ``lift_answer_type``,
  ``title_words`` / ``lift_titles`` (and ``selection_scores`` with every rule on) as pure
  functions, and the answer types and ``title_lift`` flag ``SelectionWeights.from_manifest``
  reads or the message it refuses a ``selection`` entry with (``selection_vectors.py``); and
  ``joins``: ``join_words`` for every set of
  kept words of a few short texts (``join_vectors``), which pins the gap a kept word takes when
  the words after it were dropped (line feeds, carriage returns, CRLF, blank lines, a Unicode
  line separator that is no line break, ties).
- ``android_demo/golden/formula_selection_bundle.tflite``: ``formula_bundle.tflite`` rebuilt
  by ``build_bundle`` with ``"selection": {"segment_weight": 0.6, "document_weight": 0.2,
  "name_spans": true, "answer_types": ..., "title_lift": true}``, the bundled openings with
  weight 0.1 (``AnswerTypes(0.1)``): the rules of the bundled condenser (``minilm-cnn-1.7``).
- ``android_demo/golden/formula_line_breaks_bundle.tflite``: the selection bundle with
  ``"line_break_id": 102`` (``[SEP]``) too.
- ``android_demo/golden/tiny_bundle.tflite``: a bundle made by ``build_bundle``: a stub
  flatbuffer (the reader checks its identifier and sha256, it never runs it), a small
  vocabulary and a manifest, for the Java bundle reader.
- ``android_demo/core/src/main/resources/dev/splitinfer/core/unicode_tables.txt``: the Unicode
  data the Java tokenizer reads, a copy of the SDK's ``sdk/assets/unicode_tables.txt`` (see
  ``splitinfer.sdk._unicode``). That table is the contract and stays as it is, whatever Python
  runs this; ``--unicode-from-python`` rewrites it from the running interpreter's
  ``unicodedata`` (``unicode_tables.tables_text``), on purpose only: it changes how the SDK, the
  teachers and the Android core tokenize text outside the old table's Unicode version.

Word scores: ``word_scores`` sums a word's float32 token scores with ``np.add.reduceat``, which
(numpy 2.x) adds the first score to a *pairwise* sum of the rest (8 accumulators for 8..128
values, halves above), not left to right; the Java port reproduces that order, and the long-word
cases (9+ and 129+ tokens) check it bit for bit.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from splitinfer.sdk import _unicode as sdk_unicode
from splitinfer.sdk._bundle import build_bundle, read_bundle
from splitinfer.sdk._condenser import Condenser
from splitinfer.sdk._errors import InvalidInputError
from splitinfer.sdk._selection import (
    AnswerTypes,
    chunk_words,
    forced_mask,
    line_break_marks,
    question_tokens,
    select,
    token_budget,
    word_scores,
)
from splitinfer.sdk._text import join_words, split_words
from splitinfer.sdk._tokenizer import WordPieceTokenizer

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import cases as golden_cases  # noqa: E402
import selection_vectors  # noqa: E402
import unicode_tables  # noqa: E402

ROOT = HERE.parents[1]
VOCAB = "sdk/assets/vocab.txt"
GOLDEN = "android_demo/golden/golden_vectors.json"
TINY_BUNDLE = "android_demo/golden/tiny_bundle.tflite"
FORMULA_BUNDLE = "android_demo/golden/formula_bundle.tflite"
SELECTION_BUNDLE = "android_demo/golden/formula_selection_bundle.tflite"
SELECTION = {
    "segment_weight": 0.6,
    "document_weight": 0.2,
    "name_spans": True,
    "answer_types": AnswerTypes(0.1).to_manifest(),
    "title_lift": True,
}
LINE_BREAKS_BUNDLE = "android_demo/golden/formula_line_breaks_bundle.tflite"
LINE_BREAK_ID = 102
TABLES = "android_demo/core/src/main/resources/dev/splitinfer/core/unicode_tables.txt"
SDK_TABLES = "sdk/assets/unicode_tables.txt"
WINDOW_TOKENS = 16
MAX_QUESTION_LEN = 64
SEED_BASE = 20240601
_MASK = (1 << 64) - 1


def splitmix64_scores(seed: int, n: int, levels: int) -> np.ndarray:
    """``n`` float32 scores in [0, 1) from splitmix64(seed): the top 24 bits of each output
    ``u`` give ``u / 2**24``, or with ``levels`` > 0 ``(u % levels) / levels`` (ties)."""
    state = seed & _MASK
    out = np.zeros(n, dtype=np.float32)
    for i in range(n):
        state = (state + 0x9E3779B97F4A7C15) & _MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        u = (z ^ (z >> 31)) >> 40
        out[i] = (u % levels) / levels if levels else u / float(1 << 24)
    return out


def _floats(values: np.ndarray) -> list[float]:
    # A float32 widened to float64 prints as the shortest decimal that reads back to the same
    # float64, which narrows back to the same float32: exact in both languages.
    return [float(v) for v in np.asarray(values, dtype=np.float32)]


def condensed_by(condenser: Condenser, case: dict[str, Any], default_rate: bool) -> dict[str, Any]:
    """What the SDK's Condenser returns for the case (with its rate/target, or neither)."""
    budget = {} if default_rate else {"rate": case["rate"], "target_tokens": case["target_tokens"]}
    result = condenser.condense(
        case["text"], case["question"], force=case["force"], keep_digits=case["keep_digits"], **budget
    )
    return {
        "text": result.text,
        "kept": [int(i) for i in result.kept_indices],
        "original_tokens": result.original_tokens,
        "condensed_tokens": result.condensed_tokens,
    }


def vector(
    case: dict[str, Any],
    index: int,
    tokenizer: WordPieceTokenizer,
    condenser: Condenser,
    smoothing: Condenser,
    line_breaks: Condenser,
) -> dict[str, Any]:
    """One golden vector: the case's inputs and every intermediate and final result."""
    words, gaps = split_words(case["text"])
    ids = [list(t) for t in tokenizer.encode_words(words)]
    counts = [len(t) for t in ids]
    seed = SEED_BASE + index
    scores = splitmix64_scores(seed, sum(counts), case["score_levels"])
    wscores = word_scores(scores, counts)
    forced = forced_mask(words, case["force"], case["keep_digits"])
    budget = token_budget(sum(counts), rate=case["rate"], target_tokens=case["target_tokens"])
    kept = [int(i) for i in select(wscores, counts, forced, budget)]
    return {
        **case,
        "score_seed": seed,
        "words": words,
        "gaps": gaps,
        "token_ids": ids,
        "question_ids": tokenizer.encode(case["question"]),
        "model_question_ids": question_tokens(tokenizer.encode(case["question"]), MAX_QUESTION_LEN),
        "token_scores": _floats(scores),
        "word_scores": _floats(wscores),
        "forced": [bool(f) for f in forced],
        "total_tokens": sum(counts),
        "budget": budget,
        "windows": [list(w) for w in chunk_words(counts, WINDOW_TOKENS)],
        "kept": kept,
        "kept_tokens": sum(counts[i] for i in kept),
        "condensed": join_words(words, gaps, kept),
        "formula_condenser": condensed_by(condenser, case, default_rate=False),
        "formula_condenser_default_rate": condensed_by(condenser, case, default_rate=True),
        "formula_condenser_selection": condensed_by(smoothing, case, default_rate=False),
        "line_break_marks": line_break_marks(gaps),
        "formula_condenser_line_breaks": condensed_by(line_breaks, case, default_rate=False),
    }


# Short texts whose gaps hold every kind of line break the join tells apart: one gap of CRLF, one
# of a lone CR, blank lines with and without spaces, U+2028 (whitespace but no line break), and
# two gaps of equal line breaks in one dropped stretch (the first wins); and a text almost without
# spaces, where kept words that were not neighbours get the stretch's one space, a space, or
# nothing next to an ideograph (one outside the BMP, for the Java port's code points).
JOIN_TEXTS = (
    "a b.\r\nc\n\nd e\ry\u2028z\n \n w",
    "x\n\n\ny  z\r\n\r\nq\nr\n\ns",
    "价999元\uff0c499年 x\U00020000B3",
)


def join_vectors() -> list[dict[str, Any]]:
    """``join_words`` of every subset of each ``JOIN_TEXTS`` text's words (kept ascending)."""
    out = []
    for t, text in enumerate(JOIN_TEXTS):
        words, gaps = split_words(text)
        for mask in range(1 << len(words)):
            kept = [i for i in range(len(words)) if mask >> i & 1]
            out.append(
                {"name": f"join_{t}_{mask}", "text": text, "kept": kept, "condensed": join_words(words, gaps, kept)}
            )
    return out


def error_vector(case: dict[str, Any]) -> dict[str, Any]:
    try:
        token_budget(case["total_tokens"], rate=case["rate"], target_tokens=case["target_tokens"])
    except InvalidInputError:
        return {**case, "error": "InvalidInputError"}
    raise AssertionError(f"error case {case['name']} did not fail")


def golden_json(
    tokenizer: WordPieceTokenizer,
    vocab_bytes: bytes,
    condenser: Condenser,
    smoothing: Condenser,
    line_breaks: Condenser,
) -> str:
    """The golden file: a header, then one case per line so a diff shows which case changed."""
    all_cases = golden_cases.cases()
    names = [c["name"] for c in all_cases]
    if len(set(names)) != len(names):
        raise ValueError("golden case names must be unique")
    header = {
        "format": 1,
        "generated_by": "android_demo/golden/make_golden.py (run 'make golden')",
        "vocab": VOCAB,
        "vocab_sha256": hashlib.sha256(vocab_bytes).hexdigest(),
        "window_tokens": WINDOW_TOKENS,
        "max_question_len": MAX_QUESTION_LEN,
        "formula_bundle": FORMULA_BUNDLE,
        "selection_bundle": SELECTION_BUNDLE,
        "line_breaks_bundle": LINE_BREAKS_BUNDLE,
    }
    dump = lambda obj: json.dumps(obj, ensure_ascii=True, separators=(",", ":"))  # noqa: E731
    parts = ["{"]
    parts += [f"{dump(k)}:{dump(v)}," for k, v in header.items()]
    parts.append('"cases":[')
    vectors = [
        dump(vector(c, i, tokenizer, condenser, smoothing, line_breaks)) for i, c in enumerate(all_cases)
    ]
    parts.append(",\n".join(vectors))
    parts.append('],"errors":[')
    parts.append(",\n".join(dump(error_vector(c)) for c in golden_cases.error_cases()))
    parts.append('],"segments":[')
    segments = selection_vectors.segment_vectors(tokenizer)
    parts.append(",\n".join(dump(v) for v in segments))
    parts.append('],"smoothing":[')
    smoothed = selection_vectors.smoothing_vectors(segments, splitmix64_scores)
    parts.append(",\n".join(dump(v) for v in smoothed))
    parts.append('],"names":[')
    parts.append(",\n".join(dump(v) for v in selection_vectors.name_vectors(segments, splitmix64_scores)))
    parts.append('],"answer_kinds":[')
    parts.append(",\n".join(dump(v) for v in selection_vectors.answer_kind_vectors()))
    parts.append('],"answer_types":[')
    parts.append(
        ",\n".join(dump(v) for v in selection_vectors.answer_type_vectors(segments, splitmix64_scores))
    )
    parts.append('],"titles":[')
    parts.append(",\n".join(dump(v) for v in selection_vectors.title_vectors(segments, splitmix64_scores)))
    parts.append('],"answer_type_manifests":[')
    parts.append(",\n".join(dump(v) for v in selection_vectors.answer_type_manifest_vectors()))
    parts.append('],"joins":[')
    parts.append(",\n".join(dump(v) for v in join_vectors()))
    parts.append("],")
    parts.append(f'"unicode_sweep":{dump(unicode_tables.sweep(tokenizer))}')
    parts.append("}")
    return "\n".join(parts) + "\n"


def tiny_bundle() -> bytes:
    """A small valid bundle; the flatbuffer is a stub with the TFLite identifier."""
    model = b"\x1c\x00\x00\x00TFL3" + bytes(range(256)) * 4
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", "##s", "caf", "##e", ",", "\u00e9t\u00e9"]
    manifest = {
        "model_version": "tiny-test-0.1",
        "max_seq_len": 16,
        "max_question_len": 8,
        "inputs": {"context_ids": "context_ids", "question_ids": "question_ids"},
        "output": "scores",
        "default_rate": 0.4,
        "teacher": "none (test fixture)",
        "labels": ["drop", "keep"],
    }
    card = b"# tiny bundle\n\nA fixture for the Java bundle reader; the model is a stub.\n"
    return build_bundle(model, vocab, manifest, {"model_card.md": card})


def selection_bundle(**more: Any) -> bytes:
    """``formula_bundle.tflite`` with ``SELECTION`` weights (and ``more``) in its manifest."""
    formula = read_bundle(ROOT / FORMULA_BUNDLE)
    manifest = {**formula.manifest, "selection": SELECTION, **more}
    extra = {name: data for name, data in formula.files.items() if name not in ("manifest.json", "vocab.txt")}
    data = build_bundle(formula.model, formula.vocab, manifest, extra)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if archive.read("vocab.txt") != formula.files["vocab.txt"]:
            raise AssertionError("the vocabulary changed on its way through read_bundle/build_bundle")
    return data


def outputs(unicode_from_python: bool = False) -> dict[str, bytes]:
    """Every generated file, by path relative to the repository root."""
    tables = (
        unicode_tables.tables_text().encode("ascii")
        if unicode_from_python
        else (ROOT / SDK_TABLES).read_bytes()
    )
    if unicode_from_python:  # the SDK must read the new table before the vectors are written
        (ROOT / SDK_TABLES).write_bytes(tables)
        sdk_unicode.tables.cache_clear()
    vocab_bytes = (ROOT / VOCAB).read_bytes()
    tokenizer = WordPieceTokenizer.from_file(ROOT / VOCAB)
    smoothing_bundle = selection_bundle()
    line_breaks_bundle = selection_bundle(line_break_id=LINE_BREAK_ID)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "formula_selection_bundle.tflite"
        path.write_bytes(smoothing_bundle)
        smoothing = Condenser.load(path)
        path = Path(tmp) / "formula_line_breaks_bundle.tflite"
        path.write_bytes(line_breaks_bundle)
        line_breaks = Condenser.load(path)
    golden = golden_json(
        tokenizer, vocab_bytes, Condenser.load(ROOT / FORMULA_BUNDLE), smoothing, line_breaks
    )
    return {
        GOLDEN: golden.encode("ascii"),
        SELECTION_BUNDLE: smoothing_bundle,
        LINE_BREAKS_BUNDLE: line_breaks_bundle,
        TINY_BUNDLE: tiny_bundle(),
        SDK_TABLES: tables,
        TABLES: tables,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed file is stale")
    parser.add_argument(
        "--unicode-from-python",
        action="store_true",
        help=f"rewrite {SDK_TABLES} from this interpreter's unicodedata (changes the tokenizer's contract)",
    )
    args = parser.parse_args(argv)
    if args.check and args.unicode_from_python:
        parser.error("--check compares with the committed table; leave out --unicode-from-python")
    stale = []
    for rel, data in outputs(args.unicode_from_python).items():
        path = ROOT / rel
        current = path.exists() and path.read_bytes() == data
        if args.check:
            if not current:
                stale.append(rel)
        elif current:  # left alone: the SDK's own table among them, which others may be reading
            print(f"unchanged {rel}")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            print(f"wrote {rel} ({len(data)} bytes)")
    if stale:
        print("stale (run 'make golden' and commit): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
