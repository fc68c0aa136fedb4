"""Merkle trees exactly as ``LicenceRegistry.merkleRoot`` builds them.

Adjacent pairs hash with sorted order (commutative keccak256), an odd last node is carried up
unchanged; proofs are lists of sibling hashes and verify with OpenZeppelin's ``MerkleProof``.
Leaves are anchored sorted ascending, so a batch's root depends only on its set of leaves.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_abi import encode
from eth_utils import keccak

from ledger_client.hashing import keccak256

KEY_BYTES = 16
"""A lookup key's length: a truncated hash. Lookups are always per agency (a leaf names its
agency), so 128 bits leave no practical collision, and the chain carries 16 bytes less of
dear calldata per licence (``bytes16`` in ``anchorBatch``)."""


def leaf_of(agency: bytes, key: bytes, body: bytes) -> bytes:
    """The leaf ``LicenceRegistry.leafOf`` computes: hashed twice over the anchoring agency's
    id, the lookup key and the document body, so a leaf names its agency by construction."""
    check_key(key)
    return keccak256(keccak256(encode(["bytes32", "bytes16", "bytes32"], [agency, key, body])))


def check_key(key: bytes) -> bytes:
    """``key`` if it has the length of a lookup key (what ``anchorBatch`` takes), else
    ValueError naming both lengths."""
    if len(key) != KEY_BYTES:
        raise ValueError(f"a lookup key is {KEY_BYTES} bytes, got {len(key)}")
    return key


def agency_id(agency_code: str) -> bytes:
    """How the chain names an agency: keccak256 of its unified social credit code (18
    characters 0-9/A-Z, the only codes the directory accepts)."""
    if len(agency_code) != 18 or not all(
        c.isascii() and c.isalnum() and not c.islower() for c in agency_code
    ):
        raise ValueError(
            f"an agency code is 18 characters 0-9 or A-Z (a unified social credit code), "
            f"got {agency_code!r}"
        )
    return keccak(agency_code.encode("ascii"))


def hash_pair(a: bytes, b: bytes) -> bytes:
    """keccak256 of the two nodes in ascending order (OpenZeppelin ``commutativeKeccak256``)."""
    return keccak256(a + b) if a < b else keccak256(b + a)


def _check(leaves: Sequence[bytes]) -> None:
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    for leaf in leaves:
        if len(leaf) != 32:
            raise ValueError(f"leaves are 32-byte hashes; got {len(leaf)} bytes")


def layers(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """All layers of the tree, leaves first, root last."""
    _check(leaves)
    out = [list(leaves)]
    while len(out[-1]) > 1:
        cur = out[-1]
        nxt = [hash_pair(cur[i], cur[i + 1]) for i in range(0, len(cur) - 1, 2)]
        if len(cur) % 2:
            nxt.append(cur[-1])
        out.append(nxt)
    return out


def root(leaves: Sequence[bytes]) -> bytes:
    """The root the contract computes for ``leaves`` in this order."""
    return layers(leaves)[-1][0]


def proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Sibling hashes from leaf ``index`` up to the root."""
    all_layers = layers(leaves)
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf index {index} outside 0..{len(leaves) - 1}")
    path: list[bytes] = []
    for layer in all_layers[:-1]:
        sibling = index ^ 1
        if sibling < len(layer):
            path.append(layer[sibling])
        index //= 2
    return path


def verify(proof_: Sequence[bytes], root_: bytes, leaf: bytes) -> bool:
    """OpenZeppelin ``MerkleProof.verify``: fold the proof over the leaf and compare."""
    node = leaf
    for sibling in proof_:
        node = hash_pair(node, sibling)
    return node == root_


def sorted_unique(leaves: Sequence[bytes]) -> list[bytes]:
    """Leaves in the canonical order the contract accepts: ascending, without duplicates."""
    return sorted(set(leaves))
