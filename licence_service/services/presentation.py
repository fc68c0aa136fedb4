"""Presentation codes (亮证): made in the holder's wallet, verified at a counter.

The token format and its rules are :mod:`verifier.presentation`. Here:

- :func:`make_presentation` signs a code for one of the holder's licences and the fields they
  chose, with the issuing agency's key (registered for the agency *and region* in the
  directory, so every counter's cached trust list holds it; the region CA key may be
  offline, and never signs QR payloads);
- :func:`verify_presentation` is the counter's online check: the agency's signature, the two
  minutes, the licence itself (the verdict of its printed QR code, through the same verifier
  as every counter), and each shown field's salted hash proved into the licence's anchored
  data root (:mod:`verifier.fields`). The result is a normal verdict whose note says
  "presented by the holder at HH:MM:SS".
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from licence_service.anchoring.members import member_of
from licence_service.domain.errors import InvalidInputError
from licence_service.people.holders import HolderInfo
from licence_service.region.runtime import Runtime
from licence_service.services.verify import verify_qr
from licence_service.services.wallet import own_licence
from licence_service.store.models import LicenceVersion
from licence_service.store.queries import find_licence
from signing.compact import sign_compact, verify_compact
from verifier.decision import decide
from verifier.fields import build_field_proof, check_field_proof
from verifier.leaves import LeafInput, LeafKind, field_hash
from verifier.presentation import (
    MAX_AGE_SECONDS,
    REFRESH_SECONDS,
    PresentationClaims,
    encode_presentation,
    is_presentation,
    parse_presentation,
)
from verifier.verdicts import Check, Verdict, VerificationResult

MAX_FIELDS = 6  # a QR code a phone camera reads off a screen at arm's length


def make_presentation(
    rt: Runtime, holder: HolderInfo, licence_id: str, fields: list[str]
) -> dict[str, Any]:
    """A fresh presentation code of the holder's licence showing ``fields`` (names)."""
    base_id = own_licence(rt, holder, licence_id)
    chosen = list(dict.fromkeys(f.strip() for f in fields if f.strip()))
    if len(chosen) > MAX_FIELDS:
        raise InvalidInputError(f"show at most {MAX_FIELDS} fields in one code", field="fields")
    with rt.sessions() as s:
        licence = find_licence(s, base_id)
        version = licence.versions[-1]
        values: dict[str, str] = json.loads(version.fields_json)
        salts: dict[str, str] = json.loads(version.salts_json)
        unknown = [f for f in chosen if f not in values]
        if unknown:
            raise InvalidInputError(
                f"{licence.type_code} licences have no field {unknown[0]!r}; fields: "
                + ", ".join(values),
                field="fields",
            )
        claims = PresentationClaims(
            identifier=version.identifier, data_root_prefix=version.data_root.hex()[:32],
            issuer_code=licence.agency.code, region=licence.agency.region_code,
            nonce=secrets.token_urlsafe(12), issued_at=int(datetime.now(UTC).timestamp()),
            fields={f: (values[f], salts[f]) for f in chosen},
        )  # fmt: skip
        code = licence.agency.code
    signature = sign_compact(rt.agency_credentials(code).key, claims.signed_message())
    return {
        "token": encode_presentation(claims, signature),
        "licence_id": claims.identifier,
        "fields": chosen,
        "issued_at": claims.issued.isoformat(),
        "max_age_seconds": MAX_AGE_SECONDS,
        "refresh_seconds": REFRESH_SECONDS,
    }


def _field_checks(rt: Runtime, claims: PresentationClaims) -> Check:
    """Every shown field proved into the anchored data root of the version the code names."""
    with rt.sessions() as s:
        version = s.scalar(
            select(LicenceVersion).where(LicenceVersion.identifier == claims.identifier)
        )
        if version is None or version.data_root.hex()[:32] != claims.data_root_prefix:
            return Check("presented_fields", False, "the code is bound to another licence's data")
        values: dict[str, str] = json.loads(version.fields_json)
        salts: dict[str, str] = json.loads(version.salts_json)
        member = member_of(s, version.leaf)
        leaf = LeafInput(version.key, version.document_digest, version.data_root,
                         LeafKind(version.kind), version.parent_leaf,
                         agency_code=version.licence.agency.code)  # fmt: skip
    if member is None:
        return Check("presented_fields", None, "the licence is not anchored yet")
    hashes = [field_hash(bytes.fromhex(salts[k]), k, v) for k, v in values.items()]
    for name, (value, salt) in claims.fields.items():
        try:
            proof = build_field_proof(claims.identifier, name, value, bytes.fromhex(salt),
                                      hashes, leaf, member.batch_id,
                                      list(member.proof))  # fmt: skip
        except ValueError:  # its salted hash is not among this version's fields
            return Check("presented_fields", False,
                         f"field {name} shown is not this licence's: the code was moved to "
                         f"another licence than the one it was made for")  # fmt: skip
        if not check_field_proof(proof, rt.index).checks[0].ok:
            return Check("presented_fields", False, f"field {name} is not in the data root")
    shown = ", ".join(claims.fields) or "no fields"
    return Check("presented_fields", True, f"{shown}: each proved into the anchored data root")


def verify_presentation(rt: Runtime, text: str, now: datetime | None = None) -> VerificationResult:
    """The counter's online verdict on a presentation code (see the module docstring)."""
    token = parse_presentation(text)
    claims, now = token.claims, now or datetime.now(UTC)
    with rt.sessions() as s:
        version = s.scalar(
            select(LicenceVersion).where(LicenceVersion.identifier == claims.identifier)
        )
        payload = version.qr_payload if version is not None else None
    certs = rt.trust_store().agency_certificates(claims.issuer_code, claims.region)
    signed = any(verify_compact(c, claims.signed_message(), token.signature) for c in certs)
    if payload is None or not signed:
        why = (
            "no licence of this region has this identifier"
            if signed
            else "the presentation code is not signed by the agency it names: altered or forged"
        )
        result = VerificationResult(Verdict.TAMPERED, why, [Check("signature", False, why)],
                                    licence_id=claims.identifier, issuer_code=claims.issuer_code,
                                    region=claims.region, checked_at=now)  # fmt: skip
        return result if not signed else _unknown(result, why)
    result = verify_qr(rt, payload)
    at = claims.issued.strftime("%H:%M:%S")
    age = int(claims.age(now))
    fresh = Check("presented", claims.fresh(now),
                  f"presented by the holder at {at} UTC, {age} s ago" if claims.fresh(now) else
                  f"made at {at} UTC, {age} s ago: a presentation code counts for "
                  f"{MAX_AGE_SECONDS} s (a screenshot or a replay); ask the holder to show the "
                  f"live code in their wallet")  # fmt: skip
    result.checks[:0] = [Check("signature", True, "presentation signed by the agency"), fresh,
                         _field_checks(rt, claims)]  # fmt: skip
    result.document_note = f"presented by the holder at {at} UTC"
    result.extra["presentation"] = {
        "presented_at": claims.issued.isoformat(), "nonce": claims.nonce,
        "fields": {k: v for k, (v, _) in claims.fields.items()},
    }  # fmt: skip
    return decide(result)


def _unknown(result: VerificationResult, why: str) -> VerificationResult:
    result.verdict, result.checks = Verdict.NOT_ANCHORED, [Check("anchor", False, why)]
    return result


def verify_code(
    rt: Runtime, payload: str, at: datetime | None = None, channel: str = "api", person: str = ""
) -> VerificationResult:
    """What a counter scanned: a holder's presentation code, or a printed licence's QR
    (counted for the statistics with its ``channel`` and ``person``)."""
    if is_presentation(payload):
        return verify_presentation(rt, payload)
    return verify_qr(rt, payload, at, channel=channel, person=person)
