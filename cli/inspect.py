"""``splitinfer inspect``: what a condenser bundle is, checked, without TensorFlow.

Reads the bundle as the SDK does (archive, manifest, format version, sha256 of the model, the
tensors against the model contract, the vocabulary), runs the model once on a short sample with
LiteRT, and prints what the manifest records: version, conversion, what the model reads, the
selection rules, the teacher and training data, the agreement with the teacher and the release
gates. A release pipeline can check a bundle before it ships it: exit 0 when it loads and runs,
2 (with what is wrong and how to fix it) when it does not.

  splitinfer inspect                      the bundled default condenser
  splitinfer inspect my.tflite --json     the same as one JSON object, the whole manifest in it
  splitinfer inspect my.tflite --card     the model card the converter put in the bundle
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from splitinfer.cli._help import exit_codes, plain
from splitinfer.sdk._errors import BundleError

# Runs the model once: a question and a few sentences, one window.
SAMPLE_QUESTION = "When did the footbridge reopen?"
SAMPLE = (
    "The council met on a wet Tuesday evening. The footbridge over Harrow Street reopened on "
    "14 April 2019 after its repairs, three weeks later than planned. The treasurer read the "
    "accounts, and members asked about the cost of the new lights in the park."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help="Check a condenser bundle and show what its manifest records.",
        description=plain(__doc__),
        epilog=exit_codes(
            "the bundle loads and runs",
            None,
            "the bundle does not load or run (missing, corrupt, foreign, made for another SDK)",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "bundle", nargs="?", type=Path, metavar="BUNDLE", help="a .tflite bundle (default: the bundled one)"
    )
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="print one JSON object, the whole manifest in it")
    shown.add_argument("--card", action="store_true", help="print the bundle's model card (Markdown)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from splitinfer.sdk._bundle import read_bundle
    from splitinfer.sdk._condenser import DEFAULT_BUNDLE, Condenser

    path = DEFAULT_BUNDLE if args.bundle is None else args.bundle
    bundle = read_bundle(path)
    if args.card:
        card = bundle.files.get("model_card.md")
        if card is None:
            raise BundleError(
                f"{path} has no model card (files: {', '.join(sorted(bundle.files))}); "
                "'splitinfer convert' adds one"
            )
        sys.stdout.write(card.decode("utf-8", errors="replace").rstrip("\n") + "\n")
        return 0
    condenser = Condenser(bundle, str(path))
    start = time.perf_counter()
    result = condenser.condense(SAMPLE, SAMPLE_QUESTION, rate=0.5)
    ms = (time.perf_counter() - start) * 1000
    facts = {
        "file": str(path),
        "bytes": path.stat().st_size,
        # The file's hash, as convert's report gives it (bundle_sha256); the manifest's sha256 is
        # that of the model inside, which eval names model_sha256.
        "bundle_sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(),
        "files": sorted(bundle.files),
        "vocab_size": len(bundle.vocab),
        "sample_run": {"tokens": result.original_tokens, "kept": result.condensed_tokens, "ms": round(ms, 3)},
        "manifest": bundle.manifest,
    }
    if args.json:
        print(json.dumps(facts, indent=2, ensure_ascii=False))
    else:
        print("\n".join(f"{key:<13}{value}" for key, value in lines(facts)))
    return 0


def lines(facts: dict[str, Any]) -> list[tuple[str, str]]:
    """The human view: one (label, text) pair per line; what the manifest lacks is left out."""
    m = facts["manifest"]
    out = [
        (
            "bundle",
            f"{facts['file']}: {facts['bytes']:,} bytes, sha256 {facts['bundle_sha256'][:12]}…; "
            f"model {m['model_bytes']:,} bytes, model sha256 {m['sha256'][:12]}… verified",
        ),
        ("model", f"{m['model_version']} (bundle format {m['format_version']})"),
    ]
    conversion = m.get("conversion")
    if isinstance(conversion, dict):
        out.append(("converted", f"{conversion.get('mode', '?')} by {conversion.get('converter', '?')}"))
    architecture = m.get("architecture")
    if isinstance(architecture, dict) and architecture.get("summary"):
        out.append(("architecture", str(architecture["summary"])))
    breaks = m.get("line_break_id")
    out.append(
        (
            "reads",
            f"{m['max_seq_len']} context tokens a window, {m['max_question_len']} question tokens, "
            f"{facts['vocab_size']:,}-token vocabulary"
            + ("" if breaks is None else f", line breaks as token {breaks}"),
        )
    )
    out.append(("default rate", str(m["default_rate"])))
    out.append(("selection", selection_text(m.get("selection"))))
    settings = m.get("teacher_settings")
    model = settings.get("model") if isinstance(settings, dict) else None
    out.append(("teacher", str(m["teacher"]) + (f" ({model})" if model else "")))
    data = m.get("training_data")
    if isinstance(data, dict) and data.get("summary"):
        out.append(("training", str(data["summary"])))
    agreement = m.get("agreement_vs_teacher")
    if isinstance(agreement, dict) and "f1" in agreement:
        out.append(
            (
                "agreement",
                f"keep/drop F1 {agreement['f1']:.3f} with the teacher at rate {agreement.get('rate', '?')} "
                f"({agreement.get('prompts', '?')} held-out prompts)",
            )
        )
    gates = m.get("gates")
    if isinstance(gates, dict):
        out.extend(
            ("gate" if i == 0 else "", gate_text(n, g, facts["bytes"]))
            for i, (n, g) in enumerate(gates.items())
        )
    run = facts["sample_run"]
    out.append(
        (
            "runs",
            f"LiteRT scored a {run['tokens']}-token sample and kept {run['kept']} tokens in {run['ms']:.1f} ms",
        )
    )
    out.append(("files", ", ".join(facts["files"])))
    return out


def selection_text(selection: object) -> str:
    if not isinstance(selection, dict):
        return "the model's word scores as they are (no smoothing)"
    parts = [
        f"sentence weight {selection.get('segment_weight', 0)}",
        f"document weight {selection.get('document_weight', 0)}",
    ]
    if selection.get("name_spans"):
        parts.append("names taken whole")
    answer_types = selection.get("answer_types")
    if isinstance(answer_types, dict):
        parts.append(f"asked-for names and numbers lifted by {answer_types.get('weight', 0)}")
    if selection.get("title_lift"):
        parts.append("titles lifted to their text's best score")
    return ", ".join(parts)


def gate_text(name: str, gate: object, bundle_bytes: int | None = None) -> str:
    """One gate's verdict, value and threshold. The manifest keeps no size or latency value (they
    would change the bytes of every rebuild): the size is the bundle's own, the latency is said to
    be in the convert report."""
    if not isinstance(gate, dict):
        return f"{name}: {gate}"
    verdict = "passed" if gate.get("passed") else "FAILED"
    value = gate.get("value")
    if value is None and name == "size" and bundle_bytes is not None:
        value = round(bundle_bytes / 1e6, 6)
    measured = "" if value is None or value == [] else f"{value} against "
    if value is None and name == "latency":
        measured = "measured value in the convert --report (not kept in the bundle), "
    threshold = gate.get("threshold")
    shown = f"{threshold:g}" if isinstance(threshold, float) else threshold
    unit = f" {gate['unit']}" if gate.get("unit") else ""
    return f"{name}: {verdict}, {measured}threshold {shown}{unit}"
