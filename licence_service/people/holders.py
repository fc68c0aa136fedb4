"""Holder accounts (the wallet's users) and how one is bound to the person it names.

**Binding.** The ID number is the username, but knowing someone's ID number (printed on their
licences, their company's notices) must not let anyone open their wallet. So an account can
only be created, or its password and contact replaced, with an **activation code issued at
the window** by window staff or an issuer of this region, after they checked the person's ID
card (or, for a company, the legal representative's papers): :func:`issue_activation` gives a
12-character code (60 random bits) shown once to the staff member, who hands it over on
paper; only its SHA-256 is kept, it is valid for :data:`ACTIVATION_DAYS` days and for one use,
and :data:`ACTIVATION_TRIES` wrong codes for one ID void every live code of that ID (so
guessing needs a new visit to the window). The activation is written to the operation log
with the staff member's name: who vouched for whom is on record. The contact (e-mail or
mobile) the holder gives at registration is where the sign-in codes go; it is trusted
because the person registering held the code.

Why not the contact recorded at issuance: licences do not record one, and a contact typed in
by a clerk years ago is a weaker proof than a fresh check of the ID card.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from licence_service.audit import oplog
from licence_service.domain.errors import InvalidInputError, NotFoundError
from licence_service.domain.national_ids import (
    HolderIdType,
    IdentifierError,
    validate_citizen_id,
    validate_uscc,
)
from licence_service.people.holder_models import HolderAccount, HolderActivation
from licence_service.people.identity import (
    AuthenticationError,
    PermissionDeniedError,
    PersonInfo,
    PersonRole,
)
from licence_service.people.passwords import hash_password
from licence_service.people.service import aware, home_region
from licence_service.region.runtime import Runtime
from licence_service.store.models import Licence
from licence_service.store.sealing import holder_lookup as holder_key

ACTIVATION_DAYS = 7
ACTIVATION_TRIES = 5
ACTIVATION_ROLES = frozenset({PersonRole.WINDOW_STAFF, PersonRole.ISSUER})
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed from paper
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


@dataclass(frozen=True)
class HolderInfo:
    """A signed-in holder as the wallet sees them; ``subject`` is how the operation and read
    logs name them (:func:`holder_label`: the ID's keyed hash, never the ID)."""

    holder_id: str
    holder_id_type: HolderIdType
    contact: str
    subject: str = ""

    @property
    def label(self) -> str:
        """How the operation log names the holder (without a subject: the ID masked)."""
        return self.subject or f"holder:{self.holder_id[:4]}{'*' * 10}{self.holder_id[-4:]}"


def holder_label(s: Session, holder_id: str) -> str:
    """``holder:<keyed hash>`` of ``holder_id``, as ``read_log.holder_subject`` names it: the
    logs say which holder acted without holding the ID (an unkeyed hash of an ID with a
    check digit is reversed by trying every birth date and serial)."""
    return "holder:" + holder_key(s, holder_id).hex()[:32]


def throttle_name(s: Session, holder_id: str) -> str:
    """The sign-in throttle's username of a holder: the full keyed hash, so the throttle's
    rows hold no ID and :func:`holder_account` finds the account from it."""
    return "holder:" + holder_key(s, holder_id).hex()


@dataclass(frozen=True)
class ActivationCode:
    holder_id: str
    code: str  # shown once, to the staff member who hands it over
    expires_at: datetime


def code_hash(code: str) -> bytes:
    return hashlib.sha256(code.strip().upper().replace("-", "").encode()).digest()


def parse_holder_id(value: str, field: str = "holder_id") -> tuple[str, HolderIdType]:
    """A citizen ID (18 characters, birth date, ISO 7064 check character) or a unified social
    credit code (GB 32100 check character), normalised; the check-digit error by name."""
    text = (value or "").strip().upper()
    try:
        if len(text) == 18 and text[:17].isdigit() and text[6:8] in ("18", "19", "20"):
            return validate_citizen_id(text, field=field), HolderIdType.CITIZEN_ID
        return validate_uscc(text, field=field), HolderIdType.USCC
    except IdentifierError as exc:
        raise InvalidInputError(str(exc), field=exc.field) from exc


def holder_info(row: HolderAccount) -> HolderInfo:
    subject = "holder:" + (row.holder_id_hash or b"").hex()[:32]
    return HolderInfo(row.holder_id, parse_holder_id(row.holder_id)[1], row.contact, subject)


def account_of(s: Session, holder_id: str) -> HolderAccount | None:
    """The account of ``holder_id`` (found by the ID's keyed hash: the ID itself is sealed)."""
    return s.scalar(
        select(HolderAccount).where(HolderAccount.holder_id_hash == holder_key(s, holder_id))
    )


def check_contact(contact: str) -> str:
    """An e-mail address or a mainland mobile number, normalised."""
    text = (contact or "").strip().replace(" ", "").replace("-", "")
    if text.startswith("+86"):
        text = text[3:]
    if _MOBILE.match(text) or _EMAIL.match(text):
        return text.lower()
    raise InvalidInputError(
        f"contact {contact!r} is neither an e-mail address nor an 11-digit mobile number; the "
        "sign-in codes are sent there",
        field="contact",
    )


def mask_contact(contact: str) -> str:
    """Where a code went, as shown on the sign-in page (``ab***@example.cn``, ``138****5678``)."""
    if "@" in contact:
        local, _, domain = contact.partition("@")
        return f"{local[:2]}***@{domain}"
    return f"{contact[:3]}****{contact[-4:]}"


def issue_activation(rt: Runtime, staff: PersonInfo, holder_id: str) -> ActivationCode:
    """An activation code for ``holder_id``, by window staff (or an issuer) of this region who
    checked the person's papers; the holder must hold a licence of the region."""
    if not staff.roles & ACTIVATION_ROLES or staff.agency_code is None:
        raise PermissionDeniedError(
            f"{staff.label} may not issue wallet activation codes (window staff or issuers of "
            "an agency of this region check the person's papers and issue them)",
            field="holder_id",
        )
    holder, _ = parse_holder_id(holder_id)
    code = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    expires = datetime.now(UTC) + timedelta(days=ACTIVATION_DAYS)
    with rt.sessions.begin() as s:
        if staff.region_code != home_region(s):
            raise PermissionDeniedError(f"{staff.label} is not of this region", "holder_id")
        held = s.scalar(select(func.count()).select_from(Licence)
                        .where(Licence.holder_id_hash == holder_key(s, holder)))  # fmt: skip
        if not held:
            raise NotFoundError(
                f"{holder} holds no licence of this region: a wallet shows a holder's licences,"
                " so there is nothing to activate",
                field="holder_id",
            )
        s.add(HolderActivation(holder_id=holder, code_hash=code_hash(code),
                               issued_by=staff.label, expires_at=expires, failures=0))  # fmt: skip
        oplog.record(s, "holder:activation-issued", holder_label(s, holder),
                     expires=expires.isoformat())  # fmt: skip
    return ActivationCode(holder, f"{code[:4]}-{code[4:8]}-{code[8:]}", expires)


def _use_activation(s: Session, holder: str, code: str, now: datetime) -> HolderActivation | None:
    live = list(s.scalars(select(HolderActivation).where(
        HolderActivation.holder_id_hash == holder_key(s, holder),
        HolderActivation.used_at.is_(None),
        HolderActivation.failures < ACTIVATION_TRIES,
    ).with_for_update()))  # fmt: skip
    live = [a for a in live if aware(a.expires_at) > now]
    digest = code_hash(code)
    match = next((a for a in live if secrets.compare_digest(a.code_hash, digest)), None)
    if match is None:
        for a in live:  # every live code of this ID counts the failure: no spreading guesses
            a.failures += 1
        return None
    match.used_at = now
    return match


def register_holder(
    rt: Runtime, holder_id: str, activation_code: str, password: str, contact: str
) -> HolderInfo:
    """Create the holder's account (or replace its password and contact: the window's reset
    path) with a live activation code of that ID; anything else changes nothing."""
    holder, kind = parse_holder_id(holder_id)
    where = check_contact(contact)
    password_hash = hash_password(password, (holder, where, where.split("@")[0]))
    now = datetime.now(UTC)
    with rt.sessions.begin() as s, oplog.acting_as(label := holder_label(s, holder), "holder"):
        activation = _use_activation(s, holder, activation_code, now)
        if activation is None:
            oplog.record(s, "holder:activation-refused", label)
        else:
            row = account_of(s, holder)
            if row is None:
                row = HolderAccount(holder_id=holder, contact=where, created_at=now,
                                    password_hash=password_hash,
                                    activated_by=activation.issued_by)  # fmt: skip
                s.add(row)
            else:
                row.contact, row.password_hash = where, password_hash
                row.activated_by, row.disabled_at = activation.issued_by, None
            oplog.record(s, "holder:registered", label, vouched_by=activation.issued_by)
    if activation is None:  # raised after the commit, which keeps the failure count
        raise AuthenticationError(
            "the activation code is wrong, used or expired for this ID number: a wallet is "
            f"opened only with the code window staff issue after checking the ID card "
            f"({ACTIVATION_TRIES} wrong codes void it; ask at the window for a new one)",
            field="activation_code",
        )
    return HolderInfo(holder, kind, where, label)


def holder_account(s: Session, username: str) -> tuple[str | None, HolderInfo | None]:
    """The sign-in throttle's view of ``holder:<keyed hash>`` (:func:`throttle_name`): stored
    password hash and the enabled account."""
    try:
        digest = bytes.fromhex(username.removeprefix("holder:"))
    except ValueError:
        return None, None
    row = s.scalar(select(HolderAccount).where(HolderAccount.holder_id_hash == digest))
    if row is None:
        return None, None
    return row.password_hash, None if row.disabled_at is not None else holder_info(row)
