"""Tables of holder accounts (the wallet): kept apart from staff ``person`` rows on purpose.

A holder is not a member of any unit and holds no role; giving holders ``person`` rows would
make every staff check ("is this a person with a role?") also a holder check. Separate
tables, a separate cookie and a separate session table mean no holder credential can ever
open a staff route, and no staff credential a wallet route.

Holder IDs and contacts are personal data: sealed at rest like a licence's holder ID
(``store.sealing``), an account found by the ID's keyed hash (``holder_id_hash``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from licence_service.store.models import Base, utcnow
from licence_service.store.sealing import seal_columns


class HolderAccount(Base):
    """A holder's wallet account: the ID number (citizen ID or unified social credit code,
    check digit checked) is the username; argon2id password hash; where one-time codes go."""

    __tablename__ = "holder_account"
    __table_args__ = (UniqueConstraint("holder_id_hash", name="uq_holder_account_holder_id_hash"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # sealed (store.sealing): the ID found by its keyed hash, unique per account (the unique
    # constraint on the ciphertext is the first release's, kept: each sealing is unique anyway)
    holder_id: Mapped[str] = mapped_column(String(120), unique=True)
    holder_id_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    contact: Mapped[str] = mapped_column(Text)  # e-mail address or mobile number, sealed
    password_hash: Mapped[str] = mapped_column(Text)
    activated_by: Mapped[str] = mapped_column(String(100))  # staff label of the activation code
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class HolderActivation(Base):
    """A one-use activation code handed to a holder at the window by staff who checked the
    person's ID card: registering (or resetting) an account needs it. Only its SHA-256 kept."""

    __tablename__ = "holder_activation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_id: Mapped[str] = mapped_column(String(120))  # sealed
    holder_id_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), index=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    issued_by: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)


class HolderChallenge(Base):
    """The second step of a holder's sign-in: a one-time code sent to the account's contact.
    The browser holds the challenge id; the table only the SHA-256 of id and code."""

    __tablename__ = "holder_challenge"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("holder_account.id"), index=True)
    challenge_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    account: Mapped[HolderAccount] = relationship()


class HolderSession(Base):
    """A signed-in holder's wallet session (as ``web_session`` for staff, its own table)."""

    __tablename__ = "holder_session"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("holder_account.id"), index=True)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    account: Mapped[HolderAccount] = relationship()


seal_columns(HolderAccount, {"holder_id": True, "contact": False})
seal_columns(HolderActivation, {"holder_id": True})
