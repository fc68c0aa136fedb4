"""Typed access to the ``RegionDirectory`` contract: the consortium's membership.

The directory says which regions are members, which chain accounts act for them and which
signing certificates they use. Membership changes are proposals that execute once enough
active regions approve them; a key loss is reported by the certificate's own region at once.
Every certificate's DER is emitted on-chain, so ``events_in_range`` is enough for any region
to rebuild every other region's certificate store from the chain alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from web3 import Web3
from web3.contract.contract import ContractFunction

from ledger_client.artifacts import DIRECTORY, load_artifact
from ledger_client.contract import ContractClient
from ledger_client.directory_types import (
    ZERO_ADDRESS,
    ZERO_HASH,
    AccountChange,
    Action,
    AgencyAccount,
    CertificateAdded,
    CertificateCompromised,
    CertificateInfo,
    CertificateRevoked,
    DirectoryEvents,
    NewCertificate,
    ProposalApproved,
    ProposalCreated,
    ProposalExecuted,
    ProposalInfo,
    ProposalResult,
    RegionChange,
    RegionInfo,
    fingerprint_of,
    signature_counts,
)
from ledger_client.errors import TransactionError
from ledger_client.logs import LogDecoder, log_tx
from ledger_client.proposal_payload import Change, decode_change, encode_change
from ledger_client.types import TxInfo

__all__ = [
    "ZERO_ADDRESS",
    "ZERO_HASH",
    "AccountChange",
    "Action",
    "AgencyAccount",
    "CertificateAdded",
    "CertificateCompromised",
    "CertificateInfo",
    "CertificateRevoked",
    "DirectoryClient",
    "DirectoryEvents",
    "LogDecoder",
    "NewCertificate",
    "ProposalApproved",
    "ProposalCreated",
    "ProposalExecuted",
    "ProposalInfo",
    "ProposalResult",
    "RegionChange",
    "RegionInfo",
    "decode_directory_logs",
    "fingerprint_of",
    "log_tx",
    "signature_counts",
]


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
        ts = int(a.get("timestamp", 0))
        where: dict[str, Any] = {
            "tx": log_tx(log, ts),
            "log_index": int(log["logIndex"]),
            "timestamp": ts,
        }
        if name == "ProposalCreated":
            change = decode_change(Action(a["action"]), a["payload"])
            out.proposals.append(
                ProposalCreated(
                    proposal_id=a["id"], action=Action(a["action"]), region=a["region"],
                    proposer_region=a["proposerRegion"], account=change.account,
                    fingerprint=change.fingerprint, **where,
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
        change = Change(
            name=name,
            account=account,
            agency_code=agency_code or (certificate.agency_code if certificate else ""),
            fingerprint=fingerprint or (certificate.fingerprint if certificate else None),
            cert=certificate.der if certificate is not None else b"",
        )
        fn = self.contract.functions.propose(int(action), region, encode_change(action, change))
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
        action, region, payload, proposer, created, executed, approvals = self._call(
            self.contract.functions.proposal(proposal_id)
        )
        change = decode_change(Action(action), bytes(payload))
        return ProposalInfo(
            proposal_id=proposal_id, action=Action(action), region=int(region), name=change.name,
            account=change.account, fingerprint=change.fingerprint,
            agency_code=change.agency_code, cert=change.cert, proposer_region=int(proposer),
            created_at=int(created), executed_at=int(executed), approvals=int(approvals),
        )  # fmt: skip

    def has_approved(self, proposal_id: int, region: int) -> bool:
        return bool(self._call(self.contract.functions.hasApproved(proposal_id, region)))
