"""Verification of a licence PDF or QR payload against the chain index.

The verifier needs no issuer database: the PDF carries its own metadata and signature, the
chain index (built from events alone) says whether and when its leaf was anchored and what
happened to it since, and the trust store says which issuers are real. Every check is kept,
passed or failed, so the verdict can always be explained.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from ledger_client import merkle
from ledger_client.index import ChainIndex, ChainIndexer, LeafRecord
from ledger_client.merkle import agency_id
from ledger_client.registry import LeafStatus, RegistryClient
from signing.certificates import subject_attributes
from signing.compact import verify_compact
from signing.errors import MetadataError
from verifier.decision import decide, pending_detail, validity_check
from verifier.documents import DocumentChecks
from verifier.errors import VerificationError
from verifier.leaves import ZERO, LeafInput, LeafKind, document_digest, signer_suite
from verifier.metadata import METADATA_FILE, LicenceMetadata
from verifier.qr import QrToken, parse_token
from verifier.references import DocumentRef, mask_name, split_identifier
from verifier.trust import RegisteredCertificate, TrustStore, signer_check
from verifier.verdicts import Check, Verdict, VerificationResult

__all__ = [
    "METADATA_FILE",
    "DocumentRef",
    "RegisteredCertificate",
    "TrustStore",
    "Verifier",
    "VerifierConfig",
    "split_identifier",
]

# A licence is ~50 KiB; the HTTP API refuses bodies over 20 MiB, and so does every entry point.
MAX_PDF_BYTES = 20 * 1024 * 1024

PendingLookup = Callable[[bytes], bytes | None]
"""Given a lookup key, the leaf the local service has accepted but not yet anchored."""


@dataclass(frozen=True)
class VerifierConfig:
    sync_before_verify: bool = True
    # Re-check the Merkle proof and the current status against contract state, not only
    # against the local index.
    direct_chain_read: bool = False


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
        documents: DocumentChecks | None = None,
    ) -> None:
        self.index = index
        self.trust = trust
        self.indexer = indexer
        self.registry = registry
        self.pending = pending
        self.config = config or VerifierConfig()
        self.documents = documents or DocumentChecks()  # signature report, metadata

    # ------------------------------------------------------------------ entry points

    def verify_pdf(self, data: bytes, at: datetime | None = None) -> VerificationResult:
        """Verdict for a licence file, now or at time ``at``."""
        if len(data) > MAX_PDF_BYTES:
            raise VerificationError("the file is larger than 20 MiB: it is not a licence PDF")
        if not data.lstrip()[:5].startswith(b"%PDF"):
            raise VerificationError("the file is not a PDF (it does not start with %PDF)")
        when = at or datetime.now(UTC)
        result = self._result(at, when)
        checks = result.checks
        report = self.documents.signature(data, self.trust.roots)
        sig_ok = report.signed and report.intact and report.valid and report.covers_whole_file
        checks.append(Check("signature", sig_ok, report.detail))

        try:
            meta = self.documents.metadata(data)
        except MetadataError as exc:
            checks.append(Check("metadata", False, f"no readable licence metadata: {exc}"))
            return decide(result)
        try:  # unsigned or altered files carry whatever metadata an attacker wrote
            self._describe(result, meta)
            doc = LicenceMetadata.from_json(meta)
            ref = DocumentRef(doc.base_id, doc.version, LeafKind(doc.kind), doc.serial)
            agency_code, region = doc.issuer_code, doc.region_code
            key = ref.key(self._token_of(meta).message if "qr_token" in meta else b"")
            leaf = LeafInput(
                key=key,
                document_digest=document_digest(data, signer_suite(report.signer)),
                data_root=bytes.fromhex(doc.data_root),
                kind=ref.kind,
                parent=bytes.fromhex(doc.parent_leaf),
                agency_code=agency_code,
            ).leaf()
        except (KeyError, TypeError, ValueError, VerificationError) as exc:
            checks.append(Check("metadata", False, f"licence metadata incomplete ({exc})"))
            return decide(result)

        self._sync()
        record = self.index.find_leaf(leaf)
        checks.append(
            signer_check(
                self.trust, report.signer, agency_code, region,
                record.timestamp if record else None, report.trusted,
            )
        )  # fmt: skip
        if record is None:
            self._unanchored(result, key, agency_code, leaf)
            return decide(result)
        checks.append(Check("digest", True, "document digest matches the anchored leaf"))
        self._conflicts(result, self.index.find_by_key(key, agency_id(agency_code)))
        self._anchor_checks(result, record, ref, region, when)
        if ref.kind is not LeafKind.VERSION:
            result.extra["attachment"] = {
                k: meta[k] for k in ("purpose", "recipient", "made_by", "made_at") if k in meta
            }
            parent = bytes.fromhex(str(meta["parent_leaf"]))
            if parent != ZERO:
                self._parent_checks(result, parent, ref, when)
        valid_from = date.fromisoformat(str(meta["valid_from"]))
        valid_until = date.fromisoformat(str(meta["valid_until"]))
        checks.append(validity_check(valid_from, valid_until, when))
        return decide(result)

    def verify_qr(self, payload: str, at: datetime | None = None) -> VerificationResult:
        """Verdict for a QR payload (token or status-page URL), now or at ``at``."""
        token = parse_token(payload)
        claims = token.claims
        when = at or datetime.now(UTC)
        result = self._result(at, when)
        result.licence_id, result.issuer_code = claims.identifier, claims.issuer_code
        result.region, result.valid_until = claims.region, claims.valid_until.isoformat()
        result.holder_name = claims.holder_masked or None
        result.type_code = claims.type_code or None
        checks = result.checks
        ref = split_identifier(claims.identifier)
        result.version = ref.version
        result.trust_grade = "B" if ref.kind is LeafKind.CHECKED else "A"
        certs = self.trust.agency_certificates(claims.issuer_code, claims.region)
        if not certs:
            checks.append(Check("issuer", False, f"agency {claims.issuer_code} is not known"))
            return decide(result)
        signer = next((c for c in certs if verify_compact(c, token.message, token.signature)), None)
        if signer is None:
            checks.append(
                Check(
                    "signature", False,
                    "QR signature does not match any key of the agency it names: "
                    "the code was altered or forged",
                )
            )  # fmt: skip
            return decide(result)
        result.issuer = subject_attributes(signer).get("name")
        if ref.kind is LeafKind.CHECKED:
            result.document_note = (
                f"checked copy (grade B) made by window staff of {result.issuer}: a copy "
                "checked against the original, not the issuing agency's original licence"
            )
        checks.append(Check("signature", True, "QR claims signed by the agency they name"))
        if ref.issuer_in_base not in (None, claims.issuer_code):
            checks.append(
                Check(
                    "issuer", False,
                    f"the identifier belongs to issuer {ref.issuer_in_base}, but the code is "
                    f"signed as {claims.issuer_code}",
                )
            )  # fmt: skip
            return decide(result)
        self._sync()
        key = ref.key(token.message)
        records = self.index.find_by_key(key, agency_id(claims.issuer_code))
        record = records[0] if records else None
        local = signer in self.trust.agencies.values()
        checks.append(
            signer_check(
                self.trust, signer, claims.issuer_code, claims.region,
                record.timestamp if record else None, local,
            )
        )  # fmt: skip
        if record is None:
            self._unanchored(result, key, claims.issuer_code, None)
            return decide(result)
        self._conflicts(result, records)
        self._anchor_checks(result, record, ref, claims.region, when)
        checks.append(validity_check(None, claims.valid_until, when))
        return decide(result)

    # ------------------------------------------------------------------ checks

    @staticmethod
    def _result(at: datetime | None, when: datetime) -> VerificationResult:
        result = VerificationResult(Verdict.VALID, "", [], checked_at=when, as_of=at)
        result.extra["point_in_time"] = at is not None
        return result

    @staticmethod
    def _token_of(meta: Mapping[str, object]) -> QrToken:
        """The signed QR claims of a PDF must say what its signed metadata says: the leaf's
        key hashes them, so a mismatch is an issuer's inconsistency or a forgery."""
        token = parse_token(str(meta["qr_token"]))
        c = token.claims
        mismatched = [
            name for name, got, want in (
                ("identifier", c.identifier, meta.get("licence_id")),
                ("issuer", c.issuer_code, meta.get("issuer_code")),
                ("region", str(c.region), str(meta.get("region_code"))),
                ("validity end", c.valid_until.isoformat(), meta.get("valid_until")),
                ("data root", c.data_root_prefix, str(meta.get("data_root", ""))[:16]),
            ) if got != want
        ]  # fmt: skip
        if mismatched:
            raise VerificationError(
                f"the QR claims disagree with the document on: {', '.join(mismatched)}"
            )
        return token

    def _sync(self) -> None:
        if self.indexer is not None and self.config.sync_before_verify:
            self.indexer.sync()

    def _describe(self, result: VerificationResult, meta: Mapping[str, object]) -> None:
        result.licence_id = _opt(meta.get("licence_id"))
        result.version = int(str(meta["version"])) if "version" in meta else None
        result.issuer = _opt(meta.get("issuer_name"))
        result.issuer_code = _opt(meta.get("issuer_code"))
        result.region = int(str(meta["region_code"])) if "region_code" in meta else None
        holder = _opt(meta.get("holder_name"))
        result.holder_name = mask_name(holder) if holder else None
        result.type_name = _opt(meta.get("type_name"))
        result.type_code = _opt(meta.get("type_code"))
        result.valid_until = _opt(meta.get("valid_until"))
        result.trust_grade = _opt(meta.get("trust_grade"))
        result.extra["trust_grade"] = result.trust_grade
        if int(str(meta.get("kind", 0))) == int(LeafKind.CHECKED):
            result.document_note = (
                f"checked copy (grade B) made by window staff of {meta.get('issuer_name')} "
                f"({meta.get('made_by', '?')}, {meta.get('made_at', '?')}): a copy checked "
                "against the original, not the issuing agency's original licence"
            )

    def _conflicts(self, result: VerificationResult, records: list[LeafRecord]) -> None:
        """Different documents anchored under one key by one agency: never pick the newest."""
        leaves = {r.leaf for r in records}
        if len(leaves) > 1:
            result.checks.append(
                Check(
                    "uniqueness", False,
                    f"the chain holds {len(leaves)} different documents under this licence "
                    "version's key from the same agency: the record is in conflict; contact "
                    "the issuing agency before relying on it",
                )
            )  # fmt: skip

    def _unanchored(
        self, result: VerificationResult, key: bytes, agency_code: str, leaf: bytes | None
    ) -> None:
        others = self.index.find_by_key(key, agency_id(agency_code))
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
        waiting = self.index.unconfirmed(key, agency_id(agency_code))  # not final yet
        pending_leaf = waiting.leaf if waiting else self.pending(key) if self.pending else None
        if pending_leaf is not None and (leaf is None or pending_leaf == leaf):
            result.checks.append(
                Check("anchor", False, pending_detail(waiting, self.index.confirmations))
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
        result.extra["anchor_block"] = record.block_number
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
        """Follow the anchoring region's on-chain successor links from ``leaf``: every link is
        one new version, so the newest version's number is this one's plus the links."""
        hops, seen = 0, {leaf}
        while (child := self.index.successor(leaf, at_ts)) is not None and child not in seen:
            seen.add(child)
            leaf = child
            hops += 1
        return ref.version + hops if hops else None

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


def _opt(value: object) -> str | None:
    return None if value is None else str(value)
