"""Aggregation of `splitinfer eval` results, and how they are shown (table, JSON, plot)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pytest

from splitinfer.evaluation.build import default_tokenizer
from splitinfer.evaluation.methods import KeepAll, ScoredMethod, random_scorer, truncate_scorer
from splitinfer.evaluation.metrics import normalize_answer
from splitinfer.evaluation.report import format_table, plot, to_json
from splitinfer.evaluation.runner import EvalConfig, evaluate, prompt_text

FILLER = (
    "Rivers carry sediment from the hills to the plains, where it settles in broad fans. Farmers "
    "have long used these soils for grain, and towns grew where the roads met the water. "
)


@dataclass
class Case:
    id: str
    question: str
    context: str
    answers: list[str]
    verbatim: str = ""
    documents: list[str] = field(default_factory=list)


def _cases(n: int = 6) -> list[Case]:
    names = ["Ostrava", "Tromso", "Valparaiso", "Kingston", "Bergen", "Cusco", "Dakar", "Hobart"]
    out = []
    for i in range(n):
        fact = f"The lighthouse keeper was born in {names[i]}. "
        context = FILLER * (i % 3 + 1) + fact + FILLER * 2
        out.append(Case(f"c{i}", "Where was the lighthouse keeper born?", context, [names[i]]))
    return out


def oracle_scorer(case: Case, lay) -> np.ndarray:
    """Scores the words of the gold answer highest: what a perfect condenser would keep."""
    gold = set(normalize_answer(" ".join(case.answers)).split())
    return np.array([1.0 if normalize_answer(w) in gold else 0.0 for w in lay.words])


class FirstSentenceAnswerer:
    """Answers with the sentence sharing most words with the question (a test stand-in)."""

    def __init__(self) -> None:
        self.calls = 0

    def answer(self, question: str, context: str) -> str:
        self.calls += 1
        wanted = set(question.lower().split())
        sentences = [s for s in context.split(". ") if s.strip()] or [""]
        return max(sentences, key=lambda s: len(wanted & set(s.lower().split())))


@pytest.fixture(scope="module")
def tokenizer():
    return default_tokenizer()


def _methods():
    return [
        ScoredMethod("oracle", oracle_scorer),
        ScoredMethod("random", random_scorer(0)),
        ScoredMethod("truncate", truncate_scorer),
        KeepAll(),
    ]


def test_there_is_one_row_per_method_and_rate_and_one_for_none(tokenizer) -> None:
    rows = evaluate(_cases(), _methods(), tokenizer, EvalConfig(rates=(0.1, 0.5)))
    assert [(r["method"], r["rate"]) for r in rows] == [
        ("oracle", 0.1),
        ("oracle", 0.5),
        ("random", 0.1),
        ("random", 0.5),
        ("truncate", 0.1),
        ("truncate", 0.5),
        ("none", 1.0),
    ]
    assert all(r["n"] == 6 for r in rows)
    assert "accuracy_full" not in rows[0]


def test_retention_rewards_the_method_that_keeps_the_answer(tokenizer) -> None:
    rows = {
        (r["method"], r["rate"]): r
        for r in evaluate(_cases(), _methods(), tokenizer, EvalConfig(rates=(0.1,)))
    }
    assert rows[("oracle", 0.1)]["answer_retention"] == 1.0
    assert rows[("none", 1.0)]["answer_retention"] == 1.0
    assert rows[("truncate", 0.1)]["answer_retention"] == 0.0
    assert rows[("random", 0.1)]["answer_retention"] < 1.0


def test_achieved_rates_are_measured_in_words_and_tokens(tokenizer) -> None:
    rows = evaluate(_cases(), _methods()[1:3], tokenizer, EvalConfig(rates=(0.2,)))
    for row in rows:
        assert row["ratio_tokens"] == pytest.approx(0.2, abs=0.02)
        assert row["compression_tokens"] == pytest.approx(5.0, rel=0.1)
        assert 0.0 < row["ratio_words"] < 0.3
        assert row["rate_within_10pct"] == 1.0


def test_a_verbatim_part_is_sent_untouched_and_only_the_condensed_numbers_are_counted(tokenizer) -> None:
    problem = "Ann has 12 apples and buys 30 more. How many apples does she have?"
    demos = "Question: Bob had 4 pens and lost 1.\nLet's think step by step\n4-1=3\n#### 3"
    case = Case("g0", problem, demos, ["42"], verbatim=problem)
    records: list[dict] = []
    rows = evaluate(
        [case],
        [ScoredMethod("random", random_scorer(0))],
        tokenizer,
        EvalConfig(rates=(0.5,), keep_digits=False, answers_in_context=False),
        on_record=records.append,
    )
    assert records[0]["condensed"].endswith("\n\n" + problem)
    # The demonstrations hold 4, 1, 4, 1, 3 and 3: the problem's own 12 and 30 are never condensed,
    # and are checked apart, in the prompt sent.
    assert records[0]["numbers_total"] == 6
    assert records[0]["problem_numbers_kept"] is True
    assert rows[0]["problem_numbers_kept"] == 1.0
    assert rows[0]["answer_retention"] is None
    assert prompt_text(case, "") == problem


def test_numbers_kept_of_a_maths_case_falls_when_its_demonstrations_lose_numbers(tokenizer) -> None:
    problem = "Ann has 12 apples and buys 30 more. How many apples does she have?"
    demos = FILLER * 3 + "Question: Bob had 4 pens and lost 1.\nLet's think step by step\n4-1=3\n#### 3"
    case = Case("g1", problem, demos, ["42"], verbatim=problem)
    rows = evaluate(
        [case],
        [ScoredMethod("truncate", truncate_scorer)],
        tokenizer,
        EvalConfig(rates=(0.1,), keep_digits=False, answers_in_context=False),
    )
    # Truncation keeps only the filler: none of the demonstrations' numbers survive.
    assert rows[0]["numbers_kept"] == 0.0
    assert rows[0]["all_numbers_kept"] == 0.0


def test_numbers_kept_counts_what_the_condensed_context_dropped(tokenizer) -> None:
    case = Case("n0", "When?", "It opened in 1901 and closed in 1999 after " + FILLER * 3, ["1901"])
    rows = evaluate(
        [case],
        [ScoredMethod("truncate", truncate_scorer)],
        tokenizer,
        EvalConfig(rates=(0.1,), keep_digits=False),
    )
    assert rows[0]["numbers_kept"] == 1.0
    late = Case("n1", "When?", FILLER * 3 + "It opened in 1901 and closed in 1999.", ["1901"])
    rows = evaluate(
        [late],
        [ScoredMethod("truncate", truncate_scorer)],
        tokenizer,
        EvalConfig(rates=(0.1,), keep_digits=False),
    )
    assert rows[0]["numbers_kept"] == 0.0
    assert rows[0]["all_numbers_kept"] == 0.0


def test_with_an_answerer_full_and_condensed_accuracy_are_reported(tokenizer) -> None:
    answerer = FirstSentenceAnswerer()
    rows = evaluate(_cases(4), _methods(), tokenizer, EvalConfig(rates=(0.1,)), answerer=answerer)
    by_method = {r["method"]: r for r in rows}
    assert by_method["none"]["accuracy_full"] == by_method["none"]["accuracy_condensed"] == 1.0
    assert by_method["truncate"]["accuracy_condensed"] == 0.0
    assert all(r["accuracy_full"] == 1.0 for r in rows)
    # The full context is answered once per case; identical condensed prompts are not re-answered.
    assert answerer.calls <= 4 * (1 + 3)


def test_the_table_lists_every_row_and_leaves_out_unmeasured_columns(tokenizer) -> None:
    rows = evaluate(_cases(2), _methods(), tokenizer, EvalConfig(rates=(0.2,)))
    table = format_table(rows).splitlines()
    assert table[0].split()[:2] == ["method", "rate"]
    assert "acc" not in table[0]
    assert len(table) == 2 + len(rows)
    assert table[2].split()[0] == "oracle"


def test_the_json_document_has_config_and_results(tokenizer) -> None:
    rows = evaluate(_cases(2), _methods(), tokenizer, EvalConfig(rates=(0.2,)))
    doc = json.loads(to_json(rows, {"format": "qa"}))
    assert doc["config"] == {"format": "qa"}
    required = {"method", "rate", "ratio_words", "ratio_tokens", "answer_retention", "numbers_kept"}
    assert all(required | {"condense_ms_p50", "n"} <= set(row) for row in doc["results"])


def test_the_plot_is_written_as_a_png(tokenizer, tmp_path) -> None:
    rows = evaluate(
        _cases(2), _methods(), tokenizer, EvalConfig(rates=(0.1, 0.5)), answerer=FirstSentenceAnswerer()
    )
    out = tmp_path / "eval.png"
    plot(rows, out, title="test")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 10_000


def test_without_answers_in_the_context_the_plot_shows_numbers_kept(tokenizer, tmp_path) -> None:
    from splitinfer.evaluation.report import figure

    cases = [
        Case(
            f"m{i}",
            "How many apples are left?",
            FILLER + f"Ann had {12 + i} apples and ate {i + 2}. " + FILLER,
            [],
        )
        for i in range(3)
    ]
    rows = evaluate(cases, _methods(), tokenizer, EvalConfig(rates=(0.2, 0.5), answers_in_context=False))
    assert all(row["answer_retention"] is None for row in rows)  # gsm8k: answers are computed
    fig = figure(rows, title="gsm8k")
    (ax,) = fig.axes
    assert ax.get_ylabel() == "numbers kept in the condensed context (%)"
    assert len(ax.get_lines()) >= 3  # one line per method and the dashed "none"
    plot(rows, tmp_path / "gsm8k.png")
    assert (tmp_path / "gsm8k.png").read_bytes()[:4] == b"\x89PNG"


def test_a_plot_that_fails_to_render_leaves_the_old_image(tokenizer, tmp_path, monkeypatch) -> None:
    from matplotlib.figure import Figure

    def half_then_fail(self, target, **kwargs) -> None:
        if hasattr(target, "write"):
            target.write(b"half an image")
        else:
            with open(target, "wb") as stream:
                stream.write(b"half an image")
        raise RuntimeError("the renderer ran out of memory")

    rows = evaluate(_cases(2), _methods(), tokenizer, EvalConfig(rates=(0.2,)))
    out = tmp_path / "eval.png"
    out.write_bytes(b"the previous plot")
    monkeypatch.setattr(Figure, "savefig", half_then_fail)
    with pytest.raises(RuntimeError, match="out of memory"):
        plot(rows, out, title="test")
    assert out.read_bytes() == b"the previous plot" and [p.name for p in tmp_path.iterdir()] == ["eval.png"]
