"""The condenser bundle: one ``.tflite`` file that carries the model, its tokenizer and a manifest.

Layout (TFLite's own metadata convention): the TFLite flatbuffer, then a ZIP archive appended
to it whose offsets count from the start of the file. The interpreter ignores the trailing
archive; ``zipfile`` (and ``java.util.zip.ZipFile``) read it. The archive holds:

- ``manifest.json``: what the model is and how to run it (see ``REQUIRED_FIELDS``), including
  ``model_bytes`` (the flatbuffer's length) and ``sha256`` (of those bytes);
- ``vocab.txt``: the WordPiece vocabulary, one token per line;
- optionally ``model_card.md`` and other files a converter adds.

Reading checks, in order: the file exists and is not empty; it has an archive with a manifest
(else it is a plain ``.tflite`` or not a model at all); the manifest's ``format_version`` is one
this SDK reads; the flatbuffer is complete and its sha256 matches. Each failure is a
``BundleError`` that names the problem and the fix.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from splitinfer.sdk._errors import BundleError, InvalidInputError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
VOCAB = "vocab.txt"
# Fields every manifest has; converters add more (teacher, training data, gates, metrics...).
REQUIRED_FIELDS = (
    "format_version",  # int, this file format's version
    "model_version",  # str, e.g. "minilm-cnn-1.2"
    "model_bytes",  # int, length of the TFLite flatbuffer at the start of the file
    "sha256",  # str, hex sha256 of those bytes
    "max_seq_len",  # int, context tokens per model call (the window)
    "max_question_len",  # int, question tokens the model reads
    "inputs",  # {"context_ids": name, "question_ids": name}: tensor names
    "output",  # str, name of the per-token keep-score tensor, float32 in [0, 1]
    "default_rate",  # float, rate used when the caller asks for none
    "teacher",  # str, the teacher the student was distilled from
)
# Optional fields the device reads; absent means the behaviour of bundles made before them:
# "selection": {"segment_weight": float, "document_weight": float, "name_spans": bool,
# "answer_types": {"weight": float, "names": [str], "numbers": [str]}}, the weights in [0, 1]
# summing to at most 1, name_spans absent = false, answer_types absent = none (see
# _selection.SelectionWeights and AnswerTypes); absent = word scores are not smoothed.
# "line_break_id": int, a vocabulary id the model reads before each word that starts a line
# (see _selection.model_tokens); absent = the model reads no line breaks.
_REBUILD = "rebuild it with 'splitinfer convert' (or 'make model' for the default bundle)"


@dataclass(frozen=True)
class Bundle:
    """A bundle read into memory: the flatbuffer, the vocabulary lines and the manifest."""

    model: bytes
    vocab: list[str]
    manifest: dict[str, Any]
    files: dict[str, bytes]


def _not_json(constant: str) -> float:
    raise ValueError(f"{constant} is not standard JSON")


def read_bundle(path: str | Path) -> Bundle:
    """Read and verify a bundle; raise ``BundleError`` saying what is wrong and how to fix it."""
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidInputError(
            f"the bundle path must be a str or a pathlib.Path to a .tflite bundle, got {type(path).__name__}"
        )
    if not os.fspath(path):
        raise BundleError(f"the bundle path is empty; give the path of a .tflite bundle, or {_REBUILD}")
    path = Path(path)
    try:
        mode = path.stat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # a folder: IsADirectoryError below
            # A pipe would block the read forever, a device (/dev/zero) fill the memory.
            raise BundleError(
                f"{path} is not a regular file (a pipe, socket or device), not a condenser bundle"
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise BundleError(f"{path}: no such condenser bundle; check the path, or {_REBUILD}") from None
    except IsADirectoryError:
        raise BundleError(f"{path} is a directory, not a condenser bundle (.tflite file)") from None
    except OSError as err:
        raise BundleError(f"{path}: cannot read the condenser bundle: {err.strerror}") from None
    except ValueError:  # a NUL character, which no file name holds
        raise BundleError(f"{str(path)!r} is no file name: it holds a NUL character") from None
    return parse_bundle(data, str(path))


def parse_bundle(data: bytes, name: str = "<bytes>") -> Bundle:
    """Verify bundle bytes (see ``read_bundle``)."""
    if not data:
        raise BundleError(f"{name} is empty, not a condenser bundle; {_REBUILD}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        for info in archive.infolist():
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                # Python reads bzip2 and lzma too; the Android core (java.util.zip) does not.
                raise BundleError(
                    f"{name}: its archive entry {info.filename} uses compression method "
                    f"{info.compress_type}; a bundle's entries are stored or deflated; {_REBUILD}"
                )
        files = {info.filename: archive.read(info) for info in archive.infolist()}
    except (zipfile.BadZipFile, EOFError, zlib.error, ValueError, KeyError):
        if len(data) >= 8 and data[4:8] == b"TFL3" and b"PK\x03\x04" in data:
            raise BundleError(
                f"{name} is a damaged bundle: its model is followed by an archive that does not read "
                f"(a flipped or cut byte); download or copy it again, or {_REBUILD}"
            ) from None
        if len(data) >= 8 and data[4:8] == b"TFL3":
            raise BundleError(
                f"{name} is a plain TFLite model or a truncated bundle: it carries no splitinfer "
                f"manifest or tokenizer; {_REBUILD}"
            ) from None
        raise BundleError(f"{name} is not a splitinfer condenser bundle (no manifest); {_REBUILD}") from None
    if MANIFEST not in files and {"metadata.json", "config.json"} <= files.keys():
        raise BundleError(
            f"{name} is a Keras model (the trained student?), not a condenser bundle; make the bundle "
            f"with 'splitinfer convert {name} -o condenser.tflite' and load that"
        )
    if MANIFEST not in files:
        raise BundleError(f"{name} has an archive but no {MANIFEST}: not a splitinfer bundle; {_REBUILD}")
    try:
        manifest = json.loads(files[MANIFEST].decode("utf-8"), parse_constant=_not_json)
    except ValueError as err:  # bad UTF-8, bad JSON, or NaN / Infinity, which only Python reads
        raise BundleError(f"{name}: {MANIFEST} is corrupt ({err}); {_REBUILD}") from None
    if not isinstance(manifest, dict):
        raise BundleError(f"{name}: {MANIFEST} is not a JSON object; {_REBUILD}")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise BundleError(f"{name}: {MANIFEST} has no integer format_version; {_REBUILD}")
    if version > FORMAT_VERSION:
        raise BundleError(
            f"{name} has bundle format {version}, newer than the {FORMAT_VERSION} this splitinfer "
            f"reads; upgrade splitinfer (pip install -U splitinfer)"
        )
    if version < 1:
        raise BundleError(f"{name}: {MANIFEST} has format_version {version}; formats start at 1; {_REBUILD}")
    missing = [f for f in REQUIRED_FIELDS if f not in manifest]
    if missing:
        raise BundleError(f"{name}: {MANIFEST} lacks {', '.join(missing)}; {_REBUILD}")
    size = manifest["model_bytes"]
    if not isinstance(size, int) or size <= 8 or size > len(data):
        raise BundleError(f"{name}: the model is truncated or model_bytes is wrong; {_REBUILD}")
    model = data[:size]
    if model[4:8] != b"TFL3":
        raise BundleError(f"{name}: the bytes before the archive are not a TFLite model; {_REBUILD}")
    digest = hashlib.sha256(model).hexdigest()
    if digest != manifest["sha256"]:
        raise BundleError(
            f"{name}: the model's sha256 is {digest[:12]}…, the manifest says "
            f"{str(manifest['sha256'])[:12]}…: the file is corrupt or was edited; {_REBUILD}"
        )
    if VOCAB not in files:
        raise BundleError(f"{name} has no {VOCAB}: the tokenizer is missing; {_REBUILD}")
    try:
        vocab = files[VOCAB].decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise BundleError(f"{name}: {VOCAB} is not UTF-8; {_REBUILD}") from None
    return Bundle(model=model, vocab=vocab, manifest=manifest, files=files)


def build_bundle(
    model: bytes, vocab: list[str], manifest: dict[str, Any], extra: dict[str, bytes] | None = None
) -> bytes:
    """Bundle bytes: ``model`` + a ZIP of manifest, vocabulary and ``extra`` files.

    ``manifest`` gets ``format_version``, ``model_bytes`` and ``sha256`` filled in. The output is
    deterministic: same inputs, same bytes (fixed timestamps, sorted keys, stored order).
    """
    if model[4:8] != b"TFL3":
        raise ValueError("model is not a TFLite flatbuffer (no TFL3 identifier)")
    full = dict(manifest)
    full.update(
        format_version=FORMAT_VERSION, model_bytes=len(model), sha256=hashlib.sha256(model).hexdigest()
    )
    missing = [f for f in REQUIRED_FIELDS if f not in full]
    if missing:
        raise ValueError(f"manifest lacks {', '.join(missing)}")
    # Standard JSON only: Python reads NaN and Infinity back, the Android core's parser does not.
    try:
        text = json.dumps(full, indent=2, sort_keys=True, allow_nan=False)
    except ValueError as err:
        raise ValueError(f"manifest holds a value JSON cannot carry ({err}); use null or a string") from None
    entries = {MANIFEST: text.encode("utf-8") + b"\n"}
    entries[VOCAB] = ("\n".join(vocab) + "\n").encode("utf-8")
    entries.update(extra or {})
    buffer = io.BytesIO()
    buffer.write(model)
    # Mode "w" on a stream positioned after the model starts the archive there; readers find it
    # from its end record, whatever precedes it.
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for filename in entries:
            info = zipfile.ZipInfo(filename, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, entries[filename])
    return buffer.getvalue()


def write_bundle(
    path: str | Path,
    model: bytes,
    vocab: list[str],
    manifest: dict[str, Any],
    extra: dict[str, bytes] | None = None,
) -> Path:
    """Write a bundle atomically (temporary file + rename): a failed run leaves no partial file."""
    path = Path(path)
    data = build_bundle(model, vocab, manifest, extra)
    atomic_write(path, data)
    return path


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary file next to ``path`` (same suffix, for writers that go by it, such as
    ``keras.Model.save``) that replaces ``path`` in one step when the block ends without an error;
    after an error it is removed and ``path`` is left as it was.

    A symbolic link is kept and its target replaced. A pipe or a device (``/dev/null``,
    ``/dev/stdout``) has nothing to replace: it is written in place, not swapped for a file.
    """
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        yield path
        return
    path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes the file private (0600); what is written here is shipped, readable by all.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o644 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: Path, data: bytes) -> None:
    """``data`` as the new content of ``path``, all or nothing (``atomic_path``), synced to disk."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        if Path(tmp).is_file():  # a pipe or a device cannot be synced
            os.fsync(handle.fileno())
