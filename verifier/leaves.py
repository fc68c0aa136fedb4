"""What is anchored for a licence document, computed the same way by issuer and verifier.

A leaf commits to one document: its lookup key (licence identifier and version), the SHA-256
of the final signed PDF bytes, the data root of its face fields, its kind, and the leaf of the
document it derives from (the previous version, or the licence a copy was made of). Leaves are
hashed twice, as OpenZeppelin's StandardMerkleTree does, so a leaf can never be confused with
an inner node of a batch's Merkle tree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

from eth_abi import encode
from eth_utils import keccak

from ledger_client import merkle

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
    base_id: str, version: int, kind: LeafKind = LeafKind.VERSION, serial: int = 0
) -> bytes:
    """The key a verifier derives from an identifier alone (e.g. from a QR code)."""
    text = f"{base_id}#{version}#{int(kind)}#{serial}"
    return keccak(b"licledger.key\x00" + text.encode("utf-8"))


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
    key: bytes
    document_digest: bytes
    data_root: bytes
    kind: LeafKind = LeafKind.VERSION
    parent: bytes = ZERO

    def leaf(self) -> bytes:
        inner = keccak(
            encode(
                ["bytes32", "bytes32", "bytes32", "uint8", "bytes32"],
                [self.key, self.document_digest, self.data_root, int(self.kind), self.parent],
            )
        )
        return keccak(inner)
