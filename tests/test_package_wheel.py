"""The wheel that ``pip install splitinfer`` gets: it carries what the device SDK needs at run time.

An editable install reads the source tree, so a file left out of the wheel goes unseen by every
other test. This one builds the wheel and runs the SDK from its unpacked contents.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    # setuptools builds in the source's build/ folder and reuses what it finds there, so a file
    # deleted since the last build could still ship: build from a copy of the sources instead.
    source = tmp_path_factory.mktemp("source") / "splitinfer"
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", "android_demo"),
    )
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (path,) = out.glob("splitinfer-*.whl")
    return path, build.stdout + build.stderr


def test_the_wheel_builds_without_setuptools_warning_of_left_out_packages(wheel: tuple[Path, str]) -> None:
    _, log = wheel
    assert "would be ignored" not in log


def test_the_wheel_ships_the_default_bundle_its_vocabulary_and_type_markers(wheel: tuple[Path, str]) -> None:
    path, _ = wheel
    names = set(zipfile.ZipFile(path).namelist())
    for name in (
        "splitinfer/sdk/assets/condenser.tflite",
        "splitinfer/sdk/assets/vocab.txt",
        "splitinfer/sdk/assets/unicode_tables.txt",
        "splitinfer/sdk/py.typed",
        "splitinfer/v1/py.typed",
        "splitinfer/v1/inference.proto",
        "splitinfer/v1/inference_pb2.pyi",
    ):
        assert name in names, name
    assert (REPO / "sdk" / "assets" / "condenser.tflite").stat().st_size == zipfile.ZipFile(path).getinfo(
        "splitinfer/sdk/assets/condenser.tflite"
    ).file_size
    assert not [n for n in names if n.startswith(("tests/", "splitinfer/tests"))]


def test_the_sdk_condenses_from_the_unpacked_wheel_alone(wheel: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = wheel
    zipfile.ZipFile(path).extractall(tmp_path)
    code = (
        "import json, splitinfer.sdk as sdk\n"
        "r = sdk.Condenser.default().condense("
        "'The bridge reopened on 14 April 2019 after repairs. The weather was mild that spring.', "
        "question='When did the bridge reopen?', rate=0.5)\n"
        "print(json.dumps({'file': sdk.__file__, 'text': r.text, 'model': r.model_version}))"
    )
    # PYTHONPATH comes before site-packages, so the unpacked wheel is imported, not the source tree.
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout)
    assert Path(out["file"]).resolve().is_relative_to(tmp_path.resolve())
    assert "14 April 2019" in out["text"]
    assert out["model"].startswith("minilm-cnn-")


def test_the_types_the_sdk_ships_check_as_an_apps_type_checker_reads_them(
    wheel: tuple[Path, str], tmp_path: Path
) -> None:
    """The wheel says its types are complete (``py.typed``), so mypy checks apps against them."""
    pytest.importorskip("mypy")
    path, _ = wheel
    zipfile.ZipFile(path).extractall(tmp_path / "site")
    app = tmp_path / "app.py"
    app.write_text(
        "from splitinfer.sdk import Client, CondenseResult, Condenser, Part\n"
        "def run(text: str) -> CondenseResult:\n"
        "    c = Condenser.default()\n"
        "    c.condense_parts([Part(text), Part('x', keep_verbatim=True)], question='q', rate=0.5)\n"
        "    with Client('localhost:1', timeout=1.0) as client:\n"
        "        for chunk in client.generate('q', context=text):\n"
        "            print(chunk.upper())\n"
        "    return c.condense(text, question='q', target_tokens=10)\n"
        "c: int = Condenser.default().condense('x', rate='a lot')\n"
    )
    env = {**os.environ, "MYPYPATH": str(tmp_path / "site")}
    mypy = [sys.executable, "-m", "mypy", "--no-incremental", "--ignore-missing-imports"]
    package = subprocess.run(
        [*mypy, "-p", "splitinfer.sdk", "-p", "splitinfer.v1"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert package.returncode == 0, package.stdout[-3000:]
    # As for an installed package, mypy reads the SDK's types but reports only the app's errors.
    (tmp_path / "mypy.ini").write_text("[mypy]\n[mypy-splitinfer.*]\nignore_errors = True\n")
    run = subprocess.run(
        [*mypy, "--strict", "--config-file", "mypy.ini", str(app)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    errors = [line for line in run.stdout.splitlines() if ": error:" in line]
    # The app's two mistakes are found, through the shipped types, and nothing else.
    assert len(errors) == 2, run.stdout[-3000:]
    assert any(
        'app.py:9: error: Incompatible types in assignment (expression has type "CondenseResult"' in e
        for e in errors
    )
    assert any('app.py:9: error: Argument "rate"' in e for e in errors)
