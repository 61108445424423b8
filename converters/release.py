"""``splitinfer convert`` end to end: model in, gated bundle out, JSON report always.

``release(options)`` loads the model, converts it in the requested mode (or every mode for
``auto``), runs the gates (``gates``), picks the mode, measures agreement with the teacher on
held-out labels when given, and writes the bundle atomically only when every gate passed. It
writes the report too (``ConvertOptions.report``), the bundle's together with it: a bundle is
never left without its report (``_write_bundle``). What it reads and checks before converting
(flags, paths, vocabulary, training summary, the labelled prompts of the gates) is
``release_inputs``'s.

Exit codes (``Outcome.exit_code``): 0 every gate passed and the bundle is written; 1 a gate failed
(the report says which, nothing is written); 2 bad input (missing or corrupt model, bad flags or
data), nothing is written; 3 an internal error (a bug; ``Outcome.error`` holds the exception for
the caller to raise once the report is written), nothing is written; 130 interrupted (Ctrl-C
or SIGTERM, raised the same way), nothing is written. The report (status
``passed``, ``failed``, ``bad_input``, ``internal_error`` or ``interrupted``, with the message) is written in
every case but two: when its own path is what is wrong (a folder, the model, the bundle's path;
``check_report_path``), which is refused before any work, and when writing it fails (a full
disk; exit 2, and then the bundle is not written either). Every report has the same keys from the
start (``opening_report``: ``gates``, ``failed_gates``, ``thresholds``, ``candidates``), and each
candidate mode is recorded as it is measured, so an interrupted run reports what it had done.

A mode the TFLite converter refuses is a failed ``convert`` gate of that candidate, not the end
of the run: ``auto`` goes on with the other modes.

``--teacher-data`` must come from the student's own teacher with the same settings (its training
summary's) and hold held-out prompts: the agreement is recorded as that teacher's, on prompts
never trained on. ``--vocab`` must be the size of the vocabulary the student was trained with.

A progress bar on stderr (``ConvertOptions.progress``) counts the stages: converting in each mode
and its parity gate, the latency runs, and the agreement with the teacher of each mode: drawn
in place on a terminal, elsewhere (a CI log) a plain line a minute once the run has taken that
long (``_progress``).

``auto`` picks the fastest mode that passes every gate. Latencies on a shared machine are noisy,
so modes within ``AUTO_TIE`` of the fastest count as tied and the first of ``AUTO_PREFERENCE``
among them wins: the same model then gets the same mode run after run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from splitinfer.converters import gates as G
from splitinfer.converters._paths import names_too_long_as_bad_input
from splitinfer.converters.agreement import teacher_agreement
from splitinfer.converters.convert import (
    MODES,
    Source,
    convert,
    frozen_function,
    import_tensorflow,
    load_source,
)
from splitinfer.converters.release_inputs import (
    calibration_windows,
    check_options,
    check_report_path,
    check_vocab_fits,
    check_vocab_size,
    heldback_prompts,
    load_vocab,
    read_training_summary,
    synthetic_prompts,
    teacher_prompts,
)
from splitinfer.converters.report import CARD_NAME, build_manifest, model_card, write_report
from splitinfer.converters.windows import VOCAB_PATH, Prompt, score_prompt
from splitinfer.sdk._bundle import atomic_path, build_bundle
from splitinfer.sdk._errors import InvalidInputError, SplitinferError
from splitinfer.sdk._selection import AnswerTypes, SelectionWeights

AUTO_PREFERENCE = ("dynamic", "int8", "float16", "float32")
AUTO_TIE = 0.15


@dataclass
class ConvertOptions:
    """Everything ``splitinfer convert`` takes; see ``cli/convert.py`` for each flag's meaning."""

    model: Path
    output: Path
    mode: str = "auto"
    calibration: list[Path] = field(default_factory=list)
    parity_data: list[Path] = field(default_factory=list)
    teacher_data: list[Path] = field(default_factory=list)
    max_size_mb: float = 4.0
    max_p50_ms: float = 3.0
    min_agreement: float = 0.99
    max_float_delta: float = 1e-4
    min_teacher_f1: float = 0.0
    allow_flex: bool = False
    default_rate: float = 0.33
    # Sentence and document shares of each word's score at selection (see sdk SelectionWeights);
    # measured on the train split of NQ for minilm-cnn-1.1 (answers kept at rate 0.1: +1 point).
    segment_weight: float = 0.6
    document_weight: float = 0.2
    # Names taken together (see sdk lift_name_spans); measured for minilm-cnn-1.5: +0.3 to +1.0 point
    # of held-out NQ answers kept at rates 0.1 and 0.2 (3,020 cases).
    name_spans: bool = True
    # Names for "who" questions, numbers for "when" / "how many" ones (see sdk lift_answer_type);
    # measured for minilm-cnn-1.6: +0.6 to +4.8 points of held-out NQ answers kept at rates 0.1
    # and 0.2 with numbers forced or not (3,020 cases). 0 = off.
    answer_type_weight: float = 0.1
    # Each document's title raised to its text's best score (see sdk lift_titles); measured for
    # minilm-cnn-1.7 on the 302 held-out NQ cases: answers kept at rates 0.1 / 0.2 +1.3 / +0.7
    # points with numbers forced, +2.6 / 0 without; the extractive answerer right on 54.6% of the
    # rate-0.2 contexts instead of 49.3% (51.7% on the full ones).
    title_lift: bool = True
    model_version: str | None = None
    seed: int = 0
    vocab: Path = VOCAB_PATH
    training_summary: Path | None = None
    report: Path | None = None  # the JSON report, written by ``release`` (even on failure)
    parity_prompts: int = 48
    calibration_windows: int = 64
    latency_runs: int = 100
    progress: bool = True  # a progress bar on stderr when it is a terminal (--quiet: none)

    @property
    def selection(self) -> SelectionWeights:
        """The selection weights the bundle's manifest gets; ``ValueError`` for bad flag values."""
        types = AnswerTypes(self.answer_type_weight) if self.answer_type_weight else None
        return SelectionWeights(
            self.segment_weight, self.document_weight, self.name_spans, types, self.title_lift
        )


@dataclass
class Outcome:
    exit_code: int
    report: dict[str, Any]
    message: str = ""
    error: BaseException | None = None  # exit 3: the unexpected exception, to raise after reporting


STATUS = {0: "passed", 1: "failed", 2: "bad_input", 3: "internal_error", 130: "interrupted"}


def measure_teacher_agreement(
    model: bytes, prompts: list[Prompt], max_seq_len: int, rate: float
) -> dict[str, Any]:
    """Keep/drop F1 of the converted model against the teacher's scores on ``prompts``."""
    scorer = G.TFLiteScorer(model)
    return teacher_agreement(prompts, [score_prompt(p, scorer, max_seq_len) for p in prompts], rate)


THRESHOLDS = ("max_size_mb", "max_p50_ms", "min_agreement", "max_float_delta", "min_teacher_f1")


def opening_report(options: ConvertOptions | None) -> dict[str, Any]:
    """The report as it stands before any work: every key a consumer reads is there from the
    start (empty gates and candidates, the configured thresholds), so a run that stops early (bad
    input, Ctrl-C, a bug) reports the same keys as one that ran to the end. ``None``: a command
    line that did not parse, so nothing was configured (every threshold ``None``)."""
    return {
        "requested_mode": options.mode if options else None,
        "model": Path(options.model).name if options else None,
        "output": str(options.output) if options else None,
        "thresholds": {k: getattr(options, k) if options else None for k in THRESHOLDS},
        "gates": [],
        "failed_gates": [],
        "candidates": {},
    }


def settle(report: dict[str, Any], exit_code: int, message: str, seconds: float) -> dict[str, Any]:
    """``report`` with an outcome's exit code, status and message (and the time taken)."""
    report.update(exit_code=exit_code, message=message, status=STATUS[exit_code], seconds=round(seconds, 2))
    return report


class ReportNotWritten(InvalidInputError):
    """The --report file could not be written: nothing else is either (the bundle lands with its
    report or not at all), and no report says so."""


def release(options: ConvertOptions) -> Outcome:
    """Run the whole conversion and write the report to ``options.report`` when given; never
    raises for bad input or failed gates (see the exit codes). The report is written here, not by
    the caller, so that a bundle is never written without it (``_write_bundle``)."""
    started = time.perf_counter()
    report = opening_report(options)

    def unreported(message: str) -> Outcome:  # exit 2 when the report is what cannot be written
        return Outcome(2, settle(report, 2, message, time.perf_counter() - started), message)

    try:
        with names_too_long_as_bad_input():
            check_report_path(options)  # before anything: every other outcome goes into that file
    except InvalidInputError as err:
        return unreported(str(err))
    try:
        with names_too_long_as_bad_input():
            outcome = _release(options, report, started)
    except ReportNotWritten as err:
        return unreported(str(err))
    except InvalidInputError as err:
        outcome = Outcome(2, report, str(err))
    except SplitinferError as err:
        outcome = Outcome(1, report, str(err))
    except Exception as err:  # a bug: reported as such, then raised by the caller (exit 3)
        outcome = Outcome(3, report, f"internal error: {type(err).__name__}: {err}", error=err)
    except KeyboardInterrupt as err:  # Ctrl-C or SIGTERM: reported, then raised by the caller (130)
        outcome = Outcome(
            130, report, "interrupted (Ctrl-C or SIGTERM) before the end; no bundle was written", error=err
        )
    if outcome.exit_code == 0:
        return outcome  # its report was written with the bundle
    settle(report, outcome.exit_code, outcome.message, time.perf_counter() - started)
    try:
        write_report(options.report, report)
    except OSError as err:
        return unreported(_unwritten_report(options.report, err))
    return outcome


def _unwritten_report(path: Path | None, err: OSError) -> str:
    return f"--report {path}: cannot write it ({err.strerror or err}); nothing is written"


def _release(options: ConvertOptions, report: dict[str, Any], started: float) -> Outcome:
    check_options(options)
    vocab, tokenizer = load_vocab(options.vocab)
    training = read_training_summary(options)
    report["training_summary"] = bool(training)
    check_vocab_size(training, len(vocab), options.vocab)
    source = load_source(options.model)
    report["max_seq_len"], report["max_question_len"] = source.max_seq_len, source.max_question_len
    check_vocab_fits(source, len(vocab))
    line_break_id = training.get("line_break_id")
    if line_break_id is not None and line_break_id >= len(vocab):
        raise InvalidInputError(
            f"the training summary's line_break_id {line_break_id} is not an id of the {len(vocab):,}-token "
            "vocabulary (--vocab); convert with the vocabulary the student was trained with"
        )
    if options.parity_data:
        parity_set, parity_info = heldback_prompts(
            options.parity_data, tokenizer, source.max_question_len, options.parity_prompts, line_break_id
        )
    else:
        parity_set = synthetic_prompts(
            tokenizer, min(options.parity_prompts, 16), source.max_question_len, options.seed, line_break_id
        )
        parity_info = {"files": [], "prompts": len(parity_set), "synthetic": True}
    report["parity_data"] = parity_info
    calibration: list[tuple[np.ndarray, np.ndarray]] = []
    if options.calibration:
        cal_prompts, _ = heldback_prompts(
            options.calibration, tokenizer, source.max_question_len, 10**9, line_break_id
        )
        calibration = calibration_windows(cal_prompts, source.max_seq_len, options.calibration_windows)
    elif options.parity_data:
        calibration = calibration_windows(parity_set, source.max_seq_len, options.calibration_windows)
    teacher_set: list[Prompt] = []
    if options.teacher_data:
        teacher_set = teacher_prompts(options.teacher_data, tokenizer, source, line_break_id, training)
    modes = [options.mode] if options.mode != "auto" else [m for m in MODES if m != "int8" or calibration]
    if options.mode == "auto" and not calibration:
        report["skipped_modes"] = {"int8": "no calibration data (--calibration or --parity-data)"}
    frozen = frozen_function(source)
    progress = Progress(len(modes) * (3 if teacher_set else 2) + 1, options.progress)
    candidates: dict[str, dict[str, Any]] = {}
    try:
        for mode in modes:  # each recorded as it completes: an interrupted run reports them
            candidates[mode] = _candidate(options, source, frozen, mode, calibration, parity_set, progress)
            report["candidates"][mode] = _public(candidates[mode])
        runnable = {m: c["model"] for m, c in candidates.items() if c["runnable"]}
        with progress.stage("latency"):
            timings = G.latency(
                runnable, source.max_seq_len, source.max_question_len, options.latency_runs, options.seed
            )
        tf_version = import_tensorflow().__version__
        for mode, cand in candidates.items():
            if cand["model"] is None:  # the converter refused this mode: nothing more to measure
                if teacher_set:
                    progress.skip()
                continue
            _finish_candidate(
                options,
                source,
                cand,
                mode,
                timings.get(mode),
                training,
                teacher_set,
                vocab,
                tf_version,
                progress,
            )
            report["candidates"][mode] = _public(cand)
    finally:
        progress.close()
    chosen = _choose(candidates, options.mode)
    if chosen is None:
        failed = [f"{m}: {g.name}" for m, c in candidates.items() for g in c["gates"] if not g.passed]
        report["failed_gates"] = failed
        # auto: the gates of the candidate that came closest (converted, fewest failed, then by
        # preference).
        closest = min(
            modes,
            key=lambda m: (
                candidates[m]["model"] is None,
                sum(not g.passed for g in candidates[m]["gates"]),
                AUTO_PREFERENCE.index(m),
            ),
        )
        report["gates"] = [g.to_dict() for g in candidates[closest]["gates"]]
        report["gates_of"] = closest
        failed = [(m, g) for m, c in candidates.items() for g in c["gates"] if not g.passed]
        return Outcome(
            1,
            report,
            "gate failed: "
            + "; ".join(_gate_line(m, g) for m, g in failed)
            + _gate_hint(closest, failed, auto=options.mode == "auto"),
        )
    cand = candidates[chosen]
    agreement = cand["manifest"].get("agreement_vs_teacher") or {}
    f1 = f"; keep/drop F1 vs teacher {agreement['f1']:.3f}" if isinstance(agreement.get("f1"), float) else ""
    outcome = Outcome(0, report, f"wrote {options.output} ({chosen}, {len(cand['bundle'])} bytes{f1})")
    passed = {
        "mode": chosen,
        "gates": [g.to_dict() for g in cand["gates"]],
        "failed_gates": [],
        "bundle_bytes": len(cand["bundle"]),
        "model_bytes": len(cand["model"]),
        "bundle_sha256": hashlib.sha256(cand["bundle"]).hexdigest(),
        "latency_ms": timings.get(chosen),
        "agreement_vs_teacher": cand["manifest"]["agreement_vs_teacher"],
    }
    final = settle({**report, **passed}, 0, outcome.message, time.perf_counter() - started)
    _write_bundle(options, cand["bundle"], final)  # the very bytes the gates measured
    report.update(final)
    return outcome


def _write_bundle(options: ConvertOptions, bundle: bytes, report: dict[str, Any]) -> None:
    """Write the bundle and its report together: the bundle goes to a temporary file next to
    ``--output``, the report is written, and only then does the bundle take its place. A report
    that cannot be written (a full disk) thus leaves no bundle behind (and the old one, if any, in
    place), as exit 2 promises (``ReportNotWritten``); a bundle that cannot be put in place after
    its report was written raises ``InvalidInputError``, and ``release`` then writes a report that
    says so over this one."""
    try:
        with atomic_path(options.output) as staged, open(staged, "wb") as handle:
            handle.write(bundle)
            handle.flush()
            if Path(staged).is_file():  # a pipe or a device cannot be synced
                os.fsync(handle.fileno())
            try:
                write_report(options.report, report)
            except OSError as err:
                raise ReportNotWritten(_unwritten_report(options.report, err)) from None
    except OSError as err:
        raise InvalidInputError(
            f"--output {options.output}: cannot write it ({err.strerror or err})"
        ) from None


# The flag that sets each gate's threshold, for the hint of a failed run.
_GATE_FLAGS = {
    "size": "--max-size-mb",
    "latency": "--max-p50-ms",
    "parity": "--min-agreement (quantized) or --max-float-delta (float)",
    "teacher_f1": "--min-teacher-f1",
    "builtin_ops": "--allow-flex (the Python runtimes cannot run Flex ops)",
}


def _gate_remedy(name: str, mode: str, auto: bool) -> str:
    """What else passes gate ``name`` of a ``mode`` candidate (``auto``: every mode was tried):
    training longer helps parity and agreement with the teacher, never size or latency."""
    if name == "size":
        smaller = "train a student with a smaller --embed-dim (its embedding is most of its weights)"
        if mode in ("float32", "float16"):
            return f"use a mode with int8 weights (--mode dynamic: about a quarter of float32), or {smaller}"
        return smaller
    if name == "latency":
        other = "" if auto else "use --mode auto, which times every mode, or "
        return (
            f"{other}train a smaller student (fewer --members, each costs about one student's latency, "
            "or fewer --channels); latency is measured here, on one thread, so a busy machine reads slower"
        )
    if name == "parity" and mode == "float32":
        return "float32 should match the Keras model, so report it as a bug"
    if name == "parity":
        return (
            "train longer (a briefly trained student scores words close together, so rounding flips "
            "its choices), or use a float mode"
        )
    if name == "teacher_f1":
        return "train longer, or on more labels"
    return "train a student without the layer the converter could only express as a Flex op"


def _gate_hint(closest: str, failed: list[tuple[str, G.Gate]], auto: bool = True) -> str:
    """What to do about a failed run: the mode that came closest (auto), the flags that set its
    failed gates' thresholds, and what else passes each of them (``_gate_remedy``)."""
    names = list(dict.fromkeys(g.name for m, g in failed if m == closest and g.name in _GATE_FLAGS))
    if not names:
        return ""
    flags = "; ".join(f"{name}: {_GATE_FLAGS[name]}" for name in names)
    remedies = "; ".join(f"{name}: {_gate_remedy(name, closest, auto)}" for name in names)
    lead = f". Closest: {closest}; its" if auto else ". The"
    return f"{lead} failed gates' thresholds are set by {flags}. Relax them on purpose, or: {remedies}"


def _gate_line(mode: str, gate: G.Gate) -> str:
    if gate.value is None and gate.detail:  # not measured: say why
        return f"{mode} {gate.name}: {gate.detail}"
    return f"{mode} {gate.name} {gate.value} vs {gate.threshold} {gate.unit}".strip()


class Progress:
    """The stages of a conversion counted on stderr (``_progress``): a bar on a terminal, a plain
    line a minute in a CI log or a pipe, nothing with ``enabled=False``."""

    def __init__(self, total: int, enabled: bool = True) -> None:
        from splitinfer.converters._progress import progress

        self._bar = progress(total=total, desc="convert", unit="stage", enabled=enabled)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Show ``name`` while its work runs; count it done when the work returns."""
        self._bar.set_postfix_str(name)
        yield
        self._bar.update(1)

    def skip(self) -> None:
        """Count a stage that has nothing to do (a candidate LiteRT cannot run)."""
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()


def _candidate(
    options: ConvertOptions,
    source: Source,
    frozen: Any,
    mode: str,
    calibration: list[tuple[np.ndarray, np.ndarray]],
    parity_set: list[Prompt],
    progress: Progress,
) -> dict[str, Any]:
    with progress.stage(f"convert {mode}"):
        try:
            model = convert(frozen, mode, calibration)
        except InvalidInputError:
            raise  # a bad flag or bad data, not something of this mode
        except SplitinferError as err:
            # The converter refused this mode: a failed gate of this candidate, not the end of the
            # run; auto goes on with the other modes and picks among those that pass.
            refused = G.Gate("convert", False, None, "accepted by the TFLite converter", detail=str(err))
            progress.skip()  # its parity stage: nothing to compare
            return {"model": None, "gates": [refused], "runnable": False, "parity": {}, "finished": True}
        ops_gate = G.builtin_ops(model, options.allow_flex)
    cand: dict[str, Any] = {"model": model, "gates": [ops_gate], "runnable": False, "parity": {}}
    try:
        G.interpreter(model)
        cand["runnable"] = True
    except (RuntimeError, ValueError) as err:
        detail = f"LiteRT cannot run this model here ({str(err).splitlines()[0][:200]})"
        if options.allow_flex:
            detail = "skipped (--allow-flex): " + detail
        cand["gates"].append(
            G.Gate("parity", options.allow_flex, None, _parity_threshold(options, mode), detail=detail)
        )
        progress.skip()
        return cand
    with progress.stage(f"parity {mode}"):
        gate, stats = G.parity(
            source.predict,
            model,
            parity_set,
            mode,
            source.max_seq_len,
            options.default_rate,
            options.max_float_delta,
            options.min_agreement,
        )
    cand["gates"].append(gate)
    cand["parity"] = {k: (round(v, 8) if isinstance(v, float) else v) for k, v in stats.items()}
    return cand


def _parity_threshold(options: ConvertOptions, mode: str) -> float:
    return options.max_float_delta if mode == "float32" else options.min_agreement


def _finish_candidate(
    options: ConvertOptions,
    source: Source,
    cand: dict[str, Any],
    mode: str,
    timing: dict[str, float] | None,
    training: dict[str, Any],
    teacher_set: list[Prompt],
    vocab: list[str],
    tf_version: str,
    progress: Progress,
) -> None:
    """Latency, teacher agreement, manifest and size gate of one candidate."""
    cand["latency_ms"] = timing
    if timing is None:
        detail = "skipped (--allow-flex): not runnable here" if options.allow_flex else "not runnable here"
        cand["gates"].append(G.Gate("latency", options.allow_flex, None, options.max_p50_ms, detail=detail))
    else:
        cand["gates"].append(G.latency_gate(timing["p50_ms"], options.max_p50_ms, source.max_seq_len))
    agreement = None
    if teacher_set and not cand["runnable"]:
        progress.skip()
    elif teacher_set:
        with progress.stage(f"teacher agreement {mode}"):
            agreement = measure_teacher_agreement(
                cand["model"], teacher_set, source.max_seq_len, options.default_rate
            )
        if options.min_teacher_f1 > 0:
            cand["gates"].append(
                G.Gate(
                    "teacher_f1",
                    agreement["f1"] >= options.min_teacher_f1,
                    agreement["f1"],
                    options.min_teacher_f1,
                    f"keep/drop F1 vs teacher at rate {options.default_rate}",
                )
            )
    size_threshold = G.Gate("size", True, None, options.max_size_mb, "MB (bundle)")
    version = options.model_version or training.get("model_version") or f"student-{mode}"
    manifest = build_manifest(
        model_version=version,
        max_seq_len=source.max_seq_len,
        max_question_len=source.max_question_len,
        default_rate=options.default_rate,
        mode=mode,
        gates=[*cand["gates"], size_threshold],
        parity=cand["parity"],
        training=training,
        teacher_agreement=agreement,
        seed=options.seed,
        tensorflow_version=tf_version,
        selection=options.selection,
    )
    manifest["model_bytes"] = len(cand["model"])  # build_bundle sets the same; the card shows it
    bundle = build_bundle(cand["model"], vocab, manifest, {CARD_NAME: model_card(manifest).encode()})
    size = G.size_gate(len(bundle), options.max_size_mb)
    cand["gates"].append(size)
    cand.update(manifest=manifest, bundle=bundle, finished=True)


def _choose(candidates: dict[str, dict[str, Any]], requested: str) -> str | None:
    passing = {m: c for m, c in candidates.items() if all(g.passed for g in c["gates"])}
    if requested != "auto":
        return requested if requested in passing else None
    if not passing:
        return None
    p50 = {m: (c["latency_ms"] or {}).get("p50_ms", float("inf")) for m, c in passing.items()}
    fastest = min(p50.values())
    tied = [m for m in passing if p50[m] <= fastest * (1 + AUTO_TIE)]
    return min(tied, key=AUTO_PREFERENCE.index)


def _public(cand: dict[str, Any]) -> dict[str, Any]:
    """A candidate as the report shows it; ``finished`` is false while some of its gates are still
    to be measured (an interrupted run), and ``passed`` is true only once all were, and passed."""
    finished = bool(cand.get("finished"))
    return {
        "model_bytes": len(cand["model"]) if cand["model"] is not None else None,
        "bundle_bytes": len(cand["bundle"]) if "bundle" in cand else None,
        "latency_ms": cand.get("latency_ms"),
        "finished": finished,
        "passed": finished and all(g.passed for g in cand["gates"]),
        "gates": [g.to_dict() for g in cand["gates"]],
        "parity": cand.get("parity"),
        # Measured with --teacher-data, gate or not: a failed run's report keeps it too.
        "agreement_vs_teacher": (cand.get("manifest") or {}).get("agreement_vs_teacher"),
    }
