"""``splitinfer distill train``: fit the student to a teacher's word scores.

Data: labels files of ``splitinfer distill label`` (see ``windows``). Only prompts of the corpus
``train`` split are trained on; prompts of the ``heldout`` split are never seen and are what the
summary's ``heldout_agreement`` is measured on. A further ``--validation-fraction`` of the train
prompts (chosen by a hash of their id) is held back to stop training at the best epoch.

Examples are the model's windows, cut exactly as the device cuts them, and (``--shifted-windows``,
the default) the same prompts cut again half a window later, so a token near a window's edge is
also learnt with the context it lacks there. A token's target is its word's teacher score turned
into its *rank* within the prompt (0 = the least important word, 1 = the most; ties share the mean
rank), pushed toward the keep/drop split at each of ``--target-rates`` (``--sharpness``; the
mean over the rates). The device keeps the best-ranked words of a prompt, so only the order within
a prompt matters, and ranks make prompts whose teacher scores have different scales (a short maths
problem, ten long documents) weigh alike; sharpening spends the student's capacity where keep/drop
decisions are made (held-out F1 0.744 -> 0.759 with the default rate alone). Sharpening at the
default rate alone flattened everything above it, so the student never learnt what belongs in the
top tenth: with the four rates and shifted windows, held-out NQ answers kept at rate 0.1 went from
82.1% to 84.4% on the same labels (88.1% with one rearranged NQ set added, see ``make_model``). The loss is
binary cross-entropy on those soft targets over real tokens (padding ignored), Adam with
gradient clipping, early stopping on a validation slice. Lifting the gold answers of NQ train
prompts to the top of the targets (their sentences into the top 5%) was measured and not kept:
held-out F1 0.789, NQ answers kept at rates 0.1 / 0.2 89.4 / 96.4% against 0.795, 89.1 / 97.0%.
Also measured, each on single 64-channel students (``minilm-cnn-1.2``'s recipe, before its
three members, see ``student``) and the bundle's labels: with seeds 0, 1 and 2, an exponential
moving average of the weights (Adam's ``use_ema``, momentum 0.998, 5 epochs, no early stopping)
against this recipe gave held-out F1 0.801 against 0.796 and NQ answers kept at rates 0.1 / 0.2 /
0.33 of 87.6 / 97.7 / 99.0% against 87.4 / 96.8 / 98.8% (means of the three seeds; 1.2's seed 0
keeps 89.1% at rate 0.1, the best of the six). A small, steady gain that moves no target;
averaging the scores of students trained with different seeds gained more and is what the
bundle does.
Also measured and not kept: a listwise (ListNet) loss on each window's sentence scores (their
tokens' mean, as the device smooths them; softmax temperature 0.1) added to the cross-entropy, since
of the 33 held-out NQ answers lost at rate 0.1, 32 sit in a sentence the student ranks fourth or
lower. With weight 0.5 (2) it gave held-out F1 0.761 (0.747) and NQ answers kept at rates 0.1 / 0.2
/ 0.33 of 85.8 / 95.4 / 98.3% (84.8 / 95.4 / 98.3%): the sentence ranking overfits the train
prompts, and early stopping keeps epoch 2.
Nor does a fifth target rate, 0.05, for the top of the ranking (with numbers forced, they take
about half a 0.1 budget, so the words the scores choose there are about the top 5%): one member
(seed 0) on ``minilm-cnn-1.4``'s labels kept 69.0 / 93.1 / 98.0% of held-out NQ answers at rates
0.1 / 0.2 / 0.33 with numbers forced and 86.7 / 96.3 / 98.6% without, against 69.6 / 93.5 /
98.6% and 87.5 / 96.5 / 99.0% for the same member with the four rates (10 arrangements pooled).
Nor does more dropout in this recipe, whose validation loss turns after 3 to 4 epochs: seed 0 with
dropout 0.25 (0.4) in place of 0.1 gave F1 0.793 (0.789) and 87.1 / 97.0 / 98.7% (87.4 / 96.4 /
99.3%), inside the seeds' spread.

``--line-breaks`` (the default) gives the student where the prompt's lines break: a ``[SEP]``
before each word that starts a line, two after a blank line, which counts as one of that word's
tokens for the windows and the targets (``windows``); the device does the same when the bundle's
manifest has ``line_break_id``. Labels files record line breaks since they do (``"line_breaks":
true`` in their header); older ones need ``--no-line-breaks``. Measured on one 48-channel student
(seed 0) trained on NQ in three layouts (``make_model``): held-out NQ answers kept at rate 0.1
went from 85.1 to 87.1% in the usual layout, 79.8 to 86.1% with title lines and 73.2 to 75.2% as
plain paragraphs, numbers not forced. The bundle (``minilm-cnn-1.4``) is trained this way; what it
gained and lost against ``minilm-cnn-1.3``, which did not read line breaks, is in ``make_model``.

``--members`` (3 for the bundle) trains that many students this way, one after the other with
seeds ``--seed``, ``--seed + 1``, ..., and merges them into one model that averages their scores
over the one embedding (``student.merge_members``); the bundle's measurements are in ``student``.

The labels files are read in the order of their names, whatever order they are given in.

Writes the model (``--output``, a ``.keras`` file) with its training summary inside (the teacher,
the architecture, the input format, a summary of the training data, the epochs run and the
agreement with the teacher), which ``splitinfer convert`` copies into the bundle's manifest, and
the same summary next to it as ``<output>.json``, with the sha256 of the model file it belongs to
(``_summary``). Deterministic for a seed: the same weights, and the same bundle once converted
(the ``.keras`` file's own Keras metadata holds the time it was saved).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from splitinfer.converters._paths import atomic_text
from splitinfer.converters._progress import is_terminal
from splitinfer.sdk._bundle import atomic_path
from splitinfer.sdk._errors import InvalidInputError, SplitinferError

# Largest seed (NumPy's legacy seeding, which Keras uses, takes 0 to 2**32 - 1); a member's is
# --seed + its index.
MAX_SEED = 2**32 - 1

# What a student that reads line breaks (--line-breaks) reads before a word that starts a line:
# [SEP], whose frozen embedding (MiniLM's) no word of a text shares, since the tokenizer never
# makes special tokens of text.
LINE_BREAK_ID = 102

# Early-stopping data as Keras takes it: ({"context_ids": ..., "question_ids": ...}, targets).
Validation = tuple[dict[str, np.ndarray], np.ndarray]


@dataclass
class TrainOptions:
    labels: list[Path]
    output: Path
    epochs: int = 14
    seed: int = 0
    batch_size: int = 32
    learning_rate: float = 2e-3
    max_seq_len: int = 512
    max_question_len: int = 64
    validation_fraction: float = 0.1
    rate: float = 0.33
    embed_dim: int = 64
    channels: int = 48
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 1)
    pool_sizes: tuple[int, ...] = (9, 33, 97)
    layer_norm: bool = True
    dropout: float = 0.1
    sharpness: float = 0.08
    target_rates: tuple[float, ...] = (0.1, 0.2, 0.33, 0.5)
    shifted_windows: bool = True
    attention_heads: int = 0
    members: int = 3
    embed_init: str = "minilm"
    train_embeddings: bool = False
    line_breaks: bool = True
    model_version: str | None = None
    verbose: int = 1


TRAIN_DESCRIPTION = """\
Fit the student to a teacher's word scores (labels files of 'splitinfer distill label').

Only prompts of the corpus train split are trained on; held-out prompts are never seen, and the
closing keep/drop F1 against the teacher is measured on them. A --validation-fraction of the train
prompts stops training at the best epoch. A word's target is its rank within its prompt, sharpened
at each of --target-rates. Writes the model (--output, a .keras file) with its training summary
inside, which 'splitinfer convert' copies into the bundle's manifest, and the same next to it as
<output>.json; a failed or interrupted run (Ctrl-C or SIGTERM: exit 130) leaves no half-written
file. Deterministic for a --seed (the same weights and, converted, the same bundle bytes). The
defaults are the bundled condenser's, but for --epochs: `make model` passes 12 (early stopping
ended its members after 5 or 6); the measurements behind them are in the module docs of
splitinfer.converters.train and splitinfer.converters.student.

example:
  splitinfer distill train --labels labels/*.jsonl --output student.keras
"""


def register_train(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train`` to the ``splitinfer distill`` subcommands (defaults: the bundled model's)."""
    from splitinfer.cli._help import RawDefaultsHelp, exit_codes, seed

    d = TrainOptions(labels=[], output=Path())
    parser = subparsers.add_parser(
        "train",
        help="Train the student on teacher labels (needs the [convert] extra).",
        description=TRAIN_DESCRIPTION,
        epilog=exit_codes(
            ok="the student and its summary are written",
            failed="training failed (the loss became NaN or infinite); nothing is written",
            sigterm=True,
        ),
        formatter_class=RawDefaultsHelp,
    )
    add = parser.add_argument
    add(
        "--labels",
        type=Path,
        nargs="+",
        required=True,
        metavar="LABELS.jsonl",
        help="labels files of 'splitinfer distill label', each once",
    )
    add("--output", "-o", type=Path, required=True, help="the student, e.g. student.keras")
    add("--epochs", type=int, default=d.epochs, help="at most this many passes")
    add("--seed", type=seed, default=d.seed, help="seeds weights, shuffling and dropout")
    add("--batch-size", type=int, default=d.batch_size, help="windows per step")
    add("--learning-rate", type=float, default=d.learning_rate, help="Adam's step size")
    add("--max-seq-len", type=int, default=d.max_seq_len, help="window length in tokens")
    add("--max-question-len", type=int, default=d.max_question_len, help="question tokens the model sees")
    add(
        "--validation-fraction",
        type=float,
        default=d.validation_fraction,
        help="share of the train prompts held back to stop at the best epoch",
    )
    add(
        "--rate",
        type=float,
        default=d.rate,
        help="the bundle's keep rate: targets sharpen and F1 is measured there",
    )
    add(
        "--sharpness",
        type=float,
        default=d.sharpness,
        help=f"width of the target's step at each target rate (0: plain ranks; default {d.sharpness:g})",
    )
    add(
        "--target-rates",
        default=",".join(f"{r:g}" for r in d.target_rates),
        help="comma-separated rates to sharpen the targets at, averaged; '' for --rate alone "
        f"(default {','.join(f'{r:g}' for r in d.target_rates)})",
    )
    add(
        "--shifted-windows",
        action=argparse.BooleanOptionalAction,
        default=d.shifted_windows,
        help="also train on windows cut half a window later, so each token is seen in two contexts "
        "(default: yes)",
    )
    add("--embed-dim", type=int, default=d.embed_dim, help="token embedding size")
    add("--channels", type=int, default=d.channels, help="convolution channels")
    add("--dilations", default=",".join(map(str, d.dilations)), help="comma-separated conv dilations")
    add("--pool-sizes", default=",".join(map(str, d.pool_sizes)), help="comma-separated region pooling sizes")
    add("--dropout", type=float, default=d.dropout, help="dropout after each convolution while training")
    add(
        "--attention-heads",
        type=int,
        default=d.attention_heads,
        help="add a self-attention block over the window with this many heads (default 0: none)",
    )
    add(
        "--members",
        type=int,
        default=d.members,
        help="train this many students, with seeds --seed, --seed + 1, ..., and average their scores "
        "in one model over one embedding (each member costs about one student's latency)",
    )
    add("--no-layer-norm", action="store_true", help="no layer normalisation in the conv stack")
    add(
        "--embed-init",
        choices=("minilm", "random"),
        default=d.embed_init,
        help="start the embedding from MiniLM's (PCA) or at random (default minilm)",
    )
    add("--train-embeddings", action="store_true", help="fine-tune the embedding (default: frozen)")
    add(
        "--line-breaks",
        action=argparse.BooleanOptionalAction,
        default=d.line_breaks,
        help=f"the student reads a [SEP] (id {LINE_BREAK_ID}) before each word that starts a line, twice after "
        "a blank line; the labels must record line breaks, as the files 'distill label' writes now do; "
        "older ones need --no-line-breaks (default: yes)",
    )
    add(
        "--model-version",
        default=None,
        help="recorded in the summary, e.g. minilm-cnn-1.1 (default: none; convert then names it student-<mode>)",
    )
    add(
        "--quiet", action="store_true", help="no progress (it goes to stderr; stdout carries the result line)"
    )
    add(
        "--overwrite",
        action="store_true",
        help="replace an existing --output and its summary (default: refuse, as distill label does)",
    )
    parser.set_defaults(func=run_train)


def run_train(args: argparse.Namespace) -> int:
    from splitinfer.converters._paths import names_too_long_as_bad_input, terminate_as_interrupt

    with terminate_as_interrupt(), names_too_long_as_bad_input():
        return _run_train(args)


def _run_train(args: argparse.Namespace) -> int:
    if args.output.exists() and not args.overwrite:
        # A model trained for most of an hour is not replaced by a rerun typed by mistake.
        raise InvalidInputError(
            f"--output {args.output} already exists; pass --overwrite to replace it (and its summary), "
            "or choose another name"
        )
    options = TrainOptions(
        labels=list(args.labels),
        output=args.output,
        epochs=args.epochs,
        seed=args.seed,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_seq_len=args.max_seq_len,
        max_question_len=args.max_question_len,
        validation_fraction=args.validation_fraction,
        rate=args.rate,
        sharpness=args.sharpness,
        target_rates=_number_list(args.target_rates, "--target-rates", float),
        shifted_windows=args.shifted_windows,
        embed_dim=args.embed_dim,
        channels=args.channels,
        dilations=_number_list(args.dilations, "--dilations"),
        pool_sizes=_number_list(args.pool_sizes, "--pool-sizes"),
        dropout=args.dropout,
        attention_heads=args.attention_heads,
        members=args.members,
        layer_norm=not args.no_layer_norm,
        embed_init=args.embed_init,
        train_embeddings=args.train_embeddings,
        line_breaks=args.line_breaks,
        model_version=args.model_version,
        verbose=0 if args.quiet else (1 if is_terminal(sys.stderr) else 2),
    )
    summary = train(options)
    agree, where = summary.get("heldout_agreement"), "held-out"
    if not agree:
        agree, where = summary.get("validation_agreement"), "validation"
    measured = (
        f"keep/drop F1 vs teacher {agree['f1']:.3f} on {agree['prompts']} {where} prompts"
        if agree
        else "no held-out or validation prompts to measure F1 on"
    )
    epochs = summary["epochs_run"]
    print(
        f"wrote {options.output} ({epochs} epoch{'s' * (epochs != 1)}, {summary['seconds']:.0f} s; {measured})"
    )
    return 0


def _number_list(text: str, flag: str, kind: type = int) -> tuple[Any, ...]:
    """``"1,2, 4"`` -> ``(1, 2, 4)`` of ``kind``; a clear error naming ``flag`` otherwise."""
    try:
        return tuple(kind(d) for d in str(text).split(",") if d.strip())
    except ValueError:
        what = "integers" if kind is int else "numbers"
        raise InvalidInputError(f"{flag} must be comma-separated {what}, got {text!r}") from None


def check_options(options: TrainOptions) -> None:
    if not options.labels:
        raise InvalidInputError("--labels: give at least one labels file from 'splitinfer distill label'")
    for name, value in {
        "--epochs": options.epochs,
        "--batch-size": options.batch_size,
        "--max-seq-len": options.max_seq_len,
        "--max-question-len": options.max_question_len,
        "--embed-dim": options.embed_dim,
        "--channels": options.channels,
        "--members": options.members,
    }.items():
        if value < 1:
            raise InvalidInputError(f"{name} must be >= 1, got {value}")
    if not 0.0 <= options.dropout < 1.0:
        raise InvalidInputError(f"--dropout must be in [0, 1), got {options.dropout}")
    if not 0 <= options.sharpness < math.inf:  # NaN fails both comparisons
        raise InvalidInputError(f"--sharpness must be a finite number >= 0, got {options.sharpness}")
    if isinstance(options.seed, bool) or not isinstance(options.seed, int) or options.seed < 0:
        raise InvalidInputError(f"--seed must be a whole number >= 0, got {options.seed!r}")
    if options.seed + options.members - 1 > MAX_SEED:
        raise InvalidInputError(
            f"--seed {options.seed} with --members {options.members} seeds members up to "
            f"{options.seed + options.members - 1}; seeds go up to {MAX_SEED}"
        )
    if not 0.0 < options.rate <= 1.0:
        raise InvalidInputError(f"--rate must be in (0, 1], got {options.rate}")
    if any(not 0.0 < r <= 1.0 for r in options.target_rates):
        raise InvalidInputError(f"--target-rates must be in (0, 1], got {options.target_rates}")
    if not 0.0 <= options.validation_fraction < 1.0:
        raise InvalidInputError(f"--validation-fraction must be in [0, 1), got {options.validation_fraction}")
    if not options.dilations or min(options.dilations) < 1:
        raise InvalidInputError(f"--dilations must be positive integers, got {options.dilations}")
    if options.pool_sizes and min(options.pool_sizes) < 1:
        raise InvalidInputError(f"--pool-sizes must be positive integers, got {options.pool_sizes}")
    if not options.learning_rate > 0:
        raise InvalidInputError(f"--learning-rate must be > 0, got {options.learning_rate}")
    if options.attention_heads < 0:
        raise InvalidInputError(f"--attention-heads must be >= 0 (0: none), got {options.attention_heads}")
    if options.members > 1 and (options.train_embeddings or options.embed_init != "minilm"):
        raise InvalidInputError(
            f"--members {options.members} share one frozen MiniLM embedding; for a trained or random "
            "embedding pass --members 1"
        )
    if options.members > 1 and options.attention_heads:
        raise InvalidInputError(
            f"--members {options.members} run as one graph without window attention; "
            "for --attention-heads pass --members 1"
        )
    check_output(options.output)
    check_not_a_labels_file(options)


def check_not_a_labels_file(options: TrainOptions) -> None:
    """``InvalidInputError`` when the model or its summary would be written over a labels file the
    run reads (labels that took hours to make), whatever --overwrite says."""
    labels = {Path(path).resolve() for path in options.labels}
    sidecar = options.output.with_name(options.output.name + ".json")
    if options.output.resolve() in labels:
        raise InvalidInputError(f"--output {options.output} is a --labels file; write the student elsewhere")
    if sidecar.resolve() in labels:
        raise InvalidInputError(
            f"--output {options.output}: its training summary {sidecar.name} would overwrite a --labels "
            "file; choose another --output"
        )


def check_output(output: Path) -> None:
    """``InvalidInputError`` before training when the model could not be saved at ``output``."""
    from splitinfer.converters._paths import check_writable

    check_writable("--output", output, "student.keras")
    if output.suffix != ".keras":
        raise InvalidInputError(f"--output {output}: end the name in .keras (e.g. student.keras)")
    summary = output.with_name(output.name + ".json")
    if summary.is_dir():
        # Found only after training otherwise, with the model already replaced and no summary.
        raise InvalidInputError(
            f"--output {output}: {summary}, where its training summary goes, is a folder; "
            "move it away or choose another --output"
        )


def rank_targets(scores: np.ndarray) -> np.ndarray:
    """Each score's rank in [0, 1] within its prompt (ties share the mean rank; one word: 1)."""
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) < 2:
        return np.ones(len(scores), dtype=np.float32)
    values, inverse = np.unique(scores, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(values))
    first = np.cumsum(counts) - counts
    mean_rank = first + (counts - 1) / 2.0
    return (mean_rank[inverse] / (len(scores) - 1)).astype(np.float32)


def is_validation(prompt_id: str, fraction: float) -> bool:
    """Whether a train prompt is held back for early stopping (a stable hash of its id; the
    rearranged and re-laid-out variants ``<id>~s<seed>`` and ``<id>~<layout>`` of a case go where
    the case goes, so none leaks)."""
    base = prompt_id.split("~", 1)[0]
    digest = int(hashlib.sha1(base.encode("utf-8")).hexdigest()[:8], 16)
    return digest / 0xFFFFFFFF < fraction


def split_prompts(prompts: list[Any], validation_fraction: float) -> tuple[list[Any], list[Any], list[Any]]:
    """``(fit, validation, heldout)``: only corpus-``train`` prompts are fitted or validated on."""
    train_split = [p for p in prompts if p.split == "train"]
    heldout = [p for p in prompts if p.split != "train"]
    val = [p for p in train_split if is_validation(p.id, validation_fraction)]
    fit = [p for p in train_split if not is_validation(p.id, validation_fraction)]
    return fit, val, heldout


def word_targets(
    scores: np.ndarray, rate: float, sharpness: float, rates: tuple[float, ...] = ()
) -> np.ndarray:
    """Training targets of a prompt's words: their rank (``rank_targets``), optionally pushed
    towards the keep/drop decision at ``rate`` (``sigmoid((rank - (1 - rate)) / sharpness)``,
    ``sharpness`` 0 = plain ranks): the default rate is where the student is judged. With
    ``rates``, the mean of the targets sharpened at each of them: a step at every decision
    point, so the order at the top (what survives rate 0.1) is learnt as well as the cut at the
    default rate."""
    ranks = rank_targets(scores)
    if sharpness <= 0:
        return ranks
    cuts = rates or (rate,)
    out = np.zeros(len(ranks), dtype=np.float64)
    for cut in cuts:
        out += 1.0 / (1.0 + np.exp(-(ranks - (1.0 - cut)) / sharpness))
    return (out / len(cuts)).astype(np.float32)


def shifted(prompt: Any, max_seq_len: int) -> tuple[Any, int] | None:
    """``(view, first word)``: the prompt from the first word at or after half a window, or None
    when the prompt fits one window. Its windows cut every token at another place than the
    device's, so each token is also learnt with the context it lacked at a window's edge."""
    starts = np.cumsum(prompt.model_counts) - prompt.model_counts
    if int(prompt.model_counts.sum()) <= max_seq_len:
        return None
    first = int(np.searchsorted(starts, max_seq_len // 2))
    if first >= len(prompt.words):
        return None
    view = replace(
        prompt,
        words=prompt.words[first:],
        teacher=prompt.teacher[first:],
        counts=prompt.counts[first:],
        model_counts=prompt.model_counts[first:],
        ids=prompt.ids[int(starts[first]) :],
    )
    return view, first


def build_examples(
    prompts: list[Any],
    max_seq_len: int,
    rate: float = 0.33,
    sharpness: float = 0.0,
    rates: tuple[float, ...] = (),
    shifted_windows: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(context_ids, question_ids, targets)`` of every window of ``prompts`` (targets -1 on
    padding); with ``shifted_windows`` also the windows of each prompt's ``shifted`` view."""
    from splitinfer.converters.windows import prompt_windows, token_targets

    contexts, questions, targets = [], [], []
    for prompt in prompts:
        target = word_targets(prompt.teacher, rate, sharpness, rates)
        views = [(prompt, 0)]
        if shifted_windows:
            extra = shifted(prompt, max_seq_len)
            views += [extra] if extra else []
        for view, first in views:
            windows, spans = prompt_windows(view, max_seq_len)
            if not spans:
                continue
            contexts.append(windows)
            questions.append(np.repeat(view.question_ids[None, :], len(spans), axis=0))
            targets.append(token_targets(view, spans, target[first:], max_seq_len))
    if not contexts:
        raise InvalidInputError("the labels hold no train-split prompt with any tokens to train on")
    return np.concatenate(contexts), np.concatenate(questions), np.concatenate(targets)


def masked_bce(y_true: Any, y_pred: Any) -> Any:
    """Binary cross-entropy over real tokens (targets >= 0), padding (-1) ignored."""
    from keras import ops

    mask = ops.cast(ops.greater_equal(y_true, 0.0), "float32")
    target = ops.clip(y_true, 0.0, 1.0)
    pred = ops.clip(y_pred, 1e-6, 1.0 - 1e-6)
    loss = -(target * ops.log(pred) + (1.0 - target) * ops.log(1.0 - pred))
    return ops.sum(loss * mask) / ops.maximum(ops.sum(mask), 1.0)


def data_summary(
    metas: list[dict[str, Any]],
    prompts: list[Any],
    train: list[Any],
    val: list[Any],
    heldout: list[Any],
    windows: int,
) -> dict[str, Any]:
    by_source: dict[str, int] = {}
    for prompt in train:
        by_source[prompt.source or "unknown"] = by_source.get(prompt.source or "unknown", 0) + 1
    tokens = int(sum(int(p.counts.sum()) for p in train))
    text = (
        f"{len(train)} train prompts ({', '.join(f'{k} {v}' for k, v in sorted(by_source.items()))}), "
        f"{windows} windows, {tokens} tokens; {len(val)} validation and {len(heldout)} held-out prompts not trained on"
    )
    return {
        "summary": text,
        "files": [
            {k: v for k, v in m.items() if k not in ("teacher", "teacher_settings", "settings")}
            for m in metas
        ],
        "train_prompts": len(train),
        "validation_prompts": len(val),
        "heldout_prompts": len(heldout),
        "train_prompts_by_source": by_source,
        "train_windows": windows,
        "train_tokens": tokens,
        "all_prompts": len(prompts),
    }


def teacher_of(metas: list[dict[str, Any]]) -> dict[str, Any]:
    """The teacher's name and settings from the labels files' ``_meta`` (all files must agree)."""
    from splitinfer.converters.labels import label_teacher, settings_differ

    names = [label_teacher(meta) for meta in metas]
    distinct = sorted({n for n, _ in names})
    if len(distinct) > 1:
        raise InvalidInputError(
            f"the labels files come from different teachers ({', '.join(distinct)}); train on one"
        )
    differ = sorted({k for _, s in names[1:] for k in settings_differ(names[0][1], s)})
    if differ:
        raise InvalidInputError(
            f"the labels files come from one teacher ({distinct[0]}) with different settings "
            f"({', '.join(differ)}); train on files labelled alike"
        )
    name, settings = names[0] if names else ("unknown", {})
    return {"name": name, "settings": settings}


def check_unique(prompts: list[Any]) -> None:
    """``InvalidInputError`` when a prompt id comes twice (a labels file given twice, or two
    slices that overlap): it would be trained on twice, or be both fitted and validated on."""
    seen: set[str] = set()
    for prompt in prompts:
        if prompt.id in seen:
            raise InvalidInputError(
                f"prompt {prompt.id!r} is in the labels more than once; give each labels file once"
            )
        seen.add(prompt.id)


def check_something_to_fit(fit: list[Any], val: list[Any], heldout: list[Any]) -> None:
    """``InvalidInputError`` naming the labels to add when no prompt is left to fit: only held-out
    prompts (the held-out half alone was given), or train prompts that all went to validation."""
    if fit:
        return
    if val:
        raise InvalidInputError(
            f"all {len(val)} train-split prompts of the labels went to validation, none is left to fit; "
            "label more prompts or lower --validation-fraction"
        )
    if heldout:
        raise InvalidInputError(
            f"all {len(heldout)} prompts of the labels are of the held-out split, which is never trained "
            "on; pass the labels of 'splitinfer distill label --split train' too"
        )


def check_teacher_signal(prompts: list[Any]) -> None:
    """``InvalidInputError`` when the teacher gave every word of every prompt to fit the same score
    (all 0: a teacher that kept nothing): ranks then hold no order, and the student would train to
    the end and learn nothing. A few such prompts among others are fine."""
    scored = [p.teacher for p in prompts if len(p.teacher)]
    if scored and all(np.ptp(t) == 0 for t in scored):
        raise InvalidInputError(
            f"the teacher gave every word of each of the {len(scored)} prompts to train on the same "
            "score, so there is nothing to learn; check the teacher and label the corpus again"
        )


def train(options: TrainOptions) -> dict[str, Any]:
    """Train, save the model and its summary; return the summary (see the module docstring)."""
    check_options(options)
    started = time.perf_counter()
    from splitinfer.converters.convert import import_tensorflow

    import_tensorflow()  # first, and quietly: its startup logs say nothing a user can act on
    from splitinfer.converters.windows import default_tokenizer, load_prompts

    tokenizer = default_tokenizer()
    line_break_id = LINE_BREAK_ID if options.line_breaks else None
    # Read in the order of the files' names, so that the order they are given in (a shell's glob,
    # make model's plan) does not change the student.
    ordered = sorted(options.labels, key=lambda path: (Path(path).name, str(path)))
    metas, prompts = load_prompts(ordered, tokenizer, options.max_question_len, line_break_id)
    teacher = teacher_of(metas)
    check_unique(prompts)
    fit, val, heldout = split_prompts(prompts, options.validation_fraction)
    check_something_to_fit(fit, val, heldout)
    check_teacher_signal(fit)
    x_ctx, x_q, y = build_examples(
        fit,
        options.max_seq_len,
        options.rate,
        options.sharpness,
        options.target_rates,
        options.shifted_windows,
    )
    model, history = _fit_members(options, x_ctx, x_q, y, _validation_examples(options, val))
    summary = {
        "model_version": options.model_version,
        "teacher": teacher,
        "data": data_summary(metas, prompts, fit, val, heldout, len(y)),
        "epochs": options.epochs,
        "seed": options.seed,
        "batch_size": options.batch_size,
        "learning_rate": options.learning_rate,
        "target": (
            f"rank of the teacher's word score within the prompt, sharpened at rate(s) "
            f"{', '.join(map(str, options.target_rates or (options.rate,)))} (sharpness {options.sharpness})"
        ),
        "shifted_windows": options.shifted_windows,
        "line_break_id": line_break_id,
        "loss": "masked binary cross-entropy",
        **history,
    }
    from splitinfer.converters.student import describe

    summary["architecture"] = describe(model, _config(options))
    summary["validation_agreement"] = _agreement(model, val, options)
    summary["heldout_agreement"] = _agreement(model, heldout, options)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    # The model and its summary are replaced whole or not at all: a failed save (a full disk, an
    # interrupt) leaves the previous pair, never a half-written .keras file. The summary goes into
    # the model file too (what convert reads first), and the one beside it names the model file it
    # belongs to (see _summary).
    from splitinfer.converters import _summary

    sidecar = options.output.with_name(options.output.name + ".json")
    with atomic_text(sidecar) as stream, atomic_path(options.output) as model_path:
        model.save(model_path)
        _summary.embed(Path(model_path), summary)
        beside = {**summary, "model_sha256": _summary.file_sha256(Path(model_path))}
        stream.write(json.dumps(beside, indent=2, sort_keys=True) + "\n")
    return summary


def _config(options: TrainOptions) -> Any:
    from splitinfer.converters.student import StudentConfig

    return StudentConfig(
        max_seq_len=options.max_seq_len,
        max_question_len=options.max_question_len,
        embed_dim=options.embed_dim,
        channels=options.channels,
        dilations=options.dilations,
        pool_sizes=options.pool_sizes,
        layer_norm=options.layer_norm,
        dropout=options.dropout,
        attention_heads=options.attention_heads,
        members=options.members,
        embed_init=options.embed_init,
        train_embeddings=options.train_embeddings,
    )


def _validation_examples(options: TrainOptions, val: list[Any]) -> Validation | None:
    """``(inputs, targets)`` of the validation prompts' windows for early stopping; None when
    there are none. Made once and shared by every member."""
    if not val:
        return None
    v_ctx, v_q, v_y = build_examples(
        val, options.max_seq_len, options.rate, options.sharpness, options.target_rates
    )
    return {"context_ids": v_ctx, "question_ids": v_q}, v_y


def _fit_members(
    options: TrainOptions, x_ctx: np.ndarray, x_q: np.ndarray, y: np.ndarray, validation: Validation | None
) -> tuple[Any, dict[str, Any]]:
    """The trained student and its training history. With ``members`` > 1, each member is a
    student of its own trained alone with seed ``seed + k``, then all are merged into one model."""
    if options.members == 1:
        return _fit(options, x_ctx, x_q, y, validation)
    from splitinfer.converters.student import merge_members

    models, histories = [], []
    for k in range(options.members):
        if options.verbose:
            print(
                f"member {k + 1} of {options.members} (seed {options.seed + k})", file=sys.stderr, flush=True
            )
        model, history = _fit(replace(options, seed=options.seed + k, members=1), x_ctx, x_q, y, validation)
        models.append(model)
        histories.append({"seed": options.seed + k, **history})
    merged = merge_members(models, _config(replace(options, members=1)))
    return merged, {"epochs_run": max(h["epochs_run"] for h in histories), "members": histories}


def _fit(
    options: TrainOptions, x_ctx: np.ndarray, x_q: np.ndarray, y: np.ndarray, validation: Validation | None
) -> tuple[Any, dict[str, Any]]:
    from splitinfer.converters.convert import import_tensorflow

    tf = import_tensorflow()
    import keras

    from splitinfer.converters.student import build_student

    keras.utils.set_random_seed(options.seed)
    tf.config.experimental.enable_op_determinism()
    model = build_student(_config(options))
    optimizer = keras.optimizers.Adam(options.learning_rate, clipnorm=1.0)
    model.compile(optimizer=optimizer, loss=masked_bce, jit_compile=False)
    inputs = {"context_ids": x_ctx, "question_ids": x_q}
    diverged = _stop_on_non_finite_loss()
    callbacks: list[Any] = [diverged]
    if validation is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
        )
    # Keras prints its progress on stdout; stdout carries only the command's result line.
    with contextlib.redirect_stdout(sys.stderr):
        result = model.fit(
            inputs,
            y,
            batch_size=options.batch_size,
            epochs=options.epochs,
            shuffle=True,
            validation_data=validation,
            callbacks=callbacks,
            verbose=options.verbose,
        )
    if diverged.where is not None:
        raise SplitinferError(
            f"training diverged: the loss became {diverged.value} at {diverged.where} (seed "
            f"{options.seed}); nothing was saved. Lower --learning-rate (now {options.learning_rate:g}) "
            "or check the labels files"
        )
    losses = [round(float(v), 6) for v in result.history["loss"]]
    history: dict[str, Any] = {"epochs_run": len(losses), "train_loss": losses}
    if validation is not None:
        val_losses = [round(float(v), 6) for v in result.history["val_loss"]]
        history.update(val_loss=val_losses, best_epoch=int(np.argmin(val_losses)) + 1)
    return model, history


def _stop_on_non_finite_loss() -> Any:
    """A Keras callback that stops training at the first batch whose loss is NaN or infinite and
    remembers where (``where``, ``value``); ``_fit`` then fails the run instead of saving a model
    that scores everything NaN."""
    import keras

    class StopOnNonFiniteLoss(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.where: str | None = None
            self.value: float | None = None
            self.epoch = 0

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.epoch = epoch + 1

        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            loss = (logs or {}).get("loss")
            if loss is not None and self.where is None and not math.isfinite(float(loss)):
                self.where, self.value = f"epoch {self.epoch}, batch {batch + 1}", float(loss)
                self.model.stop_training = True

    return StopOnNonFiniteLoss()


def _agreement(model: Any, prompts: list[Any], options: TrainOptions) -> dict[str, Any] | None:
    """Keep/drop F1 of the Keras student against the teacher on ``prompts`` (None when empty)."""
    if not prompts:
        return None
    from splitinfer.converters.agreement import teacher_agreement
    from splitinfer.converters.windows import score_prompts

    def scorer(c: np.ndarray, q: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict({"context_ids": c, "question_ids": q}, batch_size=64, verbose=0))

    return teacher_agreement(prompts, score_prompts(prompts, scorer, options.max_seq_len), options.rate)
