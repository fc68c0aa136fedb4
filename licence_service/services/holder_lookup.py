"""Licences by holder at the window: a citizen ID or unified social credit code in, that
holder's licences out, as the person asking may see them.

What the window enters (``read_holder_id``), all read the same way:

- **typed** into the field, with or without spaces, ``x`` for ``X``, full-width characters
  (NFKC-folded);
- from an **ID-card reader** that types into the field (keyboard wedge): the 18 characters
  followed by Enter, Tab or a line break, which are stripped;
- from a **scanned holder code** (a personal or company code shown on the holder's phone or
  printed): the text ``LLH1:<ID>`` (e.g. ``LLH1:91330106MA2B0XKH34``) — the prefix names this
  format and its version, the rest is the bare ID; a scanner emitting just the ID works too.

The kind of ID is the one whose check character fits (a citizen ID when positions 1-17 are
digits and its GB 11643 check digit matches, otherwise a GB 32100 code); a value that fits
neither is refused with the check's own error, naming the field ``holder_id`` (422).

Who sees what: window staff see every licence of their region, issuers those of their own
agency; each masked or not by the one disclosure rule (``services.disclosure``). A licence of
an agency of another region held here is shown only under a live consent of its holder to the
asker's region, released as the consent says (``federation.masking.release_fields``); the
same rule answers another region's service asking for its window (``licences_for_region``,
a signed region-to-region request): only what the holder's consents to that region cover.
Window staff also get, after this region's, what each peer region listed in
``LICLEDGER_PEER_REGIONS`` answers so (a peer that fails is named, never an error). Each
lookup is one entry of the read log counted against the per-person read limit (so walking ID
numbers is throttled even when they hold nothing) and one operation-log row (who, whose —
the masked ID and ``read_log.holder_subject``, the ID's hash keyed with the region's field key
(an unkeyed hash of an 18-character ID with a check digit is reversed by trying every birth
date and serial) — and when, with the licences shown). The full ID is never echoed back to
a viewer who does not see it in full.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select

from licence_service.audit import oplog
from licence_service.domain.errors import InvalidInputError, ServiceError
from licence_service.domain.licence_types import CORE_FIELDS, get_licence_type
from licence_service.domain.national_ids import (
    HolderIdType,
    IdentifierError,
    validate_citizen_id,
    validate_uscc,
)
from licence_service.federation.client import call
from licence_service.federation.masking import mask_value, release_fields
from licence_service.federation.peers import peer_regions
from licence_service.people.identity import PermissionDeniedError, PersonInfo, PersonRole
from licence_service.people.service import home_region
from licence_service.region.runtime import Runtime
from licence_service.services.disclosure import admit_read, mask_values, sees_in_full
from licence_service.services.read_log import holder_subject
from licence_service.store.models import Consent, Licence
from licence_service.store.sealing import holder_lookup as holder_key

__all__ = [
    "HOLDER_CODE_PREFIX",
    "LOOKUP_ROLES",
    "HolderLicence",
    "HolderLookup",
    "licences_for_region",
    "licences_of_holder",
    "read_holder_id",
]

HOLDER_CODE_PREFIX = "LLH1:"
"""A scanned holder code is ``LLH1:`` followed by the holder's ID (documented above)."""
LOOKUP_ROLES = frozenset({PersonRole.WINDOW_STAFF, PersonRole.ISSUER})
FIELD = "holder_id"
PEER_PATH = "/api/v1/federation/holders/licences"


@dataclass(frozen=True)
class HolderLicence:
    """One licence of the holder, as the asker may see it."""

    licence_id: str
    base_id: str
    type_code: str
    type_name: str
    agency_code: str
    agency_name: str
    region_code: int
    status: str
    valid_from: str
    valid_until: str
    holder_name: str
    fields: dict[str, str]
    in_full: bool
    consent_purpose: str | None = None  # set for another region's licence shown by consent


@dataclass(frozen=True)
class HolderLookup:
    """The answer: whose (masked unless seen in full), which kind of ID, when, what."""

    holder_id: str
    holder_id_type: str
    looked_up_at: str
    licences: list[HolderLicence] = field(default_factory=list)
    unreachable_regions: list[int] = field(default_factory=list)  # peers that did not answer


def _fold(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw).strip()
    if text.upper().startswith(HOLDER_CODE_PREFIX):
        text = text[len(HOLDER_CODE_PREFIX) :]
    return "".join(text.split()).upper()


def read_holder_id(raw: str, id_type: HolderIdType | str | None = None) -> tuple[HolderIdType, str]:
    """The kind and normalised value of what the window entered (typed, read, scanned);
    ``InvalidInputError`` naming ``holder_id`` with the check's message otherwise."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInputError(
            "enter the holder's citizen ID number (18 characters) or unified social credit "
            "code, type it, swipe the ID card or scan the holder code",
            field=FIELD,
        )
    text = _fold(raw)
    try:
        kind = HolderIdType.parse(id_type, field="holder_id_type") if id_type else _kind_of(text)
        if kind is HolderIdType.CITIZEN_ID:
            return kind, validate_citizen_id(text, field=FIELD)
        return kind, validate_uscc(text, field=FIELD)
    except IdentifierError as exc:
        raise InvalidInputError(exc.message, field=exc.field) from None


def _kind_of(text: str) -> HolderIdType:
    """A citizen ID when shaped like one (17 digits and a digit or X) and its check fits, or
    when it cannot be a credit code (ends in X) or is one neither way (digits only: most
    likely a mistyped citizen ID, whose check is then reported); otherwise a credit code."""
    if not (len(text) == 18 and text[:17].isdigit() and text[17] in "0123456789X"):
        return HolderIdType.USCC
    try:
        validate_citizen_id(text, field=FIELD)
    except IdentifierError:
        if text[17] != "X":
            try:
                validate_uscc(text, field=FIELD)
                return HolderIdType.USCC
            except IdentifierError:
                pass
    return HolderIdType.CITIZEN_ID


def _status(licence: Licence) -> str:
    expired = licence.versions[-1].valid_until < datetime.now(UTC).date()
    return "EXPIRED" if licence.status == "ACTIVE" and expired else licence.status


def _entry(
    licence: Licence, values: dict[str, str], full: bool, purpose: str | None
) -> HolderLicence:
    current, ltype = licence.versions[-1], get_licence_type(licence.type_code)
    return HolderLicence(
        licence_id=current.identifier, base_id=licence.base_id, type_code=ltype.code,
        type_name=ltype.name, agency_code=licence.agency.code, agency_name=licence.agency.name,
        region_code=licence.agency.region_code, status=_status(licence),
        valid_from=current.valid_from.isoformat(), valid_until=current.valid_until.isoformat(),
        holder_name=values.get("holder_name", ""),
        fields={k: v for k, v in values.items() if k not in CORE_FIELDS},
        in_full=full, consent_purpose=purpose,
    )  # fmt: skip


def _consent(s: Any, licence: Licence, region: int) -> Consent | None:
    """The holder's newest live consent covering ``licence`` for ``region`` (any purpose)."""
    return s.scalar(
        select(Consent)
        .where(
            Consent.holder_id_hash == licence.holder_id_hash,
            or_(Consent.licence_id == licence.id, Consent.type_code == licence.type_code),
            Consent.grantee_region == region,
            Consent.withdrawn_at.is_(None),
            Consent.valid_until >= datetime.now(UTC).date(),
        )
        .order_by(Consent.id.desc())
    )


def _visible(
    s: Any, licence: Licence, region: int, person: PersonInfo | None
) -> HolderLicence | None:
    """``licence`` as a viewer in ``region`` (``person``, or another region's service when
    None) may see it, or None."""
    values = json.loads(licence.versions[-1].fields_json)
    ltype = get_licence_type(licence.type_code)
    if licence.agency.region_code != region:
        consent = _consent(s, licence, region)
        if consent is None:
            return None
        released = release_fields(ltype, values, json.loads(consent.fields_json))
        return _entry(licence, released.fields, False, consent.purpose)
    if person is None:
        return None
    window = PersonRole.WINDOW_STAFF in person.roles
    if not window and person.agency_code != licence.agency.code:
        return None  # an issuer reads their own agency's licences only
    full = sees_in_full(person, licence.agency.code)
    return _entry(licence, mask_values(values, ltype, full), full, None)


def _answer(
    rt: Runtime, region: int, person: PersonInfo | None, kind: HolderIdType, holder_id: str
) -> HolderLookup:
    with rt.sessions.begin() as s:
        rows = s.scalars(
            select(Licence)
            .where(Licence.holder_id_hash == holder_key(s, holder_id))
            .order_by(Licence.id.desc())
        ).all()
        shown = [e for e in (_visible(s, r, region, person) for r in rows) if e is not None]
        masked = mask_value("holder_id", holder_id)
        oplog.record(s, "holder:lookup", f"holder:{masked}",
                     holder_subject=holder_subject(rt, holder_id),
                     id_type=kind.value, region=region,
                     licences=[e.base_id for e in shown])  # fmt: skip
    full = bool(shown) and all(e.in_full for e in shown)
    return HolderLookup(
        holder_id=holder_id if full else masked,
        holder_id_type=kind.value,
        looked_up_at=datetime.now(UTC).isoformat(timespec="seconds"),
        licences=shown,
    )


def licences_for_region(rt: Runtime, caller_region: int, raw_id: str) -> HolderLookup:
    """Another region's window asking this region (a signed request, ``api.routers.holders``):
    only the holder's licences here that a live consent of theirs to ``caller_region``
    covers, released as the consent says; logged as acting for that region."""
    kind, holder_id = read_holder_id(raw_id)
    with oplog.acting_as(f"region:{caller_region}", "region"):
        return _answer(rt, caller_region, None, kind, holder_id)


def licences_of_holder(
    rt: Runtime,
    person: PersonInfo,
    raw_id: str,
    id_type: HolderIdType | str | None = None,
    route: str = "holder lookup",
) -> HolderLookup:
    """The holder's licences ``person`` may see, newest first; the lookup logged and counted."""
    if not person.roles & LOOKUP_ROLES:
        raise PermissionDeniedError(
            f"{person.label} may not look up holders (needs window_staff or issuer)", field=FIELD
        )
    with rt.sessions() as s:
        if person.region_code != home_region(s):
            raise PermissionDeniedError(
                f"{person.label} is not of this region: its holders are looked up at its own "
                "region's window (another region asks through POST /api/v1/federation/holders/"
                "licences, under the holder's consent)",
                field=FIELD,
            )
    kind, holder_id = read_holder_id(raw_id, id_type)
    subject = holder_subject(rt, holder_id)  # a keyed hash: the log never holds the ID
    admit_read(rt, person, subject, route, False, FIELD, subject, "holder lookup at the window")
    role = sorted(person.roles & LOOKUP_ROLES)[0].value
    with oplog.acting_as(person.label, role):
        found = _answer(rt, person.region_code, person, kind, holder_id)
    if PersonRole.WINDOW_STAFF not in person.roles:
        return found  # issuers read their own agency's licences only
    remote, unreachable = _from_peers(rt, holder_id)
    return replace(found, licences=found.licences + remote, unreachable_regions=unreachable)


def _from_peers(rt: Runtime, holder_id: str) -> tuple[list[HolderLicence], list[int]]:
    """What each peer region (``LICLEDGER_PEER_REGIONS``) releases of the holder to this
    region under the holder's consent (a signed request each); peers that fail are named."""
    found: list[HolderLicence] = []
    unreachable: list[int] = []
    for region, url in peer_regions(rt.settings).items():
        try:
            answer = call(rt, url, "POST", PEER_PATH, {"holder_id": holder_id}, timeout=10,
                          to_region=region)  # fmt: skip
            found += [HolderLicence(**entry) for entry in answer["licences"]]
        except (ServiceError, KeyError, TypeError):
            unreachable.append(region)
    return found, unreachable
