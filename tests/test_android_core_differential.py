"""The Android demo's Java core agrees with the Python SDK on random inputs, not only on the golden ones.

``android_demo/golden/differential.py`` generates seeded random prompts (mixed scripts, odd
whitespace, document headers, title lines, edge rates and budgets, forced words, score ties, NaN
and infinite scores, manifests' selection entries; ``fuzz_cases.py``) and compares, step by step,
what the SDK and the Java core (``DifferentialMain``, compiled by ``build.sh differential``)
compute for each. A failure names each disagreeing case's first differing step with a short diff;
``.venv/bin/python android_demo/golden/differential.py --seed S --only N --minimize`` shrinks one.
Only a machine without ``javac`` skips it.
"""

from __future__ import annotations

import shutil
import sys
from itertools import islice
from pathlib import Path

import pytest

from splitinfer.sdk._tokenizer import WordPieceTokenizer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "android_demo" / "golden"))
import differential  # noqa: E402
import fuzz_cases  # noqa: E402

SEED = 20240601
CASES = 2000
SHOWN = 5


def test_the_generator_gives_the_same_cases_for_the_same_seed() -> None:
    assert fuzz_cases.cases(SEED, 20, start=100) == fuzz_cases.cases(SEED, 20, start=100)
    assert fuzz_cases.case(SEED, 105) == fuzz_cases.cases(SEED, 10, start=100)[5]
    assert fuzz_cases.case(SEED, 1) != fuzz_cases.case(SEED + 1, 1)


def test_a_difference_is_reported_at_the_first_field_that_differs() -> None:
    expected = {field: [] for field in differential.FIELDS}
    actual = {**expected, "budget": 3, "kept": [1]}
    assert differential.first_difference(expected, actual) == "budget"
    assert (
        differential.diff("Paris\nRome", "Paris Rome")
        == "\n      python: Paris\\nRome\n      java:   Paris Rome"
    )
    assert differential.diff([1, 2, 3], [1, 2, 4]).startswith("first difference at index 2")


def test_many_cases_have_a_title_line_the_title_lift_skips() -> None:
    # A title line over a line that goes on with its sentence (hard-wrapped prose, code) is not
    # lifted; the titles_lifted step only checks that skip on cases that have one.
    tokenizer = WordPieceTokenizer.from_file(ROOT / differential.VOCAB)
    skips = sum(
        differential.skipped_title_lines(c["text"], tokenizer) > 0 for c in fuzz_cases.cases(SEED, CASES)
    )
    assert skips >= CASES // 10, f"only {skips} of {CASES} cases have a title line the title lift skips"


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NaN and infinite scores, on purpose
@pytest.mark.skipif(
    shutil.which("javac") is None, reason="javac not installed: the Java core cannot be compiled"
)
def test_java_core_computes_what_the_python_sdk_does_on_random_cases() -> None:
    python = differential.PythonSide()
    with differential.JavaSide() as java:
        found = list(islice(differential.disagreements(SEED, CASES, python=python, java=java), SHOWN))
    reports = "\n".join(differential.report(*d) for d in found)
    assert not found, (
        f"the Java core and the Python SDK disagree on {len(found)}+ of {CASES} random cases "
        f"(seed {SEED}; the first {SHOWN} shown; 'android_demo/golden/differential.py --seed {SEED} "
        f"--only N --minimize' shrinks case N):\n{reports}"
    )
