"""`splitinfer bench server`: a flag the benchmark cannot run with is refused in one line that names
it, before any process starts; a flag it can run with measures both servers alike."""

from __future__ import annotations

import json

import pytest
from cli_support import exit_code

from splitinfer.server.bench import failures

SMALL = ["--streams", "2", "--callers", "2", "--seconds", "0.3", "--chunks", "1", "--channels", "1"]
SMALL += ["--rounds", "1", "--chunk-delay-ms", "0"]


@pytest.mark.parametrize(
    ("flag", "value", "other"),
    [("--chunk-delay-ms", "-1", "--seconds"), ("--seconds", "0", "--chunk-delay-ms")],
)
def test_a_bad_figure_is_named_alone_with_its_value(capsys, flag, value, other) -> None:
    assert exit_code(["bench", "server", *SMALL, flag, value]) == 2
    err = capsys.readouterr().err.strip()
    assert flag in err and value in err and other not in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--streams", "1001"), ("--callers", "1001"), ("--channels", "1001"), ("--chunks", "1000001")],
)
def test_more_than_the_servers_can_take_at_once_is_bad_input(capsys, flag, value) -> None:
    assert exit_code(["bench", "server", *SMALL, flag, value]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{flag} must be at most" in err and len(err.splitlines()) == 1


def test_streams_longer_than_the_default_answer_arrive_whole(capsys) -> None:
    # The server ends an answer at 256 tokens unless the request asks for more; the baseline does
    # not: without asking, every stream of ours would count as lost.
    assert exit_code(["bench", "server", *SMALL, "--chunks", "300", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["lost"] == 0 and figures["baseline_lost"] == 0 and figures["errors"] == 0


def test_a_unary_phase_too_short_for_one_call_is_bad_input(capsys) -> None:
    assert exit_code(["bench", "server", *SMALL, "--seconds", "0.000001"]) == 2
    err = capsys.readouterr().err
    assert "--seconds" in err and "Traceback" not in err


def test_failed_calls_of_the_baseline_fail_the_run_too() -> None:
    clean = {"errors": 0, "lost": 0, "baseline_errors": 0, "baseline_lost": 0}
    assert failures(clean) is None
    message = failures({**clean, "baseline_errors": 3})
    assert message is not None and "baseline" in message and "3 call(s) failed" in message
    assert "baseline" not in (failures({**clean, "lost": 2}) or "baseline")


def test_a_server_that_failed_every_call_still_gives_json_and_fails_the_run() -> None:
    import argparse
    import math

    from splitinfer.server.bench import _summarize

    dead_unary = {
        "rps": 0.0,
        "p50_ms": math.nan,
        "p99_ms": math.nan,
        "calls": 0,
        "errors": 40,
        "server_cpu_s": 0.0,
    }
    dead_stream = {
        "ttft_p50_ms": math.nan,
        "ttft_p99_ms": math.nan,
        "chunks_per_s": 0.0,
        "errors": 8,
        "lost": 0,
    }
    live_unary = {"rps": 900.0, "p50_ms": 1.0, "p99_ms": 3.0, "calls": 900, "errors": 0, "server_cpu_s": 0.5}
    live_stream = {"ttft_p50_ms": 5.0, "ttft_p99_ms": 9.0, "chunks_per_s": 400.0, "errors": 0, "lost": 0}
    args = argparse.Namespace(
        streams=8, callers=4, seconds=1.0, chunks=16, chunk_delay_ms=1.0, channels=1, rounds=1
    )
    for ours, base in (
        ((dead_unary, dead_stream), (live_unary, live_stream)),
        ((live_unary, live_stream), (dead_unary, dead_stream)),
    ):
        runs = {
            "ours": {"unary": [ours[0]], "stream": [ours[1]]},
            "baseline": {"unary": [base[0]], "stream": [base[1]]},
        }
        figures = _summarize(args, runs)
        json.dumps(figures, allow_nan=False)  # raises on NaN or infinity
        assert failures(figures) is not None
