"""What is anchored for a licence document, computed the same way by issuer and verifier.

A leaf commits to one document: the agency that anchored it, its lookup key (licence
identifier, version and the QR claims the agency signed), and a body: the SHA-256 of the final
signed PDF bytes, the data root of its face fields, its kind, and the leaf of the document it
derives from (the previous version, or the licence a copy was made of). The registry contract
computes the leaf itself from the caller's agency, key and body (``merkle.leaf_of``), so a leaf
found on-chain was anchored by the agency it names and by nobody else; and because the key
hashes the signed QR claims, a QR code whose claims were changed finds no leaf at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from eth_abi import encode
from eth_utils import keccak

from ledger_client import merkle
from ledger_client.merkle import agency_id

ZERO = bytes(32)


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


def document_digest(pdf_bytes: bytes) -> bytes:
    """SHA-256 of the final signed bytes: the digest that is anchored."""
    return hashlib.sha256(pdf_bytes).digest()


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
