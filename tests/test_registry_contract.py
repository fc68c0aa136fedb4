"""LicenceRegistry on a real anvil node: anchoring, status changes, roles, every revert path."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3

from ledger_client import merkle
from ledger_client.accounts import create_account
from ledger_client.connection import ChainConfig
from ledger_client.errors import ContractRevertError
from ledger_client.registry import LeafStatus, RegistryClient
from tests.chain_fixtures import fresh_registry, registry_as, sender_for

REGION_A = 330100
REGION_B = 440300


def leaves(n: int) -> list[bytes]:
    return merkle.sorted_unique([os.urandom(32) for _ in range(n)])


def keys_for(batch: list[bytes]) -> list[bytes]:
    return [Web3.keccak(b"key" + leaf) for leaf in batch]


def anchor(reg: RegistryClient, batch: list[bytes]):
    return reg.anchor(batch, keys_for(batch))


@pytest.fixture
def setup(w3: Web3, chain_config: ChainConfig):
    deployment, admin = fresh_registry(w3, chain_config)
    admin_reg = registry_as(w3, deployment, admin)
    issuer_a = sender_for(w3, chain_config)
    issuer_b = sender_for(w3, chain_config)
    admin_reg.register_issuer(issuer_a.address, REGION_A)
    admin_reg.register_issuer(issuer_b.address, REGION_B)
    return {
        "admin": admin_reg,
        "a": registry_as(w3, deployment, issuer_a),
        "b": registry_as(w3, deployment, issuer_b),
        "stranger": registry_as(w3, deployment, sender_for(w3, chain_config)),
    }


def expect_revert(name: str, fn, *args) -> ContractRevertError:
    with pytest.raises(ContractRevertError) as info:
        fn(*args)
    assert info.value.name == name, str(info.value)
    return info.value


def test_anchor_emits_leaves_and_root(setup) -> None:
    a: RegistryClient = setup["a"]
    batch = leaves(7)
    ev = anchor(a, batch)
    assert ev.leaves == tuple(batch)
    assert ev.keys == tuple(keys_for(batch))
    assert ev.root == merkle.root(batch)
    assert ev.region == REGION_A
    info = a.batch(ev.batch_id)
    assert info.root == ev.root and info.leaf_count == 7 and info.region == REGION_A
    assert info.timestamp == ev.timestamp > 0
    assert a.batch_id_of_root(ev.root) == ev.batch_id
    for i, leaf in enumerate(batch):
        assert a.is_anchored(leaf, ev.batch_id, merkle.proof(batch, i))
    assert not a.is_anchored(os.urandom(32), ev.batch_id, merkle.proof(batch, 0))
    assert not a.is_anchored(batch[0], ev.batch_id + 99, [])
    assert a.leaf_status(batch[0]).status is LeafStatus.ACTIVE


def test_anchor_reverts(setup) -> None:
    a: RegistryClient = setup["a"]
    expect_revert("EmptyBatch", anchor, a, [])
    batch = leaves(3)
    err = expect_revert("LeavesNotSorted", anchor, a, list(reversed(batch)))
    assert err.args_by_name["index"] == 1
    expect_revert("LeavesNotSorted", anchor, a, [batch[0], batch[0]])
    err = expect_revert("LengthMismatch", a.anchor, batch, keys_for(batch)[:2])
    assert err.args_by_name == {"leaves": 3, "keys": 2}
    anchor(a, batch)
    err = expect_revert("BatchAlreadyAnchored", anchor, a, batch)
    assert err.args_by_name["root"] == merkle.root(batch)
    expect_revert("BatchTooLarge", anchor, a, leaves(1025))
    expect_revert("AccessControlUnauthorizedAccount", anchor, setup["stranger"], leaves(2))


def test_status_changes_and_transitions(setup) -> None:
    a: RegistryClient = setup["a"]
    batch = leaves(5)
    ev = anchor(a, batch)
    leaf, prf = batch[2], merkle.proof(batch, 2)
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
    other = batch[0]
    expect_revert(
        "InvalidTransition",
        a.change_status,
        other,
        ev.batch_id,
        merkle.proof(batch, 0),
        LeafStatus.SUPERSEDED,
        1,
    )


def test_status_change_reverts(setup) -> None:
    a: RegistryClient = setup["a"]
    batch = leaves(4)
    ev = anchor(a, batch)
    prf = merkle.proof(batch, 1)
    expect_revert(
        "UnknownBatch", a.change_status, batch[1], ev.batch_id + 5, prf, LeafStatus.REVOKED, 1
    )
    expect_revert(
        "NotInBatch", a.change_status, os.urandom(32), ev.batch_id, prf, LeafStatus.REVOKED, 1
    )
    err = expect_revert(
        "WrongRegion", setup["b"].change_status, batch[1], ev.batch_id, prf, LeafStatus.REVOKED, 1
    )
    assert err.args_by_name == {"callerRegion": REGION_B, "leafRegion": REGION_A}
    expect_revert(
        "AccessControlUnauthorizedAccount",
        setup["stranger"].change_status,
        batch[1],
        ev.batch_id,
        prf,
        LeafStatus.REVOKED,
        1,
    )
    assert a.leaf_status(batch[1]).status is LeafStatus.ACTIVE


def test_constructor_refuses_zero_admin(w3: Web3, chain_config: ChainConfig) -> None:
    from ledger_client.artifacts import load_artifact
    from ledger_client.registry import REGISTRY

    art = load_artifact(REGISTRY)
    sender = sender_for(w3, chain_config)
    with pytest.raises(ContractRevertError) as info:
        sender.prepare_deploy(art.abi, art.bytecode, "0x0000000000000000000000000000000000000000")
    assert info.value.name == "ZeroAddress"


def test_issuer_registration_roles(setup) -> None:
    admin: RegistryClient = setup["admin"]
    account = create_account().address
    expect_revert("InvalidRegion", admin.register_issuer, account, 0)
    expect_revert(
        "ZeroAddress", admin.register_issuer, "0x0000000000000000000000000000000000000000", 1
    )
    admin.register_issuer(account, REGION_A)
    assert admin.issuer_region(account) == REGION_A
    expect_revert("IssuerAlreadyRegistered", admin.register_issuer, account, REGION_B)
    expect_revert(
        "AccessControlUnauthorizedAccount", setup["a"].register_issuer, create_account().address, 1
    )
    fn = admin.contract.functions.removeIssuer(account)
    assert admin.sender is not None
    admin.sender.transact(fn)
    assert admin.issuer_region(account) == 0
    with pytest.raises(ContractRevertError) as info:
        admin.sender.transact(admin.contract.functions.removeIssuer(account))
    assert info.value.name == "NotAnIssuer"


def test_removed_issuer_cannot_anchor(setup, w3: Web3, chain_config: ChainConfig) -> None:
    admin: RegistryClient = setup["admin"]
    a: RegistryClient = setup["a"]
    assert admin.sender is not None and a.sender is not None
    admin.sender.transact(admin.contract.functions.removeIssuer(a.sender.address))
    expect_revert("AccessControlUnauthorizedAccount", anchor, a, leaves(2))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=40, unique=True))
def test_python_root_matches_contract(setup, raw: list[bytes]) -> None:
    batch = sorted(raw)
    a: RegistryClient = setup["a"]
    assert a.contract.functions.merkleRoot(batch).call() == merkle.root(batch)


def member(batch: list[bytes], i: int, batch_id: int):
    from ledger_client.registry import Member

    return Member(batch[i], batch_id, tuple(merkle.proof(batch, i)))


def test_supersede_links_versions_and_enforces_rules(setup) -> None:
    a: RegistryClient = setup["a"]
    batch = leaves(6)
    ev = anchor(a, batch)
    old, new = member(batch, 0, ev.batch_id), member(batch, 1, ev.batch_id)
    linked = a.supersede(old, new, 7)
    assert (linked.leaf, linked.child) == (old.leaf, new.leaf)
    assert a.leaf_status(old.leaf).status is LeafStatus.SUPERSEDED
    assert a.successor_of(old.leaf) == new.leaf
    assert a.successor_of(new.leaf) is None
    err = expect_revert("SuccessorAlreadySet", a.supersede, old, member(batch, 2, ev.batch_id), 7)
    assert err.args_by_name["child"] == new.leaf
    expect_revert("SelfSuccession", a.supersede, new, new, 7)
    # a lost licence keeps its status but points at the re-issued version
    lost = member(batch, 3, ev.batch_id)
    a.change_status(lost.leaf, lost.batch_id, list(lost.proof), LeafStatus.REPORTED_LOST, 4)
    a.supersede(lost, member(batch, 4, ev.batch_id), 4)
    assert a.leaf_status(lost.leaf).status is LeafStatus.REPORTED_LOST
    assert a.successor_of(lost.leaf) == batch[4]
    # a cancelled licence cannot be amended
    gone = member(batch, 5, ev.batch_id)
    a.change_status(gone.leaf, gone.batch_id, list(gone.proof), LeafStatus.CANCELLED, 2)
    expect_revert("InvalidTransition", a.supersede, gone, new, 7)


def test_supersede_across_regions_is_refused(setup) -> None:
    a: RegistryClient = setup["a"]
    b: RegistryClient = setup["b"]
    batch_a, batch_b = leaves(2), leaves(2)
    ev_a, ev_b = anchor(a, batch_a), anchor(b, batch_b)
    expect_revert(
        "WrongRegion",
        a.supersede,
        member(batch_a, 0, ev_a.batch_id),
        member(batch_b, 0, ev_b.batch_id),
        1,
    )
    expect_revert(
        "WrongRegion",
        b.supersede,
        member(batch_a, 0, ev_a.batch_id),
        member(batch_b, 0, ev_b.batch_id),
        1,
    )
    bad = member(batch_a, 1, ev_a.batch_id)
    from ledger_client.registry import Member

    expect_revert(
        "NotInBatch", a.supersede, Member(os.urandom(32), ev_a.batch_id, bad.proof), bad, 1
    )
