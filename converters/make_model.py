"""Rebuild the bundled default condenser end to end: label, train, convert (``make model``).

    python -m splitinfer.converters.make_model --data ../shared/data

1. **label** (``splitinfer distill label``, the ``minilm`` teacher): the train split of NQ with hard
   distractors (as evaluated, and ``--nq-arrangements`` more times with the same ten documents in
   a seeded order, so each passage is also learnt at other places in the model's windows), GSM8K
   few-shot prompts and synthetic long prompts (planted-fact essays, UUID key-value lookups), plus held-out slices of each that are never trained on. Labels go to
   ``--work`` and are resumed, so an interrupted run continues where it stopped and a rerun
   relabels nothing. ``--labels-dir`` uses labels made elsewhere instead.
2. **train** (``splitinfer distill train``, its defaults: three members of 48 channels, seeds
   0, 1 and 2, their scores averaged) on the train-split labels.
3. **convert** (``splitinfer convert``, mode ``dynamic``: the fastest mode that passes every
   gate for this student, see the model card) with the held-out labels as parity data and as the
   teacher-agreement set, to ``sdk/assets/condenser.tflite`` unless ``--output`` says otherwise.
   The bundle gets the converter's default selection weights (sentence 0.6, document 0.2).

One arrangement is the default because a second one did not pay: labelling seed 2 as well
(1,353 more prompts) gave held-out F1 0.800 instead of 0.795 and kept 88.4 / 97.0% of held-out
NQ answers at rates 0.1 / 0.2 against 89.1 / 97.0% (minilm-cnn-1.2). Nor did other negatives: the
1,353 NQ train cases labelled once more with BM25's 10th to 18th passages as distractors (easier
ones, but new) gave, over training seeds 0 / 1 / 2, held-out F1 0.793 / 0.801 / 0.802 and
89.4 / 87.4 / 86.1% of NQ answers kept at rate 0.1 (97.0% at 0.2 on average), against
0.795 / 0.794 / 0.800 and 89.1 / 86.4 / 86.8% (96.8%) without them: inside the seeds' spread.

``--nq-layouts titles,plain`` also labels the NQ train cases in two more layouts (``splitinfer
eval --layout``): each title on a line of its own above its text, and untitled paragraphs, as
retrieval pipelines also write prompts. It is not the default. A student that does not read line
breaks cannot tell a title line from the sentence under it, which is what the teacher's sentence
rules go by, so ``splitinfer distill train --line-breaks`` gives it where lines break. Measured
with one 48-channel student (seed 0) trained on the 1,353 NQ train cases alone, in the usual
layout only (A), in all three layouts (B), and in all three reading line breaks (C). Held-out NQ
answers kept at rates 0.1 / 0.2 / 0.33, numbers not forced:

- usual layout: A 87.1 / 95.7 / 98.7%, B 85.1 / 95.0 / 97.7%, C 87.1 / 96.4 / 98.3%;
- title lines: A 77.2 / 91.1 / 97.7%, B 79.8 / 91.4 / 96.7%, C 86.1 / 94.7 / 98.0%;
- plain paragraphs: A 68.2 / 82.8 / 93.4%, B 73.2 / 86.8 / 93.7%, C 75.2 / 88.1 / 94.7%.

(Keep/drop F1 against the teacher on the 411 validation prompts: B 0.701, C 0.725. The teacher
keeps 97.3 / 99.3 / 100% with title lines and 82.7 / 94.7 / 96.7% on plain paragraphs, on 150 of
those cases.) Then the whole
recipe, three members, with ``--nq-layouts titles,plain`` and ``--line-breaks`` (5,313 train
prompts; 48 min of training here), against ``minilm-cnn-1.3``, all 302 held-out cases, rates 0.1 /
0.2 / 0.33 / 0.5, numbers forced but where said:

- usual layout: 70.9 / 95.4 / 98.3 / 99.7% against 73.2 / 95.4 / 99.0 / 99.7%; numbers not
  forced 87.4 / 97.4 / 99.0 / 99.7% against 90.7 / 97.7 / 99.0 / 99.7%; the ``extractive``
  answerer on the rate-0.2 contexts 48.7% against 49.0% (50.3% numbers not forced);
- title lines: 65.6 / 93.0 / 98.0 / 99.7% against 62.3 / 88.4 / 97.4 / 99.7%;
- plain paragraphs: 59.3 / 85.8 / 95.4% against 57.6 / 80.5 / 93.7% at 0.1 / 0.2 / 0.33;
- random distractors: 75.8 / 99.3 / 99.3% against 76.8 / 99.3 / 99.7% at 0.1 / 0.2 / 0.33;
- keep/drop F1 0.798 against 0.796; p50 2.02 ms per window (the convert gate).

It gains 2 to 5 points on the other layouts but loses 2.3 to 3.3 points at rate 0.1 on the layout
the targets are set on (below the 90% target without forced numbers), so the bundle stays 1.3.
Reading line breaks does not help without the other layouts either: one member (seed 0) trained
with ``--line-breaks`` on 1.3's own labels kept 87.4 / 95.7 / 99.0% in the usual layout (1.3's
seed-0 member: 90.7 / 97.4% at rates 0.1 / 0.2), 78.8 / 91.7 / 97.0% with title lines and
70.5 / 83.1 / 92.1% on plain paragraphs (numbers not forced; held-out F1 0.786 against 0.790).

Every step is deterministic for a seed, so the same data rebuild the same bundle bytes on the
same software stack. Labelling is the slow step (the teacher runs all-MiniLM-L6-v2 many times
per prompt: about 3 s per NQ prompt on one core); ``--nq-limit`` and friends make a smaller run.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from splitinfer.sdk._errors import InvalidInputError, SplitinferError

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO / "sdk" / "assets" / "condenser.tflite"
DEFAULT_CARD = REPO / "docs" / "model_card.md"
MODEL_VERSION = "minilm-cnn-1.3"


@dataclass(frozen=True)
class Slice:
    """One labels file to make: a corpus format, its data file, split and size."""

    name: str
    format: str
    data: str | None
    split: str
    limit: int | None
    seed: int | None = None  # None: --seed
    layout: str = "documents"  # nq only: corpus.NQ_LAYOUTS

    def file_name(self) -> str:
        return f"{self.name}.minilm.jsonl"


def slices(args: argparse.Namespace) -> list[Slice]:
    nq, gsm8k = "nq-open-train.jsonl.gz", "gsm8k-train.jsonl.gz"
    arranged = [
        Slice(f"nq-train-hard-s{k}", "nq", nq, "train", args.nq_limit, seed=k)
        for k in range(1, args.nq_arrangements + 1)
    ]
    layouts = [
        Slice(f"nq-train-hard-{layout}", "nq", nq, "train", args.nq_limit, layout=layout)
        for layout in args.nq_layouts
    ]
    return [
        Slice("nq-train-hard", "nq", nq, "train", args.nq_limit),
        *arranged,
        *layouts,
        Slice("gsm8k-train", "gsm8k", gsm8k, "train", args.gsm8k_limit),
        Slice("synthetic-train", "synthetic", nq, "train", args.synthetic_limit),
        Slice("nq-heldout-hard", "nq", nq, "heldout", args.heldout_limit),
        Slice("gsm8k-heldout", "gsm8k", gsm8k, "heldout", max(1, args.heldout_limit // 2)),
        # Synthetic cases are made first and split after: 5x the limit yields about the limit.
        Slice("synthetic-heldout", "synthetic", nq, "heldout", 5 * max(1, args.heldout_limit // 2)),
    ]


def label(item: Slice, data_dir: Path, out_dir: Path, seed: int) -> Path:
    """Run ``splitinfer distill label`` for one slice (resumable); the labels file's path."""
    from splitinfer.cli.main import main as splitinfer

    output = out_dir / item.file_name()
    argv = [
        "distill",
        "label",
        "--format",
        item.format,
        "--teacher",
        "minilm",
        "--split",
        item.split,
        "--output",
        str(output),
        "--resume",
        "--seed",
        str(seed if item.seed is None else item.seed),
    ]
    if item.data:
        data = data_dir / item.data
        if not data.is_file():
            raise InvalidInputError(f"{data}: no such data file; pass the shared data folder with --data")
        argv += ["--data", str(data)]
    if item.format == "nq":
        argv += ["--distractors", "hard", "--layout", item.layout]
    if item.limit is not None:
        argv += ["--limit", str(item.limit)]
    print(f"[label] {item.name}", flush=True)
    code = splitinfer(argv)
    if code != 0:
        raise SplitinferError(f"labelling {item.name} failed (exit {code})")
    return output


def _layouts(text: str) -> tuple[str, ...]:
    from splitinfer.converters.corpus import NQ_LAYOUTS

    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    extra = [layout for layout in chosen if layout not in NQ_LAYOUTS[1:]]
    if extra:
        raise argparse.ArgumentTypeError(
            f"unknown or default layout {', '.join(extra)}; choose from {', '.join(NQ_LAYOUTS[1:])}"
        )
    return chosen


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m splitinfer.converters.make_model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data"), help="shared data folder")
    parser.add_argument("--work", type=Path, default=Path("build/model"), help="labels, student, report")
    parser.add_argument(
        "--labels-dir",
        type=Path,
        default=None,
        help="use every *.jsonl labels file here instead of labelling (train split trains, held-out measures)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the bundle to write")
    parser.add_argument("--card", type=Path, default=DEFAULT_CARD, help="where to write the model card")
    parser.add_argument("--nq-limit", type=int, default=None, help="NQ train prompts (default: all)")
    parser.add_argument(
        "--nq-arrangements",
        type=int,
        default=1,
        help="also label the NQ train cases with their documents rearranged by seeds 1..N (default 1)",
    )
    parser.add_argument(
        "--nq-layouts",
        type=_layouts,
        default=(),
        help="also label the NQ train cases written in these layouts, comma-separated: titles "
        "(title lines), plain (untitled paragraphs); see splitinfer eval --layout (default none)",
    )
    parser.add_argument("--gsm8k-limit", type=int, default=300)
    parser.add_argument("--synthetic-limit", type=int, default=240)
    parser.add_argument("--heldout-limit", type=int, default=120, help="held-out NQ prompts (others: half)")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument(
        "--student", type=Path, default=None, help="convert this trained student instead of training one"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mode", default="dynamic", help="conversion mode (default dynamic)")
    parser.add_argument("--model-version", default=MODEL_VERSION)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return build(args)
    except SplitinferError as err:
        print(f"make model: error: {err}", file=sys.stderr)
        return err.exit_code


def train_student(args: argparse.Namespace, labels: list[Path], student: Path) -> None:
    from splitinfer.converters.train import TrainOptions, train

    print("[train] student", flush=True)
    summary = train(
        TrainOptions(
            labels=labels,
            output=student,
            epochs=args.epochs,
            seed=args.seed,
            model_version=args.model_version,
            verbose=1 if sys.stderr.isatty() else 2,
        )
    )
    print(
        f"[train] {summary['data']['summary']}; held-out F1 {(summary['heldout_agreement'] or {}).get('f1')}"
    )


def build(args: argparse.Namespace) -> int:
    from splitinfer.converters.release import ConvertOptions, release
    from splitinfer.converters.report import write_report

    args.work.mkdir(parents=True, exist_ok=True)
    if args.labels_dir is not None:
        labels = sorted(args.labels_dir.glob("*.jsonl"))
        if not labels:
            raise InvalidInputError(f"{args.labels_dir}: no *.jsonl labels files; drop --labels-dir to label")
    else:
        labels = [label(item, args.data, args.work, args.seed) for item in slices(args)]

    student = args.student or args.work / "student.keras"
    if args.student is None:
        train_student(args, labels, student)

    print(f"[convert] {args.output}", flush=True)
    options = ConvertOptions(
        model=student,
        output=args.output,
        mode=args.mode,
        parity_data=labels,
        teacher_data=labels,
        calibration=labels,
        seed=args.seed,
        model_version=args.model_version,
    )
    outcome = release(options)
    write_report(args.work / "convert-report.json", outcome.report)
    if outcome.error is not None:
        raise outcome.error  # a bug: reported, then let through with its traceback
    print(
        json.dumps(
            {
                k: outcome.report.get(k)
                for k in (
                    "status",
                    "mode",
                    "bundle_bytes",
                    "latency_ms",
                    "agreement_vs_teacher",
                    "failed_gates",
                )
            },
            indent=2,
        )
    )
    if outcome.exit_code:
        print(f"make model: error: {outcome.message}", file=sys.stderr)
        return outcome.exit_code
    from splitinfer.converters.report import CARD_NAME
    from splitinfer.sdk._bundle import read_bundle

    # The card the bundle carries, byte for byte, so the docs show what ships.
    args.card.parent.mkdir(parents=True, exist_ok=True)
    args.card.write_bytes(read_bundle(args.output).files[CARD_NAME])
    print(f"[card] {args.card}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
