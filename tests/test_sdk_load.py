"""Loading a condenser: a bad bundle is refused at load with the problem and the fix, never a crash."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from splitinfer.sdk import BundleError, Condenser, InvalidInputError
from splitinfer.sdk import _condenser as condenser_module
from splitinfer.sdk._bundle import read_bundle, write_bundle

pytest_plugins = ["sdk_bundles"]


def rewrite(source: Path, target: Path, **manifest_changes: object) -> Path:
    bundle = read_bundle(source)
    manifest = {
        k: v for k, v in bundle.manifest.items() if k not in ("format_version", "model_bytes", "sha256")
    }
    manifest.update(manifest_changes)
    return write_bundle(target, bundle.model, bundle.vocab, manifest)


def test_a_missing_default_bundle_says_it_is_not_built_and_how_to_build_it(
    monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(condenser_module, "DEFAULT_BUNDLE", tmp_path / "condenser.tflite")
    condenser_module._load_default.cache_clear()
    with pytest.raises(BundleError, match=r"default condenser bundle is not built.*'make model' builds it"):
        Condenser.default()


def test_the_default_bundle_is_loaded_once_and_shared(monkeypatch, bundle_path: Path) -> None:
    monkeypatch.setattr(condenser_module, "DEFAULT_BUNDLE", bundle_path)
    condenser_module._load_default.cache_clear()
    try:
        assert Condenser.default() is Condenser.default()
        assert Condenser.default().model_version == "test-cnn-1"
    finally:
        condenser_module._load_default.cache_clear()


def test_a_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no such condenser bundle"):
        Condenser.load(tmp_path / "nope.tflite")


def test_a_path_with_a_nul_character_is_a_bundle_error_not_a_value_error() -> None:
    with pytest.raises(BundleError, match="is no file name: it holds a NUL character"):
        Condenser.load("condenser\x00.tflite")


def test_num_threads_takes_numpy_integers_and_refuses_what_litert_cannot(bundle_path: Path) -> None:
    import numpy as np

    from splitinfer.sdk import InvalidInputError

    assert Condenser.load(bundle_path, num_threads=np.int64(2)).condense("a b c d", rate=0.5).text
    for bad in (0, 2**31, 1.5, True, []):
        with pytest.raises(InvalidInputError, match="num_threads must be an integer from 1 to 1024"):
            Condenser.load(bundle_path, num_threads=bad)
    with pytest.raises(InvalidInputError, match="num_threads must be"):
        Condenser.default([])  # checked before the cache, which cannot hash a list


def test_a_plain_tflite_model_without_manifest_is_refused(bundle_path: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain.tflite"
    plain.write_bytes(read_bundle(bundle_path).model)
    with pytest.raises(BundleError, match="plain TFLite model"):
        Condenser.load(plain)


def test_a_damaged_archive_an_empty_path_and_a_pipe_are_named_as_such(
    bundle_path: Path, tmp_path: Path
) -> None:
    import os

    data = bytearray(bundle_path.read_bytes())
    data[data.rindex(b"PK\x01\x02") + 1] ^= 0xFF  # the archive's central directory
    damaged = tmp_path / "damaged.tflite"
    damaged.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="is a damaged bundle: its model is followed by an archive"):
        Condenser.load(damaged)
    with pytest.raises(BundleError, match="the bundle path is empty"):
        Condenser.load("")
    with pytest.raises(
        InvalidInputError, match=r"got str; load a \.tflite bundle with Condenser\.load\(path\)"
    ):
        Condenser(str(bundle_path))  # type: ignore[arg-type]
    fifo = tmp_path / "fifo.tflite"
    os.mkfifo(fifo)  # reading it would block forever
    with pytest.raises(BundleError, match="is not a regular file"):
        Condenser.load(fifo)


def test_the_trained_keras_student_is_named_as_such_with_the_command_that_makes_a_bundle(
    tmp_path: Path,
) -> None:
    student = tmp_path / "student.keras"
    with zipfile.ZipFile(student, "w") as archive:  # what Keras 3 writes, weights aside
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.0.0"}))
        archive.writestr("config.json", json.dumps({"class_name": "Functional"}))
        archive.writestr("model.weights.h5", b"")
    with pytest.raises(BundleError) as raised:
        Condenser.load(student)
    assert str(raised.value) == (
        f"{student} is a Keras model (the trained student?), not a condenser bundle; make the bundle "
        f"with 'splitinfer convert {student} -o condenser.tflite' and load that"
    )


def test_a_manifest_naming_a_tensor_the_model_lacks_is_refused_at_load(
    bundle_path: Path, tmp_path: Path
) -> None:
    bad = rewrite(bundle_path, tmp_path / "bad-output.tflite", output="scores")
    with pytest.raises(BundleError, match=r"no tensor 'scores'.*manifest does not match the model"):
        Condenser.load(bad)


def test_a_manifest_window_that_differs_from_the_model_is_refused_at_load(
    bundle_path: Path, tmp_path: Path
) -> None:
    bad = rewrite(bundle_path, tmp_path / "bad-window.tflite", max_seq_len=256)
    with pytest.raises(BundleError, match=r"int32\[1, 512\], the contract wants int32\[1, 256\]"):
        Condenser.load(bad)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("default_rate", 0),
        ("default_rate", "half"),
        ("default_rate", 10**400),  # too large for a float: once an OverflowError
        ("max_seq_len", -1),
        ("max_seq_len", 2_000_000),  # past what the Android core reads
    ],
)
def test_a_manifest_with_an_impossible_value_is_refused(
    bundle_path: Path, tmp_path: Path, field: str, value: object
) -> None:
    bad = rewrite(bundle_path, tmp_path / f"bad-{field}.tflite", **{field: value})
    with pytest.raises(BundleError, match=field):
        Condenser.load(bad)


def rearchive(source: Path, target: Path, compression: int, **manifest_changes: object) -> Path:
    """``source``'s model with its archive written again: the manifest changed as given (no
    checks), every entry with ``compression``."""
    import zipfile

    data = source.read_bytes()
    bundle = read_bundle(source)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(files["manifest.json"])
    manifest.update(manifest_changes)
    files["manifest.json"] = json.dumps(manifest).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    target.write_bytes(bundle.model + out.getvalue())
    return target


def test_a_bundle_the_android_core_cannot_read_is_refused_here_too(bundle_path: Path, tmp_path: Path) -> None:
    import zipfile

    same = rearchive(bundle_path, tmp_path / "deflated.tflite", zipfile.ZIP_DEFLATED)
    assert Condenser.load(same).model_version  # the helper writes bundles that load
    for method in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        packed = rearchive(bundle_path, tmp_path / f"method-{method}.tflite", method)
        with pytest.raises(
            BundleError, match=f"uses compression method {method}; a bundle's entries are stored"
        ):
            Condenser.load(packed)
    flagged = rearchive(
        bundle_path, tmp_path / "bool-version.tflite", zipfile.ZIP_DEFLATED, format_version=True
    )
    with pytest.raises(BundleError, match="has no integer format_version"):
        Condenser.load(flagged)


def test_a_manifest_value_that_is_not_standard_json_is_refused_when_written(
    bundle_path: Path, tmp_path: Path
) -> None:
    # NaN would be written as a bare NaN, which Python reads back but the Android core cannot.
    with pytest.raises(ValueError, match="manifest holds a value JSON cannot carry"):
        rewrite(bundle_path, tmp_path / "nan.tflite", metrics={"f1": float("nan")})


def test_a_manifest_with_nan_is_corrupt_for_the_sdk_as_for_the_android_core(
    bundle_path: Path, tmp_path: Path
) -> None:
    with zipfile.ZipFile(bundle_path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    text = entries["manifest.json"].decode("utf-8")
    entries["manifest.json"] = re.sub(r'"default_rate": [0-9.]+', '"default_rate": NaN', text).encode("utf-8")
    assert entries["manifest.json"] != text.encode("utf-8")
    model = read_bundle(bundle_path).model
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    bad = tmp_path / "nan.tflite"
    bad.write_bytes(model + buffer.getvalue())
    with pytest.raises(BundleError, match=r"manifest.json is corrupt \(NaN is not standard JSON\)"):
        Condenser.load(bad)


def test_a_model_litert_cannot_load_is_a_bundle_error(bundle_path: Path, tmp_path: Path) -> None:
    bundle = read_bundle(bundle_path)
    broken = bundle.model[:8] + b"\x00" * (len(bundle.model) - 8)
    manifest = {
        k: v for k, v in bundle.manifest.items() if k not in ("format_version", "model_bytes", "sha256")
    }
    path = write_bundle(tmp_path / "zeros.tflite", broken, bundle.vocab, manifest)
    with pytest.raises(BundleError, match="LiteRT cannot load the model"):
        Condenser.load(path)


def test_the_manifest_is_readable_from_the_condenser(bundle_path: Path) -> None:
    condenser = Condenser.load(bundle_path)
    assert condenser.manifest["max_seq_len"] == condenser.max_seq_len == 512
    assert json.loads(json.dumps(condenser.manifest))["model_version"] == "test-cnn-1"


def test_num_threads_must_be_a_positive_integer(bundle_path: Path) -> None:
    with pytest.raises(ValueError, match="num_threads"):
        Condenser.load(bundle_path, num_threads=0)


def test_loading_prints_nothing_to_stderr(bundle_path: Path) -> None:
    # LiteRT's native code prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." when
    # the first interpreter is allocated; a command's stderr is for what the user can act on.
    script = (
        "from splitinfer.sdk import Condenser\n"
        f"print(Condenser.load({str(bundle_path)!r}).condense('The bridge opened in 1937.', 'When?').text)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() and done.stderr == ""


def test_only_the_delegate_notice_is_dropped_from_stderr_while_loading() -> None:
    script = (
        "import os\n"
        "from splitinfer.sdk._runner import _without_delegate_notice\n"
        "with _without_delegate_notice():\n"
        "    os.write(2, b'INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\\n')\n"
        "    os.write(2, b'native: something else\\n')\n"
        "os.write(2, b'after\\n')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "native: something else\nafter\n"


@pytest.mark.parametrize("version", [0, -1])
def test_a_format_version_below_1_is_refused_as_the_android_core_refuses_it(
    bundle_path: Path, tmp_path: Path, version: int
) -> None:
    import zipfile

    bad = rearchive(bundle_path, tmp_path / "v.tflite", zipfile.ZIP_DEFLATED, format_version=version)
    with pytest.raises(BundleError, match=f"has format_version {version}; formats start at 1"):
        Condenser.load(bad)


def test_a_default_rate_of_null_is_refused_at_load_not_at_every_condense(
    bundle_path: Path, tmp_path: Path
) -> None:
    import zipfile

    bad = rearchive(bundle_path, tmp_path / "null-rate.tflite", zipfile.ZIP_DEFLATED, default_rate=None)
    with pytest.raises(BundleError, match=r"default_rate must be a number in \(0, 1\], got null"):
        Condenser.load(bad)


def test_a_vocabulary_that_is_not_utf8_is_a_bundle_error(bundle_path: Path, tmp_path: Path) -> None:
    bundle = read_bundle(bundle_path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in bundle.files.items():
            archive.writestr(name, data + b"\xff" if name == "vocab.txt" else data)
    bad = tmp_path / "vocab.tflite"
    bad.write_bytes(bundle.model + buffer.getvalue())
    with pytest.raises(BundleError, match=r"vocab\.txt is not UTF-8; rebuild it"):
        Condenser.load(bad)
