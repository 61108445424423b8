"""Rebuild the bundled default condenser end to end: label, train, convert (``make model``).

    python -m splitinfer.converters.make_model --data ../shared/data

1. **label** (``splitinfer distill label``, the ``minilm`` teacher): the train split of NQ with hard
   distractors (as evaluated, and ``--nq-arrangements`` more times with the same ten documents in
   a seeded order, so each passage is also learnt at other places in the model's windows), the
   first ``--nq-layout-cases`` (451, a third) of those cases written in each of ``--nq-layouts``
   (titles on lines of their own, untitled paragraphs), GSM8K few-shot prompts and synthetic long
   prompts (planted-fact essays, UUID key-value lookups), plus held-out slices of each that are
   never trained on. Labels go to ``--work`` and are resumed, so an interrupted run continues
   where it stopped and a rerun relabels nothing. ``--labels-dir`` uses labels made elsewhere
   instead. ``--jobs 2`` (what ``make model`` passes) labels two slices at a time, each in a
   process of its own: 80 NQ prompts in two slices took 39.6 s instead of 73.4 s here (2 cores),
   with the same bytes in every file.
2. **train** (``splitinfer distill train``, its defaults: three members of 48 channels, seeds
   0, 1 and 2, their scores averaged, reading where lines break) on the train-split labels.
3. **convert** (``splitinfer convert``, mode ``dynamic``: the fastest mode that passes every
   gate for this student, see the model card) with the held-out labels as parity data and as the
   teacher-agreement set, to ``sdk/assets/condenser.tflite`` unless ``--output`` says otherwise.
   The bundle gets the converter's default selection rules (sentence 0.6, document 0.2, the
   words of a name taken together, names or numbers lifted by 0.1 for questions asking for
   them, each document's title lifted to its text's best score). ``minilm-cnn-1.5`` is ``minilm-cnn-1.4``'s trained student, converted again with name
   spans on (``--student build/model/student.keras``), ``minilm-cnn-1.6`` the same again with
   answer types on, and ``minilm-cnn-1.7`` 1.6's bundle with titles lifted (``convert
   --title-lift``, see ``sdk._selection``), its manifest's selection and its card rewritten: the
   same model bytes.

One arrangement is the default because a second one did not pay: labelling seed 2 as well
(1,353 more prompts) gave held-out F1 0.800 instead of 0.795 and kept 88.4 / 97.0% of held-out
NQ answers at rates 0.1 / 0.2 against 89.1 / 97.0% (minilm-cnn-1.2). Nor did other negatives: the
1,353 NQ train cases labelled once more with BM25's 10th to 18th passages as distractors (easier
ones, but new) gave, over training seeds 0 / 1 / 2, held-out F1 0.793 / 0.801 / 0.802 and
89.4 / 87.4 / 86.1% of NQ answers kept at rate 0.1 (97.0% at 0.2 on average), against
0.795 / 0.794 / 0.800 and 89.1 / 86.4 / 86.8% (96.8%) without them: inside the seeds' spread.

**More questions, not more prompts of the same questions.** One 48-channel student trained on a
quarter, a half and all of the 1,353 NQ train questions (usual layout, one arrangement each), with
seeds 0 and 1, measured on the 302 held-out NQ cases (keep/drop F1 at rate 0.33; answers kept at
rates 0.1 / 0.2 as the device chooses words, numbers forced, then not; seed 0, then seed 1, and
for F1 their mean):

=========  ===================  ==========================  ==========================
questions  F1                   forced, rate 0.1 / 0.2      not forced
=========  ===================  ==========================  ==========================
338        0.612, 0.678: 0.645  71.9 / 88.1%, 71.5 / 92.4%  83.4 / 91.4%, 85.4 / 94.4%
677        0.715, 0.708: 0.712  73.2 / 93.0%, 73.2 / 93.7%  87.1 / 95.4%, 89.4 / 94.4%
1,353      0.743, 0.731: 0.737  77.5 / 95.7%, 76.5 / 94.7%  91.7 / 96.4%, 91.1 / 96.0%
=========  ===================  ==========================  ==========================

The F1 flattens (means +0.067, then +0.025 a doubling), but the answers kept at rate 0.1 still
grow: without forced numbers 84.4, 88.3, 91.4% (+3.9, then +3.1 points a doubling), with them
71.7, 73.2, 77.0%. Arrangements, layouts and other distractors add prompts of the same questions
and did not move them; new questions did. The shared NQ file holds 1,655.

New questions written from the passages did not stand in for them. For 1,110 of the 1,353 train
records, a script took a sentence of the record's own passage holding a year, a number or a
capitalised name (the answer), and wrote a question of the words before it ("when penned by marco
amadeus mozart in symphony", answer 1788): the wh-word by the answer's kind, sometimes two title
words, a quarter of the other words swapped for a MiniLM neighbour of theirs. Each got the
passage and its nine BM25 distractors, labelled by the teacher (about 10 min on 2 cores). The same
student (seed 0) trained on them with the 1,353 NQ cases: F1 0.745 (0.743 without them); held-out
NQ answers kept at rates 0.1 / 0.2, as the device chooses words, 75.8 / 95.4% with numbers forced
(77.5 / 95.7%) and 90.7 / 97.4% without (91.7 / 96.4%): inside the spread of two seeds. What the
student lacks is MiniLM's reading of real questions, and questions cut from the answer's own
sentence share its words, which it already follows.

Nor did real questions reworded. 1,292 of the NQ train questions with their content words swapped
for a neighbour in MiniLM's word embeddings (seven in ten of the words the gold passage also
holds, three in ten of the others: "who wrote the first declaration of human rights" became "who
wrote the first proclamation of animal freedom"), each with its own ten documents, labelled by the
teacher (10 min on 2 cores) and added to the 1,353 NQ cases: the same student (seed 0) agreed at
F1 0.746 (0.743 without) and kept 78.1 / 94.4% of the held-out answers with numbers forced (77.5 /
95.7%) and 90.1 / 97.0% without (91.7 / 96.4%): inside the seeds' spread again. Swapped words
break the question's overlap with its answer, but a neighbour in a static embedding is as often a
word of another meaning ("south" and "north"), so what the teacher then ranks first is not
reliably what the question asked: the student cannot learn MiniLM's reading of questions from them.

**Other layouts, and line breaks** (``minilm-cnn-1.4``). Retrieval pipelines also write each
title on a line of its own above its text, or send untitled paragraphs (``splitinfer eval
--layout``). A student that does not read line breaks cannot tell a title line from the sentence
under it, which is what the teacher's sentence rules go by, so ``splitinfer distill train
--line-breaks`` (its default) gives it where lines break. Measured with one 48-channel student
(seed 0) trained on the 1,353 NQ train cases alone, in the usual layout only (A), in all three
layouts (B), and in all three reading line breaks (C). Held-out NQ answers kept at rates 0.1 /
0.2 / 0.33, numbers not forced:

- usual layout: A 87.1 / 95.7 / 98.7%, B 85.1 / 95.0 / 97.7%, C 87.1 / 96.4 / 98.3%;
- title lines: A 77.2 / 91.1 / 97.7%, B 79.8 / 91.4 / 96.7%, C 86.1 / 94.7 / 98.0%;
- plain paragraphs: A 68.2 / 82.8 / 93.4%, B 73.2 / 86.8 / 93.7%, C 75.2 / 88.1 / 94.7%.

(Keep/drop F1 against the teacher on the 411 validation prompts: B 0.701, C 0.725. The teacher
keeps 97.3 / 99.3 / 100% with title lines and 82.7 / 94.7 / 96.7% on plain paragraphs, on 150 of
those cases.) Then the whole recipe, three members, reading line breaks, with all 1,353 cases in
each extra layout (5,313 train prompts, 48 min of training here) and with the first 451 in each
(3,699 prompts, 40 min; the default), against ``minilm-cnn-1.3``, which read no line breaks and saw
the usual layout only. All 302 held-out cases, each in several arrangements of its ten documents
(``splitinfer eval --arrangements``: 10 for the usual layout, 5 for the others), the student only,
answers kept at rates 0.1 / 0.2 / 0.33:

| layout, numbers | 1.3 | all cases | first 451 (1.4) |
|---|---|---|---|
| usual, forced | 71.6 / 94.1 / 98.6% | 71.1 / 94.4 / 98.5% | 72.0 / 94.3 / 98.8% |
| usual, not forced | 89.3 / 97.1 / 98.9% | 87.5 / 96.6 / 98.7% | 87.6 / 96.9 / 99.1% |
| title lines, forced | 63.7 / 89.5 / 97.2% | 66.4 / 92.8 / 98.1% | 66.7 / 92.2 / 98.3% |
| title lines, not forced | 82.1 / 92.3 / 97.7% | 86.6 / 96.2 / 98.4% | 85.4 / 95.4 / 98.7% |
| plain, forced | 57.5 / 82.3 / 93.1% | 59.4 / 85.7 / 95.0% | 60.3 / 85.1 / 94.0% |
| plain, not forced | 72.8 / 86.8 / 93.4% | 79.1 / 88.6 / 94.5% | 77.2 / 88.2 / 94.3% |

With numbers forced (the SDK's default) 1.4 keeps at least as many answers as 1.3 at every rate
in every layout, and 2 to 3 more with title lines or plain paragraphs at rates 0.1 and 0.2. It
keeps 1.7 points fewer at rate 0.1 in the usual layout with numbers not forced; both new recipes
do, so it comes with reading line breaks or with the other layouts, not with how many cases they
have. All cases in the extra layouts gain a little more there (up to 2 points without forced
numbers) and lose 0.9 points at rate 0.1 in the usual layout with numbers forced. On the usual
arrangement alone (``make eval``'s nq-hard runs) the three bundles' figures move by a point or two
either way from these: a single arrangement cannot tell them apart.

**Swapped questions** (``--nq-swapped-cases``). Every distractor of an NQ context is another
record's gold passage, so the same ten documents can ask that record's question instead
(``splitinfer distill label --questions swapped``; ``corpus``). Read one by one, the first 8
held-out answers lost at rate 0.1 were all passed over for sentences that share the question's
topic or words and do not answer it: the student keeps what the documents are about more than
what the question asks. Asking other questions of the same documents teaches the difference. With the 1,353 NQ train contexts labelled
once more this way (train questions only), one 48-channel member (seed 0) kept, over the
held-out arrangements (10 for the usual layout, 5 for the others), answers at rates 0.1 / 0.2
with numbers forced and not forced:

| layout | without | with swapped questions |
|---|---|---|
| usual | 75.9 / 95.4%, 90.4 / 97.3% | 78.8 / 95.8%, 91.6 / 97.4% |
| title lines | 73.1 / 93.8%, 89.2 / 96.6% | 75.0 / 95.2%, 90.3 / 96.4% |
| plain paragraphs | 65.4 / 86.8%, 79.9 / 89.9% | 68.6 / 88.3%, 81.7 / 90.5% |

Held-out F1 against the teacher stayed where it was (0.787 against 0.788). The whole recipe
with them (three members, ``--nq-swapped-cases 0``: 4,915 train prompts, 58 min of training
here) against ``minilm-cnn-1.6``, same arrangements:

| layout | 1.6 | with swapped questions |
|---|---|---|
| usual | 78.4 / 96.1%, 90.9 / 97.8% | 78.6 / 96.0%, 91.4 / 98.1% |
| title lines | 73.6 / 94.9%, 89.5 / 97.1% | 75.4 / 95.0%, 90.0 / 97.2% |
| plain paragraphs | 67.3 / 89.2%, 82.0 / 92.1% | 68.5 / 89.1%, 82.6 / 92.2% |

and held-out F1 0.793 against 0.795. Averaging three members had already taken most of what one
member gained: 0.2 to 1.7 points more at rate 0.1, within 0.3 of 1.6 at rate 0.2. On the usual
single arrangement (``make eval``'s runs, the student only) it moved a point either way: 78.5 /
96.7% with numbers forced against 79.1 / 96.7% (3.6 points behind the teacher at rate 0.1, not
3.0), 91.7 / 99.0% without against 90.7 / 98.0%, plain paragraphs 68.5 / 88.4% against 67.5 /
89.4%; the extractive answerer over 3 arrangements 94.5% and 97.4% of its full-context accuracy
against 94.9% and 97.4%. A small pooled gain that trades one single-run target for another, so
it is not the bundle's recipe (the flag's default is none). Nor did seeing both questions at
once: the same member trained on the same labels with each context's own and swapped windows in
one batch, and a loss on the difference of their scores added to the cross-entropy (the squared
error of own minus swapped against the targets' difference, weight 1), kept 76.6 / 95.4%,
91.3 / 97.0% (usual), 71.3 / 94.1%, 88.0 / 96.0% (title lines) and 64.6 / 87.8%, 80.6 / 90.5%
(plain) with F1 0.789: below that member without the extra loss (the first table's right
column) in every layout at rate 0.1, and with numbers forced no better than without swapped
questions at all.

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

from splitinfer.converters._progress import is_terminal
from splitinfer.sdk._errors import InvalidInputError, SplitinferError

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO / "sdk" / "assets" / "condenser.tflite"
DEFAULT_CARD = REPO / "docs" / "model_card.md"
MODEL_VERSION = "minilm-cnn-1.7"
# NQ train cases labelled in each extra layout: a third of the 1,353, so the usual layout keeps
# most of the NQ prompts (see the module docs).
NQ_LAYOUT_CASES = 451


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
    questions: str = "own"  # nq only: corpus.NQ_QUESTIONS

    def file_name(self) -> str:
        return f"{self.name}.minilm.jsonl"


def slices(args: argparse.Namespace) -> list[Slice]:
    nq, gsm8k = "nq-open-train.jsonl.gz", "gsm8k-train.jsonl.gz"
    arranged = [
        Slice(f"nq-train-hard-s{k}", "nq", nq, "train", args.nq_limit, seed=k)
        for k in range(1, args.nq_arrangements + 1)
    ]
    suffix, layout_limit = _first_cases(args.nq_limit, args.nq_layout_cases)
    layouts = [
        Slice(f"nq-train-hard-{layout}{suffix}", "nq", nq, "train", layout_limit, layout=layout)
        for layout in args.nq_layouts
    ]
    swapped = []
    if args.nq_swapped_cases is not None:
        suffix, limit = _first_cases(args.nq_limit, args.nq_swapped_cases)
        swapped.append(Slice(f"nq-train-hard-swapped{suffix}", "nq", nq, "train", limit, questions="swapped"))
    return [
        Slice("nq-train-hard", "nq", nq, "train", args.nq_limit),
        *arranged,
        *layouts,
        *swapped,
        Slice("gsm8k-train", "gsm8k", gsm8k, "train", args.gsm8k_limit),
        Slice("synthetic-train", "synthetic", nq, "train", args.synthetic_limit),
        Slice("nq-heldout-hard", "nq", nq, "heldout", args.heldout_limit),
        Slice("gsm8k-heldout", "gsm8k", gsm8k, "heldout", max(1, args.heldout_limit // 2)),
        # Synthetic cases are made first and split after: 5x the limit yields about the limit.
        Slice("synthetic-heldout", "synthetic", nq, "heldout", 5 * max(1, args.heldout_limit // 2)),
    ]


def _first_cases(nq_limit: int | None, cases: int) -> tuple[str, int | None]:
    """A slice of the first ``cases`` NQ train cases (0: all of them): the suffix of its file
    name (its number of cases, so resuming a file of all the cases does not train on them) and
    its limit (never past ``--nq-limit``)."""
    return ("" if cases == 0 else f"-{cases}"), _smaller(nq_limit, cases or None)


def _smaller(a: int | None, b: int | None) -> int | None:
    """The smaller of two limits, ``None`` standing for no limit."""
    return b if a is None else a if b is None else min(a, b)


def label(item: Slice, data_dir: Path, out_dir: Path, seed: int, quiet: bool = False) -> Path:
    """Run ``splitinfer distill label`` for one slice (resumable); the labels file's path.
    ``quiet``: no progress bar of its own (when slices run side by side, ``label_all`` draws one)."""
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
        argv += ["--distractors", "hard", "--layout", item.layout, "--questions", item.questions]
    if item.limit is not None:
        argv += ["--limit", str(item.limit)]
    if quiet:
        argv.append("--quiet")
    print(f"[label] {item.name}", flush=True)
    code = splitinfer(argv)
    if code == 2:
        raise InvalidInputError(
            f"labelling {item.name} failed (exit 2, the error above says why); labels in --work are "
            "resumed, so a run with smaller limits or other settings than they were made with needs another --work"
        )
    if code != 0:
        raise SplitinferError(f"labelling {item.name} failed (exit {code})")
    return output


def label_all(items: list[Slice], data_dir: Path, out_dir: Path, seed: int, jobs: int = 1) -> list[Path]:
    """Label every slice, ``jobs`` at a time, each in a process of its own (the teacher runs on
    one thread); the labels files in the order of ``items``. Side by side, the slices draw no bars
    of their own: one bar counts the cases written to all their files. The first failure stops
    the slices not yet started (those under way finish, and are resumed by the next run) and is
    raised."""
    if jobs <= 1 or len(items) <= 1:
        return [label(item, data_dir, out_dir, seed) for item in items]
    from splitinfer.converters._parallel import run_side_by_side
    from splitinfer.converters._progress import progress

    paths = [out_dir / item.file_name() for item in items]
    with progress(unit="case", desc=f"label minilm, {jobs} at a time") as bar:

        def tick() -> None:
            total, written = _progress(paths)
            bar.total = total
            bar.update(written - bar.n)  # drawn as often as the bar's place allows

        run_side_by_side(
            label,
            [(item, data_dir, out_dir, seed, True) for item in items],
            jobs,
            "make model: a slice failed; the slices under way finish first",
            tick,
        )
    return paths


def _progress(paths: list[Path]) -> tuple[int | None, int]:
    """Cases set out to label and cases written, over the labels files started so far (a file's
    header holds its count, each case is one line after it); total ``None`` before any began."""
    total, written = 0, 0
    for path in paths:
        try:
            with open(path, "rb") as handle:
                header = handle.readline()
                count = int(json.loads(header)["_meta"]["count"])
                # Whole lines only: a last one without its newline is still being written.
                lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not begun, or its first line is being written
        total += count
        written += lines
    return (total or None), written


def _whole_number(text: str, least: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
    return value


def _cases(text: str) -> int:
    return _whole_number(text, 0, "a whole number of cases (0: all)")


def _jobs(text: str) -> int:
    return _whole_number(text, 1, "a whole number of processes, at least 1")


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
    parser.add_argument(
        "--card",
        type=Path,
        default=None,
        help="where to write the model card (default: docs/model_card.md for the bundled condenser; "
        "for another --output, beside it as <name>.model_card.md, so a candidate never rewrites the "
        "card of the bundle that ships)",
    )
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
        default=("titles", "plain"),
        help="also label NQ train cases written in these layouts, comma-separated: titles "
        "(title lines), plain (untitled paragraphs); see splitinfer eval --layout (default "
        "titles,plain; '' for none)",
    )
    parser.add_argument(
        "--nq-layout-cases",
        type=_cases,
        default=NQ_LAYOUT_CASES,
        metavar="N",
        help=f"how many NQ train cases (the first N) each of --nq-layouts labels; 0 for all of them "
        f"(default {NQ_LAYOUT_CASES}, a third: the usual layout keeps most of the NQ prompts)",
    )
    parser.add_argument(
        "--nq-swapped-cases",
        type=_cases,
        default=None,
        metavar="N",
        help="also label the first N NQ train contexts (0: all) asking the question of one of "
        "their distractors instead of their own (splitinfer distill label --questions swapped), "
        "so the student learns that the same documents call for other words when the question "
        "changes (default: none)",
    )
    parser.add_argument("--gsm8k-limit", type=int, default=300)
    parser.add_argument("--synthetic-limit", type=int, default=240)
    parser.add_argument("--heldout-limit", type=int, default=120, help="held-out NQ prompts (others: half)")
    parser.add_argument(
        "--jobs",
        type=_jobs,
        default=1,
        help="slices labelled at a time, each in a process of its own on one thread: 2 on 2 cores "
        "labels about 1.8 times as many prompts a second as 1 (make model passes JOBS, default 2; "
        "default: %(default)s)",
    )
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument(
        "--student", type=Path, default=None, help="convert this trained student instead of training one"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mode", default="dynamic", help="conversion mode (default dynamic)")
    parser.add_argument("--model-version", default=MODEL_VERSION)
    args = parser.parse_args(argv)
    if args.card is None:
        args.card = card_path(args.output)
    return args


def card_path(output: Path) -> Path:
    """Where the model card of a bundle written to ``output`` goes by default: the docs' card for
    the bundled condenser, else a file beside the bundle."""
    if Path(output).resolve() == DEFAULT_OUTPUT.resolve():
        return DEFAULT_CARD
    return Path(output).with_name(Path(output).stem + ".model_card.md")


def main(argv: list[str] | None = None) -> int:
    from splitinfer.converters._paths import terminate_as_interrupt

    args = parse_args(argv)
    try:
        with terminate_as_interrupt():  # SIGTERM (a cancelled CI job) stops it as Ctrl-C does
            return build(args)
    except SplitinferError as err:
        print(f"make model: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print(
            f"make model: interrupted; the labels written so far in {args.work} are kept, and a rerun "
            "continues from them",
            file=sys.stderr,
        )
        return 130


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
            verbose=1 if is_terminal(sys.stderr) else 2,
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
        labels = label_all(slices(args), args.data, args.work, args.seed, args.jobs)

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
