"""``splitinfer bench condenser``: one run times the bundle, condense() and a TinyBERT-4-shaped
reference converted the same way, and reports the ratio. No timed asserts: only that the figures
exist, are consistent with each other, and come from the bundle that was asked for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

from cli_support import exit_code
from sdk_bundles import build_test_bundle

from splitinfer.cli.main import main
from splitinfer.converters.bench import bench_prompt
from splitinfer.converters.reference import ReferenceConfig, build_reference

FIELDS = (
    "model_p50_ms",
    "model_p99_ms",
    "condense_2000w_p50_ms",
    "condense_2000w_cold_p50_ms",
    "reference_p50_ms",
    "speedup",
    "bundle_bytes",
    "peak_rss_mb",
)


@pytest.mark.slow
def test_bench_condenser_reports_every_figure_and_caches_the_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bundle = build_test_bundle(tmp_path / "small.tflite", max_seq_len=64, max_question_len=16)
    argv = [
        "bench",
        "condenser",
        "--json",
        "--bundle",
        str(bundle),
        "--runs",
        "20",
        "--condense-runs",
        "3",
        "--reference-runs",
        "4",
        "--cache-dir",
        str(tmp_path / "cache"),
    ]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    for field in FIELDS:
        assert result[field] > 0, field
    assert result["bundle_bytes"] == bundle.stat().st_size
    assert result["window_tokens"] == 64 and result["prompt_words"] == 2000
    assert result["speedup"] == pytest.approx(
        result["reference_p50_ms"] / result["model_p50_ms_paired"], rel=0.01
    )
    assert result["condense_speedup"] == pytest.approx(
        result["reference_condense_2000w_p50_ms"] / result["condense_2000w_p50_ms_paired"], rel=0.05
    )
    assert result["model_p50_ms"] <= result["model_p99_ms"]
    assert result["runs"] == {"model": 20, "condense": 3, "reference": 4, "condense_paired": 3}
    cached = list((tmp_path / "cache").glob("reference-tinybert4-dynamic-*.tflite"))
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    assert main(argv) == 0  # the second run reuses the converted reference
    assert cached[0].stat().st_mtime_ns == stamp


def test_the_reference_has_tinybert4_s_shape() -> None:
    model = build_reference(ReferenceConfig(max_seq_len=32, max_question_len=8))
    names = [layer.name for layer in model.layers]
    assert sum(n.startswith("attention_") and not n.startswith("attention_norm") for n in names) == 4
    attention = model.get_layer("attention_0")
    assert attention.num_heads == 12 and attention.key_dim * 12 == 312
    assert model.get_layer("ffn_in_0").units == 1200
    assert model.get_layer("token_embedding").output_dim == 312
    assert [t.name for t in model.inputs] == ["context_ids", "question_ids"]
    assert tuple(model.outputs[0].shape) == (None, 32)


def test_the_bench_prompt_is_deterministic_and_2000_words_long() -> None:
    assert bench_prompt(seed=1) == bench_prompt(seed=1)
    assert len(bench_prompt().split()) == 2000


def test_bench_condenser_on_a_missing_bundle_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["bench", "condenser", "--bundle", str(tmp_path / "none.tflite")]) == 2
    assert "none.tflite" in capsys.readouterr().err


def test_a_negative_seed_exits_2_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import argparse

    from splitinfer.converters.bench import measure
    from splitinfer.sdk._errors import InvalidInputError

    assert exit_code(["bench", "condenser", "--seed", "-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--seed: must be a whole number from 0" in err and len(err.splitlines()) == 1
    args = argparse.Namespace(runs=1, condense_runs=1, reference_runs=1, seed=-1, bundle=None)
    with pytest.raises(InvalidInputError, match="--seed must be a whole number"):
        measure(args)


def test_help_states_the_exit_codes_and_what_the_seed_seeds(capsys: pytest.CaptureFixture) -> None:
    assert exit_code(["bench", "condenser", "--help"]) == 0
    out = capsys.readouterr().out
    assert "exit codes:" in out and all(f"\n  {code}  " in out for code in range(4))
    assert "--seed SEED           seeds the benchmark prompt" in out and "``" not in out


def test_a_cache_dir_that_is_a_file_exits_2_before_any_timing(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    argv = ["bench", "condenser", "--runs", "1", "--condense-runs", "1", "--reference-runs", "1"]
    assert exit_code([*argv, "--cache-dir", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert "--cache-dir" in err and "Traceback" not in err
