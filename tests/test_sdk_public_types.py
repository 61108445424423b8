"""The SDK's public types as an app's type checker reads them: no ``Any`` out of what the app
uses, and an argument the SDK refuses at run time is refused by the type checker first.

The SDK's sources are laid out as the wheel installs them (``splitinfer/sdk``, ``splitinfer/v1``);
mypy reads them, as an installed package, and reports only the app's errors.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

APP = """\
from pathlib import Path

from splitinfer.sdk import AsyncClient, Client, Condenser

condenser = Condenser.default()
result = condenser.condense("The bridge opened in 1937.", question="When?", rate=0.5)
kept = (result.kept_mask, result.kept_indices)
rate: float = condenser.default_rate
Client("localhost:1", condenser=Path("my.tflite"))
AsyncClient("localhost:1", condenser="default", root_certificates=Path("ca.pem"))
Client("localhost:1", condenser="my.tflite")
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site")
    ignore = shutil.ignore_patterns("__pycache__", "assets")
    shutil.copytree(REPO / "sdk", site / "splitinfer" / "sdk", ignore=ignore)
    shutil.copytree(REPO / "protos" / "splitinfer" / "v1", site / "splitinfer" / "v1", ignore=ignore)
    return site


def mypy_errors(site: Path, tmp_path: Path, *flags: str, app: str = APP) -> list[str]:
    pytest.importorskip("mypy")
    (tmp_path / "app.py").write_text(app)
    (tmp_path / "mypy.ini").write_text("[mypy]\n[mypy-splitinfer.*]\nignore_errors = True\n")
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--config-file", "mypy.ini", *flags, "app.py"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(site)},
    )
    return [line for line in run.stdout.splitlines() if ": error:" in line]


def test_only_a_bundle_path_as_str_is_refused_for_a_clients_condenser(site: Path, tmp_path: Path) -> None:
    # At run time Client takes "default", a Condenser, a pathlib.Path or None: a str path is an
    # InvalidInputError, so the type checker must say so before.
    errors = mypy_errors(site, tmp_path, "--strict")
    assert len(errors) == 1, errors
    assert 'app.py:11: error: Argument "condenser" to "Client" has incompatible type' in errors[0]


def test_condense_results_and_the_default_rate_carry_no_any(site: Path, tmp_path: Path) -> None:
    errors = mypy_errors(site, tmp_path, "--strict", "--disallow-any-expr")
    assert [e for e in errors if "app.py:11:" not in e] == []


def test_a_misspelt_name_of_the_sdk_is_an_error(site: Path, tmp_path: Path) -> None:
    # The SDK imports its names lazily (a module __getattr__); a type checker that saw it would take
    # any name for one, and "except DeadlineExceeded:" would pass until the day it raises.
    app = "import splitinfer.sdk as sdk\nfrom splitinfer.sdk import DeadlineExceeded\n\nsdk.Condensr.default()\n"
    errors = mypy_errors(site, tmp_path, "--strict", app=app)
    assert len(errors) == 2, errors
    assert 'Module "splitinfer.sdk" has no attribute "DeadlineExceeded"' in errors[0]
    assert 'has no attribute "Condensr"' in errors[1]
