"""What a release says about itself: the bundle's manifest, its model card, the JSON report.

The manifest and the model card go inside the bundle, so they hold only what is the same on every
rebuild from the same inputs and seed (no timestamps, no machine paths, no latencies: a latency
gate records its threshold and that it passed; the measured figures go in the JSON report).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from splitinfer.converters.gates import Gate
from splitinfer.sdk._selection import SelectionWeights

CARD_NAME = "model_card.md"

# Keys of the training summary the manifest's ``training`` block leaves out: those it files under
# their own names, ``seconds``, the wall-clock time training took, and ``model_sha256``, the hash
# of the .keras file, whose Keras metadata holds the time it was saved (both differ on every run).
_NOT_IN_TRAINING = ("teacher", "architecture", "data", "seconds", "line_break_id", "model_sha256")


def manifest_gates(gates: list[Gate]) -> dict[str, Any]:
    """Gate results for the manifest: deterministic values only (see the module docstring)."""
    out: dict[str, Any] = {}
    for gate in gates:
        entry: dict[str, Any] = {"passed": gate.passed, "threshold": gate.threshold, "unit": gate.unit}
        if gate.name in ("builtin_ops", "parity"):
            entry["value"] = gate.value
        out[gate.name] = entry
    return out


def build_manifest(
    *,
    model_version: str,
    max_seq_len: int,
    max_question_len: int,
    default_rate: float,
    mode: str,
    gates: list[Gate],
    parity: dict[str, Any],
    training: dict[str, Any],
    teacher_agreement: dict[str, Any] | None,
    seed: int,
    tensorflow_version: str,
    selection: SelectionWeights,
) -> dict[str, Any]:
    """The bundle manifest (``sdk._bundle.REQUIRED_FIELDS`` and what a release pipeline audits)."""
    teacher = training.get("teacher") or {}
    manifest = {
        "model_version": model_version,
        "max_seq_len": max_seq_len,
        "max_question_len": max_question_len,
        "inputs": {"context_ids": "context_ids", "question_ids": "question_ids"},
        "output": "scores",
        "default_rate": default_rate,
        "selection": selection.to_manifest(),
        "teacher": str(teacher.get("name") or "unknown"),
        "teacher_settings": teacher.get("settings") or {},
        "architecture": training.get("architecture") or {},
        "training_data": training.get("data") or {},
        "training": {k: v for k, v in training.items() if k not in _NOT_IN_TRAINING},
        "conversion": {"mode": mode, "converter": f"tensorflow {tensorflow_version}", "seed": seed},
        "gates": manifest_gates(gates),
        "parity": parity,
        "agreement_vs_teacher": teacher_agreement,
    }
    if training.get("line_break_id") is not None:
        manifest["line_break_id"] = training["line_break_id"]
    return manifest


F1_TARGET = 0.90


def _teacher_model(manifest: dict[str, Any]) -> str:
    model = (manifest.get("teacher_settings") or {}).get("model")
    return f" ({model})" if model else ""


def _pct(value: Any) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, (int, float)) else "not measured"


def _training_lines(training: dict[str, Any]) -> list[str]:
    if not training.get("target"):
        return []
    shifted = "; windows also cut half a window later" if training.get("shifted_windows") else ""
    epochs = ""
    members = training.get("members") or []
    if members:
        kept = ", ".join(f"seed {m['seed']}: epoch {m.get('best_epoch', m['epochs_run'])}" for m in members)
        epochs = f"; {len(members)} members trained alone, best epochs kept ({kept}; early stopping on the validation prompts)"
    elif training.get("epochs_run"):
        best = f"epoch {training['best_epoch']} of " if training.get("best_epoch") else ""
        epochs = f", {best}{training['epochs_run']} run kept (early stopping on the validation prompts)"
    return [
        f"- Training target: {training['target']}{shifted}; {training.get('loss', 'loss in the manifest')}{epochs}."
    ]


def _selection_lines(manifest: dict[str, Any]) -> list[str]:
    weights = SelectionWeights.from_manifest(manifest)
    if not weights.active:
        return ["- Selection: words are chosen by the model's word scores alone."]
    steps = []
    if weights.blends:
        steps.append(
            f"each word's score is blended with its sentence's mean score (weight {weights.segment}) and its "
            f"document's best sentence score (weight {weights.document})"
        )
    if weights.name_spans:
        steps.append(
            "every word of a name (a run of capitalised or numeric words) takes the best score of the name, "
            "so the words of a name are taken together"
        )
    if weights.answer_types is not None:
        types = weights.answer_types
        steps.append(
            f"the words the question asks for gain {types.weight:g}: every name when it opens as one asking for a "
            f"name ({_openings(types.names)}), every number (with the rest of a name holding it, as in 'March 10') "
            f"when it asks for a number "
            f"({_openings(types.numbers)})"
        )
    if weights.title_lift:
        steps.append(
            "each document's title takes the best score of the document's text, so a document whose words are "
            "kept keeps its title first"
        )
    return [
        f"- Selection: before words are chosen, {'; then '.join(steps)}; "
        "the agreement below is of the model's own word scores, before that."
    ]


def _openings(openings: tuple[str, ...], shown: int = 3) -> str:
    quoted = ", ".join(f"'{o}'" for o in openings[:shown])
    more = len(openings) - shown
    return f"{quoted} and {more} more" if more > 0 else quoted


def _line_break_lines(manifest: dict[str, Any]) -> list[str]:
    if manifest.get("line_break_id") is None:
        return []
    return [
        f"- Line breaks: token id {manifest['line_break_id']} goes before each word that starts a line (twice "
        "after a blank line) and counts as one of that word's tokens for the model, not for budgets."
    ]


def model_card(manifest: dict[str, Any]) -> str:
    """A short human-readable card of the bundle, made from its manifest."""
    arch = manifest.get("architecture") or {}
    data = manifest.get("training_data") or {}
    agree = manifest.get("agreement_vs_teacher") or {}
    gates = manifest.get("gates") or {}
    lines = [
        f"# Condenser {manifest['model_version']}",
        "",
        "A question-aware token scorer that runs on the device (LiteRT, builtin ops only) and keeps the",
        "words of a long prompt that matter for the question. Words are kept or dropped whole; numbers",
        "and forced words are always kept (see the SDK's selection rules).",
        "",
        "## Model",
        f"- Inputs: context token ids int32 [1, {manifest['max_seq_len']}], question token ids int32 "
        f"[1, {manifest['max_question_len']}] (WordPiece, BERT uncased vocabulary, 0 = padding).",
        *_line_break_lines(manifest),
        "- Output: a keep score in [0, 1] per context token; a word's score is its tokens' mean.",
        f"- Architecture: {arch.get('summary', 'see manifest')}.",
        f"- Conversion: {manifest['conversion']['mode']} ({manifest['conversion']['converter']}); "
        f"default rate {manifest['default_rate']}.",
        *_selection_lines(manifest),
        "",
        "## Teacher and data",
        f"- Distilled from: {manifest['teacher']}{_teacher_model(manifest)} (all settings in the manifest, "
        "`teacher_settings`).",
        f"- Training data: {data.get('summary', 'see manifest')}.",
        *_training_lines(manifest.get("training") or {}),
        "",
        "## Agreement with the teacher (held-out prompts, never trained on)",
    ]
    if agree:
        target = "met" if agree.get("f1", 0) >= F1_TARGET else "not met"
        lines += [
            f"- Target: F1 >= {F1_TARGET} at the default rate; {target} by this bundle.",
            f"- Word-level keep/drop F1 at rate {agree.get('rate')}: {agree.get('f1', 0):.3f} "
            f"({agree.get('prompts')} prompts, {agree.get('words')} words; numbers kept by both as forced words).",
            f"- F1 over the words the scores decide (forced words left out): {agree.get('f1_unforced', 0):.3f}.",
            f"- Same decision on {_pct(agree.get('agreement'))} of words.",
        ]
        for source, part in sorted((agree.get("by_source") or {}).items()):
            lines.append(
                f"- {source}: F1 {part['f1']:.3f} ({part['prompts']} prompts; without forced words "
                f"{part['f1_unforced']:.3f})"
            )
    else:
        lines.append(
            "- Not measured for this bundle (no held-out teacher labels were given to the converter)."
        )
    lines += ["", "## Release gates (all passed, or the bundle would not exist)", ""]
    for name, gate in gates.items():
        unit = f" {gate['unit']}" if gate.get("unit") else ""
        value = f"; value {gate['value']}" if "value" in gate and name != "builtin_ops" else ""
        lines.append(f"- {name}: threshold {gate['threshold']}{unit}{value}")
    lines += [
        "",
        "## Speed",
        f"- Model {manifest.get('model_bytes', 'n/a')} bytes. Latency depends on the device: "
        "`splitinfer bench condenser --json` measures it, with a TinyBERT-4-shaped encoder",
        "  converted the same way as the baseline in the same run.",
    ]
    data = manifest.get("training_data")
    kinds = data.get("train_prompts_by_source") if isinstance(data, dict) else None
    trained_on = (
        f"these kinds of prompt only: {', '.join(sorted(kinds))} (see the training data above)"
        if isinstance(kinds, dict) and kinds
        else "the prompts of its training data only"
    )
    lines += [
        "",
        "## Limits",
        f"- Trained on {trained_on}; other languages and prompt kinds",
        "  are condensed by the same features (question overlap, local context) but were not measured.",
        "- The student imitates its teacher, errors included: it is as good as the teacher's labels.",
        "",
    ]
    return "\n".join(lines)


def report_json(report: dict[str, Any]) -> str:
    """The report as strict JSON, which any pipeline's parser (JavaScript's, Go's) reads: a value
    that is not a finite number (a refused ``--max-p50-ms nan``) is written as a string."""
    return json.dumps(_finite(report), indent=2, sort_keys=True, default=str, allow_nan=False)


def write_report(path: Path | None, report: dict[str, Any]) -> None:
    """Write the JSON report (``report_json``, atomically) when a path was given."""
    if path is None:
        return
    from splitinfer.sdk._bundle import atomic_write

    atomic_write(Path(path), (report_json(report) + "\n").encode("utf-8"))


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float, however deep, as its string ("nan", "inf")."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
