"""``splitinfer demo``: the whole split in one run: condense on the device, answer from the server.

Starts a server on this machine (the embedded ``extractive`` backend by default), condenses a
built-in multi-document prompt with the device condenser (``Condenser.default()``), streams the
answer, prints what crossed the network against the original, and stops the server. When the
default bundle is not built, it says so and falls back as ``PREFER_DEVICE_CONDENSE`` does (the
server's ``Condense``, else the context goes uncondensed), and says which happened.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from splitinfer.cli._help import exit_codes, plain
from splitinfer.sdk._errors import InvalidInputError

PROMPT_FILE = Path(__file__).resolve().parents[1] / "sdk" / "assets" / "demo_prompt.txt"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="Run the end-to-end demo: condense on the device, answer from the server.",
        description=plain(__doc__) + "\nEverything it prints goes to stdout; errors go to stderr.\n",
        epilog=exit_codes(
            "the demo ran",
            "the server did not start or the call failed",
            "bad input or usage (a flag, an unreadable --prompt-file, a --condenser that does not load)",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--rate", type=float, default=0.33, help="fraction of context tokens to keep (default 0.33)"
    )
    parser.add_argument(
        "--condenser",
        type=Path,
        metavar="BUNDLE",
        help="device condenser bundle (default: the bundled one); one named here must load (else exit 2)",
    )
    parser.add_argument(
        "--backend",
        default="extractive",
        choices=("extractive", "echo"),
        help="the server's model (default extractive)",
    )
    parser.add_argument(
        "--prompt-file",
        type=Path,
        default=PROMPT_FILE,
        metavar="FILE",
        help="a 'Question: ...' line, a blank line, then the context (default: the built-in prompt)",
    )
    parser.set_defaults(func=run)


def read_prompt(path: Path) -> tuple[str, str]:
    """``(question, context)`` from a prompt file: ``Question: ...`` on the first line, then the context."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidInputError(f"cannot read the demo prompt {path}: {err}") from None
    first, _, context = text.partition("\n")
    if not first.startswith("Question:") or not context.strip():
        raise InvalidInputError(f"{path}: the first line must be 'Question: ...' followed by the context")
    return first.removeprefix("Question:").strip(), context.strip()


def load_device_condenser(path: Path | None) -> tuple[Any, str]:
    """The condenser (or None) and a line saying what was loaded or why not. The bundled one may
    fail to load, and the demo shows the fallback; a bundle named with ``--condenser`` that does
    not load is bad input (``BundleError``, exit 2)."""
    from splitinfer.sdk import BundleError, Condenser

    if path is not None:
        condenser = Condenser.load(path)
        return condenser, f"{condenser.model_version} ({path}, window {condenser.max_seq_len} tokens)"
    try:
        condenser = Condenser.default()
    except BundleError as err:
        return None, (
            f"NO device condenser: {err}\n"
            "      Falling back as PREFER_DEVICE_CONDENSE does: the server's Condense, else the full context."
        )
    return (
        condenser,
        f"{condenser.model_version} (the bundled default, window {condenser.max_seq_len} tokens)",
    )


def warm_up(address: str) -> None:
    """One tiny uncondensed call, so the model is loaded before the timed one (as a deployed server is)."""
    from splitinfer.sdk import Client

    with Client(address, condenser=None, policy="none", timeout=300) as client:
        client.generate("Is the model loaded?", context="The model is loaded.", max_new_tokens=1).collect()


def run(args: argparse.Namespace) -> int:
    from splitinfer.sdk import Client
    from splitinfer.sdk._inputs import check_rate_or_target
    from splitinfer.server import BackgroundServer, ServerConfig

    check_rate_or_target(args.rate, None)
    question, context = read_prompt(args.prompt_file)
    condenser, loaded = load_device_condenser(args.condenser)
    out = sys.stdout
    print("splitinfer demo: condense on the device, answer in the cloud\n", file=out)
    started = time.perf_counter()
    print(f"[1/4] starting a server with the '{args.backend}' backend ...", end=" ", flush=True, file=out)
    config = ServerConfig(
        host="127.0.0.1", port=0, backend=args.backend, log_requests=False, grace_seconds=2.0
    )
    with BackgroundServer(config) as server:
        print(f"listening on {server.address}; warming up the model ...", end=" ", flush=True, file=out)
        warm_up(server.address)
        print(f"ready ({time.perf_counter() - started:.1f} s)", file=out)
        print(f"[2/4] device condenser: {loaded}", file=out)
        documents = sum(1 for line in context.splitlines() if line.startswith("Document "))
        print(f"[3/4] question: {question}", file=out)
        print(f"      context: {documents} documents, {len(context.split()):,} words", file=out)
        print("      answer: ", end="", flush=True, file=out)
        with Client(server.address, condenser=condenser, timeout=120) as client:
            stream = client.generate(question, context=context, rate=args.rate, max_new_tokens=256)
            for chunk in stream:
                print(chunk, end="", flush=True, file=out)
            result = stream.result
        print("\n", file=out)
        report(result, context, out)
        print("stopping the server ...", end=" ", flush=True, file=out)
    print(f"done ({time.perf_counter() - started:.1f} s in all)", file=out)
    return 0


def report(result: Any, context: str, out: Any) -> None:
    from splitinfer.sdk import Where
    from splitinfer.sdk._tokenizer import WordPieceTokenizer

    savings = result.savings
    if savings.original_tokens is None:
        # Nothing was condensed: count with the same vocabulary the bundles use.
        vocab = Path(__file__).resolve().parents[1] / "sdk" / "assets" / "vocab.txt"
        counted = sum(len(ids) for ids in WordPieceTokenizer.from_file(vocab).encode_words(context.split()))
        original = sent = counted
    else:
        original, sent = savings.original_tokens, savings.sent_tokens
    print("[4/4] what crossed the network", file=out)
    print(f"      {'':16}{'original':>10}{'sent':>10}", file=out)
    print(f"      {'context tokens':16}{original:>10,}{sent:>10,}", file=out)
    print(f"      {'request bytes':16}{savings.original_bytes:>10,}{savings.sent_bytes:>10,}", file=out)
    if result.where is Where.DEVICE:
        print(
            f"      condensed ON THE DEVICE in {savings.device_ms:.1f} ms: {sent / original:.0%} of the tokens sent",
            file=out,
        )
    elif result.where is Where.SERVER:
        print(
            f"      condensed ON THE SERVER in {savings.server_condense_ms:.1f} ms (the full context was uploaded)",
            file=out,
        )
    else:
        print("      NOT condensed: the full context was sent", file=out)
    if result.fallback_reason:
        print(f"      why: {result.fallback_reason}", file=out)
    usage = result.usage
    print(
        f"      server: read {usage.prompt_tokens:,} prompt tokens, wrote {usage.completion_tokens:,}, "
        f"first chunk after {usage.time_to_first_chunk_ms:.0f} ms, done after {usage.total_ms:.0f} ms\n",
        file=out,
    )
