"""Password sign-in for a new token, with failed attempts limited per username and client.

Failures are kept in the database (not in memory), so the limit holds across workers and
restarts. Every failure and every refusal by the limit is written to the operation log.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from licence_service.audit import oplog
from licence_service.people.identity import AuthenticationError, TooManyAttemptsError
from licence_service.people.models import Person, SignInFailure
from licence_service.people.passwords import verify_password
from licence_service.people.service import IssuedToken, aware, info, issue_token
from licence_service.region.runtime import Runtime

SIGN_IN_TOKEN_DAYS = 1


@dataclass(frozen=True)
class SignInLimits:
    """At most ``per_username`` failures for one username, and ``per_client`` from one
    client address, within ``window``; beyond that, 429 until the oldest one ages out."""

    per_username: int = 5
    per_client: int = 20
    window: timedelta = timedelta(minutes=5)


def _retry_after(s: Session, column: InstrumentedAttribute[str], value: str, limits: SignInLimits,
                 limit: int, now: datetime) -> int | None:  # fmt: skip
    since = now - limits.window
    query = select(SignInFailure.at).where(column == value, SignInFailure.at > since)
    times = sorted(aware(t) for t in s.scalars(query))
    if len(times) < limit:
        return None
    # the limit lifts once enough of the failures in the window have aged out of it
    frees_at = times[len(times) - limit] + limits.window
    return max(1, math.ceil((frees_at - now).total_seconds()))


def sign_in(
    rt: Runtime,
    username: str,
    password: str,
    client: str,
    days: int = SIGN_IN_TOKEN_DAYS,
    limits: SignInLimits | None = None,
) -> IssuedToken:
    """A new token for ``username`` if ``password`` is right and the limit allows trying."""
    limits = limits or SignInLimits()
    username, client = username.strip()[:100], client[:100]
    now = datetime.now(UTC)
    with oplog.acting_as(f"anonymous@{client}"[:100], "anonymous"), rt.sessions.begin() as s:
        wait = _retry_after(s, SignInFailure.username, username, limits, limits.per_username, now)
        wait = wait or _retry_after(s, SignInFailure.client, client, limits, limits.per_client, now)
        if wait is not None:
            oplog.record(s, "auth:sign-in-throttled", username, client=client, retry_after=wait)
        else:
            person = s.scalar(select(Person).where(Person.username == username))
            ok = verify_password(person.password_hash if person else None, password)
            if not ok or person is None or person.disabled_at is not None:
                s.add(SignInFailure(username=username, client=client, at=now))
                oplog.record(s, "auth:sign-in-failed", username, client=client)
                wait = 0
            else:
                oplog.record(s, "auth:sign-in", username, client=client)
                label = info(person).label
    if wait:
        raise TooManyAttemptsError(
            f"too many failed sign-ins; try again in {wait} s", retry_after=wait
        )
    if wait == 0:
        raise AuthenticationError("unknown username or wrong password", field="password")
    with oplog.acting_as(label, "sign-in"):
        return issue_token(rt, username, days, label=f"sign-in from {client}")
