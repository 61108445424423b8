"""Teacher scores kept on disk, so a second evaluation of the same cases asks the teacher nothing.

The offline teacher takes about a second a case and most of ``make eval``; its scores depend on
the case (question and context) and on the teacher (its settings, its code, its weights), never on
the bundle being evaluated. ``splitinfer eval --teacher-cache FILE`` (and ``make eval``, which
keeps ``build/teacher-scores.sqlite``) stores each case's scores under a sha256 of the teacher's
``fingerprint()`` and the case, and reuses them while the fingerprint holds: change a setting, the
teacher's code or the installed weights and every case is scored afresh. The time a reused
score took to compute is stored with it, so the teacher's ms column is what scoring cost, not the
lookup.

The file is SQLite (one table, marked with this format's application id), so the runs that
``make eval`` starts side by side can share it: SQLite serialises their writes.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from pathlib import Path

import numpy as np

from splitinfer.sdk._errors import InvalidInputError

# SQLite's header field for the application that owns a file ("SPLT"), so a foreign database is
# refused instead of written into.
APPLICATION_ID = 0x53504C54
SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    key TEXT PRIMARY KEY,  -- sha256 of the teacher's fingerprint, the question and the context
    scores BLOB NOT NULL,  -- float32, one per word of the context, little-endian
    ms REAL NOT NULL       -- what computing them took
)
"""
# How long a run waits for another that is writing (the suite runs several at a time).
BUSY_TIMEOUT_S = 60.0


def case_key(fingerprint: str, question: str, context: str) -> str:
    """The key of one case's scores: a sha256 of the fingerprint and the case, length-prefixed so
    no two different cases share one."""
    digest = hashlib.sha256()
    for part in (fingerprint, question, context):
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


class TeacherScoreCache:
    """One teacher-score file (see the module docs): ``get`` and ``put`` by ``case_key``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._writable = True
        flag = f"--teacher-cache {self.path}"
        if self.path.is_dir():
            raise InvalidInputError(
                f"{flag}: a folder; give a file name inside it (e.g. teacher-scores.sqlite)"
            )
        if not self.path.parent.is_dir():
            raise InvalidInputError(f"{flag}: the folder {self.path.parent} does not exist")
        try:
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as err:
            raise InvalidInputError(
                f"{flag}: cannot open it ({err}); check the path and its permissions"
            ) from None
        try:
            owner = self._db.execute("PRAGMA application_id").fetchone()[0]
            tables = self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if owner != APPLICATION_ID and tables:
                raise InvalidInputError(
                    f"{flag}: an SQLite file of something else, not splitinfer's teacher scores; "
                    "name a new file (it is created)"
                )
            if owner != APPLICATION_ID:
                self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            self._db.execute(SCHEMA)
        except sqlite3.DatabaseError as err:
            self._db.close()
            raise InvalidInputError(
                f"{flag}: not a teacher-score file ({err}); delete it or name another file (it is created)"
            ) from None
        except BaseException:
            self._db.close()
            raise

    def get(self, key: str) -> tuple[np.ndarray, float] | None:
        """The scores and their ms stored under ``key``, or None."""
        row = self._db.execute("SELECT scores, ms FROM scores WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return np.frombuffer(row[0], dtype="<f4").astype(np.float32), float(row[1])

    def put(self, key: str, scores: np.ndarray, ms: float) -> None:
        """Store ``scores`` (one float per word) and what they took under ``key``. A file that
        cannot be written (read-only, a full disk) costs the run nothing but the reuse: it warns
        once and stops storing."""
        if not self._writable:
            return
        blob = np.asarray(scores, dtype="<f4").tobytes()
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO scores (key, scores, ms) VALUES (?, ?, ?)", (key, blob, ms)
            )
        except sqlite3.Error as err:
            self._writable = False
            print(
                f"splitinfer eval: warning: --teacher-cache {self.path}: cannot store scores ({err}); "
                "the run goes on without keeping them",
                file=sys.stderr,
            )

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM scores").fetchone()[0])

    def close(self) -> None:
        self._db.close()
