"""What is anchored for a licence document, computed the same way by issuer and verifier.

A leaf commits to one document: the agency that anchored it, its lookup key (licence
identifier, version and the QR claims the agency signed), and a body: the digest of the final
signed PDF bytes (SHA-256; SHA-256 and SM3 together for an ``sm`` region, see
``document_digest``), the data root of its face fields, its kind, and the leaf of the document
it derives from (the previous version, or the licence a copy was made of). The registry contract
computes the leaf itself from the caller's agency, key and body (``merkle.leaf_of``), so a leaf
found on-chain was anchored by the agency it names and by nobody else; and because the key
hashes the signed QR claims, a QR code whose claims were changed finds no leaf at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from cryptography import x509
from eth_abi import encode
from eth_utils import keccak

from ledger_client import merkle
from ledger_client.merkle import agency_id
from signing import sm2
from signing.sm2_certificates import suite_of_certificate
from signing.suites import INTL, SM, SUITES, CryptoSuite, CryptoSuiteError

ZERO = bytes(32)
_SM3_TAG = b"licledger.sm3\x00"


class LeafKind(IntEnum):
    """What kind of document a leaf commits to."""

    VERSION = 0
    COPY = 1  # use-specific copy (加注件)
    INSPECTION = 2  # annual inspection record (年检)
    APPROVAL = 3  # a joint-review approval
    CHECKED = 4  # grade B: checked against the original by window staff
    OPLOG = 5  # the head of a region's operation log


SUFFIX = {
    LeafKind.COPY: "C",
    LeafKind.INSPECTION: "I",
    LeafKind.APPROVAL: "A",
    LeafKind.CHECKED: "B",
}
"""Letter that names an attachment after its version's identifier: ``<identifier>/C001``."""


def attachment_identifier(version_identifier: str, kind: LeafKind, serial: int) -> str:
    return f"{version_identifier}/{SUFFIX[kind]}{serial:03d}"


def lookup_key(
    base_id: str,
    version: int,
    kind: LeafKind = LeafKind.VERSION,
    serial: int = 0,
    claims: bytes = b"",
) -> bytes:
    """The key a verifier derives from a QR code's signed ``claims`` message (documents that
    carry one) or from an identifier alone (records without a QR code): a keccak256 hash cut
    to ``merkle.KEY_BYTES``."""
    text = f"{base_id}#{version}#{int(kind)}#{serial}".encode()
    whole = keccak(b"licledger.key\x00" + text + (b"\x00" + claims if claims else b""))
    return whole[: merkle.KEY_BYTES]


def document_digest(pdf_bytes: bytes, suite: CryptoSuite = INTL) -> bytes:
    """The digest of the final signed bytes that is anchored: SHA-256 for an ``intl``
    document; for an ``sm`` one the SM3 digest is anchored beside it, as keccak256 of
    ``"licledger.sm3" || SHA-256 || SM3`` (32 bytes like the other, so the leaf's body, the
    contract and every stored leaf input keep their layout; a verifier recomputes both digests
    from the file, so a file must match in both to match at all)."""
    sha256 = hashlib.sha256(pdf_bytes).digest()
    if suite is not SM:
        return sha256
    return keccak(_SM3_TAG + sha256 + sm2.sm3(pdf_bytes))


def is_document_digest(pdf_bytes: bytes, digest: bytes) -> bool:
    """True when ``digest`` is the anchored digest of ``pdf_bytes`` in one of the suites (an
    auditor checking a stored file need not know which suite signed it)."""
    return any(document_digest(pdf_bytes, suite) == digest for suite in SUITES.values())


def signer_suite(signer: x509.Certificate | None) -> CryptoSuite:
    """The suite whose digest a signed document's leaf commits to: its signer's. An
    unreadable or mixed signer gives ``intl``; its signature check has failed already."""
    try:
        return suite_of_certificate(signer) if signer is not None else INTL
    except CryptoSuiteError:
        return INTL


def field_hash(salt: bytes, name: str, value: str) -> bytes:
    """Hash of one face field; the per-field salt stops guessing a value from its hash."""
    return keccak(b"licledger.field\x00" + salt + name.encode() + b"\x00" + value.encode())


def data_root(hashes: Sequence[bytes]) -> bytes:
    """Merkle root over the field hashes in ascending order."""
    return merkle.root(sorted(hashes))


def fields_root(fields: Mapping[str, str], salts: Mapping[str, bytes]) -> bytes:
    """Data root of ``fields``, each hashed with its salt from ``salts``."""
    return data_root([field_hash(salts[k], k, v) for k, v in fields.items()])


@dataclass(frozen=True)
class LeafInput:
    """What one leaf commits to; ``agency_code`` is the anchoring (= signing) agency."""

    key: bytes
    document_digest: bytes
    data_root: bytes
    kind: LeafKind = LeafKind.VERSION
    parent: bytes = ZERO
    agency_code: str = field(default="", kw_only=True)

    def __post_init__(self) -> None:
        agency_id(self.agency_code)  # refuses anything the directory would not accept
        merkle.check_key(self.key)

    @property
    def agency(self) -> bytes:
        return agency_id(self.agency_code)

    def body(self) -> bytes:
        """What the anchoring transaction carries beside the key."""
        return keccak(
            encode(
                ["bytes32", "bytes32", "uint8", "bytes32"],
                [self.document_digest, self.data_root, int(self.kind), self.parent],
            )
        )

    def leaf(self) -> bytes:
        return merkle.leaf_of(self.agency, self.key, self.body())
