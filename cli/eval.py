"""``splitinfer eval``: measure how much of what matters a condenser keeps.

Runs the student (a bundle), the teacher and the baselines (random words, the first words, no
condensation) on the same cases at several rates, under the same selection rules, and reports
answer retention, numbers kept, achieved rates, speed and, with ``--answer``, the end-to-end
accuracy of the extractive answerer on the full vs the condensed context.
"""

from __future__ import annotations

import argparse

from splitinfer.cli._help import LAYOUT_HELP, NQ_LAYOUTS, NQ_QUESTIONS, QUESTIONS_HELP, exit_codes, seed

DEFAULT_RATES = "0.1,0.2,0.33,0.5"
DEFAULT_METHODS = "student,teacher,random,truncate,none"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="Measure how much of what matters a condenser keeps.",
        description=(
            "Condense the cases of a data set with each method at each rate and report answer\n"
            "retention, numbers kept, achieved rate and speed (and answer accuracy with --answer)."
        ),
        epilog=exit_codes(
            ok="the results are printed and the --output/--plot files written",
            failed="a step failed that is not bad input (eval itself has no pass/fail check)",
            sigterm=True,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--format",
        default="nq",
        choices=("nq", "gsm8k", "qa", "essay", "kv"),
        help="nq, gsm8k, qa: a data file; essay (planted fact), kv (UUID lookup): synthetic (default nq)",
    )
    parser.add_argument(
        "--data",
        metavar="PATH",
        help="data file (JSONL, optionally gzipped); nq/gsm8k default to $SPLITINFER_DATA or ../shared/data (from the current folder); "
        "essay: the NQ file its prose comes from; qa lines: "
        '{"question": str, "context": str, "answers": [str, ...], "id"?: str}',
    )
    parser.add_argument(
        "--distractors", choices=("hard", "random"), help="nq only: the 9 other documents (default hard)"
    )
    parser.add_argument(
        "--layout",
        choices=NQ_LAYOUTS,
        help=LAYOUT_HELP,
    )
    parser.add_argument("--questions", choices=NQ_QUESTIONS, help=QUESTIONS_HELP)
    parser.add_argument(
        "--split",
        choices=("heldout", "train", "all"),
        help="which records: heldout (never trained on), train or all (default heldout; all for qa, "
        "your own file)",
    )
    parser.add_argument(
        "--rates",
        default=DEFAULT_RATES,
        help="requested rates, shares of tokens kept, each in (0, 1]; run in ascending order, a repeat "
        f"once; none runs once, at 1 (default {DEFAULT_RATES})",
    )
    parser.add_argument("--methods", default=DEFAULT_METHODS, help=f"methods (default {DEFAULT_METHODS})")
    parser.add_argument("--model", metavar="BUNDLE", help="student bundle (default: the bundled condenser)")
    parser.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="first N cases only (synthetic: how many; default: every case, 200 synthetic ones)",
    )
    parser.add_argument("--seed", type=seed, default=0, help="seed of random choices (default 0)")
    parser.add_argument(
        "--arrangements",
        type=int,
        default=1,
        metavar="N",
        help="nq only: build every case N times, with seeds --seed to --seed+N-1, and pool them: "
        "hard distractors put the same 10 documents in N orders (gold at a seeded place), random "
        "ones are N draws. Each case is then judged at N places, so two bundles differ less by luck "
        "(default 1)",
    )
    parser.add_argument(
        "--answer", action="store_true", help="also answer with the extractive backend on full vs condensed"
    )
    parser.add_argument(
        "--answer-rates",
        metavar="RATES",
        help="with --answer, answer condensed contexts only at these rates (default: every rate)",
    )
    parser.add_argument(
        "--keep-digits",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="always keep words with digits (default: yes)",
    )
    parser.add_argument(
        "--cache",
        metavar="FILE",
        help="keep the teacher's scores and the answers of --answer in this file (SQLite, created if "
        "missing) and reuse them. Neither depends on the bundle, so another bundle's run of the same "
        "cases asks the teacher nothing and answers only its own prompts. A change of the teacher's "
        "settings, of its or the answerer's code, or of their weights computes afresh; the teacher's "
        "ms column stays what scoring took (default: none, compute everything)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='print the results as JSON instead of a table: {"config": {...}, "results": [one per method '
        'and rate]}; null where a measure does not apply, "accuracy_*" only with --answer',
    )
    parser.add_argument(
        "--plot",
        metavar="PNG",
        help="write answer retention (numbers kept for gsm8k) and accuracy vs rate to this image "
        "(.png, .svg, .pdf or .jpg)",
    )
    parser.add_argument(
        "--output",
        metavar="JSONL",
        help="write each condensed prompt and its measures here, written whole or not at all: JSON "
        'Lines, one per case, method and rate ({"id", "method", "rate", ..., "condensed": the prompt '
        "scored})",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from splitinfer.converters._paths import terminate_as_interrupt
    from splitinfer.evaluation.command import EvalOptions, run_eval

    options = EvalOptions(
        format=args.format,
        data=args.data,
        distractors=args.distractors,
        layout=args.layout,
        questions=args.questions,
        split=args.split,
        rates=args.rates,
        methods=args.methods,
        model=args.model,
        limit=args.limit,
        seed=args.seed,
        arrangements=args.arrangements,
        answer=args.answer,
        answer_rates=args.answer_rates,
        keep_digits=args.keep_digits,
        cache=args.cache,
        json=args.json,
        plot=args.plot,
        output=args.output,
    )
    # SIGTERM (a cancelled CI job) stops the run as Ctrl-C does: exit 130, no half-written --output.
    with terminate_as_interrupt():
        return run_eval(options)
