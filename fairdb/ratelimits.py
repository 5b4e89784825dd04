"""The limiter's per-worker memory storage without its timer thread.

limits' MemoryStorage starts a threading.Timer 10 ms after any hit to drop expired counters;
under steady API traffic that is a new thread every 10 ms per worker, about 5% of a request's
time. Counters are checked for expiry when read anyway (MemoryStorage.get), so only the
clean-up moves: into the request that hits the storage, at most once a second.
"""

from __future__ import annotations

import time
from typing import Any

from limits.storage import MemoryStorage

SWEEP_SECONDS = 1.0


class SweptMemoryStorage(MemoryStorage):
    """`fairdb-memory://`: MemoryStorage swept in the caller's thread."""

    STORAGE_SCHEME = ["fairdb-memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._swept = time.monotonic()

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 (replaces the private hook)
        now = time.monotonic()
        if now - self._swept >= SWEEP_SECONDS:
            self._swept = now
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
