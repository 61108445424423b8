"""``splitinfer bench condenser``: the condenser's speed against a TinyBERT-4-class encoder.

Everything runs in one process on one LiteRT thread, in this order:

1. the bundle's model alone on one window of its ``max_seq_len`` tokens (512 for the bundled
   condenser; ``model_p50_ms``/``model_p99_ms``);
2. the whole ``Condenser.condense()`` on a 2,000-word prompt (tokenize, every window, word scores,
   selection; ``condense_2000w_p50_ms``), the same prompt each time, so its words come from the
   tokenizer's per-word cache; and again with that cache emptied before each call, as for a
   prompt of words the device has not seen (``condense_2000w_cold_p50_ms``); ``peak_rss_mb`` is
   the process's peak resident memory at this point, before the reference is loaded (this
   process never imports TensorFlow);
3. the reference: a TinyBERT-4-shaped encoder (4 layers, hidden 312, 12 heads, FFN 1200; see
   ``converters.reference``) converted in the bundle's mode by the same converter, run on the same
   window interleaved with the bundle's model, so a busy machine slows both alike
   (``reference_p50_ms``, ``speedup`` = reference p50 / model p50 from those interleaved runs), and
   wrapped in a bundle to time the same ``condense()`` in turns with the bundle's
   (``reference_condense_2000w_p50_ms``; ``condense_speedup`` = its p50 / the bundle's p50 from
   those turns, ``condense_2000w_p50_ms_paired``).

The reference is built once by a TensorFlow subprocess and cached (``$XDG_CACHE_HOME/splitinfer``
or ``~/.cache/splitinfer``); building it needs the [convert] extra. Figures of a shared machine
are noisy: compare the ratios, which are measured in the same run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from splitinfer.sdk._errors import InvalidInputError, SplitinferError

PROMPT_WORDS = 2000
QUESTION = "When did the committee approve the final budget for the northern railway project?"
# Paired condense() turns of the student and the reference (each reference turn is slow).
PAIRED_CONDENSE_RUNS = 5


def _figure(ms: float) -> float:
    """A time to 4 significant digits: a small model's 0.0009 ms keeps its precision, and the
    speedups stay the ratios of the figures printed beside them."""
    return float(f"{ms:.4g}")


def register(targets: argparse._SubParsersAction) -> None:
    from splitinfer.cli._help import exit_codes, plain, seed

    parser = targets.add_parser(
        "condenser",
        help="Benchmark the condenser bundle against a TinyBERT-4-shaped encoder (needs the [convert] extra).",
        description=plain(__doc__),
        epilog=exit_codes(
            ok="the figures are printed",
            failed="the TinyBERT-4 reference could not be built",
            bad_input="bad input or usage (a flag, a missing or corrupt bundle or cached reference, no TensorFlow to "
            "build the reference)",
            sigterm=True,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--bundle", type=Path, default=None, help="bundle to measure (default: the bundled one)"
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=200,
        help="timed model runs on one window, after 10 untimed ones (default 200); about as many again "
        "interleaved with the reference's",
    )
    parser.add_argument(
        "--condense-runs",
        type=int,
        default=50,
        help=f"timed condense() calls, after 1 untimed one (default 50), then as many with the tokenizer's "
        f"cache emptied; the paired condense_speedup takes at most {PAIRED_CONDENSE_RUNS} more against the "
        "reference's",
    )
    parser.add_argument(
        "--reference-runs",
        type=int,
        default=20,
        help="timed reference model runs on the same window, after 1 untimed one (default 20)",
    )
    parser.add_argument(
        "--reference-mode",
        choices=("float32", "float16", "dynamic"),
        default=None,
        help="conversion mode of the reference (default: the bundle's mode)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="where the converted reference is kept (default: $XDG_CACHE_HOME/splitinfer or ~/.cache/splitinfer)",
    )
    parser.add_argument(
        "--seed",
        type=seed,
        default=0,
        help="seeds the benchmark prompt's words and the reference's random weights (default 0)",
    )
    parser.set_defaults(func=run)


def bench_prompt(words: int = PROMPT_WORDS, seed: int = 0) -> str:
    """A seeded English-like prompt: vocabulary words, some rare compounds, numbers, sentences."""
    from splitinfer.sdk._tokenizer import WordPieceTokenizer

    vocab_path = Path(__file__).resolve().parents[1] / "sdk" / "assets" / "vocab.txt"
    vocab = WordPieceTokenizer.from_file(vocab_path).vocab
    pool = [w for w in vocab[1996:] if w.isalpha() and len(w) > 1]
    rng = np.random.default_rng(seed)
    out = []
    for i in range(words):
        roll = rng.random()
        if roll < 0.05:
            word = str(int(rng.integers(1, 3000)))
        elif roll < 0.15:  # a rarer word the vocabulary splits into pieces
            word = pool[int(rng.integers(len(pool)))] + pool[int(rng.integers(len(pool)))]
        else:
            word = pool[int(rng.integers(min(8000, len(pool))))]
        if i % 17 == 16:
            word += "."
        elif rng.random() < 0.06:
            word += ","
        out.append(word.capitalize() if i % 17 == 0 else word)
    return " ".join(out)


def _percentiles(times_ms: list[float]) -> tuple[float, float]:
    return float(np.percentile(times_ms, 50)), float(np.percentile(times_ms, 99))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cache_dir(args: argparse.Namespace) -> Path:
    if args.cache_dir:
        return args.cache_dir
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "splitinfer"


def reference_path(mode: str, max_seq_len: int, max_question_len: int, cache: Path, seed: int) -> Path:
    """Where the reference converted with these settings is cached; the name changes with the code
    that builds it."""
    source = (
        Path(__file__).with_name("reference.py").read_bytes()
        + Path(__file__).with_name("convert.py").read_bytes()
    )
    key = hashlib.sha256(source + f"{mode}-{max_seq_len}-{max_question_len}-{seed}".encode()).hexdigest()[:16]
    return cache / f"reference-tinybert4-{mode}-{key}.tflite"


def reference_model(mode: str, max_seq_len: int, max_question_len: int, cache: Path, seed: int) -> Path:
    """The converted reference, from the cache or built by a TensorFlow subprocess."""
    path = reference_path(mode, max_seq_len, max_question_len, cache, seed)
    if path.is_file():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "splitinfer.converters.reference",
        "--output",
        str(path),
        "--mode",
        mode,
        "--max-seq-len",
        str(max_seq_len),
        "--max-question-len",
        str(max_question_len),
        "--seed",
        str(seed),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not path.is_file():
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        if "No module named 'tensorflow'" in done.stderr:
            raise InvalidInputError(
                "building the TinyBERT-4 reference needs TensorFlow: pip install 'splitinfer[convert]'"
            )
        raise SplitinferError(f"could not build the TinyBERT-4 reference: {tail}")
    return path


def _runner(model: bytes) -> tuple[Any, int, int]:
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_content=model, num_threads=1)
    runner.allocate_tensors()
    names = {d["name"]: d["index"] for d in runner.get_input_details()}
    return runner, names["context_ids"], names["question_ids"]


def _window(condenser: Any, prompt: str, question: str) -> tuple[np.ndarray, np.ndarray]:
    """The first model window of ``prompt`` and the padded question, as the Condenser builds them."""
    from splitinfer.sdk._text import split_words

    seq, qlen = condenser.max_seq_len, int(condenser.manifest["max_question_len"])
    ids = [i for word in split_words(prompt)[0] for i in condenser.tokenizer.encode_word(word)]
    context = np.zeros((1, seq), dtype=np.int32)
    context[0, : min(seq, len(ids))] = ids[:seq]
    q_ids = [i for word in split_words(question)[0] for i in condenser.tokenizer.encode_word(word)][:qlen]
    q = np.zeros((1, qlen), dtype=np.int32)
    q[0, : len(q_ids)] = q_ids
    return context, q


def _time_condense(condenser: Any, prompt: str, runs: int) -> list[float]:
    condenser.condense(prompt, QUESTION)  # first call: interpreter creation and tokenizer cache
    return [_timed_condense(condenser, prompt) for _ in range(runs)]


def _time_cold_condense(condenser: Any, prompt: str, runs: int) -> list[float]:
    """``condense()`` with the tokenizer's per-word cache emptied before each call: every word is
    new to it, as in a prompt of words the device has not seen (the repeated calls of
    ``_time_condense`` tokenize from the cache)."""
    times = []
    for _ in range(runs):
        condenser.tokenizer.encode_word.cache_clear()
        times.append(_timed_condense(condenser, prompt))
    return times


def _timed_condense(condenser: Any, prompt: str) -> float:
    start = time.perf_counter()
    condenser.condense(prompt, QUESTION)
    return (time.perf_counter() - start) * 1000.0


def _interleaved_condense(
    condenser: Any, reference: Any, prompt: str, runs: int
) -> tuple[list[float], list[float]]:
    """``condense()`` of the reference and of the bundle taken in turns, ``runs`` each."""
    for each in (condenser, reference):
        each.condense(prompt, QUESTION)
    pairs = [(_timed_condense(condenser, prompt), _timed_condense(reference, prompt)) for _ in range(runs)]
    return [s for s, _ in pairs], [r for _, r in pairs]


def _interleaved(
    student: tuple[Any, int, int],
    reference: tuple[Any, int, int],
    window: tuple[np.ndarray, np.ndarray],
    reference_runs: int,
    per_reference: int,
) -> tuple[list[float], list[float]]:
    """Reference runs, each followed by ``per_reference`` student runs, on the same window."""
    for runner, c, q in (student, reference):
        runner.set_tensor(c, window[0])
        runner.set_tensor(q, window[1])
        runner.invoke()
    s_times, r_times = [], []
    for _ in range(reference_runs):
        start = time.perf_counter()
        reference[0].invoke()
        r_times.append((time.perf_counter() - start) * 1000.0)
        for _ in range(per_reference):
            start = time.perf_counter()
            student[0].invoke()
            s_times.append((time.perf_counter() - start) * 1000.0)
    return s_times, r_times


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from splitinfer.sdk import Condenser
    from splitinfer.sdk._bundle import build_bundle, parse_bundle, read_bundle
    from splitinfer.sdk._condenser import DEFAULT_BUNDLE

    for flag in ("runs", "condense_runs", "reference_runs"):
        if getattr(args, flag) < 1:
            raise InvalidInputError(f"--{flag.replace('_', '-')} must be >= 1, got {getattr(args, flag)}")
    if not 0 <= args.seed < 2**32:
        raise InvalidInputError(f"--seed must be a whole number from 0 to {2**32 - 1}, got {args.seed}")
    cache = _cache_dir(args)
    try:  # before any timing: a --cache-dir that cannot hold the reference is bad input
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InvalidInputError(
            f"--cache-dir {cache}: cannot use it as a folder ({err.strerror or err}); choose another place"
        ) from None
    path = args.bundle or DEFAULT_BUNDLE
    bundle = read_bundle(path)
    condenser = Condenser.load(path, num_threads=1)
    prompt = bench_prompt(PROMPT_WORDS, args.seed)
    window = _window(condenser, prompt, QUESTION)

    student = _runner(bundle.model)
    student[0].set_tensor(student[1], window[0])
    student[0].set_tensor(student[2], window[1])
    for _ in range(10):
        student[0].invoke()
    model_times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        student[0].invoke()
        model_times.append((time.perf_counter() - start) * 1000.0)
    condense_times = _time_condense(condenser, prompt, args.condense_runs)
    cold_times = _time_cold_condense(condenser, prompt, args.condense_runs)
    last = condenser.condense(prompt, QUESTION)
    peak_rss = _peak_rss_mb()

    mode = args.reference_mode or str((bundle.manifest.get("conversion") or {}).get("mode") or "dynamic")
    mode = mode if mode in ("float32", "float16", "dynamic") else "dynamic"
    ref_path = reference_model(
        mode, condenser.max_seq_len, int(bundle.manifest["max_question_len"]), cache, args.seed
    )
    ref_model = ref_path.read_bytes()
    try:
        ref_runner = _runner(ref_model)
    except (ValueError, RuntimeError) as err:
        raise InvalidInputError(
            f"{ref_path}: LiteRT cannot load this cached TinyBERT-4 reference ({err}); delete it, and the "
            "next run builds it again"
        ) from None
    per_reference = max(1, args.runs // args.reference_runs)
    s_times, r_times = _interleaved(student, ref_runner, window, args.reference_runs, per_reference)
    ref_manifest = {
        **bundle.manifest,
        "model_version": "tinybert4-reference",
        "inputs": {"context_ids": "context_ids", "question_ids": "question_ids"},
        "output": "scores",
    }
    ref_condenser = Condenser(parse_bundle(build_bundle(ref_model, bundle.vocab, ref_manifest)), "reference")
    paired_runs = max(1, min(PAIRED_CONDENSE_RUNS, args.condense_runs))
    s_condense, ref_condense = _interleaved_condense(condenser, ref_condenser, prompt, paired_runs)

    model_p50, model_p99 = _percentiles(model_times)
    paired_p50, _ = _percentiles(s_times)
    ref_p50, ref_p99 = _percentiles(r_times)
    condense_p50, condense_p99 = _percentiles(condense_times)
    cold_p50, _ = _percentiles(cold_times)
    ref_condense_p50, _ = _percentiles(ref_condense)
    paired_condense_p50, _ = _percentiles(s_condense)
    return {
        "bundle": str(path),
        "bundle_bytes": path.stat().st_size,
        "model_bytes": len(bundle.model),
        "model_version": condenser.model_version,
        "mode": (bundle.manifest.get("conversion") or {}).get("mode"),
        "threads": 1,
        "window_tokens": condenser.max_seq_len,
        "model_p50_ms": _figure(model_p50),
        "model_p99_ms": _figure(model_p99),
        "condense_2000w_p50_ms": _figure(condense_p50),
        "condense_2000w_p99_ms": _figure(condense_p99),
        "condense_2000w_cold_p50_ms": _figure(cold_p50),
        "prompt_words": last.words,
        "prompt_tokens": last.original_tokens,
        "windows": -(-last.original_tokens // condenser.max_seq_len),
        "peak_rss_mb": round(peak_rss, 1),
        "reference": {
            "shape": "TinyBERT-4: 4 layers, hidden 312, 12 heads, FFN 1200",
            "mode": mode,
            "model_bytes": len(ref_model),
        },
        "reference_p50_ms": _figure(ref_p50),
        "reference_p99_ms": _figure(ref_p99),
        "model_p50_ms_paired": _figure(paired_p50),
        "speedup": round(ref_p50 / paired_p50, 1),
        "reference_condense_2000w_p50_ms": _figure(ref_condense_p50),
        "condense_2000w_p50_ms_paired": _figure(paired_condense_p50),
        "condense_speedup": round(ref_condense_p50 / paired_condense_p50, 1),
        "peak_rss_mb_with_reference": round(_peak_rss_mb(), 1),
        "runs": {
            "model": args.runs,
            "condense": args.condense_runs,
            "reference": args.reference_runs,
            "condense_paired": paired_runs,
        },
    }


def run(args: argparse.Namespace) -> int:
    result = measure(args)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"condenser {result['model_version']} ({result['mode']}, {result['bundle_bytes']:,} bytes), one thread"
    )
    print(
        f"  model, one {result['window_tokens']}-token window: p50 {result['model_p50_ms']:.3f} ms, "
        f"p99 {result['model_p99_ms']:.3f} ms"
    )
    print(
        f"  condense(), {result['prompt_words']} words / {result['prompt_tokens']} tokens: "
        f"p50 {result['condense_2000w_p50_ms']:.2f} ms, p99 {result['condense_2000w_p99_ms']:.2f} ms; "
        f"every word new to the tokenizer: p50 {result['condense_2000w_cold_p50_ms']:.2f} ms"
    )
    print(f"  peak RSS {result['peak_rss_mb']:.0f} MB")
    print(
        f"  TinyBERT-4 reference ({result['reference']['mode']}): p50 {result['reference_p50_ms']:.1f} ms per window, "
        f"condense() p50 {result['reference_condense_2000w_p50_ms']:.0f} ms"
    )
    print(f"  paired with the reference, the model: p50 {result['model_p50_ms_paired']:.3f} ms per window")
    print(
        f"  speedup x{result['speedup']} per window ({result['reference_p50_ms']:.1f} / "
        f"{result['model_p50_ms_paired']:.3f} ms, interleaved runs), x{result['condense_speedup']} per "
        f"condense() ({result['reference_condense_2000w_p50_ms']:.0f} / {result['condense_2000w_p50_ms_paired']:.1f} ms, "
        "taken in turns)"
    )
    return 0
