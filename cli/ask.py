"""``splitinfer ask``: ask a question about a long context through a splitinfer server.

The context (``--context-file``, UTF-8, ``-`` for stdin; none by default) is condensed per
``--policy`` (on this machine by default), the answer streams to stdout as it arrives and ends
with a newline, and one line on stderr says what was sent and saved, after a ``note:`` line if
condensing fell back. ``--json`` prints one JSON object on one line at the end instead of the
streamed answer: answer, finish_reason, model, request_id, where, fallback_reason, usage, savings.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from splitinfer.cli._help import add_force, exit_codes, plain, read_input, utf8
from splitinfer.sdk._errors import InvalidInputError, SplitinferError

# Policy short names (splitinfer.sdk.Policy.parse reads them); spelled out so --help imports nothing.
POLICY_NAMES = ("prefer-device", "only-device", "server", "none")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ask",
        help="Ask a question about a long context through a splitinfer server.",
        description=plain(__doc__),
        epilog=exit_codes(
            "answered",
            "the call failed (server unreachable or gone mid-answer, credentials refused, --timeout)",
            "bad input or usage (a flag, an unreadable --context-file, a --condenser that does not load)",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--server", required=True, type=utf8, metavar="HOST:PORT", help="the splitinfer server"
    )
    parser.add_argument("--question", required=True, type=utf8, help="what to ask")
    parser.add_argument(
        "--context-file", type=Path, metavar="FILE", help="the long context, UTF-8 ('-' = stdin)"
    )
    parser.add_argument("--instruction", default="", type=utf8, help="a system instruction (never condensed)")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument(
        "--rate",
        type=float,
        help="fraction of context tokens to keep, in (0, 1] (default: the condenser's own, 0.33 for the bundled one)",
    )
    budget.add_argument(
        "--target-tokens", type=int, metavar="N", help="context token budget instead of a rate"
    )
    add_force(parser)
    parser.add_argument(
        "--policy",
        default="prefer-device",
        choices=POLICY_NAMES,
        help="where to condense: prefer-device (fall back to the server), only-device, server, none (default prefer-device)",
    )
    parser.add_argument(
        "--condenser",
        type=Path,
        metavar="BUNDLE",
        help=(
            "device condenser bundle (default: the bundled one, which falls back per --policy if it "
            "cannot load; a bundle named here that does not load is an error, exit 2)"
        ),
    )
    parser.add_argument(
        "--model", default="", type=utf8, help="the server's model to answer with (default: its default)"
    )
    parser.add_argument(
        "--max-new-tokens", type=int, default=0, metavar="N", help="answer length cap (0 = server default)"
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help="file holding the one bearer token to send (blank lines and # comments skipped, as in serve "
        "--auth-tokens; default: no token)",
    )
    parser.add_argument(
        "--tls-ca", type=Path, metavar="PEM", help="CA certificate(s) to trust for TLS (implies TLS)"
    )
    parser.add_argument(
        "--tls-server-name",
        type=utf8,
        metavar="NAME",
        help="host name to check in the server's certificate (implies TLS; default: the --server host)",
    )
    tls = parser.add_mutually_exclusive_group()
    tls.add_argument("--tls", action="store_true", default=None, help="use TLS with the system's CAs")
    tls.add_argument("--plaintext", action="store_true", help="no TLS (default only for loopback servers)")
    parser.add_argument(
        "--timeout", type=float, default=60.0, metavar="SECONDS", help="deadline of the call (default 60)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object (the fields listed above) at the end"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from splitinfer.sdk import Client
    from splitinfer.sdk._channel import check_target

    check_target(args.server, "--server")
    if args.plaintext and (args.tls_ca is not None or args.tls_server_name is not None):
        flag = "--tls-ca" if args.tls_ca is not None else "--tls-server-name"
        raise InvalidInputError(f"{flag} is for TLS, and --plaintext turns TLS off; drop one of them")
    context = read_context(args.context_file)
    token = read_token(args.token_file) if args.token_file is not None else None
    roots = read_tls_ca(args.tls_ca) if args.tls_ca is not None else None
    implied = roots is not None or args.tls_server_name is not None
    tls = False if args.plaintext else (True if args.tls or implied else None)
    with Client(
        args.server,
        condenser=explicit_condenser(args.condenser, args.policy),
        policy=args.policy,
        credentials=token,
        tls=tls,
        root_certificates=roots,
        tls_server_name=args.tls_server_name,
        timeout=args.timeout,
    ) as client:
        stream = client.generate(
            args.question,
            context=context,
            instruction=args.instruction,
            rate=args.rate,
            target_tokens=args.target_tokens,
            force=args.force,
            model=args.model,
            max_new_tokens=args.max_new_tokens,
        )
        with stream:
            answered = False
            try:
                for chunk in stream:
                    if not args.json:
                        # Set before the write: a Ctrl-C just after it must still end the line.
                        answered = answered or bool(chunk)
                        sys.stdout.write(chunk)
                        sys.stdout.flush()
            except (SplitinferError, KeyboardInterrupt):
                if answered:  # end the partial answer's line, so the error starts a line of its own
                    print(flush=True)
                raise
        result = stream.result
    if args.json:
        print(json.dumps(result_json(result), ensure_ascii=False))
        return 0
    print(flush=True)
    if result.fallback_reason:
        print(f"note: {result.fallback_reason}", file=sys.stderr)
    print(result.savings.summary(), file=sys.stderr)
    return 0


def explicit_condenser(path: Path | None, policy: str) -> Any:
    """The ``Client``'s condenser: the bundled one (loaded when first needed; unusable, it falls
    back per ``--policy``), or the bundle the user named, loaded now: a path they typed that does
    not load is bad input (exit 2), not a reason to send the context elsewhere."""
    if path is None:
        return "default"
    if policy not in ("prefer-device", "only-device"):
        return None  # never used: say nothing about it
    from splitinfer.sdk import Condenser

    return Condenser.load(path)


def read_tls_ca(path: Path) -> bytes:
    """The PEM certificates of ``--tls-ca``, checked here so that a wrong file is named as such
    instead of failing the TLS handshake later."""
    from splitinfer.sdk._channel import check_certificates

    try:
        data = path.read_bytes()
    except OSError as err:
        raise InvalidInputError(f"cannot read --tls-ca {path}: {err.strerror}") from None
    return check_certificates(data, f"--tls-ca {path}").encode("ascii")


def read_context(path: Path | None) -> str:
    if path is None:
        return ""
    data = read_input(
        path, "--context-file", "--context-file - reads stdin, which is closed; pipe the context in"
    )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidInputError(
            f"--context-file {path} is not valid UTF-8 (byte offset {err.start}); convert it first"
        ) from None


def read_token(path: Path) -> str:
    """The one token of ``--token-file``: UTF-8 with or without a byte order mark, blank lines and
    ``#`` comments skipped, as in the server's ``--auth-tokens`` file."""
    from splitinfer.sdk._channel import tokens_in

    try:
        data = path.read_bytes()
    except OSError as err:
        raise InvalidInputError(f"cannot read --token-file {path}: {err.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InvalidInputError(
            f"--token-file {path} is not UTF-8 text (byte offset {err.start}); save it as UTF-8"
        ) from None
    tokens = [token for _, token in tokens_in(text)]
    if not tokens:
        raise InvalidInputError(f"--token-file {path} is empty; put the bearer token in it")
    if len(tokens) > 1:
        raise InvalidInputError(f"--token-file {path} holds {len(tokens)} tokens; keep only the one to send")
    return tokens[0]


def result_json(result: Any) -> dict[str, Any]:
    savings = result.savings
    return {
        "answer": result.text,
        "finish_reason": result.finish_reason,
        "model": result.model,
        "request_id": result.request_id,
        "where": result.where.value,
        "fallback_reason": result.fallback_reason,
        "usage": vars(result.usage),
        "savings": {
            "original_tokens": savings.original_tokens,
            "sent_tokens": savings.sent_tokens,
            "tokens_saved": savings.tokens_saved,
            "original_bytes": savings.original_bytes,
            "sent_bytes": savings.sent_bytes,
            "bytes_saved": savings.bytes_saved,
            "device_ms": savings.device_ms,
            "server_condense_ms": savings.server_condense_ms,
        },
    }
