"""The student goes through the device's own Condenser, held to the same rules as the baselines.

Uses the SDK tests' tiny real bundle (TensorFlow-converted, run by LiteRT), so these run from a
fresh clone, before and independently of the default bundle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pytest
from sdk_bundles import bundle_path, condenser  # noqa: F401  (pytest fixtures)

from splitinfer.cli.main import main
from splitinfer.evaluation.methods import ScoredMethod, StudentMethod, layout, random_scorer, truncate_scorer
from splitinfer.sdk._selection import token_budget

pytestmark = pytest.mark.slow

CONTEXT = (
    "Harbour: The harbour was dredged in 1898 so that larger steamers could dock. "
    "Lighthouse: The lighthouse keeper, Marta Lindqvist, kept a log of every ship "
    "that passed the point for thirty years. Market: The fish market opens at dawn "
    "and closes when the last boat is unloaded, usually before noon. "
) * 3


@dataclass
class Case:
    id: str = "s0"
    question: str = "Who kept the lighthouse log?"
    context: str = CONTEXT
    answers: list[str] = field(default_factory=lambda: ["Marta Lindqvist"])
    verbatim: str = ""


@pytest.mark.parametrize("rate", [0.1, 0.33])
def test_the_student_gets_the_same_budget_and_forced_words_as_the_baselines(condenser, rate) -> None:  # noqa: F811
    lay = layout(CONTEXT, condenser.tokenizer)
    budget = token_budget(lay.total_tokens, rate)
    forced = set(np.flatnonzero(lay.forced).tolist())
    methods = [
        StudentMethod(condenser),
        ScoredMethod("random", random_scorer(0)),
        ScoredMethod("truncate", truncate_scorer),
    ]
    for method in methods:
        kept = method.condense(Case(), lay, rate).kept
        assert forced <= set(kept.tolist()), method.name
        used = lay.tokens(kept)
        assert budget - int(lay.token_counts.max()) < used <= budget, method.name


def test_the_student_text_is_the_condensers_own(condenser) -> None:  # noqa: F811
    lay = layout(CONTEXT, condenser.tokenizer)
    done = StudentMethod(condenser).condense(Case(), lay, 0.2)
    expected = condenser.condense(CONTEXT, question=Case().question, rate=0.2)
    assert lay.text(done.kept) == expected.text
    assert done.ms > 0


def test_eval_runs_a_bundle_given_with_model(tmp_path, capsys, bundle_path) -> None:  # noqa: F811
    data = tmp_path / "one.jsonl"
    line = {"question": Case().question, "context": CONTEXT, "answers": ["Marta Lindqvist"]}
    data.write_text(json.dumps(line) + "\n", encoding="utf-8")
    argv = ["eval", "--format", "qa", "--data", str(data), "--split", "all", "--rates", "0.2"]
    assert main([*argv, "--methods", "student,random,none", "--model", str(bundle_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["config"]["model_version"] == "test-cnn-1"
    student = doc["results"][0]
    assert student["method"] == "student" and student["n"] == 1
    assert student["ratio_tokens"] == pytest.approx(0.2, rel=0.1)
    assert student["condense_ms_p50"] > 0
