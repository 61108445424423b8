"""``splitinfer convert``: convert a trained student into a .tflite condenser bundle, gated.

Needs the [convert] extra (TensorFlow). Exit codes: 0 every gate passed and the bundle is written;
1 a gate failed (the --report JSON says which; nothing is written); 2 bad input (missing or corrupt
model, bad flag or data file; nothing is written); 3 an internal error (a bug: the traceback is
printed; nothing is written); 130 interrupted (Ctrl-C or SIGTERM). The --report JSON is written
for every outcome, a usage error included (its ``status``: passed, failed, bad_input,
internal_error, interrupted), unless its own path is what is wrong; when it cannot be written,
nothing is (exit 2). ``--help`` shows ``DESCRIPTION`` and ``EXIT_CODES``, plain text.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from splitinfer.cli._help import RawDefaultsHelp, exit_codes, print_to_a_reader, seed

_MODES = ("float32", "float16", "dynamic", "int8", "auto")

DESCRIPTION = """\
Convert a trained student into a .tflite condenser bundle, gated: the bundle is written only when
every gate passes (builtin ops only, parity with the Keras model, latency, size, and agreement with
the teacher when asked). The --report JSON says what was measured and why a run failed; it is
written for every outcome, a usage error included, unless its own path is what is wrong (when it
cannot be written, the bundle is not either). SIGTERM stops a run as Ctrl-C does (exit 130), leaving
no partial file. Needs the [convert] extra (TensorFlow).
"""
EXIT_CODES = exit_codes(
    ok="every gate passed and the bundle is written",
    failed="a gate failed (the --report JSON says which); nothing is written",
    bad_input="bad input (missing or corrupt model, bad flag or data file); nothing is written",
    sigterm=True,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "convert",
        help="Convert a trained student into a .tflite condenser bundle, gated.",
        description=DESCRIPTION,
        epilog=EXIT_CODES,
        formatter_class=RawDefaultsHelp,
    )
    parser.add_argument("model", type=Path, help="the student: a .keras file or a SavedModel folder")
    parser.add_argument(
        "--output",
        "-o",
        type=Path,
        required=True,
        help="bundle to write (e.g. condenser.tflite; missing folders are made)",
    )
    parser.add_argument(
        "--mode",
        choices=_MODES,
        default="auto",
        help="float32; float16 (half-size weights); dynamic (int8 weights); int8 (full integer, calibrated); "
        "auto = the fastest mode that passes every gate (modes within 15%% of the fastest count as tied "
        "and the first of dynamic, int8, float16, float32 wins; int8 is tried only with calibration "
        "or parity data)",
    )
    parser.add_argument(
        "--calibration",
        type=Path,
        action="append",
        default=[],
        metavar="LABELS.jsonl",
        help="labels whose windows calibrate int8 activations (default: --parity-data)",
    )
    parser.add_argument(
        "--parity-data",
        type=Path,
        action="append",
        default=[],
        metavar="LABELS.jsonl",
        help="held-back labels the converted model is compared on (default: seeded synthetic prompts)",
    )
    parser.add_argument(
        "--teacher-data",
        type=Path,
        action="append",
        default=[],
        metavar="LABELS.jsonl",
        help="held-out teacher labels of the student's own teacher (its held-out prompts are used): "
        "keep/drop F1 of the converted model against the teacher, recorded in the manifest and model card",
    )
    parser.add_argument(
        "--max-size-mb", type=float, default=4.0, help="size gate: largest bundle, MB (10^6 bytes)"
    )
    parser.add_argument(
        "--max-p50-ms", type=float, default=3.0, help="latency gate: p50 ms of one window, one thread"
    )
    parser.add_argument(
        "--min-agreement",
        type=float,
        default=0.99,
        help="parity gate (float16, dynamic, int8): keep/drop agreement with the Keras model",
    )
    parser.add_argument(
        "--max-float-delta",
        type=float,
        default=1e-4,
        help="parity gate (float32): largest |score difference| from the Keras model",
    )
    parser.add_argument(
        "--min-teacher-f1",
        type=float,
        default=0.0,
        help="teacher gate: keep/drop F1 against --teacher-data (0 = report only)",
    )
    parser.add_argument(
        "--allow-flex",
        action="store_true",
        help="let Select-TF (Flex) ops through; such a bundle does not run in the device SDK",
    )
    parser.add_argument(
        "--default-rate",
        type=float,
        default=0.33,
        help="the keep rate the bundle uses when the caller gives none (default: 0.33)",
    )
    parser.add_argument(
        "--segment-weight",
        type=float,
        default=0.6,
        help=(
            "share of each word's score taken from its sentence's mean score when the SDK selects "
            "words (default 0.6, measured for the bundled condenser; 0 = the model's word scores only)"
        ),
    )
    parser.add_argument(
        "--document-weight",
        type=float,
        default=0.2,
        help="share taken from the best sentence score of the word's document (default 0.2); "
        "--segment-weight + --document-weight must be at most 1",
    )
    parser.add_argument(
        "--name-spans",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=(
            "after blending, give every word of a name (a run of capitalised or numeric words, such "
            "as 'Woody Harrelson') the best score of the name, so its words are taken together (default: on, "
            "measured for the bundled condenser)"
        ),
    )
    parser.add_argument(
        "--answer-type-weight",
        type=float,
        default=0.1,
        metavar="W",
        help=(
            "last, when a question opens as one asking for a name ('who', 'whom', 'whose') or a number "
            "('when', 'how many', 'what year', ...), add W to the score of every name or number, so "
            "the words a question asks for come first (default 0.1, measured for the bundled condenser; "
            "0 = off; at most 1)"
        ),
    )
    parser.add_argument(
        "--title-lift",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=(
            "last, give the title of each document (a 'Document [n](Title: ...)' header's title or a "
            "title line) the best score of the document's text, so a document whose words are kept "
            "keeps its title first (default: on, measured for the bundled condenser)"
        ),
    )
    parser.add_argument(
        "--model-version",
        default=None,
        help="e.g. minilm-cnn-1.1 (default: the training summary's, else student-<mode>)",
    )
    parser.add_argument(
        "--training-summary",
        type=Path,
        default=None,
        help="JSON written by 'splitinfer distill train' (default: the copy inside the .keras file it "
        "writes, else the model's name + .json next to it, e.g. student.keras.json, which must be "
        "the one written with that model file; without one the manifest's teacher is 'unknown' and "
        "the bundle gives the model no line breaks)",
    )
    parser.add_argument(
        "--vocab",
        type=Path,
        default=None,
        help="WordPiece vocabulary the student was trained with (default: the SDK's)",
    )
    parser.add_argument(
        "--report", type=Path, default=None, help="write the JSON report here (missing folders are made)"
    )
    parser.add_argument("--json", action="store_true", help="print the JSON report on stdout")
    parser.add_argument("--seed", type=seed, default=0, help="seeds synthetic parity data and latency inputs")
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress on stderr (a bar on a terminal; in a log, a line a minute after the first minute)",
    )
    parser.set_defaults(func=run)
    _report_usage_errors(parser)


def _options(args: argparse.Namespace) -> Any:
    """The ``ConvertOptions`` of parsed arguments."""
    from splitinfer.converters.release import ConvertOptions
    from splitinfer.converters.windows import VOCAB_PATH

    return ConvertOptions(
        model=args.model,
        output=args.output,
        mode=args.mode,
        calibration=args.calibration,
        parity_data=args.parity_data,
        teacher_data=args.teacher_data,
        max_size_mb=args.max_size_mb,
        max_p50_ms=args.max_p50_ms,
        min_agreement=args.min_agreement,
        max_float_delta=args.max_float_delta,
        min_teacher_f1=args.min_teacher_f1,
        allow_flex=args.allow_flex,
        default_rate=args.default_rate,
        segment_weight=args.segment_weight,
        document_weight=args.document_weight,
        name_spans=args.name_spans,
        answer_type_weight=args.answer_type_weight,
        title_lift=args.title_lift,
        model_version=args.model_version,
        seed=args.seed,
        vocab=args.vocab or VOCAB_PATH,
        training_summary=args.training_summary,
        report=args.report,
        progress=not args.quiet,
    )


def _report_usage_errors(parser: argparse.ArgumentParser) -> None:
    """Make a usage error of ``convert`` (a bad --mode or --seed, an unknown flag, a missing
    --output) write its --report too, as bad input (exit 2), before argparse exits: the command
    never runs then, and an old report saying "passed" must not stay in place.

    argparse stops at the first bad argument, so the --report given after it was never parsed:
    the arguments are kept as the parser receives them and --report is read from them alone. The
    report is then written only where it overwrites nothing the command line names (the model, the
    bundle, an input); with every argument parsed (an unknown flag, reported once parsing is
    done), the usual ``check_report_path`` decides."""
    parse_known_args, error = parser.parse_known_args, parser.error
    seen: dict[str, Any] = {}

    def remembering(args: Any = None, namespace: Any = None) -> Any:
        seen.clear()
        seen["argv"] = list(sys.argv[1:] if args is None else args)
        parsed = parse_known_args(args, namespace)
        seen["namespace"] = parsed[0]
        return parsed

    def reporting(message: str) -> Any:
        _write_usage_report(seen, f"{message} (see '{parser.prog} --help')")
        return error(message)

    parser.parse_known_args = remembering  # type: ignore[method-assign]
    parser.error = reporting  # type: ignore[method-assign]


def _write_usage_report(seen: dict[str, Any], message: str) -> None:
    namespace, argv = seen.get("namespace"), seen.get("argv") or []
    path = getattr(namespace, "report", None) if namespace is not None else _report_argument(argv)
    if path is None:
        return
    try:
        from splitinfer.converters.release import opening_report, settle
        from splitinfer.converters.release_inputs import check_report_path
        from splitinfer.converters.report import write_report

        if namespace is not None:
            options = _options(namespace)
            check_report_path(options)
            report = opening_report(options)
        elif _named_elsewhere(path, argv):
            return
        else:
            report = opening_report(None)
        write_report(path, settle(report, 2, message, 0.0))
    except (ImportError, ValueError, OSError):  # InvalidInputError included; a path with a NUL byte
        pass  # a report that cannot be written: the one-line error on stderr still says it all


class _Probe(argparse.ArgumentParser):
    """A parser that raises instead of printing and exiting (``_report_argument``)."""

    def error(self, message: str) -> Any:
        raise ValueError(message)


def _report_argument(argv: list[str]) -> Path | None:
    """The --report of raw arguments (``--report P``, ``--report=P`` or a prefix argparse takes)."""
    probe = _Probe(add_help=False, exit_on_error=False)
    probe.add_argument("--report", type=Path)
    try:
        known, _ = probe.parse_known_args(argv)
    except (argparse.ArgumentError, ValueError):
        return None
    return known.report


def _named_elsewhere(path: Path, argv: list[str]) -> bool:
    """True when ``path`` is a folder or is named by another argument too (the model, the bundle,
    an input, a model's training summary beside it) or is the default vocabulary: a report written
    there would overwrite it."""
    from splitinfer.converters.windows import VOCAB_PATH

    target = path.resolve()
    values = [Path(a.split("=", 1)[-1]).resolve() for a in argv if a.strip()]
    beside = [Path(a.split("=", 1)[-1] + ".json").resolve() for a in argv if a.strip()]
    return (
        target.is_dir()
        or values.count(target) > 1
        or target in beside
        or target == Path(VOCAB_PATH).resolve()
    )


def run(args: argparse.Namespace) -> int:
    from splitinfer.converters._paths import terminate_as_interrupt
    from splitinfer.converters.release import release
    from splitinfer.converters.report import report_json

    with terminate_as_interrupt():
        outcome = release(_options(args))  # every outcome, a bug included, is in the report it writes
    if outcome.error is not None:
        raise outcome.error  # a bug: traceback and exit 3; Ctrl-C or SIGTERM: exit 130
    if args.json:
        # A failed gate stays exit 1 when the reader of --json went away (a pipeline must not ship).
        print_to_a_reader(report_json(outcome.report))
    if outcome.exit_code == 0 and not outcome.report.get("training_summary"):
        print(
            f"splitinfer convert: warning: {args.model} had no training summary (in it or next to it), so "
            "the manifest names no teacher or training data, and the bundle gives the model no line "
            "breaks: pass --training-summary if it was trained with them",
            file=sys.stderr,
        )
    if outcome.exit_code:
        print(f"splitinfer convert: error: {outcome.message}", file=sys.stderr)
    elif not args.json:
        print_to_a_reader(outcome.message)
    return outcome.exit_code
