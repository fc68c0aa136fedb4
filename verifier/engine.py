"""Verification of a licence PDF or QR payload against the chain index.

The verifier needs no issuer database: the PDF carries its own metadata and signature, the
chain index (built from events alone) says whether and when its leaf was anchored and what
happened to it since, and the trust store says which issuers are real. Every check is kept,
passed or failed, so the verdict can always be explained.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol

from cryptography import x509

from ledger_client import merkle
from ledger_client.index import ChainIndex, ChainIndexer, LeafRecord
from ledger_client.registry import LeafStatus, RegistryClient
from signing.certificates import certificate_fingerprint, subject_attributes
from signing.compact import verify_compact
from signing.errors import MetadataError
from signing.pdf_metadata import read_metadata
from signing.validation import validate_pdf_signature
from verifier.errors import VerificationError
from verifier.leaves import (
    SUFFIX,
    ZERO,
    LeafInput,
    LeafKind,
    document_digest,
    lookup_key,
)
from verifier.qr import parse_token
from verifier.verdicts import Check, Verdict, VerificationResult

METADATA_FILE = "licence-metadata.json"

_STATUS_VERDICT = {
    LeafStatus.SUSPENDED: Verdict.SUSPENDED,
    LeafStatus.REVOKED: Verdict.REVOKED,
    LeafStatus.CANCELLED: Verdict.CANCELLED,
    LeafStatus.REPORTED_LOST: Verdict.REPORTED_LOST,
    LeafStatus.SUPERSEDED: Verdict.SUPERSEDED,
}

# When several checks fail, the verdict names the most fundamental failure.
_PRIORITY = {
    "signature": Verdict.TAMPERED,
    "digest": Verdict.TAMPERED,
    "metadata": Verdict.TAMPERED,
    "issuer": Verdict.UNKNOWN_ISSUER,
    "anchor": Verdict.NOT_ANCHORED,
    "status": None,  # the status itself names the verdict
    "licence": None,  # the licence's status names the verdict of its attachment
    "validity": Verdict.EXPIRED,
}

PendingLookup = Callable[[bytes], bytes | None]
"""Given a lookup key, the leaf the local service has accepted but not yet anchored."""


@dataclass(frozen=True)
class RegisteredCertificate:
    """A signing certificate as the consortium's on-chain directory lists it."""

    fingerprint: str
    region: int
    agency_code: str
    registered_at: int
    compromised_at: int  # 0: never reported compromised
    revoked: bool
    cert: x509.Certificate | None = None


class CertificateDirectory(Protocol):
    """The on-chain directory of regions' signing certificates (read from chain events)."""

    def by_fingerprint(self, fingerprint: str) -> RegisteredCertificate | None: ...

    def by_agency(self, agency_code: str) -> list[RegisteredCertificate]: ...


@dataclass(frozen=True)
class TrustStore:
    """Who is a real issuer: local region roots, this region's agencies, and the directory.

    ``roots``/``agencies`` serve a region's own licences; ``directory`` (the consortium's
    on-chain membership) lets any region check any other region's licences from the chain
    alone.
    """

    roots: tuple[x509.Certificate, ...]
    agencies: Mapping[str, x509.Certificate] = field(default_factory=dict)
    region_names: Mapping[int, str] = field(default_factory=dict)
    directory: CertificateDirectory | None = None


@dataclass(frozen=True)
class VerifierConfig:
    sync_before_verify: bool = True
    # Re-check the Merkle proof and the current status against contract state, not only
    # against the local index.
    direct_chain_read: bool = False


@dataclass(frozen=True)
class DocumentRef:
    """What an identifier names: a version of a licence, or an attachment of one."""

    base: str
    version: int
    kind: LeafKind = LeafKind.VERSION
    serial: int = 0

    @property
    def key(self) -> bytes:
        return lookup_key(self.base, self.version, self.kind, self.serial)


def split_identifier(identifier: str) -> DocumentRef:
    """Parse ``<base>.<NNN>.<check>`` or ``<base>.<NNN>.<check>/<letter><serial>``."""
    head, _, tail = identifier.partition("/")
    parts = head.rsplit(".", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        raise VerificationError(f"licence identifier {identifier!r} has no version segment")
    if not tail:
        return DocumentRef(parts[0], int(parts[1]))
    kinds = {letter: kind for kind, letter in SUFFIX.items()}
    if tail[:1] not in kinds or not tail[1:].isdigit():
        raise VerificationError(f"identifier {identifier!r} has an unknown attachment suffix")
    return DocumentRef(parts[0], int(parts[1]), kinds[tail[:1]], int(tail[1:]))


def _ts(value: int) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


class Verifier:
    def __init__(
        self,
        index: ChainIndex,
        trust: TrustStore,
        indexer: ChainIndexer | None = None,
        registry: RegistryClient | None = None,
        pending: PendingLookup | None = None,
        config: VerifierConfig | None = None,
    ) -> None:
        self.index = index
        self.trust = trust
        self.indexer = indexer
        self.registry = registry
        self.pending = pending
        self.config = config or VerifierConfig()

    # ------------------------------------------------------------------ entry points

    def verify_pdf(self, data: bytes, at: datetime | None = None) -> VerificationResult:
        """Verdict for a licence file, now or at time ``at``."""
        if not data.lstrip()[:5].startswith(b"%PDF"):
            raise VerificationError("the file is not a PDF (it does not start with %PDF)")
        when = at or datetime.now(UTC)
        checks: list[Check] = []
        result = VerificationResult(Verdict.VALID, "", checks, checked_at=when)
        result.extra["point_in_time"] = at is not None

        report = validate_pdf_signature(data, self.trust.roots)
        sig_ok = report.signed and report.intact and report.valid and report.covers_whole_file
        checks.append(Check("signature", sig_ok, report.detail))

        try:
            meta = read_metadata(data, METADATA_FILE)
        except MetadataError as exc:
            checks.append(Check("metadata", False, f"no readable licence metadata: {exc}"))
            return self._decide(result)
        self._describe(result, meta)

        issuer_ok, issuer_detail = self._issuer_check(report.trusted, report.signer, meta)
        checks.append(Check("issuer", issuer_ok, issuer_detail))

        try:
            ref = DocumentRef(
                str(meta["base_id"]),
                int(meta["version"]),
                LeafKind(int(meta.get("kind", 0))),
                int(meta.get("serial", 0)),
            )
            key = ref.key
            leaf = LeafInput(
                key=key,
                document_digest=document_digest(data),
                data_root=bytes.fromhex(str(meta["data_root"])),
                kind=ref.kind,
                parent=bytes.fromhex(str(meta.get("parent_leaf", "00" * 32))),
            ).leaf()
        except (KeyError, ValueError) as exc:
            checks.append(Check("metadata", False, f"licence metadata incomplete ({exc})"))
            return self._decide(result)

        self._sync()
        record = self.index.find_leaf(leaf)
        if record is None:
            self._unanchored(result, key, leaf)
            return self._decide(result)
        checks.append(Check("digest", True, "document digest matches the anchored leaf"))
        self._anchor_checks(result, record, ref, int(meta.get("region_code", 0)), when)
        self._key_compromise(result, report.signer, record.timestamp)
        result.extra["trust_grade"] = meta.get("trust_grade")
        if ref.kind is not LeafKind.VERSION:
            result.extra["attachment"] = {
                k: meta[k] for k in ("purpose", "recipient", "made_by", "made_at") if k in meta
            }
            parent = bytes.fromhex(str(meta["parent_leaf"]))
            if parent != ZERO:
                self._parent_checks(result, parent, ref, when)
        valid_from = date.fromisoformat(str(meta["valid_from"]))
        valid_until = date.fromisoformat(str(meta["valid_until"]))
        checks.append(self._validity(valid_from, valid_until, when))
        return self._decide(result)

    def verify_qr(self, payload: str, at: datetime | None = None) -> VerificationResult:
        """Verdict for a QR payload (token or status-page URL), now or at ``at``."""
        token = parse_token(payload)
        claims = token.claims
        when = at or datetime.now(UTC)
        checks: list[Check] = []
        result = VerificationResult(
            Verdict.VALID,
            "",
            checks,
            licence_id=claims.identifier,
            issuer_code=claims.issuer_code,
            region=claims.region,
            valid_until=claims.valid_until.isoformat(),
            checked_at=when,
            extra={"point_in_time": at is not None},
        )
        candidates = self._agency_certs(claims.issuer_code, claims.region)
        if not candidates:
            checks.append(Check("issuer", False, f"agency {claims.issuer_code} is not known"))
            return self._decide(result)
        cert = next(
            (c for c in candidates if verify_compact(c, token.message, token.signature)),
            candidates[0],
        )
        attrs = subject_attributes(cert)
        result.issuer = attrs.get("name")
        checks.append(
            Check("issuer", True, f"issued by {attrs.get('name')} ({claims.issuer_code})")
        )
        sig_ok = verify_compact(cert, token.message, token.signature)
        checks.append(
            Check(
                "signature",
                sig_ok,
                "QR claims signed by the issuing agency"
                if sig_ok
                else "QR signature does not match the issuing agency's key: the code was altered",
            )
        )
        if not sig_ok:
            return self._decide(result)
        ref = split_identifier(claims.identifier)
        result.version = ref.version
        self._sync()
        records = self.index.find_by_key(ref.key)
        if not records:
            self._unanchored(result, ref.key, None)
            return self._decide(result)
        record = records[-1]
        self._anchor_checks(result, record, ref, claims.region, when)
        checks.append(self._validity(None, claims.valid_until, when))
        return self._decide(result)

    # ------------------------------------------------------------------ checks

    def _agency_certs(self, agency_code: str, region: int) -> list[x509.Certificate]:
        """Certificates that may have signed a QR code of this agency (own store, directory)."""
        certs: list[x509.Certificate] = []
        own = self.trust.agencies.get(agency_code)
        if own is not None:
            certs.append(own)
        if self.trust.directory is not None:
            certs += [
                r.cert
                for r in self.trust.directory.by_agency(agency_code)
                if r.cert is not None and r.region == region and not r.revoked
            ]
        return certs

    def _sync(self) -> None:
        if self.indexer is not None and self.config.sync_before_verify:
            self.indexer.sync()

    def _describe(self, result: VerificationResult, meta: Mapping[str, object]) -> None:
        result.licence_id = _opt(meta.get("licence_id"))
        result.version = int(str(meta["version"])) if "version" in meta else None
        result.issuer = _opt(meta.get("issuer_name"))
        result.issuer_code = _opt(meta.get("issuer_code"))
        result.region = int(str(meta["region_code"])) if "region_code" in meta else None
        result.holder_name = _opt(meta.get("holder_name"))
        result.type_name = _opt(meta.get("type_name"))
        result.valid_until = _opt(meta.get("valid_until"))

    def _issuer_check(
        self, trusted: bool, signer: x509.Certificate | None, meta: Mapping[str, object]
    ) -> tuple[bool, str]:
        if signer is None:
            return False, "no signing certificate in the document"
        attrs = subject_attributes(signer)
        who = f"{attrs.get('name', '?')} ({attrs.get('code', '?')})"
        registered = self._registered(signer)
        if registered is not None:
            if registered.revoked:
                return False, f"signed by {who}, whose certificate the directory lists as revoked"
            if str(registered.region) != str(meta.get("region_code")) or (
                registered.agency_code != meta.get("issuer_code")
            ):
                return False, (
                    f"signed by {who}, registered for agency {registered.agency_code} of region "
                    f"{registered.region}, but the licence names {meta.get('issuer_code')} of "
                    f"region {meta.get('region_code')}"
                )
            name = self.trust.region_names.get(registered.region, str(registered.region))
            return True, f"signed by {who} of region {name}, registered in the on-chain directory"
        if not trusted:
            return False, f"signed by {who}, which no trusted region authority certifies"
        if attrs.get("code") != meta.get("issuer_code"):
            return False, (
                f"signed by {who}, but the licence names issuer {meta.get('issuer_code')}: "
                "the signer is not the issuer"
            )
        return True, f"signed by {who}, certified by a trusted region authority"

    def _registered(self, cert: x509.Certificate) -> RegisteredCertificate | None:
        if self.trust.directory is None:
            return None
        return self.trust.directory.by_fingerprint(certificate_fingerprint(cert))

    def _key_compromise(
        self, result: VerificationResult, signer: x509.Certificate | None, anchored_at: int
    ) -> None:
        """A key reported lost signs nothing valid after the loss (anchoring time is the proof
        of when a document existed; a signature's own time could be forged)."""
        if signer is None:
            return
        registered = self._registered(signer)
        if registered is None or not registered.compromised_at:
            return
        since = _ts(registered.compromised_at)
        if anchored_at >= registered.compromised_at:
            result.checks.append(
                Check(
                    "issuer",
                    False,
                    f"the signing key was reported "
                    f"compromised from {since:%Y-%m-%d %H:%M:%S} UTC and this "
                    "document was anchored after that",
                )
            )
        else:
            result.checks.append(
                Check(
                    "key",
                    True,
                    f"anchored before the signing key was reported compromised ({since:%Y-%m-%d})",
                )
            )

    def _unanchored(self, result: VerificationResult, key: bytes, leaf: bytes | None) -> None:
        others = self.index.find_by_key(key)
        if others and leaf is not None:
            result.checks.append(
                Check(
                    "digest",
                    False,
                    "the chain holds a different document for this licence version: "
                    "this file's bytes are not the ones that were anchored",
                )
            )
            return
        pending_leaf = self.pending(key) if self.pending else None
        if pending_leaf is not None and (leaf is None or pending_leaf == leaf):
            result.checks.append(
                Check("anchor", False, "accepted by the issuing service, not yet anchored")
            )
            result.extra["pending"] = True
            return
        result.checks.append(Check("anchor", False, "no anchored record of this document"))

    def _anchor_checks(
        self,
        result: VerificationResult,
        record: LeafRecord,
        ref: DocumentRef,
        meta_region: int,
        when: datetime,
    ) -> None:
        checks = result.checks
        result.anchored_at = _ts(record.timestamp)
        result.anchor_tx = record.tx_hash
        result.batch_id = record.batch_id
        proof = self.index.proof(record)
        proof_ok = merkle.verify(proof, record.root, record.leaf)
        where = f"batch {record.batch_id}, block {record.block_number}"
        if proof_ok and self.config.direct_chain_read and self.registry is not None:
            proof_ok = self.registry.is_anchored(record.leaf, record.batch_id, proof)
            where += ", confirmed against contract state"
        if result.extra.get("point_in_time") and record.timestamp > when.timestamp():
            checks.append(
                Check("anchor", False, f"anchored only at {result.anchored_at:%Y-%m-%d %H:%M} UTC")
            )
            return
        checks.append(
            Check(
                "anchor",
                proof_ok,
                f"anchored in {where} at {result.anchored_at:%Y-%m-%d %H:%M:%S} UTC"
                if proof_ok
                else "Merkle proof does not match the anchored root",
            )
        )
        if record.region != meta_region:
            checks.append(
                Check(
                    "issuer",
                    False,
                    f"anchored by region {record.region}, but the licence names region "
                    f"{meta_region}",
                )
            )
        at_ts = int(when.timestamp()) if result.extra.get("point_in_time") else None
        status = self.index.status_at(record.leaf, at_ts)
        current = status.status if status else LeafStatus.ACTIVE
        if self.config.direct_chain_read and self.registry is not None and self._is_now(when):
            current = self.registry.leaf_status(record.leaf).status
        if current is LeafStatus.ACTIVE:
            checks.append(Check("status", True, "active: not suspended, revoked or cancelled"))
            return
        since = _ts(status.timestamp) if status else None
        result.status_since = since
        reason = f", reason code {status.reason}" if status else ""
        detail = (
            f"{current.name.lower().replace('_', ' ')} since {since:%Y-%m-%d %H:%M:%S} UTC{reason}"
            if since
            else current.name.lower()
        )
        newest = self._newest_version(record.leaf, ref, at_ts)
        if newest is not None:
            result.extra["current_version"] = newest
            detail += f"; the current version is {newest:03d}"
        checks.append(Check("status", False, detail))
        result.extra["status"] = current.name

    def _newest_version(self, leaf: bytes, ref: DocumentRef, at_ts: int | None) -> int | None:
        """Follow on-chain successor links from ``leaf``; the newest version's number."""
        newest = None
        seen = {leaf}
        while (child := self.index.successor(leaf, at_ts)) is not None and child not in seen:
            seen.add(child)
            leaf = child
            record = self.index.find_leaf(child)
            if record is None:
                break
            for n in range(ref.version + 1, 1000):
                if lookup_key(ref.base, n) == record.key:
                    newest = n
                    break
        return newest

    def _parent_checks(
        self, result: VerificationResult, parent: bytes, ref: DocumentRef, when: datetime
    ) -> None:
        """An attachment is only as good as the licence version it was made from."""
        at_ts = int(when.timestamp()) if result.extra.get("point_in_time") else None
        status = self.index.status_at(parent, at_ts)
        if status is None or status.status is LeafStatus.ACTIVE:
            result.checks.append(
                Check("licence", True, f"licence version {ref.version:03d} is active")
            )
            return
        detail = f"the licence version it belongs to is {status.status.name.lower()}"
        newest = self._newest_version(parent, ref, at_ts)
        if newest is not None:
            detail += f"; the current version is {newest:03d}"
        result.checks.append(Check("licence", False, detail))
        result.extra.setdefault("status", status.status.name)

    @staticmethod
    def _is_now(when: datetime) -> bool:
        return abs(datetime.now(UTC).timestamp() - when.timestamp()) < 60

    @staticmethod
    def _validity(valid_from: date | None, valid_until: date, when: datetime) -> Check:
        day = when.date()
        if valid_from is not None and day < valid_from:
            return Check("validity", False, f"not valid before {valid_from.isoformat()}")
        if day > valid_until:
            return Check("validity", False, f"validity ended on {valid_until.isoformat()}")
        return Check("validity", True, f"within the validity period (until {valid_until})")

    # ------------------------------------------------------------------ deciding

    def _decide(self, result: VerificationResult) -> VerificationResult:
        failed = [c for c in result.checks if c.ok is False]
        if not failed:
            result.verdict = Verdict.VALID
            result.reason = "authentic, anchored, current and within its validity period"
            return result
        order = list(_PRIORITY)
        failed.sort(key=lambda c: order.index(c.name) if c.name in order else len(order))
        worst = failed[0]
        if worst.name == "anchor" and result.extra.get("pending"):
            result.verdict = Verdict.PENDING
        elif worst.name in ("status", "licence"):
            result.verdict = _STATUS_VERDICT[LeafStatus[str(result.extra["status"])]]
        else:
            verdict = _PRIORITY[worst.name]
            assert verdict is not None
            result.verdict = verdict
        result.reason = worst.detail
        return result


def _opt(value: object) -> str | None:
    return None if value is None else str(value)
