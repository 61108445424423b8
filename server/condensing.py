"""The server's copy of the device condenser, for the ``Condense`` RPC.

The condenser is the device SDK's :class:`splitinfer.sdk.Condenser`, loaded lazily on first use
(``Condenser.load(path)`` when the server was given a bundle, else ``Condenser.default()``, the
bundle shipped with the SDK). If it cannot be loaded (no bundle installed yet, a corrupt file) every
``Condense`` call answers FAILED_PRECONDITION with the reason, and loading is tried again after
:data:`RETRY_LOAD_S` seconds so a bundle installed later is picked up without a restart.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from splitinfer.server.errors import NotReadyError

RETRY_LOAD_S = 30.0


class CondenserHost:
    """Holds the lazily loaded condenser and describes it for ``GetInfo``."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._condenser: Any = None
        self._failure: str | None = None
        self._failed_at = 0.0
        self.attempted = False
        self._lock = asyncio.Lock()

    async def get(self) -> Any:
        """The condenser; raises ``NotReadyError`` (FAILED_PRECONDITION) if none can be loaded."""
        if self._condenser is not None:
            return self._condenser
        async with self._lock:
            if self._condenser is None:
                self.attempted = True
                if self._failure is not None and time.monotonic() - self._failed_at < RETRY_LOAD_S:
                    raise NotReadyError(self._failure)
                try:
                    self._condenser = await asyncio.to_thread(self._load)
                    self._failure = None
                except Exception as err:  # any load failure means "not ready", with its reason
                    self._failure = self._explain(err)
                    self._failed_at = time.monotonic()
                    raise NotReadyError(self._failure) from err
        return self._condenser

    def loaded(self) -> Any:
        """The condenser if it has been loaded, else ``None`` (never loads)."""
        return self._condenser

    def _load(self) -> Any:
        from splitinfer.sdk import Condenser

        return Condenser.load(self.path) if self.path is not None else Condenser.default()

    def _explain(self, err: Exception) -> str:
        source = f"the bundle {self.path}" if self.path is not None else "the SDK's default bundle"
        return (
            f"this server has no condenser: loading {source} failed ({type(err).__name__}: {err}); "
            "condense on the device instead, or start the server with a bundle (--condenser PATH)"
        )
