"""Typed access to the ``RegionDirectory`` contract: the consortium's membership.

The directory says which regions are members, which chain accounts act for them and which
signing certificates they use. Membership changes are proposals that execute once enough
active regions approve them; a key loss is reported by the certificate's own region at once.
Every certificate's DER is emitted on-chain, so ``events_in_range`` is enough for any region
to rebuild every other region's certificate store from the chain alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from eth_abi import decode
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.contract.contract import ContractFunction

from ledger_client.artifacts import load_artifact
from ledger_client.contract import ContractClient
from ledger_client.deployment import DIRECTORY
from ledger_client.errors import TransactionError
from ledger_client.registry import TxInfo
from ledger_client.transactions import TransactionSender

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


# ---------------------------------------------------------------------- raw log decoding


@dataclass(frozen=True)
class _Layout:
    name: str
    topics: tuple[tuple[str, str], ...]  # (name, type) of each indexed input
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]


class LogDecoder:
    """Decodes raw logs of one contract straight from its ABI with ``eth_abi``.

    web3's per-log event processing is general and slow (see ``ledger_client.events``); this
    needs one dictionary lookup and one ``decode`` per log, whatever the event layout.
    """

    def __init__(self, abi: Iterable[Mapping[str, Any]]) -> None:
        self._layouts: dict[bytes, _Layout] = {}
        for item in abi:
            if item.get("type") != "event":
                continue
            inputs = item["inputs"]
            sig = f"{item['name']}({','.join(i['type'] for i in inputs)})"
            self._layouts[keccak(text=sig)] = _Layout(
                name=item["name"],
                topics=tuple((i["name"], i["type"]) for i in inputs if i["indexed"]),
                data_names=tuple(i["name"] for i in inputs if not i["indexed"]),
                data_types=tuple(i["type"] for i in inputs if not i["indexed"]),
            )

    def decode(self, log: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """``(event name, arguments)``, or None for a log of an event not in the ABI."""
        topics = [bytes(t) for t in log["topics"]]
        if not topics:
            return None
        layout = self._layouts.get(topics[0])
        if layout is None:
            return None
        args: dict[str, Any] = {}
        for (name, typ), topic in zip(layout.topics, topics[1:], strict=True):
            args[name] = _value(typ, decode([typ], topic)[0])
        values = decode(list(layout.data_types), bytes(log["data"]))
        for name, typ, value in zip(layout.data_names, layout.data_types, values, strict=True):
            args[name] = _value(typ, value)
        return layout.name, args


def _value(typ: str, value: Any) -> Any:
    if typ == "address":
        return to_checksum_address(value)
    if typ.startswith("bytes"):
        return bytes(value)
    return value


def log_tx(log: Mapping[str, Any], timestamp: int) -> TxInfo:
    """Where the log's transaction landed; ``timestamp`` comes from the event itself."""
    return TxInfo("0x" + bytes(log["transactionHash"]).hex(), int(log["blockNumber"]), timestamp)


def _account(address: str) -> str | None:
    return None if int(address, 16) == 0 else address


def _hash(value: bytes) -> bytes | None:
    return None if value == ZERO_HASH else value


def decode_directory_logs(
    logs: Iterable[Mapping[str, Any]], decoder: LogDecoder | None = None
) -> DirectoryEvents:
    """Decode raw logs of the directory; logs of other events are ignored."""
    decoder = decoder or LogDecoder(load_artifact(DIRECTORY).abi)
    out = DirectoryEvents()
    for log in logs:
        decoded = decoder.decode(log)
        if decoded is None:
            continue
        name, a = decoded
        ts = int(a.get("timestamp", 0))  # events of AccessControl carry none
        where: dict[str, Any] = {
            "tx": log_tx(log, ts),
            "log_index": int(log["logIndex"]),
            "timestamp": ts,
        }
        if name == "ProposalCreated":
            out.proposals.append(
                ProposalCreated(
                    proposal_id=a["id"], action=Action(a["action"]), region=a["region"],
                    proposer_region=a["proposerRegion"], account=_account(a["account"]),
                    fingerprint=_hash(a["fingerprint"]), **where,
                )
            )  # fmt: skip
        elif name == "ProposalApproved":
            out.approvals.append(
                ProposalApproved(
                    proposal_id=a["id"], region=a["region"], approver=a["approver"],
                    approvals=a["approvals"], **where,
                )
            )  # fmt: skip
        elif name == "ProposalExecuted":
            out.executions.append(
                ProposalExecuted(
                    proposal_id=a["id"], action=Action(a["action"]), region=a["region"], **where
                )
            )
        elif name in ("RegionAdded", "RegionRemoved"):
            out.regions.append(
                RegionChange(
                    region=a["region"], added=name == "RegionAdded", name=a.get("name", ""),
                    **where,
                )
            )  # fmt: skip
        elif name in ("AccountAdded", "AccountRemoved"):
            out.accounts.append(
                AccountChange(
                    region=a["region"], account=a["account"], added=name == "AccountAdded",
                    agency_code=a.get("agencyCode", ""), **where,
                )
            )  # fmt: skip
        elif name == "CertificateAdded":
            out.certificates.append(
                CertificateAdded(
                    region=a["region"], fingerprint=a["fingerprint"],
                    agency_code=a["agencyCode"], der=a["cert"], **where,
                )
            )  # fmt: skip
        elif name == "CertificateRevoked":
            out.revocations.append(
                CertificateRevoked(region=a["region"], fingerprint=a["fingerprint"], **where)
            )
        elif name == "CertificateCompromised":
            out.compromises.append(
                CertificateCompromised(
                    fingerprint=a["fingerprint"], region=a["region"], since=a["since"], **where
                )
            )
    return out


# ---------------------------------------------------------------------- client


class DirectoryClient(ContractClient[DirectoryEvents]):
    """One deployed ``RegionDirectory``; writes need a ``TransactionSender``."""

    artifact = DIRECTORY

    def __init__(self, w3: Web3, address: str, sender: TransactionSender | None = None) -> None:
        super().__init__(w3, address, sender)
        self._logs = LogDecoder(self.abi)

    # ------------------------------------------------------------------ writes

    def bootstrap(
        self,
        region: int,
        name: str,
        accounts: Sequence[AgencyAccount],
        certificates: Sequence[NewCertificate] = (),
    ) -> DirectoryEvents:
        """Create the first region (the deployer only, once); its accounts become issuers."""
        fn = self.contract.functions.bootstrap(
            region,
            name,
            [(Web3.to_checksum_address(a.address), a.agency_code) for a in accounts],
            [(c.fingerprint, c.agency_code, c.der) for c in certificates],
        )
        return self._transact(fn)

    def propose(
        self,
        action: Action,
        region: int,
        *,
        name: str = "",
        account: str | None = None,
        certificate: NewCertificate | None = None,
        fingerprint: bytes | None = None,
        agency_code: str = "",
    ) -> int:
        """Propose a change and return its id; the caller's region approves it at once.

        ``certificate`` is the one to add (``ADD_CERTIFICATE``, optional for ``ADD_REGION``);
        ``fingerprint`` names the one to revoke and defaults to ``certificate``'s.
        ``agency_code`` is the agency an added account acts for (``ADD_ACCOUNT``,
        ``ADD_REGION``; defaults to ``certificate``'s). Whether the proposal already executed
        (when one approval is enough) shows in ``proposal(id)``.
        """
        if fingerprint is None:
            fingerprint = certificate.fingerprint if certificate is not None else ZERO_HASH
        fn = self.contract.functions.propose(
            int(action),
            region,
            name,
            Web3.to_checksum_address(account) if account else ZERO_ADDRESS,
            fingerprint,
            agency_code or (certificate.agency_code if certificate is not None else ""),
            certificate.der if certificate is not None else b"",
        )
        created = self._transact(fn).proposals
        if not created:
            raise TransactionError("propose transaction emitted no ProposalCreated event")
        return created[0].proposal_id

    def approve(self, proposal_id: int) -> ProposalResult:
        """Approve for the caller's region; the proposal executes when this reaches the
        threshold."""
        return self._result(proposal_id, self.contract.functions.approve(proposal_id))

    def execute(self, proposal_id: int) -> ProposalResult:
        """Execute a proposal whose approvals already reach the (possibly lowered) threshold."""
        return self._result(proposal_id, self.contract.functions.execute(proposal_id))

    def _result(self, proposal_id: int, fn: ContractFunction) -> ProposalResult:
        receipt = self._need_sender().transact(fn)
        events = self._events(receipt)
        executed = any(e.proposal_id == proposal_id for e in events.executions)
        stamps = [e.timestamp for e in events.approvals] + [e.timestamp for e in events.executions]
        tx = TxInfo(
            "0x" + bytes(receipt["transactionHash"]).hex(),
            int(receipt["blockNumber"]),
            stamps[0] if stamps else 0,
        )
        return ProposalResult(proposal_id, executed, tx)

    def report_compromised(self, fingerprint: bytes, since: int) -> CertificateCompromised:
        """Report a certificate of the caller's own region lost from ``since`` (a block time)."""
        fn = self.contract.functions.reportCompromised(fingerprint, since)
        return self._transact(fn).compromises[0]

    # ------------------------------------------------------------------ events

    def _decode(self, logs: Iterable[Mapping[str, Any]]) -> DirectoryEvents:
        # CertificateAdded carries each certificate's DER: enough to rebuild every region's
        # certificate store without asking any region.
        return decode_directory_logs(logs, self._logs)

    # ------------------------------------------------------------------ reads

    def issuer_of(self, account: str) -> tuple[int, bytes]:
        """The region and agency id ``account`` acts for (region 0: none)."""
        fn = self.contract.functions.issuerOf(Web3.to_checksum_address(account))
        region, agency = self._call(fn)
        return int(region), bytes(agency)

    def agency_region(self, agency: bytes) -> int:
        """The region an agency id is bound to for ever (0: never registered)."""
        return int(self._call(self.contract.functions.agencyRegion(agency)))

    def threshold(self) -> int:
        return int(self._call(self.contract.functions.threshold()))

    def effective_threshold(self) -> int:
        return int(self._call(self.contract.functions.effectiveThreshold()))

    def region(self, code: int) -> RegionInfo | None:
        """The region with ``code``, or None if it was never a member."""
        name, active, added_at, removed_at = self._call(self.contract.functions.region(code))
        if not added_at:
            return None
        return RegionInfo(code, str(name), bool(active), int(added_at), int(removed_at))

    def region_codes(self) -> list[int]:
        """Every region ever added, active or not."""
        return [int(c) for c in self._call(self.contract.functions.regionCodes())]

    def active_region_count(self) -> int:
        return int(self._call(self.contract.functions.activeRegionCount()))

    def account_region(self, account: str) -> int:
        """The region ``account`` acts for, or 0 when it is no account of an active region."""
        fn = self.contract.functions.accountRegion(Web3.to_checksum_address(account))
        return int(self._call(fn))

    def region_accounts(self, code: int) -> list[str]:
        return [str(a) for a in self._call(self.contract.functions.regionAccounts(code))]

    def region_certificates(self, code: int) -> list[bytes]:
        """Fingerprints of every certificate ``code`` ever registered, revoked ones too."""
        return [bytes(f) for f in self._call(self.contract.functions.regionCertificates(code))]

    def certificate(self, fingerprint: bytes) -> CertificateInfo | None:
        """The registered certificate, or None for an unknown fingerprint."""
        region, agency, registered, compromised, revoked = self._call(
            self.contract.functions.certificate(fingerprint)
        )
        if not registered:
            return None
        return CertificateInfo(
            bytes(fingerprint), int(region), str(agency), int(registered), int(compromised),
            int(revoked),
        )  # fmt: skip

    def is_certificate_valid_at(self, fingerprint: bytes, time: int) -> bool:
        fn = self.contract.functions.isCertificateValidAt(fingerprint, time)
        return bool(self._call(fn))

    def proposal_count(self) -> int:
        return int(self._call(self.contract.functions.proposalCount()))

    def proposal(self, proposal_id: int) -> ProposalInfo:
        change, proposer, created, executed, approvals = self._call(
            self.contract.functions.proposal(proposal_id)
        )
        action, region, name, account, fingerprint, agency, cert = change
        return ProposalInfo(
            proposal_id=proposal_id, action=Action(action), region=int(region), name=str(name),
            account=_account(str(account)), fingerprint=_hash(bytes(fingerprint)),
            agency_code=str(agency), cert=bytes(cert), proposer_region=int(proposer),
            created_at=int(created), executed_at=int(executed), approvals=int(approvals),
        )  # fmt: skip

    def has_approved(self, proposal_id: int, region: int) -> bool:
        return bool(self._call(self.contract.functions.hasApproved(proposal_id, region)))
