"""Typed access to the ``SharingLedger`` contract: consents, sharing requests with their
review and metering, and cross-region data releases.

Only hashes reach the chain. The caller computes them off-chain (a consent hash over the
signed consent record, a receipt hash over the release receipt both regions keep, a purpose
hash over the stated purpose), so the ledger proves who released what under which consent
without ever naming a person.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from ledger_client.artifacts import SHARING, load_artifact
from ledger_client.contract import ContractClient
from ledger_client.logs import LogDecoder, log_tx
from ledger_client.types import TxInfo

ANY_LEAF = bytes(32)
"""The leaf of a consent that covers every licence of the kind named off-chain."""


@dataclass(frozen=True)
class ConsentInfo:
    consent_hash: bytes
    leaf: bytes  # ANY_LEAF: every licence of a kind
    grantor_region: int
    grantee_region: int
    valid_until: int
    recorded_at: int
    withdrawn_at: int  # 0: not withdrawn

    def valid_at(self, time: int) -> bool:
        """Same rule as ``isConsentValid``, without a chain call."""
        if time < self.recorded_at or time > self.valid_until:
            return False
        return not self.withdrawn_at or time < self.withdrawn_at


@dataclass(frozen=True)
class ReleaseInfo:
    receipt_hash: bytes
    leaf: bytes
    from_region: int
    to_region: int
    purpose_hash: bytes
    consent_hash: bytes
    recorded_at: int


class RequestState(IntEnum):
    """``ISharingLedger.RequestState``."""

    NONE = 0
    PENDING = 1
    APPROVED = 2
    REFUSED = 3


@dataclass(frozen=True)
class RequestInfo:
    """A sharing request as the chain keeps it: review outcome and metered use."""

    request_hash: bytes
    leaf: bytes
    purpose_hash: bytes
    holder_region: int
    requester_region: int
    requested_at: int
    decided_at: int
    valid_until: int
    cap: int  # 0: no cap
    uses: int
    state: RequestState


@dataclass(frozen=True)
class RequestStep:
    """One on-chain step of a sharing request: ``requested``, ``approved``, ``refused`` or
    ``used`` (a release under the approval). Fields a step does not carry stay zero."""

    step: str
    request_hash: bytes
    timestamp: int
    tx: TxInfo
    log_index: int
    holder_region: int = 0
    requester_region: int = 0
    leaf: bytes = bytes(32)
    purpose_hash: bytes = bytes(32)
    reviewer_hash: bytes = bytes(32)
    reason_hash: bytes = bytes(32)
    valid_until: int = 0
    cap: int = 0
    uses: int = 0
    recorder: str = ""


_STEPS = {
    "SharingRequested": ("requested", {"holderRegion": "holder_region", "leaf": "leaf",
                                       "requesterRegion": "requester_region",
                                       "purposeHash": "purpose_hash", "recorder": "recorder"}),
    "SharingApproved": ("approved", {"holderRegion": "holder_region",
                                     "reviewerHash": "reviewer_hash", "validUntil": "valid_until",
                                     "cap": "cap", "recorder": "recorder"}),
    "SharingRefused": ("refused", {"holderRegion": "holder_region",
                                   "reviewerHash": "reviewer_hash", "reasonHash": "reason_hash",
                                   "recorder": "recorder"}),
    "ApprovalUsed": ("used", {"uses": "uses", "cap": "cap"}),
}  # fmt: skip


@dataclass(frozen=True)
class ConsentRecorded:
    consent_hash: bytes
    leaf: bytes
    grantor_region: int
    grantee_region: int
    valid_until: int
    recorder: str
    timestamp: int
    tx: TxInfo
    log_index: int


@dataclass(frozen=True)
class ConsentWithdrawn:
    consent_hash: bytes
    grantor_region: int
    recorder: str
    timestamp: int
    tx: TxInfo
    log_index: int


@dataclass(frozen=True)
class DataReleased:
    receipt_hash: bytes
    leaf: bytes
    from_region: int
    to_region: int
    purpose_hash: bytes
    consent_hash: bytes
    recorder: str
    timestamp: int
    tx: TxInfo
    log_index: int


@dataclass
class SharingEvents:
    """The sharing ledger's events in a block range, each list in chain order."""

    consents: list[ConsentRecorded] = field(default_factory=list)
    withdrawals: list[ConsentWithdrawn] = field(default_factory=list)
    releases: list[DataReleased] = field(default_factory=list)
    requests: list[RequestStep] = field(default_factory=list)


def decode_sharing_logs(
    logs: Iterable[Mapping[str, Any]], decoder: LogDecoder | None = None
) -> SharingEvents:
    """Decode raw logs of the sharing ledger; logs of other events are ignored."""
    decoder = decoder or LogDecoder(load_artifact(SHARING).abi)
    out = SharingEvents()
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
            "recorder": a.get("recorder", ""),
        }
        if name == "ConsentRecorded":
            out.consents.append(
                ConsentRecorded(
                    consent_hash=a["consentHash"], leaf=a["leaf"],
                    grantor_region=a["grantorRegion"], grantee_region=a["granteeRegion"],
                    valid_until=a["validUntil"], **where,
                )
            )  # fmt: skip
        elif name == "ConsentWithdrawn":
            out.withdrawals.append(
                ConsentWithdrawn(
                    consent_hash=a["consentHash"], grantor_region=a["grantorRegion"], **where
                )
            )
        elif name in _STEPS:
            step, names = _STEPS[name]
            out.requests.append(
                RequestStep(
                    step, a["requestHash"], ts, where["tx"], where["log_index"],
                    **{py: a[sol] for sol, py in names.items()},
                )
            )  # fmt: skip
        elif name == "DataReleased":
            out.releases.append(
                DataReleased(
                    receipt_hash=a["receiptHash"], leaf=a["leaf"], from_region=a["fromRegion"],
                    to_region=a["toRegion"], purpose_hash=a["purposeHash"],
                    consent_hash=a["consentHash"], **where,
                )
            )  # fmt: skip
    return out


class SharingClient(ContractClient[SharingEvents]):
    """One deployed ``SharingLedger``; writes need a ``TransactionSender`` of a member region."""

    artifact = SHARING

    # ------------------------------------------------------------------ writes

    def record_consent(
        self, consent_hash: bytes, leaf: bytes, grantee_region: int, valid_until: int
    ) -> ConsentRecorded:
        """Record the holder's consent, given to the caller's region, to share ``leaf``
        (``ANY_LEAF``: every licence of a kind) with ``grantee_region`` until ``valid_until``."""
        fn = self.contract.functions.recordConsent(consent_hash, leaf, grantee_region, valid_until)
        return self._transact(fn).consents[0]

    def withdraw_consent(self, consent_hash: bytes) -> ConsentWithdrawn:
        """Record the holder's withdrawal; only the region that recorded the consent can."""
        fn = self.contract.functions.withdrawConsent(consent_hash)
        return self._transact(fn).withdrawals[0]

    def record_release(
        self,
        receipt_hash: bytes,
        leaf: bytes,
        to_region: int,
        purpose_hash: bytes,
        consent_hash: bytes,
    ) -> DataReleased:
        """Record a release of ``leaf``'s data to ``to_region``; the chain refuses it unless
        ``consent_hash`` covers it now."""
        fn = self.contract.functions.recordRelease(
            receipt_hash, leaf, to_region, purpose_hash, consent_hash
        )
        return self._transact(fn).releases[0]

    def record_request(
        self, request_hash: bytes, leaf: bytes, requester_region: int, purpose_hash: bytes
    ) -> RequestStep:
        """Record another region's request for ``leaf``'s data (the caller holds the data)."""
        fn = self.contract.functions.recordRequest(
            request_hash, leaf, requester_region, purpose_hash
        )
        return self._transact(fn).requests[0]

    def approve_request(
        self, request_hash: bytes, reviewer_hash: bytes, valid_until: int, cap: int = 0
    ) -> RequestStep:
        """Record a reviewer's approval until ``valid_until`` for at most ``cap`` releases
        (0: no cap)."""
        fn = self.contract.functions.approveRequest(request_hash, reviewer_hash, valid_until, cap)
        return self._transact(fn).requests[0]

    def refuse_request(
        self, request_hash: bytes, reviewer_hash: bytes, reason_hash: bytes
    ) -> RequestStep:
        fn = self.contract.functions.refuseRequest(request_hash, reviewer_hash, reason_hash)
        return self._transact(fn).requests[0]

    def record_approved_release(
        self,
        receipt_hash: bytes,
        leaf: bytes,
        to_region: int,
        purpose_hash: bytes,
        request_hash: bytes,
    ) -> tuple[DataReleased, RequestStep]:
        """Record a release under an approved request; the chain refuses it past the cap or
        the end, or for another region, leaf or purpose. Returns the release and its count."""
        fn = self.contract.functions.recordApprovedRelease(
            receipt_hash, leaf, to_region, purpose_hash, request_hash
        )
        events = self._transact(fn)
        return events.releases[0], events.requests[0]

    # ------------------------------------------------------------------ events

    def _decode(self, logs: Iterable[Mapping[str, Any]]) -> SharingEvents:
        return decode_sharing_logs(logs, self._logs)

    # ------------------------------------------------------------------ reads

    def directory(self) -> str:
        return str(self._call(self.contract.functions.directory()))

    def consent(self, consent_hash: bytes) -> ConsentInfo | None:
        """The recorded consent, or None for an unknown hash."""
        leaf, grantor, grantee, until, recorded, withdrawn = self._call(
            self.contract.functions.consent(consent_hash)
        )
        if not recorded:
            return None
        return ConsentInfo(
            bytes(consent_hash), bytes(leaf), int(grantor), int(grantee), int(until),
            int(recorded), int(withdrawn),
        )  # fmt: skip

    def release(self, receipt_hash: bytes) -> ReleaseInfo | None:
        """The recorded release, or None for an unknown receipt hash."""
        leaf, src, dst, purpose, consent, recorded = self._call(
            self.contract.functions.release(receipt_hash)
        )
        if not recorded:
            return None
        return ReleaseInfo(
            bytes(receipt_hash), bytes(leaf), int(src), int(dst), bytes(purpose), bytes(consent),
            int(recorded),
        )  # fmt: skip

    def is_consent_valid(self, consent_hash: bytes, time: int) -> bool:
        return bool(self._call(self.contract.functions.isConsentValid(consent_hash, time)))

    def sharing_request(self, request_hash: bytes) -> RequestInfo | None:
        """The recorded request with its review and use, or None for an unknown hash."""
        leaf, purpose, holder, requester, at, decided, until, cap, uses, state = self._call(
            self.contract.functions.sharingRequest(request_hash)
        )
        if not state:
            return None
        return RequestInfo(
            bytes(request_hash), bytes(leaf), bytes(purpose), int(holder), int(requester),
            int(at), int(decided), int(until), int(cap), int(uses), RequestState(state),
        )  # fmt: skip
