"""The delivery worker: due messages out through their channel's adapter, at most once per
claim, retried with exponential back-off up to a cap.

One round: **claim** due messages (state ``pending`` whose ``next_attempt_at`` has come, or
``sending`` whose claim has run out — a worker that died mid-send) in one committed update
that sets ``sending``, this worker's name and a claim deadline, and counts the attempt; then,
per message, **send** and at once **record** the outcome, conditional on still holding the
claim: ``sent`` with its time, or back to ``pending`` at the next back-off step (``failed``
past the attempt cap or on a permanent refusal). Two workers never hold one message: the
claim is a compare-and-set on the row. A crash between a receiver's acceptance and the
``sent`` commit is the one window where a message goes out again (once the claim expires),
with the same idempotency key, which the receiver uses to drop the repeat.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from licence_service.notify.adapters import Adapter, DeliveryError, Outgoing
from licence_service.notify.outbox import idempotency_key
from licence_service.store.lease import Lease, holder_name
from licence_service.store.messages import Message, MessageState
from licence_service.store.models import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt n (1-based) that fails waits ``base * 2**(n-1)`` seconds, at most ``cap``; after
    ``max_attempts`` attempts the message is ``failed`` (kept, with its last error)."""

    max_attempts: int = 8
    base: float = 30.0
    cap: float = 3600.0

    def delay(self, attempts: int) -> float:
        return min(self.base * 2 ** max(attempts - 1, 0), self.cap)


@dataclass(frozen=True)
class RoundResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0


class DeliveryWorker:
    """Delivers the outbox through ``adapters`` (by channel). ``claim_seconds`` must exceed
    an adapter's timeout, so a live worker's claim never runs out while it sends."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        adapters: Mapping[str, Adapter],
        policy: RetryPolicy | None = None,
        batch: int = 20,
        name: str | None = None,
        claim_seconds: float | None = None,
    ) -> None:
        self.sessions = sessions
        self.adapters = dict(adapters)
        self.policy = policy or RetryPolicy()
        self.batch = batch
        self.name = name or holder_name()
        longest = max((a.timeout for a in self.adapters.values()), default=10.0)
        self.claim_seconds = claim_seconds or longest * 2 + 5.0

    def claim(self) -> list[int]:
        """Claim up to ``batch`` due messages of channels this worker can send; their ids."""
        now = utcnow()
        until = now + timedelta(seconds=self.claim_seconds)
        due = or_(
            (Message.state == MessageState.PENDING) & (Message.next_attempt_at <= now),
            (Message.state == MessageState.SENDING) & (Message.claimed_until < now),
        )
        with self.sessions.begin() as s:
            ids = list(
                s.scalars(
                    select(Message.id)
                    .where(due, Message.channel.in_(self.adapters))
                    .order_by(Message.next_attempt_at, Message.id)
                    .limit(self.batch)
                )
            )
            claimed = []
            for mid in ids:  # compare-and-set, row by row: another worker may race for some
                taken = s.execute(
                    update(Message)
                    .where(Message.id == mid, due)
                    .values(
                        state=MessageState.SENDING,
                        claimed_by=self.name,
                        claimed_until=until,
                        attempts=Message.attempts + 1,
                    )
                )
                if taken.rowcount:  # type: ignore[attr-defined]
                    claimed.append(mid)
        return claimed

    def deliver(self, message_id: int) -> str:
        """Send one claimed message and record the outcome; the state it ends in."""
        with self.sessions() as s:
            row = s.get(Message, message_id)
            assert row is not None
            key = idempotency_key(row.dedupe_key)
            outgoing = Outgoing(key, row.recipient, row.subject, row.body)
            adapter, attempts = self.adapters[row.channel], row.attempts
        try:
            adapter.send(outgoing)
        except DeliveryError as exc:
            return self._failed(message_id, attempts, exc)
        except Exception as exc:  # an adapter's bug must not stop the worker
            log.exception("adapter failed on message %s", message_id)
            return self._failed(message_id, attempts, DeliveryError(repr(exc)))
        self._record(message_id, state=MessageState.SENT, sent_at=utcnow(), last_error=None)
        return MessageState.SENT

    def _failed(self, message_id: int, attempts: int, exc: DeliveryError) -> str:
        if exc.permanent or attempts >= self.policy.max_attempts:
            state = MessageState.FAILED
            self._record(message_id, state=state, last_error=str(exc)[:2000])
        else:
            state = MessageState.PENDING
            later = utcnow() + timedelta(seconds=self.policy.delay(attempts))
            self._record(message_id, state=state, next_attempt_at=later, last_error=str(exc)[:2000])
        log.warning("message %s attempt %s: %s (%s)", message_id, attempts, exc, state)
        return state

    def _record(self, message_id: int, **values: object) -> None:
        """The outcome, only while this worker still holds the claim (a claim that ran out
        belongs to whoever took it over)."""
        with self.sessions.begin() as s:
            s.execute(
                update(Message)
                .where(
                    Message.id == message_id,
                    Message.state == MessageState.SENDING,
                    Message.claimed_by == self.name,
                )
                .values(claimed_by=None, claimed_until=None, **values)
            )

    def run_once(self) -> RoundResult:
        """Claim what is due and deliver it."""
        counts = {MessageState.SENT: 0, MessageState.PENDING: 0, MessageState.FAILED: 0}
        while ids := self.claim():
            for mid in ids:
                counts[MessageState(self.deliver(mid))] += 1
            if len(ids) < self.batch:
                break
        return RoundResult(
            counts[MessageState.SENT], counts[MessageState.PENDING], counts[MessageState.FAILED]
        )

    def run(self, stop: threading.Event, interval: float = 1.0, lease: Lease | None = None) -> None:
        """Deliver every ``interval`` seconds until ``stop`` is set, while this process holds
        the region's ``notify`` lease (one delivering process per region; the claims keep
        two of them apart anyway)."""
        lease = lease or Lease(self.sessions, "notify", self.name)

        def step(held: bool) -> None:
            if held:
                self.run_once()

        run_leased(stop, lease, interval, step, "notify")


def run_leased(
    stop: threading.Event, lease: Lease, tick: float, step: Callable[[bool], None], what: str
) -> None:
    """Call ``step(held)`` every ``tick`` seconds until ``stop`` is set, ``held`` saying
    whether this process holds ``lease`` (renewed by asking); an error is logged and the
    next tick tries again; the lease is released at the end, so another process takes over
    at once."""
    try:
        while not stop.is_set():
            try:
                step(lease.acquire())
            except Exception:  # the next round retries from the database
                log.exception("%s round failed; retrying", what)
            stop.wait(tick)
    finally:
        try:
            lease.release()
        except Exception:  # the lease then simply expires
            log.exception("could not release the %s lease", what)


def run_periodic(
    stop: threading.Event, lease: Lease, every: float, round_: Callable[[], object], what: str
) -> None:
    """``round_()`` every ``every`` seconds while this process holds ``lease``, renewed
    meanwhile (ticks of a third of its time to live at most) so that no other process takes
    it between two rounds; a failed round is retried within a minute."""
    tick = max(min(every, lease.ttl.total_seconds() / 3), 0.05)
    next_round = 0.0

    def step(held: bool) -> None:
        nonlocal next_round
        if not held:
            next_round = 0.0  # should the lease come to us: a round at once
        elif time.monotonic() >= next_round:
            next_round = time.monotonic() + min(every, 60.0)  # a failed round: retried
            round_()
            next_round = time.monotonic() + every

    run_leased(stop, lease, tick, step, what)


def pending_count(sessions: sessionmaker[Session]) -> int:
    """Messages not yet sent or given up (for status output and tests)."""
    with sessions() as s:
        return len(
            s.scalars(
                select(Message.id).where(
                    Message.state.in_((MessageState.PENDING, MessageState.SENDING))
                )
            ).all()
        )


def wait_idle(sessions: sessionmaker[Session], timeout: float) -> bool:
    """True once no message is pending or being sent (within ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pending_count(sessions) == 0:
            return True
        time.sleep(0.05)
    return False
