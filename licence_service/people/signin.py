"""Password sign-in, throttled as NIST SP 800-63B asks: by account *and* by source, with
increasing delays, so that guessing is slow and nobody can lock a colleague out for good.

Three counters of consecutive failures, each with its own exponential backoff
(:class:`Backoff`: some free tries, then a delay that doubles with each failure, up to a cap):

- ``pair`` (account, source): one place guessing one person's password;
- ``source``: one place spraying many accounts (an IPv6 source counts by its /64);
- ``account``: many places guessing one account. A stranger could keep this one busy for ever,
  so it does not hold a person back at their *usual* source (one they signed in from within
  :attr:`SignInLimits.usual`): there only their own pair and source counters apply.

A request inside a delay answers 429 with the seconds left and checks no password (so it
neither costs argon2 time nor extends the delay). A success clears the pair's and the
account's counters and marks the source usual. Failures are forgotten after
:attr:`SignInLimits.forget` without one. :func:`unlock_person` (an administrator) clears an
account's counters. The counters live in the database, so they hold across workers and
restarts; every failure, refusal and unlock is written to the operation log.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licence_service.audit import oplog
from licence_service.people.identity import AuthenticationError, PersonInfo, TooManyAttemptsError
from licence_service.people.models import Person, SignInThrottle
from licence_service.people.passwords import verify_password
from licence_service.people.service import IssuedToken, aware, info, issue_token, person_row
from licence_service.region.runtime import Runtime

SIGN_IN_TOKEN_DAYS = 1
T = TypeVar("T")
# An account for the throttle: (stored password hash or None, the account when it may sign in)
Account = Callable[[Session, str], tuple[str | None, T | None]]


@dataclass(frozen=True)
class Backoff:
    """``free`` failures without delay; after the n-th failure (n ≥ free) the next try waits
    ``base * 2**(n - free)`` seconds, at most ``cap``."""

    free: int
    base: float = 2.0
    cap: float = 900.0

    def delay(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return min(self.cap, self.base * 2.0 ** min(failures - self.free, 40))


@dataclass(frozen=True)
class SignInLimits:
    pair: Backoff = field(default_factory=lambda: Backoff(free=5))
    source: Backoff = field(default_factory=lambda: Backoff(free=20))
    account: Backoff = field(default_factory=lambda: Backoff(free=10))
    forget: timedelta = timedelta(days=1)  # failures older than this (with none since) count 0
    usual: timedelta = timedelta(days=90)  # a source with a success this recent is usual


def source_of(client: str) -> str:
    """The source a client address counts as: itself, or its /64 for IPv6 (one subscriber
    gets a whole /64, so counting single addresses would let them rotate freely)."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client[:100]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _row(s: Session, scope: str, username: str, source: str) -> SignInThrottle:
    query = select(SignInThrottle).where(SignInThrottle.scope == scope,
                                         SignInThrottle.username == username,
                                         SignInThrottle.source == source)  # fmt: skip
    row = s.scalar(query.with_for_update())
    if row is None:
        row = SignInThrottle(scope=scope, username=username, source=source, failures=0)
        s.add(row)
    return row


def _failures(row: SignInThrottle, now: datetime, limits: SignInLimits) -> int:
    last = row.last_failure_at
    return 0 if last is None or now - aware(last) > limits.forget else row.failures or 0


def _wait(row: SignInThrottle, backoff: Backoff, now: datetime, limits: SignInLimits) -> float:
    failures = _failures(row, now, limits)
    if not failures or row.last_failure_at is None:
        return 0.0
    return max(0.0, (aware(row.last_failure_at) - now).total_seconds() + backoff.delay(failures))


def _fail(rows: list[SignInThrottle], now: datetime, limits: SignInLimits) -> None:
    for row in rows:
        row.failures = _failures(row, now, limits) + 1
        row.last_failure_at = now


def _prune(s: Session, now: datetime, limits: SignInLimits) -> None:
    """Forget counters nobody needs any more (bounded table, whatever usernames are tried)."""
    stale, unusual = now - limits.forget, now - limits.usual
    s.execute(delete(SignInThrottle).where(
        or_(SignInThrottle.last_failure_at.is_(None), SignInThrottle.last_failure_at < stale),
        or_(SignInThrottle.last_success_at.is_(None), SignInThrottle.last_success_at < unusual),
    ))  # fmt: skip


def _person_account(s: Session, username: str) -> tuple[str | None, PersonInfo | None]:
    """A staff account for the throttle: its password hash and, when enabled, the person."""
    person = s.scalar(select(Person).where(Person.username == username))
    if person is None:
        return None, None
    return person.password_hash, None if person.disabled_at is not None else info(person)


def _attempt(s: Session, username: str, password: str, source: str, limits: SignInLimits,
             now: datetime, lookup: Account[T]) -> T | float | None:  # fmt: skip
    """The account (success), the seconds to wait (throttled) or None (wrong)."""
    pair, src = _row(s, "pair", username, source), _row(s, "source", "", source)
    account = _row(s, "account", username, "")
    usual = pair.last_success_at is not None and now - aware(pair.last_success_at) < limits.usual
    wait = max(_wait(pair, limits.pair, now, limits), _wait(src, limits.source, now, limits),
               0.0 if usual else _wait(account, limits.account, now, limits))  # fmt: skip
    if wait > 0:
        oplog.record(s, "auth:sign-in-throttled", username, client=source,
                     retry_after=math.ceil(wait))  # fmt: skip
        return wait
    stored, person = lookup(s, username)
    ok = verify_password(stored, password)
    if not ok or person is None:
        _fail([pair, src, account], now, limits)
        _prune(s, now, limits)
        oplog.record(s, "auth:sign-in-failed", username, client=source)
        return None
    pair.failures = account.failures = 0
    pair.last_success_at = now
    oplog.record(s, "auth:sign-in", username, client=source)
    return person


def check_sign_in(rt: Runtime, username: str, password: str, client: str,
                  limits: SignInLimits | None = None) -> PersonInfo:  # fmt: skip
    """The person whose password this is, if the throttle lets ``client`` try now; 429
    (:class:`TooManyAttemptsError`) inside a delay, 401 for a wrong username or password."""
    name = username.strip().lower()[:100]
    unlock = f"an administrator can unlock the account: `licledger user unlock {name}`"
    return check_password_of(rt, username, password, client, _person_account, unlock, limits)


def check_password_of(rt: Runtime, username: str, password: str, client: str,
                      account: Account[T], unlock: str,
                      limits: SignInLimits | None = None) -> T:  # fmt: skip
    """:func:`check_sign_in` for any kind of account (staff, a holder's wallet): the same
    three counters and delays, keyed by ``username`` (unique across kinds: a holder's is
    ``holder:<keyed hash of the ID>``, ``people.holders.throttle_name``); ``account`` reads
    the stored hash and the account, ``unlock`` says
    who can lift a delay."""
    limits = limits or SignInLimits()
    username, source = username.strip().lower()[:100], source_of(client)
    for attempt in range(3):  # two first sign-ins of one source may race to create its rows
        now = datetime.now(UTC)
        try:
            with oplog.acting_as(f"anonymous@{source}"[:100], "anonymous"), \
                 rt.sessions.begin() as s:  # fmt: skip
                result = _attempt(s, username, password, source, limits, now, account)
            break
        except IntegrityError:
            if attempt == 2:
                raise
    if isinstance(result, float):
        seconds = max(1, math.ceil(result))
        raise TooManyAttemptsError(
            f"too many failed sign-ins for {username} or from {source}; try again in "
            f"{seconds} s (each further failure doubles the wait; {unlock})",
            retry_after=seconds,
        )
    if result is None:
        raise AuthenticationError("unknown username or wrong password", field="password")
    return result


def sign_in(
    rt: Runtime,
    username: str,
    password: str,
    client: str,
    days: int = SIGN_IN_TOKEN_DAYS,
    limits: SignInLimits | None = None,
) -> IssuedToken:
    """A new API token for ``username`` if ``password`` is right and the throttle allows."""
    person = check_sign_in(rt, username, password, client, limits)
    with oplog.acting_as(person.label, "sign-in"):
        return issue_token(rt, person.username, days, label=f"sign-in from {client}"[:100])


def unlock_person(rt: Runtime, username: str) -> int:
    """Clear the failed sign-ins of ``username`` (account and every source's pair counter;
    a source's own counter stays: it is about that source, not this person). How many were
    cleared. The CLI, the API and the admin page all unlock through here."""
    with rt.sessions.begin() as s:
        person_row(s, username)
        rows = list(s.scalars(select(SignInThrottle).where(SignInThrottle.username == username)))
        now = datetime.now(UTC)
        cleared = max((_failures(r, now, SignInLimits()) for r in rows), default=0)
        for row in rows:
            row.failures, row.last_failure_at = 0, None
        oplog.record(s, "person:unlock", username, failures=cleared)
        return cleared


def failed_sign_ins(rt: Runtime) -> dict[str, int]:
    """Username -> consecutive failed sign-ins on the account (those with any), for the
    administrators' list."""
    now, limits = datetime.now(UTC), SignInLimits()
    with rt.sessions() as s:
        rows = s.scalars(select(SignInThrottle).where(SignInThrottle.scope == "account"))
        found = {r.username: _failures(r, now, limits) for r in rows}
    return {k: v for k, v in found.items() if v}
