"""Person accounts and their tokens: create, list, disable; issue, list, revoke, check.

Nothing here knows about HTTP. Secrets (passwords, tokens) are returned once, by the call
that creates them, and only their hashes are stored; the operation log records who did what
to which account, never a secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from licence_service.audit import oplog
from licence_service.domain.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    NotSetUpError,
)
from licence_service.people.identity import (
    UNIT_ROLES,
    AuthenticationError,
    PersonInfo,
    PersonRole,
    UnitKind,
)
from licence_service.people.models import ApiToken, Person, WebSession
from licence_service.people.passwords import generate_password, hash_password
from licence_service.people.tokens import matches, new_token, prefix_of, token_hash
from licence_service.region.runtime import Runtime
from licence_service.store.models import Agency

DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 366
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``token`` is shown to its owner once and kept nowhere."""

    token: str
    prefix: str
    username: str
    expires_at: datetime


def aware(when: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time stored here is UTC."""
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def info(p: Person) -> PersonInfo:
    return PersonInfo(
        username=p.username,
        display_name=p.display_name,
        unit_kind=UnitKind(p.unit_kind),
        agency_code=p.agency_code,
        region_code=p.region_code,
        roles=frozenset(PersonRole(r) for r in p.roles.split(",") if r),
        disabled=p.disabled_at is not None,
    )


def home_region(s: Session) -> int:
    """The region this service runs for: that of its first agency (`licledger init`)."""
    region = s.scalar(select(Agency.region_code).order_by(Agency.id))
    if region is None:
        raise NotSetUpError("no region is set up here; run `licledger init` first")
    return region


def person_row(s: Session, username: str) -> Person:
    person = s.scalar(select(Person).where(Person.username == username))
    if person is None:
        raise NotFoundError(f"no person {username!r}", field="username")
    return person


def _unit(s: Session, unit: str) -> tuple[UnitKind, str | None, int]:
    """``region``, ``audit`` or an agency code set up here -> kind, agency code, region."""
    if unit in (UnitKind.REGION.value, UnitKind.AUDIT.value):
        return UnitKind(unit), None, home_region(s)
    agency = s.scalar(select(Agency).where(Agency.code == unit))
    if agency is None:
        raise InvalidInputError(
            f"unit {unit!r} is neither 'region', 'audit' nor an agency set up here",
            field="unit",
        )
    return UnitKind.AGENCY, agency.code, agency.region_code


def add_person(
    rt: Runtime,
    username: str,
    unit: str,
    roles: frozenset[PersonRole],
    display_name: str = "",
    password: str | None = None,
) -> PersonInfo:
    """Create a person of ``unit`` with ``roles`` (each allowed in that kind of unit)."""
    if not _USERNAME.match(username):
        raise InvalidInputError(
            "username: 2-40 of a-z 0-9 . _ - starting with a letter or digit", field="username"
        )
    if not roles:
        raise InvalidInputError("give at least one role", field="roles")
    words = (username, display_name)
    hashed = hash_password(password, words) if password is not None else None
    with rt.sessions.begin() as s:
        kind, agency_code, region = _unit(s, unit)
        wrong = sorted(r.value for r in roles - UNIT_ROLES[kind])
        if wrong:
            raise InvalidInputError(
                f"a person of a {kind.value} unit cannot hold {', '.join(wrong)} "
                f"(allowed: {', '.join(sorted(r.value for r in UNIT_ROLES[kind]))})",
                field="roles",
            )
        if s.scalar(select(Person.id).where(Person.username == username)) is not None:
            raise ConflictError(f"username {username!r} is taken", field="username")
        person = Person(
            username=username, display_name=display_name.strip() or username,
            unit_kind=kind.value, agency_code=agency_code, region_code=region,
            roles=",".join(sorted(r.value for r in roles)), password_hash=hashed,
            created_by=oplog.current_actor(),
        )  # fmt: skip
        s.add(person)
        s.flush()
        result = info(person)
        oplog.record(s, "person:add", username, unit=result.unit, roles=person.roles)
    return result


def get_person(rt: Runtime, username: str) -> PersonInfo:
    with rt.sessions() as s:
        return info(person_row(s, username))


def list_people(rt: Runtime, agency_code: str | None = None) -> list[PersonInfo]:
    """Everyone, or the people of one agency."""
    with rt.sessions() as s:
        query = select(Person).order_by(Person.username)
        if agency_code is not None:
            query = query.where(Person.agency_code == agency_code)
        return [info(p) for p in s.scalars(query)]


def disable_person(rt: Runtime, username: str) -> PersonInfo:
    """Disable an account: its password stops working, every token is revoked and every page
    session deleted, in one transaction, so the very next request with any of them is refused."""
    now = datetime.now(UTC)
    with rt.sessions.begin() as s:
        person = person_row(s, username)
        if person.disabled_at is None:
            person.disabled_at = now
            oplog.record(s, "person:disable", username)
        for token in person.tokens:
            token.revoked_at = token.revoked_at or now
        s.execute(delete(WebSession).where(WebSession.person_id == person.id))
        return info(person)


def set_password(rt: Runtime, username: str, password: str) -> None:
    """A new password (checked against the blocklist with the person's own words)."""
    with rt.sessions() as s:
        person = person_row(s, username)
        words = (person.username, person.display_name)
    hashed = hash_password(password, words)
    with rt.sessions.begin() as s:
        person_row(s, username).password_hash = hashed
        oplog.record(s, "person:password", username)


def issue_token(
    rt: Runtime, username: str, days: int = DEFAULT_TOKEN_DAYS, label: str = ""
) -> IssuedToken:
    """A new personal token for ``username``, valid for ``days``; returned once."""
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise InvalidInputError(f"days must be between 1 and {MAX_TOKEN_DAYS}", field="days")
    token, prefix = new_token()
    expires = datetime.now(UTC) + timedelta(days=days)
    with rt.sessions.begin() as s:
        person = person_row(s, username)
        if person.disabled_at is not None:
            raise ConflictError(f"{username} is disabled", field="username")
        s.add(ApiToken(person_id=person.id, prefix=prefix, secret_hash=token_hash(token),
                       label=label[:100], expires_at=expires))  # fmt: skip
        oplog.record(s, "token:issue", username, prefix=prefix, expires=expires.isoformat())
    return IssuedToken(token, prefix, username, expires)


def list_tokens(rt: Runtime, username: str | None = None) -> list[dict[str, object]]:
    """Tokens by prefix (never the secret), with their state."""
    now = datetime.now(UTC)
    with rt.sessions() as s:
        query = select(ApiToken).join(Person).order_by(ApiToken.id)
        if username is not None:
            query = query.where(Person.username == username)
        rows: list[dict[str, object]] = []
        for t in s.scalars(query):
            state = "active"
            if t.revoked_at is not None:
                state = "revoked"
            elif aware(t.expires_at) <= now:
                state = "expired"
            rows.append({
                "prefix": t.prefix, "username": t.person.username, "label": t.label,
                "state": state, "created_at": aware(t.created_at).isoformat(),
                "expires_at": aware(t.expires_at).isoformat(),
                "last_used_at": t.last_used_at and aware(t.last_used_at).isoformat(),
            })  # fmt: skip
        return rows


def token_owner(rt: Runtime, prefix: str) -> str:
    with rt.sessions() as s:
        token = s.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
        if token is None:
            raise NotFoundError(f"no token with prefix {prefix}", field="prefix")
        return token.person.username


def revoke_token(rt: Runtime, prefix: str) -> None:
    """Revoke a token by its prefix; revoking twice is harmless."""
    with rt.sessions.begin() as s:
        token = s.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
        if token is None:
            raise NotFoundError(f"no token with prefix {prefix}", field="prefix")
        if token.revoked_at is None:
            token.revoked_at = datetime.now(UTC)
            oplog.record(s, "token:revoke", token.person.username, prefix=prefix)


def authenticate(rt: Runtime, token: str) -> PersonInfo:
    """The person a bearer token belongs to; 401 for anything but a live token of an
    enabled person (the same message for each case, so probing learns nothing)."""
    refused = AuthenticationError("invalid, expired or revoked token", field="authorization")
    prefix = prefix_of(token)
    if prefix is None:
        raise refused
    now = datetime.now(UTC)
    with rt.sessions.begin() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
        if row is None or not matches(token, row.secret_hash):
            raise refused
        if row.revoked_at is not None or aware(row.expires_at) <= now:
            raise refused
        if row.person.disabled_at is not None:
            raise refused
        last = row.last_used_at
        if last is None or now - aware(last) > timedelta(minutes=1):
            row.last_used_at = now  # coarse, so busy callers do not write on every request
        return info(row.person)


@dataclass(frozen=True)
class FirstAdmin:
    """The region's first administrator and their one-time credentials."""

    person: PersonInfo
    password: str
    token: IssuedToken


def ensure_region_admin(rt: Runtime, username: str = "admin") -> FirstAdmin | None:
    """Create the first region administrator unless one exists; credentials shown once."""
    with rt.sessions() as s:
        roles = s.scalars(select(Person.roles)).all()
    if any(PersonRole.REGION_ADMIN.value in r.split(",") for r in roles):
        return None
    password = generate_password()
    person = add_person(
        rt, username, UnitKind.REGION.value, frozenset({PersonRole.REGION_ADMIN}),
        "Region administrator", password,
    )  # fmt: skip
    return FirstAdmin(person, password, issue_token(rt, username, label="licledger init"))
