"""Page sessions kept on the server: a random id in the browser's cookie, its SHA-256 in the
``web_session`` table with the person, when it was made, last seen and when it expires.

Why not the API token in the cookie (as before): a token is a bearer credential for the whole
API, lives for days, and cannot end on idleness without being revoked; a session id opens only
the pages, ends after :func:`resolve_session`'s idle timeout or :data:`SESSION_LIFETIME`
whichever comes first, is deleted by sign-out, and every session of a person is deleted when
the person is disabled. Nothing here knows about HTTP.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from licence_service.audit import oplog
from licence_service.people.identity import AuthenticationError, PersonInfo
from licence_service.people.models import WebSession
from licence_service.people.service import aware, info, person_row
from licence_service.region.runtime import Runtime

SCHEME = "lls_"  # a session id never looks like an API token (``llt_``)
SESSION_LIFETIME = timedelta(hours=12)  # NIST SP 800-63B: re-authenticate at least daily
T = TypeVar("T")
_TOUCH_EVERY = 5.0  # seconds: last_seen is written at most this often (bounded by idle / 10)


def _hash(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


def create_session(rt: Runtime, username: str) -> str:
    """A new session for ``username`` (an enabled person); the id is returned once."""
    with rt.sessions.begin() as s:
        person = person_row(s, username)
        if person.disabled_at is not None:
            raise AuthenticationError(f"{username} is disabled", field="username")
        return open_session(s, WebSession, person_id=person.id)


def open_session(s: Session, model: Any, scheme: str = SCHEME, **owner: int) -> str:
    """Add a row of ``model`` (``WebSession``, or a holder's wallet session) for ``owner``
    (its foreign key) and return the new session id, shown once."""
    session_id = f"{scheme}{secrets.token_urlsafe(32)}"
    now = datetime.now(UTC)
    s.add(model(secret_hash=_hash(session_id), created_at=now, last_seen_at=now,
                expires_at=now + SESSION_LIFETIME, **owner))  # fmt: skip
    return session_id


class SessionEnded(AuthenticationError):
    """The session ended (idle too long, past its lifetime, signed out, person disabled)."""


def resolve_session(rt: Runtime, session_id: str, idle_seconds: float) -> PersonInfo:
    """The person of a live session, its last-seen time moved on; an idle or expired session
    is deleted and refused, as is an unknown id, and the session of a disabled person."""
    return resolve_row(rt, WebSession, session_id, idle_seconds, lambda row: row.person, info)


def resolve_row(rt: Runtime, model: Any, session_id: str, idle_seconds: float,
                owner: Callable[[Any], Any], describe: Callable[[Any], T]) -> T:  # fmt: skip
    """:func:`resolve_session` for any session table: ``owner`` gives a row's owner (which has
    ``disabled_at``), ``describe`` what the caller gets of it."""
    now = datetime.now(UTC)
    ended: str | None = None
    with rt.sessions.begin() as s:  # the refusal is raised after the commit keeps the delete
        row = s.scalar(select(model).where(model.secret_hash == _hash(session_id)))
        if row is None:
            ended = "no such session: sign in again"
        else:
            idle = (now - aware(row.last_seen_at)).total_seconds()
            if idle > idle_seconds:
                minutes = f"{idle_seconds / 60:.1f}".rstrip("0").rstrip(".")
                ended = f"the session ended after {minutes} idle minutes: sign in again"
            elif aware(row.expires_at) <= now:
                ended = "the session ended at its end of life: sign in again"
            elif owner(row).disabled_at is not None:
                ended = "the session ended: the account is disabled"
            if ended is not None:
                s.delete(row)
            else:
                if idle > min(_TOUCH_EVERY, idle_seconds / 10):
                    row.last_seen_at = now
                return describe(owner(row))
    raise SessionEnded(ended, field="session")


def end_session(rt: Runtime, session_id: str, model: Any = WebSession,
                who: Callable[[Any], str] = lambda row: row.person.username) -> None:  # fmt: skip
    """Sign-out: the session's row is deleted (an unknown id is no error)."""
    with rt.sessions.begin() as s:
        row = s.scalar(select(model).where(model.secret_hash == _hash(session_id)))
        if row is not None:
            oplog.record(s, "auth:sign-out", who(row))
            s.delete(row)


def live_sessions(rt: Runtime, username: str) -> int:
    """How many unexpired sessions ``username`` has (for listings and tests)."""
    now = datetime.now(UTC)
    with rt.sessions() as s:
        person = person_row(s, username)
        rows = s.scalars(select(WebSession.expires_at).where(WebSession.person_id == person.id))
        return sum(1 for t in rows if aware(t) > now)
