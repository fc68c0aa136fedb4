"""The notifier for real: messages enqueued in the caller's transaction, delivered through a
real SMTP server (aiosmtpd) and a real webhook receiver on 127.0.0.1, retried with back-off,
claimed by one worker at a time, and never delivered twice after a kill -9 of the worker."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from licence_service.domain.errors import InvalidInputError
from licence_service.notify import (
    DeliveryWorker,
    Message,
    MessageState,
    RetryPolicy,
    SmtpAdapter,
    WebhookAdapter,
    enqueue,
    idempotency_key,
)
from licence_service.store.engine import make_engine, make_sessions
from licence_service.store.field_key import FieldKey
from tests.notify_fixtures import Gateway, MailBox, gateway, smtp_server  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.e2e  # real servers on loopback (PostgreSQL: a server process)


def _key(tmp_path: Path) -> FieldKey:
    """The field key a region's sessions carry: the outbox seals each recipient with it."""
    key = FieldKey(tmp_path / "field.key")
    key.create()
    return key


@pytest.fixture
def sessions(database_url: str, tmp_path: Path) -> sessionmaker[Session]:
    return make_sessions(make_engine(database_url), _key(tmp_path))


@pytest.fixture
def sqlite_sessions(tmp_path: Path) -> sessionmaker[Session]:
    return make_sessions(make_engine(f"sqlite:///{tmp_path / 'notify.db'}"), _key(tmp_path))


def _sms(sessions: sessionmaker[Session], n: int, prefix: str = "m") -> list[str]:
    keys = [f"{prefix}:{i}" for i in range(n)]
    with sessions.begin() as s:
        for i, key in enumerate(keys):
            enqueue(s, dedupe_key=key, channel="sms", recipient="13800138000", body=f"text {i}")
    return keys


def _states(sessions: sessionmaker[Session]) -> dict[str, str]:
    with sessions() as s:
        return {m.dedupe_key: m.state for m in s.scalars(select(Message))}


def test_a_message_exists_iff_its_transaction_committed(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(RuntimeError), sessions.begin() as s:
        enqueue(s, dedupe_key="gone", channel="email", recipient="a@example.cn", body="x")
        raise RuntimeError("the business change failed")
    with sessions.begin() as s:
        first = enqueue(s, dedupe_key="kept", channel="email", recipient="a@example.cn", body="x")
        again = enqueue(s, dedupe_key="kept", channel="email", recipient="b@example.cn", body="y")
    with sessions.begin() as s:  # a later transaction: still stored once, and it goes on
        later = enqueue(s, dedupe_key="kept", channel="sms", recipient="13800138000", body="z")
        s.add(Message(dedupe_key="other", channel="sms", recipient="1", body=""))
    assert first.created and not again.created and not later.created
    assert first.id == again.id == later.id
    with sessions() as s:
        rows = s.scalars(select(Message).order_by(Message.id)).all()
    assert [(m.dedupe_key, m.recipient, m.state) for m in rows] == [
        ("kept", "a@example.cn", "pending"),
        ("other", "1", "pending"),
    ]


@pytest.mark.unit
def test_bad_recipients_are_refused_naming_the_field(
    sqlite_sessions: sessionmaker[Session],
) -> None:
    with sqlite_sessions.begin() as s:
        for channel, to, words in [
            ("email", "not-an-address", "e-mail address"),
            ("sms", "call me", "phone number"),
            ("fax", "1", "channel"),
        ]:
            with pytest.raises(InvalidInputError, match=words):
                enqueue(s, dedupe_key="k", channel=channel, recipient=to, body="x")
    assert _states(sqlite_sessions) == {}


def test_smtp_delivery_to_a_real_server(
    sqlite_sessions: sessionmaker[Session],
    smtp_server: tuple[MailBox, int],  # noqa: F811
) -> None:
    box, port = smtp_server
    box.refuse.add("nobody@example.cn")
    with sqlite_sessions.begin() as s:
        enqueue(s, dedupe_key="r:1", channel="email", recipient="holder@example.cn",
                subject="营业执照将于30天后到期",
                body="您的营业执照将于 2027-01-06 到期。")  # fmt: skip
        enqueue(s, dedupe_key="r:2", channel="email", recipient="nobody@example.cn", body="x")
    adapter = SmtpAdapter("127.0.0.1", port, "notices@region.example.cn", timeout=5)
    done = DeliveryWorker(sqlite_sessions, {"email": adapter}).run_once()
    assert (done.sent, done.failed) == (1, 1)  # a refused mailbox is permanent: not retried
    [mail] = box.messages
    assert mail["To"] == "holder@example.cn" and mail["From"] == "notices@region.example.cn"
    assert mail["Subject"] == "营业执照将于30天后到期"
    assert mail["Message-ID"] == f"<{idempotency_key('r:1')}@region.example.cn>"
    assert "2027-01-06" in mail.get_payload(decode=True).decode("utf-8")  # type: ignore[union-attr]
    with sqlite_sessions() as s:
        sent, refused = s.scalars(select(Message).order_by(Message.id)).all()
    assert sent.state == MessageState.SENT and sent.sent_at is not None and sent.attempts == 1
    assert refused.state == MessageState.FAILED and "550" in (refused.last_error or "")


def test_webhook_delivery_carries_the_idempotency_key(
    sqlite_sessions: sessionmaker[Session],
    gateway: tuple[Gateway, str],  # noqa: F811
) -> None:
    gw, url = gateway
    _sms(sqlite_sessions, 3)
    done = DeliveryWorker(sqlite_sessions, {"sms": WebhookAdapter(url, timeout=5)}).run_once()
    assert done.sent == 3
    assert sorted(gw.delivered) == sorted(idempotency_key(f"m:{i}") for i in range(3))
    body = gw.delivered[idempotency_key("m:0")]
    assert body == {"to": "13800138000", "text": "text 0", "subject": "",
                    "id": idempotency_key("m:0")}  # fmt: skip
    assert set(_states(sqlite_sessions).values()) == {"sent"}
    assert DeliveryWorker(sqlite_sessions, {"sms": WebhookAdapter(url)}).run_once().sent == 0


def _run_until_settled(
    worker: DeliveryWorker, sessions: sessionmaker[Session], limit: float
) -> None:
    deadline = time.monotonic() + limit
    while set(_states(sessions).values()) & {"pending", "sending"}:
        assert time.monotonic() < deadline, _states(sessions)
        worker.run_once()
        time.sleep(0.02)


def test_failures_are_retried_with_growing_waits_up_to_the_cap(
    sqlite_sessions: sessionmaker[Session],
    gateway: tuple[Gateway, str],  # noqa: F811
) -> None:
    gw, url = gateway
    gw.fail_first = 4  # 503 four times, then accepted
    _sms(sqlite_sessions, 1)
    policy = RetryPolicy(max_attempts=6, base=0.2, cap=0.5)
    worker = DeliveryWorker(sqlite_sessions, {"sms": WebhookAdapter(url, timeout=2)}, policy)
    _run_until_settled(worker, sqlite_sessions, 20)
    times = [t for t, _, _ in gw.requests]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 5 and len(gw.delivered) == 1
    # waits of 0.2, 0.4, then 0.8 capped at 0.5 (and 0.5): each at least its step, none far above
    for gap, step in zip(gaps, [0.2, 0.4, 0.5, 0.5], strict=True):
        assert step <= gap < step + 1.0, gaps
    with sqlite_sessions() as s:
        row = s.scalars(select(Message)).one()
    assert (row.state, row.attempts) == ("sent", 5) and "503" in (row.last_error or "503")


def test_past_the_attempt_cap_a_message_is_failed_with_its_error(
    sqlite_sessions: sessionmaker[Session],
    gateway: tuple[Gateway, str],  # noqa: F811
) -> None:
    gw, url = gateway
    gw.fail_first = 1000
    _sms(sqlite_sessions, 1)
    policy = RetryPolicy(max_attempts=3, base=0.05, cap=0.1)
    worker = DeliveryWorker(sqlite_sessions, {"sms": WebhookAdapter(url, timeout=2)}, policy)
    _run_until_settled(worker, sqlite_sessions, 10)
    with sqlite_sessions() as s:
        row = s.scalars(select(Message)).one()
    assert (row.state, row.attempts, len(gw.requests)) == ("failed", 3, 3)
    assert "503" in (row.last_error or "") and not gw.delivered


def test_an_unreachable_gateway_is_retried(sqlite_sessions: sessionmaker[Session]) -> None:
    _sms(sqlite_sessions, 1)
    dead = WebhookAdapter(f"http://127.0.0.1:{_closed_port()}/sms", timeout=1)
    done = DeliveryWorker(sqlite_sessions, {"sms": dead}, RetryPolicy(base=60)).run_once()
    assert done.retried == 1
    with sqlite_sessions() as s:
        row = s.scalars(select(Message)).one()
    assert row.state == "pending" and "unreachable" in (row.last_error or "")


def _closed_port() -> int:
    from tests.chain_fixtures import free_port

    return free_port()


def test_two_workers_never_claim_one_message(sessions: sessionmaker[Session]) -> None:
    _sms(sessions, 30)
    adapters = {"sms": WebhookAdapter("http://127.0.0.1:9/unused")}
    a = DeliveryWorker(sessions, adapters, batch=20, name="a")
    b = DeliveryWorker(sessions, adapters, batch=20, name="b")
    first, second = a.claim(), b.claim()
    assert len(first) == 20 and len(second) == 10 and not set(first) & set(second)
    assert b.claim() == [] and a.claim() == []  # every claim is still held


def _worker_process(db_url: str, url: str, claim: float, key: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.notify_worker_process", db_url, url, str(claim), key],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_kill_9_mid_delivery_loses_nothing_and_delivers_nothing_twice(
    sqlite_sessions: sessionmaker[Session],
    tmp_path: Path,
    gateway: tuple[Gateway, str],  # noqa: F811
) -> None:
    """The worker is killed while the gateway holds its answer to the 5th message (accepted,
    not yet answered): the window between a receiver's acceptance and the ``sent`` commit.
    A new worker takes the dead one's claims over once they run out and sends the rest; the
    5th goes out again with the same Idempotency-Key, which the gateway keeps once."""
    gw, url = gateway
    gw.hold_at = {5}
    keys = _sms(sqlite_sessions, 12)
    db_url = f"sqlite:///{tmp_path / 'notify.db'}"
    first = _worker_process(db_url, url, 1.5, str(tmp_path / "field.key"))
    try:
        assert gw.held.wait(30), "the worker never reached the 5th message"
        first.kill()
        first.wait(10)
    finally:
        first.kill()
    gw.release.set()
    states = _states(sqlite_sessions)
    assert [states[k] for k in keys[:4]] == ["sent"] * 4
    assert {states[k] for k in keys[4:]} == {"sending"}  # claimed by the dead worker
    second = _worker_process(db_url, url, 1.5, str(tmp_path / "field.key"))
    try:
        deadline = time.monotonic() + 30
        while set(_states(sqlite_sessions).values()) != {"sent"}:
            assert time.monotonic() < deadline, _states(sqlite_sessions)
            time.sleep(0.1)
    finally:
        second.kill()
        second.wait(10)
    sent_keys = [key for _, key, _ in gw.requests]
    assert sorted(gw.delivered) == sorted(idempotency_key(k) for k in keys)  # nothing lost
    assert len(gw.delivered) == 12  # nothing delivered twice
    repeated = {k for k in sent_keys if sent_keys.count(k) > 1}
    assert repeated == {idempotency_key(keys[4])}  # only the one in the window, same key
    with sqlite_sessions() as s:
        attempts = {m.dedupe_key: m.attempts for m in s.scalars(select(Message))}
    assert attempts[keys[4]] == 2 and attempts[keys[0]] == 1
