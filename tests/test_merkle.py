"""Merkle trees: every leaf proves, nothing else does (property-based)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledger_client import merkle
from verifier.leaves import LeafInput, LeafKind, data_root, field_hash, lookup_key

hashes = st.binary(min_size=32, max_size=32)
leaf_sets = st.lists(hashes, min_size=1, max_size=70, unique=True).map(sorted)


@given(leaf_sets)
def test_every_leaf_proves_against_the_root(leaves: list[bytes]) -> None:
    root = merkle.root(leaves)
    for i, leaf in enumerate(leaves):
        assert merkle.verify(merkle.proof(leaves, i), root, leaf)


@given(leaf_sets, hashes)
def test_a_foreign_leaf_does_not_prove(leaves: list[bytes], other: bytes) -> None:
    if other in leaves:
        return
    root = merkle.root(leaves)
    assert not any(merkle.verify(merkle.proof(leaves, i), root, other) for i in range(len(leaves)))


@given(leaf_sets, st.data())
def test_a_changed_proof_does_not_prove(leaves: list[bytes], data: st.DataObject) -> None:
    if len(leaves) < 2:
        return
    i = data.draw(st.integers(0, len(leaves) - 1))
    proof = merkle.proof(leaves, i)
    j = data.draw(st.integers(0, len(proof) - 1))
    bad = bytearray(proof[j])
    bad[data.draw(st.integers(0, 31))] ^= 1 << data.draw(st.integers(0, 7))
    proof[j] = bytes(bad)
    assert not merkle.verify(proof, merkle.root(leaves), leaves[i])


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=20), min_size=1))
def test_data_root_changes_when_any_field_changes(fields: dict[str, str]) -> None:
    salts = {k: bytes([n % 256]) * 16 for n, k in enumerate(fields)}
    root = data_root([field_hash(salts[k], k, v) for k, v in fields.items()])
    for k in fields:
        changed = dict(fields, **{k: fields[k] + "x"})
        assert data_root([field_hash(salts[f], f, v) for f, v in changed.items()]) != root


def test_leaf_binds_every_input() -> None:
    base = LeafInput(lookup_key("1.2.156.3005.2.BL01.X.0000001", 1), b"d" * 32, b"r" * 32)
    variants = [
        LeafInput(lookup_key("1.2.156.3005.2.BL01.X.0000001", 2), b"d" * 32, b"r" * 32),
        LeafInput(base.key, b"e" * 32, b"r" * 32),
        LeafInput(base.key, b"d" * 32, b"s" * 32),
        LeafInput(base.key, b"d" * 32, b"r" * 32, LeafKind.COPY),
        LeafInput(base.key, b"d" * 32, b"r" * 32, parent=b"p" * 32),
    ]
    assert len({v.leaf() for v in variants} | {base.leaf()}) == len(variants) + 1
