"""Tables of people and their tokens (created with the service's own tables)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from licence_service.store.models import Base, utcnow


class Person(Base):
    """A person who signs in: one unit, one or more roles, an argon2id password hash."""

    __tablename__ = "person"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    unit_kind: Mapped[str] = mapped_column(String(10))  # agency, region or audit
    agency_code: Mapped[str | None] = mapped_column(String(18), nullable=True, index=True)
    region_code: Mapped[int] = mapped_column(Integer)
    roles: Mapped[str] = mapped_column(String(100))  # comma-separated, sorted
    password_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="person")


class ApiToken(Base):
    """A personal API token: only its SHA-256 is kept; the prefix names it in listings."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    label: Mapped[str] = mapped_column(String(100), default="")
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    person: Mapped[Person] = relationship(back_populates="tokens")


class WebSession(Base):
    """A signed-in browser's page session. The cookie holds a random id; only its SHA-256 is
    kept, so the database alone opens no session. Separate from API tokens on purpose: a
    token in the cookie opens nothing, and a session id is no bearer token."""

    __tablename__ = "web_session"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    person: Mapped[Person] = relationship()


class SignInThrottle(Base):
    """Consecutive failed sign-ins of one scope: ``account`` (username, source ''),
    ``source`` (username '', a client address or IPv6 /64) or ``pair`` (both). The pair row
    also remembers the last success from that source (a person's usual place)."""

    __tablename__ = "sign_in_throttle"
    __table_args__ = (UniqueConstraint("scope", "username", "source"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))
    username: Mapped[str] = mapped_column(String(100), index=True)
    source: Mapped[str] = mapped_column(String(100))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, index=True
    )
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
