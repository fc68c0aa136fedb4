"""Merkle trees: every leaf proves, nothing else does (property-based); a leaf binds its
agency and every input, and Python computes exactly the leaves the registry computes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3

from ledger_client import merkle
from ledger_client.connection import ChainConfig
from tests.chain_fixtures import REGION_A, Consortium, expect_revert, fresh_consortium
from verifier.leaves import LeafInput, LeafKind, data_root, field_hash, lookup_key

AGENCY = "913301001234567890"
OTHER_AGENCY = "913301001234567891"
CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # of unified social credit codes

hashes = st.binary(min_size=32, max_size=32)
keys = st.binary(min_size=16, max_size=16)
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
    ident = "1.2.156.3005.2.BL01.X.0000001"
    a = {"agency_code": AGENCY}
    base = LeafInput(lookup_key(ident, 1), b"d" * 32, b"r" * 32, **a)
    variants = [
        LeafInput(lookup_key(ident, 2), b"d" * 32, b"r" * 32, **a),
        LeafInput(lookup_key(ident, 1, claims=b"signed claims"), b"d" * 32, b"r" * 32, **a),
        LeafInput(lookup_key(ident, 1, LeafKind.COPY, 1), b"d" * 32, b"r" * 32, **a),
        LeafInput(base.key, b"e" * 32, b"r" * 32, **a),
        LeafInput(base.key, b"d" * 32, b"s" * 32, **a),
        LeafInput(base.key, b"d" * 32, b"r" * 32, LeafKind.COPY, **a),
        LeafInput(base.key, b"d" * 32, b"r" * 32, parent=b"p" * 32, **a),
        LeafInput(base.key, b"d" * 32, b"r" * 32, agency_code=OTHER_AGENCY),
    ]
    assert len({v.leaf() for v in variants} | {base.leaf()}) == len(variants) + 1
    # the agency changes the leaf only, never the key or the body it is computed from
    other = variants[-1]
    assert (other.key, other.body()) == (base.key, base.body())
    assert base.leaf() == merkle.leaf_of(merkle.agency_id(AGENCY), base.key, base.body())


@pytest.mark.parametrize(
    "code", ["", "91330100123456789", "9133010012345678901", "91330100123456789a", "９" * 18]
)
def test_leaf_input_needs_an_18_character_agency_code(code: str) -> None:
    with pytest.raises(ValueError, match="18 characters 0-9 or A-Z"):
        LeafInput(bytes(16), bytes(32), bytes(32), agency_code=code)


@pytest.fixture(scope="module")
def region_a(w3: Web3, chain_config: ChainConfig) -> Consortium:
    """One bootstrapped region: enough to ask the contracts and to anchor."""
    return fresh_consortium(w3, chain_config, (REGION_A,))


@settings(max_examples=60, deadline=None)
@given(hashes, keys, hashes, st.text(CODE_ALPHABET, min_size=18, max_size=18))
def test_python_leaf_of_matches_the_contract(
    region_a: Consortium, agency: bytes, key: bytes, body: bytes, code: str
) -> None:
    reg = region_a.registry()
    assert bytes(reg.contract.functions.leafOf(agency, key, body).call()) == merkle.leaf_of(
        agency, key, body
    )
    directory = region_a.directory().contract.functions
    assert bytes(directory.agencyId(code).call()) == merkle.agency_id(code)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(keys, hashes, hashes), min_size=1, max_size=12, unique=True))
def test_anchoring_computes_exactly_the_python_leaves(
    region_a: Consortium, docs: list[tuple[bytes, bytes, bytes]]
) -> None:
    """Documents as the issuer builds them (``LeafInput`` of the anchoring agency), sorted by
    their Python leaf, are accepted in that order and come back as exactly those leaves."""
    issuer = region_a.issuer(REGION_A)
    inputs = sorted(
        (LeafInput(k, d, r, agency_code=issuer.agency_code) for k, d, r in docs),
        key=LeafInput.leaf,
    )
    leaves = [i.leaf() for i in inputs]
    if len(set(leaves)) < len(leaves):  # two identical documents: one leaf
        return
    ev = issuer.registry.anchor([i.key for i in inputs], [i.body() for i in inputs])
    assert list(ev.leaves) == leaves and ev.root == merkle.root(leaves)
    assert ev.agency == merkle.agency_id(issuer.agency_code)
    # leaves of another agency are never what this agency's anchoring computes
    other = [
        LeafInput(i.key, i.document_digest, i.data_root, agency_code=OTHER_AGENCY) for i in inputs
    ]
    assert not {o.leaf() for o in other} & set(ev.leaves)
    if len(inputs) > 1:  # the reverse order is refused
        expect_revert(
            "LeavesNotSorted", issuer.registry.anchor, [i.key for i in reversed(inputs)],
            [i.body() for i in reversed(inputs)],
        )  # fmt: skip
