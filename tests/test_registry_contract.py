"""LicenceRegistry on a real anvil node: anchoring (leaves computed on-chain per agency),
status changes, who may write (only what the directory names, at call time), every revert."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3
from web3.exceptions import ContractCustomError

from ledger_client import merkle
from ledger_client.artifacts import load_artifact
from ledger_client.connection import ChainConfig
from ledger_client.directory import Action, AgencyAccount
from ledger_client.errors import ContractRevertError
from ledger_client.registry import REGISTRY, LeafStatus, Member, RegistryClient
from tests.chain_fixtures import (
    REGION_A,
    REGION_B,
    Consortium,
    Docs,
    agency_code,
    docs_for,
    expect_revert,
    fresh_consortium,
    random_docs,
    sender_for,
)

REGION_C = 510100
ZERO = "0x0000000000000000000000000000000000000000"


@pytest.fixture
def c(w3: Web3, chain_config: ChainConfig) -> Consortium:
    """Region A (bootstrapped) and region B (added by proposal), one agency account each."""
    return fresh_consortium(w3, chain_config)


def member(docs: Docs, i: int, batch_id: int) -> Member:
    return Member(docs.leaves[i], batch_id, tuple(merkle.proof(docs.leaves, i)))


def test_anchor_emits_leaves_and_root(c: Consortium) -> None:
    a = c.issuer(REGION_A)
    docs, ev = a.anchor_random(7)
    assert ev.leaves == tuple(docs.leaves)  # the contract computed the leaves Python predicts
    assert ev.keys == tuple(docs.keys)
    assert ev.root == merkle.root(docs.leaves)
    assert (ev.region, ev.agency, ev.submitter) == (REGION_A, a.agency, a.address)
    assert ev.leaf_count == 7 and ev.problem is None
    info = a.registry.batch_of_root(ev.root)
    assert info.batch_id == ev.batch_id and info.leaf_count == 7 and info.region == REGION_A
    assert info.timestamp == ev.timestamp > 0
    expect_revert("UnknownRoot", a.registry.batch_of_root, os.urandom(32))
    by_id = a.registry.batch(ev.batch_id)  # from the batch's event
    assert (by_id.root, by_id.block_number) == (ev.root, ev.tx.block_number)
    assert by_id == info
    expect_revert("UnknownBatch", a.registry.batch, ev.batch_id + 99)
    assert a.registry.batch_id_of_root(ev.root) == ev.batch_id
    for i, leaf in enumerate(docs.leaves):
        assert a.registry.is_anchored(leaf, ev.batch_id, merkle.proof(docs.leaves, i))
    assert not a.registry.is_anchored(os.urandom(32), ev.batch_id, merkle.proof(docs.leaves, 0))
    assert not a.registry.is_anchored(docs.leaves[0], ev.batch_id + 99, [])
    assert a.registry.leaf_status(docs.leaves[0]).status is LeafStatus.ACTIVE


def test_anchor_reverts(c: Consortium) -> None:
    a = c.issuer(REGION_A)
    reg = a.registry
    expect_revert("EmptyBatch", reg.anchor, [], [])
    docs = random_docs(a.agency, 3)
    err = expect_revert(
        "LeavesNotSorted", reg.anchor, list(reversed(docs.keys)), list(reversed(docs.bodies))
    )
    assert err.args_by_name["index"] == 1
    twice = [docs.keys[0]] * 2, [docs.bodies[0]] * 2  # the same leaf twice
    expect_revert("LeavesNotSorted", reg.anchor, *twice)
    err = expect_revert("LengthMismatch", reg.anchor, docs.keys, docs.bodies[:2])
    assert err.args_by_name == {"expected": 3, "actual": 2}
    reg.anchor(docs.keys, docs.bodies)
    err = expect_revert("BatchAlreadyAnchored", reg.anchor, docs.keys, docs.bodies)
    assert err.args_by_name["root"] == merkle.root(docs.leaves)
    big = random_docs(a.agency, 1025)
    expect_revert("BatchTooLarge", reg.anchor, big.keys, big.bodies)
    assert reg.batch_count() == 1


def test_a_key_with_dirty_padding_is_refused(c: Consortium, w3: Web3) -> None:
    """A key is ``bytes16``: its calldata word's low 16 bytes are padding. Were they hashed
    unchecked, a sender could anchor leaves no decoder of the calldata reproduces (eth_abi
    refuses such padding), so the registry refuses the batch instead."""
    a = c.issuer(REGION_A)
    docs = random_docs(a.agency, 3)
    call = a.registry.contract.encode_abi("anchorBatch", [docs.keys, docs.bodies])
    data = bytearray(bytes.fromhex(call.removeprefix("0x")))
    first_key = data.index(docs.keys[1])
    data[first_key + 31] ^= 0x01  # the last padding byte of the second key's word
    with pytest.raises(ContractCustomError) as info:
        w3.eth.call({"from": a.address, "to": a.registry.address, "data": bytes(data)})
    selector = Web3.keccak(text="KeyPaddingNotZero()")[:4].hex()
    assert selector in str(info.value.data), info.value.data
    a.registry.anchor(docs.keys, docs.bodies)  # the same documents, cleanly encoded


def test_documents_sorted_by_key_not_by_leaf_are_refused(c: Consortium) -> None:
    """The order that counts is the computed leaves': a client sorting its documents by key
    (or by anything else) is refused at the first leaf out of order."""
    a = c.issuer(REGION_A)
    while True:
        pairs = sorted((os.urandom(16), os.urandom(32)) for _ in range(6))
        leaves = [merkle.leaf_of(a.agency, k, b) for k, b in pairs]
        breaks = [i for i in range(1, 6) if leaves[i] <= leaves[i - 1]]
        if breaks:
            break
    keys, bodies = [k for k, _ in pairs], [b for _, b in pairs]
    err = expect_revert("LeavesNotSorted", a.registry.anchor, keys, bodies)
    assert err.args_by_name["index"] == breaks[0]
    assert a.registry.batch_count() == 0
    ordered = docs_for(a.agency, pairs)
    assert list(a.registry.anchor(ordered.keys, ordered.bodies).leaves) == sorted(leaves)


def test_non_member_cannot_anchor_or_change_status(c: Consortium) -> None:
    a = c.issuer(REGION_A)
    docs, ev = a.anchor_random(2)
    stranger = c.registry(c.sender())
    assert stranger.sender is not None
    err = expect_revert("NotAnIssuer", stranger.anchor, docs.keys, docs.bodies)
    assert Web3.to_checksum_address(err.args_by_name["account"]) == stranger.sender.address
    prf = merkle.proof(docs.leaves, 0)
    expect_revert(
        "NotAnIssuer", stranger.change_status, docs.leaves[0], ev.batch_id, prf,
        LeafStatus.REVOKED, 1,
    )  # fmt: skip
    assert stranger.issuer_of(stranger.sender.address) == (0, bytes(32))
    assert a.registry.leaf_status(docs.leaves[0]).status is LeafStatus.ACTIVE


def test_status_changes_and_transitions(c: Consortium) -> None:
    a = c.issuer(REGION_A).registry
    docs, ev = c.issuer(REGION_A).anchor_random(5)
    leaf, prf = docs.leaves[2], merkle.proof(docs.leaves, 2)
    changed = a.change_status(leaf, ev.batch_id, prf, LeafStatus.SUSPENDED, 11)
    assert (changed.from_status, changed.to_status, changed.reason) == (
        LeafStatus.ACTIVE,
        LeafStatus.SUSPENDED,
        11,
    )
    a.change_status(leaf, ev.batch_id, prf, LeafStatus.ACTIVE, 12)
    revoked = a.change_status(leaf, ev.batch_id, prf, LeafStatus.REVOKED, 3)
    state = a.leaf_status(leaf)
    assert state.status is LeafStatus.REVOKED and state.reason == 3
    assert state.since == revoked.timestamp
    for to in LeafStatus:
        expect_revert("InvalidTransition", a.change_status, leaf, ev.batch_id, prf, to, 1)
    expect_revert(
        "InvalidTransition", a.change_status, docs.leaves[0], ev.batch_id,
        merkle.proof(docs.leaves, 0), LeafStatus.SUPERSEDED, 1,
    )  # fmt: skip


def test_status_change_reverts(c: Consortium) -> None:
    a = c.issuer(REGION_A).registry
    docs, ev = c.issuer(REGION_A).anchor_random(4)
    leaf, prf = docs.leaves[1], merkle.proof(docs.leaves, 1)
    expect_revert(
        "UnknownBatch", a.change_status, leaf, ev.batch_id + 5, prf, LeafStatus.REVOKED, 1
    )
    expect_revert(
        "NotInBatch", a.change_status, os.urandom(32), ev.batch_id, prf, LeafStatus.REVOKED, 1
    )
    b = c.issuer(REGION_B).registry
    err = expect_revert(
        "WrongRegion", b.change_status, leaf, ev.batch_id, prf, LeafStatus.REVOKED, 1
    )
    assert err.args_by_name == {"callerRegion": REGION_B, "leafRegion": REGION_A}
    assert a.leaf_status(leaf).status is LeafStatus.ACTIVE


def test_same_document_of_two_agencies_makes_two_leaves(c: Consortium) -> None:
    """A leaf names its agency: the same (key, body) anchored by another agency, of another
    region or of the same one, is another leaf, and one agency's batch proves nothing about
    the other's leaf."""
    a, b = c.issuer(REGION_A), c.issuer(REGION_B)
    a2 = c.add_account(REGION_A, agency_code(REGION_A, 2))
    key, body = os.urandom(16), os.urandom(32)
    evs = {i.agency_code: i.registry.anchor([key], [body]) for i in (a, b, a2)}
    leaves = {code: ev.leaves[0] for code, ev in evs.items()}
    assert len(set(leaves.values())) == 3  # no BatchAlreadyAnchored: three different roots
    for i in (a, b, a2):
        ev = evs[i.agency_code]
        assert ev.agency == i.agency and ev.keys == (key,)
        on_chain = a.registry.contract.functions.leafOf(i.agency, key, body).call()
        assert bytes(on_chain) == ev.leaves[0] == merkle.leaf_of(i.agency, key, body)
    leaf_a, batch_a = leaves[a.agency_code], evs[a.agency_code].batch_id
    batch_b = evs[b.agency_code].batch_id
    # B cannot touch A's leaf, neither through B's own batch nor through A's
    err = expect_revert(
        "NotInBatch", b.registry.change_status, leaf_a, batch_b, [], LeafStatus.REVOKED, 1
    )
    assert err.args_by_name == {"leaf": leaf_a, "batchId": batch_b}
    expect_revert(
        "WrongRegion", b.registry.change_status, leaf_a, batch_a, [], LeafStatus.REVOKED, 1
    )
    # nor can A claim B's batch for its own leaf
    expect_revert(
        "NotInBatch", a.registry.change_status, leaf_a, batch_b, [], LeafStatus.REVOKED, 1
    )
    assert a.registry.leaf_status(leaf_a).status is LeafStatus.ACTIVE
    a.registry.change_status(leaf_a, batch_a, [], LeafStatus.SUSPENDED, 1)
    assert a.registry.leaf_status(leaves[b.agency_code]).status is LeafStatus.ACTIVE


def test_constructor_refuses_zero_directory(w3: Web3, chain_config: ChainConfig) -> None:
    art = load_artifact(REGISTRY)
    sender = sender_for(w3, chain_config)
    with pytest.raises(ContractRevertError) as info:
        sender.prepare_deploy(art.abi, art.bytecode, ZERO)
    assert info.value.name == "ZeroAddress"


def test_deployer_keeps_no_power_and_the_directory_names_issuers(c: Consortium) -> None:
    """No admin: the registry has no function that grants or removes issuers, the deployer
    cannot anchor, propose or bootstrap again, and who issues is what the directory says."""
    names = {i.get("name") for i in load_artifact(REGISTRY).abi}
    for gone in ("registerIssuer", "removeIssuer", "issuerRegion", "grantRole", "hasRole"):
        assert gone not in names
    reg = c.registry(c.deployer)
    assert reg.directory_address() == c.deployment.directory
    assert reg.issuer_of(c.deployer.address) == (0, bytes(32))
    docs = random_docs(merkle.agency_id(agency_code(REGION_A)), 1)
    expect_revert("NotAnIssuer", reg.anchor, docs.keys, docs.bodies)
    expect_revert(
        "NotAMember", c.directory(c.deployer).propose, Action.ADD_ACCOUNT, REGION_A,
        account=c.deployer.address, agency_code=agency_code(REGION_A, 9),
    )  # fmt: skip
    expect_revert(
        "AlreadyBootstrapped", c.directory(c.deployer).bootstrap, REGION_C, "C",
        [AgencyAccount(c.deployer.address, agency_code(REGION_C))],
    )  # fmt: skip
    for i in (c.issuer(REGION_A), c.issuer(REGION_B)):
        assert (
            reg.issuer_of(i.address) == (i.region, i.agency) == c.directory().issuer_of(i.address)
        )


def test_removed_account_cannot_anchor_but_its_region_keeps_its_leaves(c: Consortium) -> None:
    a = c.issuer(REGION_A)
    a2 = c.add_account(REGION_A, agency_code(REGION_A, 2))
    docs, ev = a.anchor_random(2)
    a2.directory.propose(Action.REMOVE_ACCOUNT, REGION_A, account=a.address)
    assert a.registry.issuer_of(a.address) == (0, bytes(32))
    fresh = random_docs(a.agency, 2)
    expect_revert("NotAnIssuer", a.registry.anchor, fresh.keys, fresh.bodies)
    prf = merkle.proof(docs.leaves, 0)
    expect_revert(
        "NotAnIssuer", a.registry.change_status, docs.leaves[0], ev.batch_id, prf,
        LeafStatus.REVOKED, 1,
    )  # fmt: skip
    # the region still answers for what its removed account anchored
    a2.registry.change_status(docs.leaves[0], ev.batch_id, prf, LeafStatus.REVOKED, 1)
    assert a2.registry.leaf_status(docs.leaves[0]).status is LeafStatus.REVOKED


def test_region_removed_by_m_of_n_can_no_longer_write(w3: Web3, chain_config: ChainConfig) -> None:
    c = fresh_consortium(w3, chain_config, (REGION_A, REGION_B, REGION_C), threshold=2)
    b = c.issuer(REGION_B)
    docs, ev = b.anchor_random(3)
    prf = merkle.proof(docs.leaves, 1)
    b.registry.change_status(docs.leaves[1], ev.batch_id, prf, LeafStatus.SUSPENDED, 1)
    pid = c.issuer(REGION_A).directory.propose(Action.REMOVE_REGION, REGION_B)
    assert not c.directory().proposal(pid).executed  # one approval of the two needed
    fresh = random_docs(b.agency, 2)
    b.registry.anchor(fresh.keys, fresh.bodies)  # B still anchors until the decision
    assert c.issuer(REGION_C).directory.approve(pid).executed
    assert b.registry.issuer_of(b.address) == (0, bytes(32))
    again = random_docs(b.agency, 2)
    expect_revert("NotAnIssuer", b.registry.anchor, again.keys, again.bodies)
    for to in (LeafStatus.ACTIVE, LeafStatus.REVOKED):
        expect_revert(
            "NotAnIssuer", b.registry.change_status, docs.leaves[1], ev.batch_id, prf, to, 1
        )
    expect_revert(
        "NotAnIssuer", b.registry.supersede, member(docs, 0, ev.batch_id),
        member(docs, 2, ev.batch_id), 1,
    )  # fmt: skip
    # what B anchored while it was a member stays anchored, in the status it left it
    assert b.registry.is_anchored(docs.leaves[1], ev.batch_id, prf)
    assert b.registry.leaf_status(docs.leaves[1]).status is LeafStatus.SUSPENDED


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=40, unique=True))
def test_python_root_matches_contract(c: Consortium, raw: list[bytes]) -> None:
    batch = sorted(raw)
    reg: RegistryClient = c.registry()
    assert reg.contract.functions.merkleRoot(batch).call() == merkle.root(batch)


def test_supersede_links_versions_and_enforces_rules(c: Consortium) -> None:
    a = c.issuer(REGION_A).registry
    docs, ev = c.issuer(REGION_A).anchor_random(6)
    old, new = member(docs, 0, ev.batch_id), member(docs, 1, ev.batch_id)
    linked = a.supersede(old, new, 7)
    assert (linked.leaf, linked.child) == (old.leaf, new.leaf)
    assert a.leaf_status(old.leaf).status is LeafStatus.SUPERSEDED
    assert a.successor_of(old.leaf) == new.leaf
    assert a.successor_of(new.leaf) is None
    err = expect_revert("SuccessorAlreadySet", a.supersede, old, member(docs, 2, ev.batch_id), 7)
    assert err.args_by_name["child"] == new.leaf
    expect_revert("SelfSuccession", a.supersede, new, new, 7)
    # a lost licence keeps its status but points at the re-issued version
    lost = member(docs, 3, ev.batch_id)
    a.change_status(lost.leaf, lost.batch_id, list(lost.proof), LeafStatus.REPORTED_LOST, 4)
    a.supersede(lost, member(docs, 4, ev.batch_id), 4)
    assert a.leaf_status(lost.leaf).status is LeafStatus.REPORTED_LOST
    assert a.successor_of(lost.leaf) == docs.leaves[4]
    # a cancelled licence cannot be amended
    gone = member(docs, 5, ev.batch_id)
    a.change_status(gone.leaf, gone.batch_id, list(gone.proof), LeafStatus.CANCELLED, 2)
    expect_revert("InvalidTransition", a.supersede, gone, new, 7)


def test_supersede_across_regions_is_refused(c: Consortium) -> None:
    a, b = c.issuer(REGION_A), c.issuer(REGION_B)
    docs_a, ev_a = a.anchor_random(2)
    docs_b, ev_b = b.anchor_random(2)
    of_a, of_b = member(docs_a, 0, ev_a.batch_id), member(docs_b, 0, ev_b.batch_id)
    expect_revert("WrongRegion", a.registry.supersede, of_a, of_b, 1)
    expect_revert("WrongRegion", b.registry.supersede, of_a, of_b, 1)
    bad = member(docs_a, 1, ev_a.batch_id)
    expect_revert(
        "NotInBatch", a.registry.supersede, Member(os.urandom(32), ev_a.batch_id, bad.proof),
        bad, 1,
    )  # fmt: skip
    assert a.registry.successor_of(of_a.leaf) is None
