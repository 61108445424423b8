"""The training summary inside the ``.keras`` file it describes.

``splitinfer distill train`` writes its summary (teacher, data, architecture, and the input format
the model was trained on: ``line_break_id``) twice: into the ``.keras`` file, a ZIP archive that
Keras reads past an entry of ours, and beside it as ``<model>.keras.json`` with the sha256 of the
model file it was written with (``model_sha256``). ``convert`` reads the copy inside the model
first, so a model copied without its ``.json`` (a CI job keeping ``*.keras`` artifacts) still
feeds its bundle the line breaks it was trained on, and a ``.json`` of another run (a newer model,
an interrupted save) is refused instead of describing the wrong model in the bundle.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

ENTRY = "splitinfer/training_summary.json"
# Fixed, so the entry itself adds nothing that changes from run to run.
_DATE = (1980, 1, 1, 0, 0, 0)


def embed(keras_path: Path, summary: dict[str, Any]) -> None:
    """Add ``summary`` to the ``.keras`` archive at ``keras_path`` (written by ``model.save``)."""
    info = zipfile.ZipInfo(ENTRY, date_time=_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(keras_path, "a") as archive:
        archive.writestr(info, json.dumps(summary, indent=2, sort_keys=True) + "\n")


def embedded(keras_path: Path) -> dict[str, Any] | None:
    """The summary inside the ``.keras`` file at ``keras_path``: None when it has none (a model
    trained elsewhere or by an older splitinfer, a SavedModel folder, not a ZIP archive). Raises
    ``ValueError`` when the entry is there but is not JSON."""
    try:
        with zipfile.ZipFile(keras_path) as archive:
            if ENTRY not in archive.namelist():
                return None
            data = archive.read(ENTRY)
    except (OSError, zipfile.BadZipFile, EOFError, KeyError):
        return None
    summary = json.loads(data.decode("utf-8"))
    return summary if isinstance(summary, dict) else {"": summary}


def file_sha256(path: Path) -> str:
    """The sha256 of the file at ``path``, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
