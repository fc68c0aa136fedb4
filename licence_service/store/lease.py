"""A lease in the database: one holder at a time for a region's background work.

Several service processes may run against one PostgreSQL database; each runs the anchoring
worker loop, but only the lease holder works. The holder renews the lease every round; when it
dies the lease expires and another process takes over within ``ttl`` seconds. A stopping
holder releases at once. (Exactly-once anchoring does not depend on the lease — racing workers
are safe — the lease only keeps the others from racing for nothing.)
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from licence_service.store.models import WorkerLease


def holder_name() -> str:
    """This process, recognisably: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    def __init__(
        self, sessions: sessionmaker[Session], name: str, holder: str, ttl: float = 5.0
    ) -> None:
        self.sessions = sessions
        self.name = name
        self.holder = holder
        self.ttl = timedelta(seconds=ttl)
        self._renewed = -1e9  # time.monotonic() of this holder's last successful renewal

    def acquire(self) -> bool:
        """Take or renew the lease; True while this holder has it.

        A holder renewed less than a third of ``ttl`` ago still holds it for two thirds of
        ``ttl`` at least, so it answers without a database round trip: renewing on every
        half-second round cost an idle server two write transactions a second."""
        started = time.monotonic()
        if started - self._renewed < self.ttl.total_seconds() / 3:
            return True
        now = datetime.now(UTC)
        try:
            with self.sessions.begin() as s:
                taken = s.execute(
                    update(WorkerLease)
                    .where(
                        WorkerLease.name == self.name,
                        (WorkerLease.holder == self.holder) | (WorkerLease.expires_at < now),
                    )
                    .values(holder=self.holder, expires_at=now + self.ttl)
                )
                held = bool(taken.rowcount)  # type: ignore[attr-defined]
                if not held and s.get(WorkerLease, self.name) is None:  # the first holder ever
                    expires = now + self.ttl
                    s.add(WorkerLease(name=self.name, holder=self.holder, expires_at=expires))
                    held = True
        except IntegrityError:  # another process created it first: it holds it
            held = False
        self._renewed = started if held else -1e9
        return held

    def release(self) -> None:
        """Give the lease up now (a graceful stop), so another process takes over at once."""
        self._renewed = -1e9
        with self.sessions.begin() as s:
            s.execute(
                update(WorkerLease)
                .where(WorkerLease.name == self.name, WorkerLease.holder == self.holder)
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
