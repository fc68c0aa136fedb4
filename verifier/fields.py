"""Checking one face field against the chain without seeing any other field.

A field proof carries the field's salt, its value, the Merkle path from its salted hash to the
version's data root, the other inputs of the version's leaf, and the leaf's path to an
anchored batch root. Anyone with the chain index can check it; nothing else is revealed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger_client import merkle
from ledger_client.index import ChainIndex
from ledger_client.registry import LeafStatus
from verifier.errors import VerificationError
from verifier.leaves import LeafInput, LeafKind, field_hash
from verifier.verdicts import Check


def _hex(data: bytes) -> str:
    return data.hex()


def build_field_proof(
    licence_id: str,
    name: str,
    value: str,
    salt: bytes,
    field_hashes: list[bytes],
    leaf: LeafInput,
    batch_id: int,
    leaf_proof: list[bytes],
) -> dict[str, Any]:
    """The portable proof that field ``name`` of a version equals ``value``."""
    ordered = sorted(field_hashes)
    own = field_hash(salt, name, value)
    return {
        "licence_id": licence_id,
        "field": name,
        "value": value,
        "salt": _hex(salt),
        "field_proof": [_hex(p) for p in merkle.proof(ordered, ordered.index(own))],
        "data_root": _hex(leaf.data_root),
        "key": _hex(leaf.key),
        "document_digest": _hex(leaf.document_digest),
        "kind": int(leaf.kind),
        "parent": _hex(leaf.parent),
        "agency_code": leaf.agency_code,
        "batch_id": batch_id,
        "leaf_proof": [_hex(p) for p in leaf_proof],
    }


@dataclass(frozen=True)
class FieldProofResult:
    ok: bool
    checks: list[Check]


def check_field_proof(proof: dict[str, Any], index: ChainIndex) -> FieldProofResult:
    """Check a field proof against the chain index: field → data root → leaf → batch root."""
    try:
        salt = bytes.fromhex(proof["salt"])
        own = field_hash(salt, str(proof["field"]), str(proof["value"]))
        root = bytes.fromhex(proof["data_root"])
        path = [bytes.fromhex(p) for p in proof["field_proof"]]
        leaf = LeafInput(
            key=bytes.fromhex(proof["key"]),
            document_digest=bytes.fromhex(proof["document_digest"]),
            data_root=root,
            kind=LeafKind(int(proof["kind"])),
            parent=bytes.fromhex(proof["parent"]),
            agency_code=str(proof["agency_code"]),
        ).leaf()
        leaf_path = [bytes.fromhex(p) for p in proof["leaf_proof"]]
        batch_id = int(proof["batch_id"])
    except (KeyError, ValueError, TypeError) as exc:
        raise VerificationError(f"field proof is malformed ({exc})") from exc
    checks = [
        Check(
            "field",
            merkle.verify(path, root, own),
            "the salted field hash is in the version's data root",
        )
    ]
    record = index.find_leaf(leaf)
    anchored = (
        record is not None
        and record.batch_id == batch_id
        and merkle.verify(leaf_path, record.root, leaf)
    )
    checks.append(
        Check(
            "anchor",
            anchored,
            f"version leaf anchored in batch {batch_id}"
            if anchored
            else "version leaf is not anchored",
        )
    )
    status = index.status_at(leaf)
    current = status.status if status else LeafStatus.ACTIVE
    successor = index.successor(leaf)
    checks.append(
        Check(
            "status",
            current is LeafStatus.ACTIVE and successor is None,
            "current and active"
            if current is LeafStatus.ACTIVE and successor is None
            else f"the version is {current.name.lower()}",
        )
    )
    return FieldProofResult(all(c.ok for c in checks), checks)
