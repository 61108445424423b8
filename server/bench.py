"""``splitinfer bench server``: our server's overhead against a bare ``grpc.aio`` servicer.

Both servers run on loopback in the same run, each in its own process, and each is driven by a
load process of its own, so the client's work and the GIL never slow the server being measured:

* **ours**: the real server (echo backend, bearer-token interceptor, admission control, validation,
  Prometheus metrics, one JSON log line per call written to a file);
* **baseline**: a bare ``grpc.aio`` servicer with the same messages and no work.

Phases, ``--rounds`` times (the figures are means over rounds):

1. unary: ``--callers`` concurrent callers loop on ``GetInfo`` for ``--seconds``: throughput, p50/p99.
   Both servers are loaded at the same time, so whatever else runs on the machine slows both
   alike and the ratio of their throughputs compares their cost per call;
2. streaming: ``--streams`` concurrent ``Generate`` streams held open at once, each
   ``--chunks`` chunks paced ``--chunk-delay-ms`` apart (a model's pace; the same in both servers),
   over ``--channels`` connections, one server at a time: time to first chunk p50/p99, chunks/s,
   errors, lost streams (ended without a final message or with missing chunks).

``overhead_ratio`` = our unary throughput / the baseline's (the median over rounds);
``cpu_overhead_ratio`` = the baseline's server CPU per unary call / ours. Exits 1 if any call to
either server failed or any stream was lost.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing
import os
import secrets
import signal
import statistics
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from splitinfer.sdk._errors import InvalidInputError, SplitinferError

# Calls in flight at once on one server: beyond 1000 waiting calls a gRPC server with its default
# options (the bare baseline) cancels new ones at random (grpc.server.max_pending_requests, which
# splitinfer serve raises), so the comparison would measure that setting.
MAX_CALLS_AT_ONCE = 1000
_GRPC_LIMIT = f"a bare gRPC server (the baseline) cancels calls at random beyond {MAX_CALLS_AT_ONCE} at once"
# Each flag's upper bound and why.
_MAXIMA = {
    "streams": (MAX_CALLS_AT_ONCE, _GRPC_LIMIT),
    "callers": (MAX_CALLS_AT_ONCE, _GRPC_LIMIT),
    "channels": (MAX_CALLS_AT_ONCE, f"with at most {MAX_CALLS_AT_ONCE} streams, more would carry none"),
    # A stream's chunks are its prompt's words and its answer's tokens.
    "chunks": (1_000_000, "the echo model reads and writes at most 1,000,000 tokens"),
}


def register(targets: argparse._SubParsersAction) -> None:
    from splitinfer.cli._help import exit_codes, plain

    parser = targets.add_parser(
        "server",
        help="Benchmark the server's overhead against a bare grpc.aio servicer.",
        description=plain(__doc__),
        epilog=exit_codes(
            ok="the figures are printed and no call failed",
            failed="a call failed, a stream was lost or a benchmark process failed",
            sigterm=True,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--streams",
        type=int,
        default=256,
        help=f"concurrent Generate streams, 1 to {MAX_CALLS_AT_ONCE} (default 256)",
    )
    parser.add_argument(
        "--callers",
        type=int,
        default=64,
        help=f"concurrent unary callers, 1 to {MAX_CALLS_AT_ONCE} (default 64)",
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each unary phase (default 5)")
    parser.add_argument("--chunks", type=int, default=8, help="chunks per stream, 1 to 1,000,000 (default 8)")
    parser.add_argument(
        "--chunk-delay-ms", type=float, default=50.0, help="pause before each chunk (default 50)"
    )
    parser.add_argument(
        "--channels",
        type=int,
        default=8,
        help=f"client connections for the streams, 1 to {MAX_CALLS_AT_ONCE} (default 8)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds to average over (default 3)")
    parser.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    for name in ("streams", "callers", "chunks", "channels", "rounds"):
        if getattr(args, name) < 1:
            raise InvalidInputError(f"--{name} must be at least 1, got {getattr(args, name)}")
    for name, (most, why) in _MAXIMA.items():
        if getattr(args, name) > most:
            raise InvalidInputError(f"--{name} must be at most {most}, got {getattr(args, name)}: {why}")
    if not (math.isfinite(args.seconds) and args.seconds > 0):
        raise InvalidInputError(f"--seconds must be a finite number > 0, got {args.seconds}")
    if not (math.isfinite(args.chunk_delay_ms) and args.chunk_delay_ms >= 0):
        raise InvalidInputError(f"--chunk-delay-ms must be a finite number >= 0, got {args.chunk_delay_ms}")


class _Proc:
    """A child process and the pipe to talk to it."""

    def __init__(self, ctx: Any, target: Any, *args: Any) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=target, args=(*args, child), daemon=True)
        with _sigint_ignored():
            self.process.start()

    def ask(self, message: Any, timeout_s: float = 600.0) -> Any:
        if message is not None:
            self.conn.send(message)
        try:
            if not self.conn.poll(timeout_s):
                raise SplitinferError(f"a benchmark process did not answer within {timeout_s:.0f}s")
            return self.conn.recv()
        except (EOFError, OSError) as err:
            # The child died (its traceback is on stderr): a failed run, never a BrokenPipeError
            # that the command line would take for a closed stdout and exit 0 on.
            raise SplitinferError(
                f"a benchmark process exited early (exit code {self.process.exitcode}); see its error above"
            ) from err

    def kill(self) -> None:
        """Ends the process at once (SIGTERM): a load process may be in a phase for --seconds more."""
        self.process.terminate()

    def stop(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(OSError):  # it is exiting on its own
                self.conn.send("stop")
            self.process.join(15)
        if self.process.is_alive():
            self.process.terminate()


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ctrl-C sends SIGINT to every process of the terminal's group. A child started while SIGINT
    is ignored keeps ignoring it (Python installs its KeyboardInterrupt handler only over the
    default action), so only this process is interrupted, and it ends the children: no traceback
    from each of them. A Ctrl-C during the few milliseconds of a start is lost."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _unary_together(
    servers: dict[str, _Proc], clients: dict[str, _Proc], addresses: dict[str, str], seconds: float
) -> dict[str, Any]:
    """Both unary loads at once, so background load on a shared machine falls on both alike."""
    cpu_before = {name: server.ask("cpu") for name, server in servers.items()}
    for name, client in clients.items():
        client.conn.send(("unary", addresses[name]))
    results = {name: client.ask(None) for name, client in clients.items()}
    for name, result in results.items():
        if "failed" in result:
            raise SplitinferError(f"the unary load against {addresses[name]} failed: {result['failed']}")
        if not result["calls"] and not result["errors"]:
            raise InvalidInputError(
                f"--seconds {seconds:g} is too short: no call to the {name} server finished within it; "
                "give it 1 or more"
            )
        result["server_cpu_s"] = servers[name].ask("cpu") - cpu_before[name]
    return results


def _streams(client: _Proc, address: str) -> dict[str, Any]:
    result = client.ask(("stream", address))
    if "failed" in result:
        raise SplitinferError(f"the stream load against {address} failed: {result['failed']}")
    return result


def _get_info(address: str, token: str) -> bytes:
    import grpc

    from splitinfer.v1 import inference_pb2 as pb
    from splitinfer.v1 import inference_pb2_grpc as pb_grpc

    with grpc.insecure_channel(address) as channel:
        reply = pb_grpc.InferenceStub(channel).GetInfo(
            pb.GetInfoRequest(), metadata=(("authorization", f"Bearer {token}"),), timeout=30
        )
    return reply.SerializeToString()


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Runs the benchmark and returns its figures (see the module docstring)."""
    from splitinfer.server import _bench_procs as procs

    ctx = multiprocessing.get_context("spawn")
    token = secrets.token_hex(16)
    plan = {k: getattr(args, k) for k in ("callers", "seconds", "streams", "chunks", "channels")}
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        "ours": {"unary": [], "stream": []},
        "baseline": {"unary": [], "stream": []},
    }
    with tempfile.TemporaryDirectory(prefix="splitinfer-bench-") as tmp:
        options = {
            "chunk_delay_ms": args.chunk_delay_ms,
            "tokens_file": str(procs.write_tokens(Path(tmp), token)),
            "max_concurrent": max(64, args.streams),
        }
        started: list[_Proc] = []
        try:
            ours = _Proc(ctx, procs.run_ours, options, str(Path(tmp) / "requests.log"))
            started.append(ours)
            addresses = {"ours": f"127.0.0.1:{ours.ask(None, 120)}"}
            baseline = _Proc(
                ctx, procs.run_baseline, _get_info(addresses["ours"], token), args.chunk_delay_ms
            )
            started.append(baseline)
            addresses["baseline"] = f"127.0.0.1:{baseline.ask(None, 120)}"
            clients = {name: _Proc(ctx, procs.run_client, token, plan) for name in ("ours", "baseline")}
            started.extend(clients.values())
            servers = {"ours": ours, "baseline": baseline}
            for i in range(args.rounds):
                for name, result in _unary_together(servers, clients, addresses, args.seconds).items():
                    runs[name]["unary"].append(result)
                # Streams one server at a time, alternating who goes first so drifting load favours neither.
                for name in ("ours", "baseline") if i % 2 == 0 else ("baseline", "ours"):
                    runs[name]["stream"].append(_streams(clients[name], addresses[name]))
        except KeyboardInterrupt:
            for proc in started:
                proc.kill()
            raise
        finally:
            for proc in reversed(started):
                proc.stop()
    return _summarize(args, runs)


def _mean(results: list[dict[str, Any]], key: str) -> float:
    return statistics.fmean(r[key] for r in results)


def _summarize(args: argparse.Namespace, runs: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    ours, base = runs["ours"], runs["baseline"]

    def cpu_us(unary: list[dict[str, Any]]) -> float:
        return sum(r["server_cpu_s"] for r in unary) / max(1, sum(r["calls"] for r in unary)) * 1e6

    # Each round's ratio compares two loads run over the same seconds, under the same background load.
    paired = [_ratio(o["rps"], b["rps"]) for o, b in zip(ours["unary"], base["unary"], strict=True)]
    figures = {
        "unary_rps": round(_mean(ours["unary"], "rps"), 1),
        "baseline_unary_rps": round(_mean(base["unary"], "rps"), 1),
        "overhead_ratio": round(statistics.median(paired), 3),
        "overhead_ratio_per_round": [round(r, 3) for r in paired],
        "unary_p50_ms": round(_mean(ours["unary"], "p50_ms"), 3),
        "unary_p99_ms": round(_mean(ours["unary"], "p99_ms"), 3),
        "baseline_unary_p50_ms": round(_mean(base["unary"], "p50_ms"), 3),
        "baseline_unary_p99_ms": round(_mean(base["unary"], "p99_ms"), 3),
        "server_cpu_us_per_call": round(cpu_us(ours["unary"]), 1),
        "baseline_server_cpu_us_per_call": round(cpu_us(base["unary"]), 1),
        "cpu_overhead_ratio": round(_ratio(cpu_us(base["unary"]), cpu_us(ours["unary"])), 3),
        "streams": args.streams,
        "stream_ttft_p50_ms": round(_mean(ours["stream"], "ttft_p50_ms"), 2),
        "stream_ttft_p99_ms": round(_mean(ours["stream"], "ttft_p99_ms"), 2),
        "baseline_stream_ttft_p50_ms": round(_mean(base["stream"], "ttft_p50_ms"), 2),
        "baseline_stream_ttft_p99_ms": round(_mean(base["stream"], "ttft_p99_ms"), 2),
        "chunks_per_s": round(_mean(ours["stream"], "chunks_per_s"), 1),
        "baseline_chunks_per_s": round(_mean(base["stream"], "chunks_per_s"), 1),
        "errors": sum(r["errors"] for phase in ours.values() for r in phase),
        "lost": sum(r["lost"] for r in ours["stream"]),
        "baseline_errors": sum(r["errors"] for phase in base.values() for r in phase),
        "baseline_lost": sum(r["lost"] for r in base["stream"]),
        "callers": args.callers,
        "seconds": args.seconds,
        "chunks_per_stream": args.chunks,
        "chunk_delay_ms": args.chunk_delay_ms,
        "channels": args.channels,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    # A figure no call produced (a server that failed every call) is null, so --json stays JSON.
    return {key: _finite(value) for key, value in figures.items()}


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def _finite(value: Any) -> Any:
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return None if isinstance(value, float) and not math.isfinite(value) else value


def run(args: argparse.Namespace) -> int:
    _check(args)
    # The servers and load run in processes of their own, which import the server there. Import
    # it here first, so a missing [server] extra is one line naming it, not a child's traceback.
    import splitinfer.server.app  # noqa: F401

    figures = measure(args)
    if args.json:
        print(json.dumps(figures, indent=2, allow_nan=False))
    else:
        width = max(map(len, figures))
        for key, value in figures.items():
            print(f"{key:<{width}}  {value}")
    failed = failures(figures)
    if failed:
        raise SplitinferError(failed)
    return 0


def failures(figures: dict[str, Any]) -> str | None:
    """What failed in a run, for its error line, or None: a failed call or lost stream of either
    server fails the run (the baseline's would skew every ratio)."""
    failed = [
        f"{who}: {figures[prefix + 'errors']} call(s) failed and {figures[prefix + 'lost']} stream(s) were lost"
        for who, prefix in (("ours", ""), ("baseline", "baseline_"))
        if figures[prefix + "errors"] or figures[prefix + "lost"]
    ]
    return "; ".join(failed) or None
