"""What several server processes of one region share: the verification rate limit's buckets,
the CSRF secret, and which process runs the anchoring worker.

``licledger serve --workers N`` runs N uvicorn processes on one socket; the kernel hands each
connection to any of them. A client's rate limit must not grow N-fold because of that, a form
token issued by one process must be accepted by another, and exactly one process may anchor.
All three live in the data directory's ``run/`` folder (created private, like the keys).
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import secrets
import struct
import time
from pathlib import Path

from licence_service.api.security import TokenBuckets

SLOTS = 16_384
_SLOT = struct.Struct("<Qdd")  # client hash (0: free), tokens, time.monotonic() of the stamp
_PROBES = 16


def run_dir(home: Path) -> Path:
    path = home / "run"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


class SharedTokenBuckets(TokenBuckets):
    """``TokenBuckets`` kept in a memory-mapped file that every server process maps.

    Each ``take`` holds an exclusive ``flock`` for a few microseconds. ``time.monotonic`` is
    the system's monotonic clock, the same in every process. A client is found by open
    addressing over ``_PROBES`` slots; a slot is reused once its bucket has refilled (its
    client would start full anyway) or, all probed slots being busy, the least recently used.
    """

    def __init__(self, path: Path, per_minute: float, burst: int) -> None:
        super().__init__(per_minute, burst)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(fd).st_size < SLOTS * _SLOT.size:
            os.ftruncate(fd, SLOTS * _SLOT.size)
        self._fd = fd
        self._map = mmap.mmap(fd, SLOTS * _SLOT.size)

    @staticmethod
    def reset(path: Path) -> None:
        """Empty the table (the supervising process, before its workers start)."""
        path.unlink(missing_ok=True)

    def take(self, client: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        rate = self.per_minute / 60.0
        key = int.from_bytes(hashlib.blake2b(client.encode(), digest_size=8).digest()) or 1
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            offset = self._slot(key, now, rate)
            found, tokens, stamp = _SLOT.unpack_from(self._map, offset)
            if found != key:
                tokens, stamp = float(self.burst), now
            tokens = min(self.burst, tokens + max(0.0, now - stamp) * rate)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / rate if rate > 0 else 3600.0
            _SLOT.pack_into(self._map, offset, key, tokens, now)
            return wait
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _slot(self, key: int, now: float, rate: float) -> int:
        first = key % SLOTS
        reusable, oldest, oldest_stamp = None, first, float("inf")
        for i in range(_PROBES):
            offset = ((first + i) % SLOTS) * _SLOT.size
            found, tokens, stamp = _SLOT.unpack_from(self._map, offset)
            if found == key:
                return offset
            if reusable is None and (found == 0 or tokens + (now - stamp) * rate >= self.burst):
                reusable = offset
            if stamp < oldest_stamp:
                oldest, oldest_stamp = offset, stamp
        return reusable if reusable is not None else oldest


def rate_table(home: Path) -> Path:
    return run_dir(home) / "verify-rate.bin"


def prepare_shared(home: Path) -> None:
    """Before the workers start: empty rate buckets and a new form-token secret."""
    SharedTokenBuckets.reset(rate_table(home))
    shared_csrf_secret(home, create=True)


def shared_csrf_secret(home: Path, create: bool = False) -> bytes:
    """The region's form-token secret for this run of the server (new at each ``serve``)."""
    path = run_dir(home) / "csrf.secret"
    if create:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
    return path.read_bytes()


class Leadership:
    """An exclusive ``flock`` on ``run/anchoring.lock``: the process holding it anchors.

    The kernel releases it when its process exits, however it exits, so another process
    (polling ``acquire``) takes over.
    """

    def __init__(self, home: Path) -> None:
        self.path = run_dir(home) / "anchoring.lock"
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
