"""Push subscriptions: another region's webhook gets this region's changes as they happen.

A region subscribes (a signed request, so the subscriber is a directory member) with a
webhook URL, a licence type, optionally a purpose, and the cursor to start from (the
snapshot's ``feed_cursor``; none: from now). The push worker, one per region by the ``push``
lease, turns each subscription's next feed page into an outbox message of the ``push``
channel *and* moves the subscription's cursor past it in one transaction (a compare-and-set
on the cursor, so two dispatchers never enqueue one page twice), then delivers the outbox
with the notifier's worker — claims, retries with back-off, the same delivery id on every
attempt — through :class:`~licence_service.federation.push.PushAdapter`, which signs.

A subscriber sees exactly what its region's feed shows it: the page is built by
:func:`~licence_service.federation.change_feed.feed_page` with the subscriber as caller.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from licence_service.audit import oplog
from licence_service.domain.errors import NotFoundError
from licence_service.federation.auth import Caller
from licence_service.federation.change_feed import feed_page, feed_type, parse_cursor
from licence_service.federation.push import PushAdapter, PushSigner
from licence_service.notify.outbox import check_recipient, enqueue, idempotency_key
from licence_service.notify.worker import DeliveryWorker, RetryPolicy, RoundResult, run_leased
from licence_service.region.runtime import Runtime
from licence_service.store.exchange import Subscription
from licence_service.store.lease import Lease, holder_name
from licence_service.store.messages import Channel, Message, MessageState
from licence_service.store.models import utcnow
from licence_service.store.sequencing import sequence

log = logging.getLogger(__name__)

PUSH_BATCH = 100  # changes in one delivery
MAX_PAGES = 20  # pages one subscription is given per round (the others get their turn)


def _view(sub: Subscription) -> dict[str, Any]:
    return {
        "id": sub.id, "region": sub.region, "url": sub.url, "type": sub.type_code,
        "purpose": sub.purpose, "cursor": str(sub.cursor), "active": sub.active,
        "created_at": sub.created_at.isoformat(),
    }  # fmt: skip


def subscribe(
    rt: Runtime,
    caller: Caller,
    url: str,
    type_code: str,
    purpose: str = "",
    cursor: str | None = None,
) -> dict[str, Any]:
    """Record ``caller``'s region's subscription; deliveries start after ``cursor`` (the
    snapshot's ``feed_cursor``), or after the latest change when none is given."""
    target = check_recipient(Channel.PUSH, url, field="url")
    ltype = feed_type(type_code)
    start = parse_cursor(cursor) if cursor else sequence(rt.sessions)
    with rt.sessions.begin() as s:
        sub = Subscription(region=caller.region, account=caller.account, url=target,
                           type_code=ltype.code, purpose=purpose.strip(), cursor=start,
                           active=True, created_at=utcnow())  # fmt: skip
        s.add(sub)
        s.flush()
        oplog.record(s, "push:subscribe", f"subscription:{sub.id}", region=caller.region,
                     url=target, type=ltype.code, purpose=sub.purpose)  # fmt: skip
        return _view(sub)


def _deliveries(s: Session, subscription_id: int) -> dict[str, int]:
    """The subscription's pushes in the outbox by state (sent, pending, sending, failed)."""
    rows = s.execute(
        select(Message.state, func.count())
        .where(Message.dedupe_key.like(f"push:{subscription_id}:%"))
        .group_by(Message.state)
    ).all()
    return {str(state): int(n) for state, n in rows}


def list_subscriptions(rt: Runtime, region: int | None = None) -> list[dict[str, Any]]:
    """Active subscriptions, of one region or (``None``, this region's staff) all, each with
    its deliveries by state (a ``failed`` one is fetched again from the feed)."""
    with rt.sessions() as s:
        query = select(Subscription).where(Subscription.active).order_by(Subscription.id)
        if region is not None:
            query = query.where(Subscription.region == region)
        return [_view(sub) | {"deliveries": _deliveries(s, sub.id)} for sub in s.scalars(query)]


def unsubscribe(rt: Runtime, subscription_id: int, region: int | None = None) -> dict[str, Any]:
    """End a subscription (of ``region`` only, when given); its undelivered pushes are
    given up (marked failed, reason kept), delivered ones stay in the outbox's record."""
    with rt.sessions.begin() as s:
        sub = s.get(Subscription, subscription_id)
        if sub is None or not sub.active or (region is not None and sub.region != region):
            raise NotFoundError(
                f"no active push subscription {subscription_id}"
                + (f" of region {region}" if region is not None else "")
            )
        sub.active = False
        s.execute(
            update(Message)
            .where(
                Message.dedupe_key.like(f"push:{sub.id}:%"),
                Message.state == MessageState.PENDING,
            )
            .values(state=MessageState.FAILED, last_error="the subscription was ended")
        )
        oplog.record(s, "push:unsubscribe", f"subscription:{sub.id}", region=sub.region)
        return _view(sub)


def _own_region(rt: Runtime) -> int:
    with rt.sessions() as s:
        return rt.agency(s).region_code


def _enqueue_page(s: Session, sub: Subscription, after: int, page: dict[str, Any], me: int) -> bool:
    """Move the cursor from ``after`` to the page's end and, when the page has changes,
    enqueue its delivery — both or neither (False: another dispatcher moved it first)."""
    moved = s.execute(
        update(Subscription)
        .where(Subscription.id == sub.id, Subscription.cursor == after, Subscription.active)
        .values(cursor=int(page["cursor"]))
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        return False
    if page["items"]:
        key = f"push:{sub.id}:{after}:{page['cursor']}"
        body = {
            "delivery": idempotency_key(key), "subscription": sub.id, "from_region": me,
            "to_region": sub.region, "type": sub.type_code, "after": str(after),
            "cursor": page["cursor"], "items": page["items"],
        }  # fmt: skip
        enqueue(s, dedupe_key=key, channel=Channel.PUSH, recipient=sub.url,
                subject=f"changes {after}..{page['cursor']}",
                body=json.dumps(body, ensure_ascii=False))  # fmt: skip
    return True


def dispatch(rt: Runtime, batch: int = PUSH_BATCH) -> int:
    """Enqueue every active subscription's new changes; the number of deliveries enqueued."""
    me, made = _own_region(rt), 0
    with rt.sessions() as s:
        subs = list(s.scalars(select(Subscription).where(Subscription.active)))
    directory = rt.directory()
    for sub in subs:
        try:
            if directory.account_region(sub.account) != sub.region:
                # the account (or its region) left the consortium: nothing goes out, as a
                # signed request of it would be refused; the cursor waits
                log.warning("push subscription %s: %s is no account of region %s any more",
                            sub.id, sub.account, sub.region)  # fmt: skip
                continue
            made += _dispatch_one(rt, sub, batch, me)
        except Exception:  # one subscription's failure (a release's chain call) stops no other
            log.exception("push subscription %s: dispatch failed; retried next round", sub.id)
    return made


def _dispatch_one(rt: Runtime, sub: Subscription, batch: int, me: int) -> int:
    after, made = sub.cursor, 0
    caller = Caller(sub.region, sub.account)
    for _ in range(MAX_PAGES):
        page = feed_page(rt, caller, sub.type_code, str(after), batch, sub.purpose or None)
        if int(page["cursor"]) == after:
            break
        with rt.sessions.begin() as s:
            if not _enqueue_page(s, sub, after, page, me):
                break
        made += bool(page["items"])
        after = int(page["cursor"])
        if not page["more"]:
            break
    return made


@dataclass
class PushWorker:
    """Dispatch, then deliver the ``push`` outbox (the notifier's ``DeliveryWorker``)."""

    rt: Runtime
    delivery: DeliveryWorker
    batch: int = PUSH_BATCH

    def run_once(self) -> tuple[int, RoundResult]:
        """Enqueue what is new, deliver what is due: (deliveries enqueued, delivery round)."""
        return dispatch(self.rt, self.batch), self.delivery.run_once()

    def run(self, stop: threading.Event, interval: float = 1.0, lease: Lease | None = None) -> None:
        """Every ``interval`` seconds until ``stop``, while this process holds ``push``."""
        lease = lease or Lease(self.rt.sessions, "push", self.delivery.name)

        def step(held: bool) -> None:
            if held:
                self.run_once()

        run_leased(stop, lease, interval, step, "push")


def push_worker(
    rt: Runtime,
    name: str | None = None,
    claim_seconds: float | None = None,
    policy: RetryPolicy | None = None,
    batch: int = PUSH_BATCH,
) -> PushWorker:
    """The region's push worker, signing with its first agency's credentials and retrying
    as the notifier's settings say."""
    with rt.sessions() as s:
        agency = rt.agency(s)
        region, code = agency.region_code, agency.code
    settings = rt.settings.notify

    def signer() -> PushSigner:  # the agency's current credentials (reloaded after a rotation)
        return PushSigner(region, rt.agency_credentials(code))

    adapter = PushAdapter(signer, settings.timeout)
    policy = policy or RetryPolicy(settings.max_attempts, settings.retry_base, settings.retry_cap)
    worker = DeliveryWorker(rt.sessions, {Channel.PUSH: adapter}, policy,
                            name=name or holder_name(), claim_seconds=claim_seconds)  # fmt: skip
    return PushWorker(rt, worker, batch)
