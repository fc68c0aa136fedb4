"""What the directory's state and events look like in Python, and the one rule for when a
registered certificate's signature counts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import IntEnum

from ledger_client.types import TxInfo

ZERO_ADDRESS = "0x" + "00" * 20
ZERO_HASH = bytes(32)


class Action(IntEnum):
    """Mirror of ``RegionDirectory.Action``."""

    ADD_REGION = 0
    REMOVE_REGION = 1
    ADD_ACCOUNT = 2
    REMOVE_ACCOUNT = 3
    ADD_CERTIFICATE = 4
    REVOKE_CERTIFICATE = 5


def signature_counts(revoked_at: int, compromised_at: int, time: int) -> bool:
    """THE rule for a registered certificate, the one ``isCertificateValidAt`` applies on-chain:
    a signature made at ``time`` (a block time: when the signed document was anchored) counts
    unless the certificate was retired at or before it, or its key reported lost at or before
    it (0: never). Every verifier path asks this function; nothing re-states the rule."""
    if revoked_at and time >= revoked_at:
        return False
    return not compromised_at or time < compromised_at


def fingerprint_of(der: bytes) -> bytes:
    """SHA-256 of a certificate's DER: how the directory names a certificate."""
    return hashlib.sha256(der).digest()


@dataclass(frozen=True)
class NewCertificate:
    """A signing certificate to register: its DER and the agency it belongs to."""

    agency_code: str
    der: bytes

    @property
    def fingerprint(self) -> bytes:
        return fingerprint_of(self.der)


@dataclass(frozen=True)
class AgencyAccount:
    """A chain account and the agency (18-character code) it acts for."""

    address: str
    agency_code: str


@dataclass(frozen=True)
class RegionInfo:
    code: int
    name: str
    active: bool
    added_at: int
    removed_at: int  # 0 while active


@dataclass(frozen=True)
class CertificateInfo:
    """A registered certificate as the directory's state holds it (the DER is in events)."""

    fingerprint: bytes
    region: int
    agency_code: str
    registered_at: int
    compromised_at: int  # 0: never reported compromised
    revoked_at: int  # 0: not revoked

    @property
    def revoked(self) -> bool:
        return self.revoked_at != 0

    def valid_at(self, time: int) -> bool:
        """Same rule as ``isCertificateValidAt``, without a chain call."""
        return signature_counts(self.revoked_at, self.compromised_at, time)


@dataclass(frozen=True)
class ProposalInfo:
    proposal_id: int
    action: Action
    region: int
    name: str
    account: str | None
    fingerprint: bytes | None
    agency_code: str
    cert: bytes  # empty once executed: the DER is kept in the events only
    proposer_region: int
    created_at: int
    executed_at: int
    approvals: int  # approvals of regions active now

    @property
    def executed(self) -> bool:
        return self.executed_at != 0


@dataclass(frozen=True)
class ProposalResult:
    """What one approval did."""

    proposal_id: int
    executed: bool
    tx: TxInfo


# ---------------------------------------------------------------------- events


@dataclass(frozen=True)
class ProposalCreated:
    proposal_id: int
    action: Action
    region: int
    proposer_region: int
    account: str | None
    fingerprint: bytes | None
    timestamp: int
    tx: TxInfo
    log_index: int


@dataclass(frozen=True)
class ProposalApproved:
    proposal_id: int
    region: int
    approver: str
    approvals: int
    timestamp: int
    tx: TxInfo
    log_index: int


@dataclass(frozen=True)
class ProposalExecuted:
    proposal_id: int
    action: Action
    region: int
    timestamp: int
    tx: TxInfo
    log_index: int


@dataclass(frozen=True)
class RegionChange:
    """A region added (with its name) or removed."""

    region: int
    added: bool
    name: str
    timestamp: int
    tx: TxInfo
    log_index: int


@dataclass(frozen=True)
class AccountChange:
    region: int
    account: str
    added: bool
    agency_code: str  # empty for a removal
    timestamp: int
    tx: TxInfo
    log_index: int


@dataclass(frozen=True)
class CertificateAdded:
    region: int
    fingerprint: bytes
    agency_code: str
    der: bytes
    timestamp: int
    tx: TxInfo
    log_index: int


@dataclass(frozen=True)
class CertificateRevoked:
    region: int
    fingerprint: bytes
    timestamp: int
    tx: TxInfo
    log_index: int


@dataclass(frozen=True)
class CertificateCompromised:
    fingerprint: bytes
    region: int
    since: int
    timestamp: int
    tx: TxInfo
    log_index: int


@dataclass
class DirectoryEvents:
    """The directory's events in a block range, each list in chain order."""

    proposals: list[ProposalCreated] = field(default_factory=list)
    approvals: list[ProposalApproved] = field(default_factory=list)
    executions: list[ProposalExecuted] = field(default_factory=list)
    regions: list[RegionChange] = field(default_factory=list)
    accounts: list[AccountChange] = field(default_factory=list)
    certificates: list[CertificateAdded] = field(default_factory=list)
    revocations: list[CertificateRevoked] = field(default_factory=list)
    compromises: list[CertificateCompromised] = field(default_factory=list)
