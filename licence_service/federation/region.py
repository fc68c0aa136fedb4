"""Consortium governance from one region's seat: list members, propose, approve, rotate a
signing certificate, report a lost key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select
from web3 import Web3

from ledger_client.directory import Action, NewCertificate
from licence_service.audit import oplog
from licence_service.domain.errors import ConflictError, InvalidInputError, NotSetUpError
from licence_service.domain.national_ids import IdentifierError, validate_division_code
from licence_service.region.at_rest import region_ca
from licence_service.region.bootstrap import member_account
from licence_service.region.runtime import Runtime, agency_credentials_name
from licence_service.store.models import Agency
from signing.credentials import issue_agency
from signing.keystore import credentials_exist, load_any_credentials, save_credentials

REGION_CA = "region-ca"


@dataclass(frozen=True)
class ProposalOutcome:
    proposal_id: int
    executed: bool
    approvals: int
    needed: int


def _own_region(rt: Runtime) -> int:
    with rt.sessions() as s:
        return rt.agency(s).region_code


def _seat(rt: Runtime):  # type: ignore[no-untyped-def]
    region = _own_region(rt)
    account = member_account(rt, region)
    if account is None:
        raise NotSetUpError(
            f"region {region} is not a member of the consortium yet: send "
            f"{rt.settings.home / 'membership-request.json'} to a member region"
        )
    return rt.directory(account), region


def _region_code(value: object, field: str) -> int:
    """A 6-digit division code as the directory stores it, or a 422 naming ``field`` (not a
    500 from an ABI encoder that cannot fit the number in a uint32)."""
    try:
        return int(validate_division_code(str(value), field))
    except IdentifierError as exc:
        raise InvalidInputError(str(exc), field=field) from exc


def _proposal_id(value: int) -> int:
    if not 0 <= value < 2**256:
        raise InvalidInputError(f"proposal {value} does not exist", field="proposal_id")
    return value


def _outcome(rt: Runtime, proposal_id: int) -> ProposalOutcome:
    directory = rt.directory()
    info = directory.proposal(proposal_id)
    return ProposalOutcome(
        proposal_id, info.executed, info.approvals, directory.effective_threshold()
    )


def propose_region(rt: Runtime, request_file: Path | dict[str, Any]) -> ProposalOutcome:
    """Propose admitting the region described by its membership request (file or dict)."""
    try:
        req = (
            request_file
            if isinstance(request_file, dict)
            else json.loads(request_file.read_text(encoding="utf-8"))
        )
        cert = NewCertificate(str(req["agency_code"]), bytes.fromhex(req["certificate"]))
        region, name, account = int(req["region"]), str(req["name"]), str(req["account"])
        if not Web3.is_address(account):
            raise ValueError(f"account {account!r} is not a chain address")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError(
            f"{request_file} is not a membership request ({exc})", "request"
        ) from exc
    region = _region_code(region, "request")
    directory, _ = _seat(rt)
    pid = directory.propose(Action.ADD_REGION, region, name=name, account=account, certificate=cert)
    with rt.sessions.begin() as s:
        oplog.record(s, "region:propose", str(region), proposal=pid, change="ADD_REGION")
    return _outcome(rt, pid)


def propose_removal(rt: Runtime, region: int) -> ProposalOutcome:
    region = _region_code(region, "remove_region")
    directory, _ = _seat(rt)
    pid = directory.propose(Action.REMOVE_REGION, region)
    with rt.sessions.begin() as s:
        oplog.record(s, "region:propose", str(region), proposal=pid, change="REMOVE_REGION")
    return _outcome(rt, pid)


def approve_proposal(rt: Runtime, proposal_id: int) -> ProposalOutcome:
    proposal_id = _proposal_id(proposal_id)
    directory, region = _seat(rt)
    if directory.has_approved(proposal_id, region):
        raise ConflictError(f"region {region} has already approved proposal {proposal_id}")
    directory.approve(proposal_id)
    with rt.sessions.begin() as s:
        oplog.record(s, "region:approve", str(proposal_id))
    outcome = _outcome(rt, proposal_id)
    if outcome.executed:
        finish_rotation(rt)
    return outcome


def list_regions(rt: Runtime) -> dict[str, Any]:
    directory = rt.directory()
    regions = []
    for code in directory.region_codes():
        info = directory.region(code)
        if info is None:
            continue
        certs = []
        for fp in directory.region_certificates(code):
            cert = directory.certificate(fp)
            if cert is not None:
                certs.append(
                    {
                        "fingerprint": fp.hex(),
                        "agency": cert.agency_code,
                        "revoked": cert.revoked,
                        "compromised_at": cert.compromised_at,
                    }
                )
        regions.append(
            {
                "code": code,
                "name": info.name,
                "active": info.active,
                "accounts": directory.region_accounts(code),
                "certificates": certs,
            }
        )
    proposals = []
    for pid in range(1, directory.proposal_count() + 1):
        p = directory.proposal(pid)
        proposals.append(
            {
                "id": pid,
                "action": p.action.name,
                "region": p.region,
                "executed": p.executed,
                "approvals": p.approvals,
            }
        )
    return {
        "threshold": directory.threshold(),
        "effective_threshold": directory.effective_threshold(),
        "regions": regions,
        "proposals": proposals,
    }


def _next_name(code: str) -> str:
    return agency_credentials_name(code) + ".next"


def rotate_certificate(
    rt: Runtime, agency_code: str | None = None, ca_key: Path | None = None
) -> ProposalOutcome:
    """A new signing certificate for an agency, proposed for M-of-N approval; licences signed
    by the old one stay valid. The new key signs once the proposal executes. The region CA
    key comes from the data directory or, kept offline, from ``ca_key``."""
    directory, region = _seat(rt)
    keys, secret = rt.settings.keys_dir, rt.passphrase.encode()
    with rt.sessions() as s:
        agency = rt.agency(s, agency_code)
    ca = region_ca(rt.settings, REGION_CA, region, secret, ca_key)
    fresh = issue_agency(ca, agency.code, agency.name, str(region))
    save_credentials(keys, _next_name(agency.code), fresh, secret)
    cert = NewCertificate(agency.code, fresh.cert.public_bytes(Encoding.DER))
    pid = directory.propose(Action.ADD_CERTIFICATE, region, certificate=cert)
    with rt.sessions.begin() as s:
        oplog.record(s, "region:rotate", agency.code, proposal=pid)
    outcome = _outcome(rt, pid)
    if outcome.executed:
        finish_rotation(rt)
    return outcome


def finish_rotation(rt: Runtime) -> list[str]:
    """Switch every agency whose proposed certificate is now registered to sign with it."""
    keys, secret = rt.settings.keys_dir, rt.passphrase.encode()
    directory = rt.directory()
    switched = []
    with rt.sessions.begin() as s:
        for agency in s.scalars(select(Agency)):
            name = _next_name(agency.code)
            if not credentials_exist(keys, name):
                continue
            fresh = load_any_credentials(keys, name, secret)
            if directory.certificate(bytes.fromhex(fresh.fingerprint)) is None:
                continue
            old = load_any_credentials(keys, agency_credentials_name(agency.code), secret)
            save_credentials(
                keys, f"{agency_credentials_name(agency.code)}.{old.fingerprint[:12]}", old, secret
            )
            save_credentials(keys, agency_credentials_name(agency.code), fresh, secret)
            for suffix in (".key.pem", ".cert.pem", ".chain.pem"):
                (keys / f"{name}{suffix}").unlink(missing_ok=True)
            agency.cert_pem = fresh.cert.public_bytes(Encoding.PEM).decode()
            agency.cert_fingerprint = fresh.fingerprint
            rt.forget_credentials(agency.code)
            oplog.record(s, "region:rotated", agency.code, fingerprint=fresh.fingerprint)
            switched.append(agency.code)
    return switched


def report_compromised(rt: Runtime, fingerprint: str, since: datetime) -> dict[str, Any]:
    """Report one of this region's signing keys lost from ``since`` (挂失 of a seal key)."""
    directory, region = _seat(rt)
    try:
        fp = bytes.fromhex(fingerprint)
    except ValueError:
        raise InvalidInputError(
            "fingerprint must be the hex SHA-256 of the certificate", "fingerprint"
        ) from None
    event = directory.report_compromised(fp, int(since.timestamp()))
    with rt.sessions.begin() as s:
        oplog.record(s, "region:compromised", fingerprint, since=since.isoformat())
    return {
        "fingerprint": fingerprint,
        "region": region,
        "since": event.since,
        "tx_hash": event.tx.tx_hash,
    }
