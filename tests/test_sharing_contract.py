"""SharingLedger on a real anvil node: consents, sharing requests (review, metered use) and
releases between member regions, as hashes only; every refusal (no consent or approval,
withdrawn, refused, expired, past the cap, wrong region, leaf or purpose, duplicate,
non-member)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from web3 import Web3

from ledger_client.artifacts import load_artifact
from ledger_client.connection import ChainConfig
from ledger_client.deployment import SHARING, Deployment
from ledger_client.directory import Action, DirectoryClient
from ledger_client.sharing import ANY_LEAF, RequestState, SharingClient
from ledger_client.transactions import TransactionSender
from tests.chain_fixtures import REGION_A, REGION_B, expect_revert, fresh_consortium, sender_for

REGION_C = 510100
HOUR = 3600


def h() -> bytes:
    return os.urandom(32)


@dataclass
class Members:
    w3: Web3
    deployment: Deployment
    a: SharingClient
    b: SharingClient
    c: SharingClient
    stranger: SharingClient
    directory_a: DirectoryClient

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])


@pytest.fixture
def members(w3: Web3, chain_config: ChainConfig) -> Members:
    """Regions A, B and C (M=1, so each addition executes at once), one account each."""
    c = fresh_consortium(w3, chain_config, (REGION_A, REGION_B, REGION_C))

    def client(s: TransactionSender) -> SharingClient:
        return SharingClient(w3, c.deployment.sharing, s)

    a, b, cc = (c.issuer(r).sender for r in (REGION_A, REGION_B, REGION_C))
    return Members(
        w3, c.deployment, client(a), client(b), client(cc), client(c.sender()),
        c.issuer(REGION_A).directory,
    )  # fmt: skip


def test_consent_then_release(members: Members) -> None:
    m = members
    consent, leaf, until = h(), h(), m.now() + HOUR
    recorded = m.a.record_consent(consent, leaf, REGION_B, until)
    assert (recorded.consent_hash, recorded.leaf, recorded.grantor_region) == (
        consent, leaf, REGION_A,
    )  # fmt: skip
    assert (recorded.grantee_region, recorded.valid_until) == (REGION_B, until)
    assert m.a.sender is not None and recorded.recorder == m.a.sender.address
    info = m.a.consent(consent)
    assert info is not None and info.recorded_at == recorded.timestamp and info.withdrawn_at == 0
    assert m.a.consent(h()) is None
    assert m.a.is_consent_valid(consent, info.recorded_at)
    assert m.a.is_consent_valid(consent, until)
    assert not m.a.is_consent_valid(consent, until + 1)
    assert not m.a.is_consent_valid(consent, info.recorded_at - 1)
    assert not m.a.is_consent_valid(h(), info.recorded_at)

    receipt, purpose = h(), h()
    released = m.a.record_release(receipt, leaf, REGION_B, purpose, consent)
    assert (released.from_region, released.to_region, released.consent_hash) == (
        REGION_A, REGION_B, consent,
    )  # fmt: skip
    rel = m.b.release(receipt)  # any region reads it
    assert rel is not None
    assert (rel.leaf, rel.purpose_hash, rel.recorded_at) == (leaf, purpose, released.timestamp)
    assert m.a.release(h()) is None
    # several releases may rely on one consent
    m.a.record_release(h(), leaf, REGION_B, h(), consent)

    events = SharingClient(m.w3, m.deployment.sharing).events_in_range(
        m.deployment.block_number, m.w3.eth.block_number
    )
    assert [e.consent_hash for e in events.consents] == [consent]
    assert events.releases[0].receipt_hash == receipt
    assert len(events.releases) == 2 and events.withdrawals == []
    assert events.releases[0] == released


def test_any_leaf_consent_covers_every_leaf(members: Members) -> None:
    m = members
    consent = h()
    m.a.record_consent(consent, ANY_LEAF, REGION_C, m.now() + HOUR)
    for _ in range(2):
        m.a.record_release(h(), h(), REGION_C, h(), consent)
    expect_revert("WrongGrantee", m.a.record_release, h(), h(), REGION_B, h(), consent)


def test_release_refusals(members: Members) -> None:
    m = members
    consent, leaf = h(), h()
    expect_revert("UnknownConsent", m.a.record_release, h(), leaf, REGION_B, h(), consent)
    m.a.record_consent(consent, leaf, REGION_B, m.now() + HOUR)
    err = expect_revert("WrongGrantee", m.a.record_release, h(), leaf, REGION_C, h(), consent)
    assert err.args_by_name == {
        "consentHash": consent, "granteeRegion": REGION_B, "toRegion": REGION_C,
    }  # fmt: skip
    other = h()
    err = expect_revert("WrongLeaf", m.a.record_release, h(), other, REGION_B, h(), consent)
    assert err.args_by_name["leaf"] == other
    # only the region holding the data (the grantor) releases under its consent
    err = expect_revert("NotGrantor", m.b.record_release, h(), leaf, REGION_B, h(), consent)
    assert err.args_by_name["grantorRegion"] == REGION_A
    expect_revert("NotAMember", m.stranger.record_release, h(), leaf, REGION_B, h(), consent)
    for args in (
        (bytes(32), leaf, REGION_B, h(), consent),
        (h(), bytes(32), REGION_B, h(), consent),
        (h(), leaf, REGION_B, bytes(32), consent),
    ):
        expect_revert("ZeroHash", m.a.record_release, *args)
    receipt = h()
    m.a.record_release(receipt, leaf, REGION_B, h(), consent)
    expect_revert(
        "ReleaseAlreadyRecorded", m.a.record_release, receipt, leaf, REGION_B, h(), consent
    )

    withdrawn = m.a.withdraw_consent(consent)
    assert withdrawn.grantor_region == REGION_A
    info = m.a.consent(consent)
    assert info is not None and info.withdrawn_at == withdrawn.timestamp
    assert not m.a.is_consent_valid(consent, withdrawn.timestamp)
    if withdrawn.timestamp > info.recorded_at:  # both may fall in the same second
        assert m.a.is_consent_valid(consent, withdrawn.timestamp - 1)
    err = expect_revert(
        "ConsentAlreadyWithdrawn", m.a.record_release, h(), leaf, REGION_B, h(), consent
    )
    assert err.args_by_name["withdrawnAt"] == withdrawn.timestamp
    assert m.a.release(receipt) is not None  # what was released before stays recorded


def test_release_after_expiry_is_refused(members: Members) -> None:
    m = members
    consent, leaf = h(), h()
    # chain time, not the wall clock: other tests of the session move anvil's clock forward
    until = m.now() + 20  # room for two transactions on a loaded machine
    m.a.record_consent(consent, leaf, REGION_B, until)
    m.a.record_release(h(), leaf, REGION_B, h(), consent)
    # test fixture only (anvil-specific): let chain time pass the expiry and mine a block, as
    # gas is estimated against the latest block
    m.w3.provider.make_request("evm_increaseTime", [21])  # type: ignore[arg-type]
    m.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    err = expect_revert("ConsentExpired", m.a.record_release, h(), leaf, REGION_B, h(), consent)
    assert err.args_by_name["validUntil"] == until
    assert not m.a.is_consent_valid(consent, m.now())


def test_consent_refusals(members: Members) -> None:
    m = members
    until = m.now() + HOUR
    consent = h()
    m.a.record_consent(consent, h(), REGION_B, until)
    expect_revert("ConsentAlreadyRecorded", m.a.record_consent, consent, h(), REGION_B, until)
    expect_revert("ConsentAlreadyRecorded", m.b.record_consent, consent, h(), REGION_C, until)
    expect_revert("ZeroHash", m.a.record_consent, bytes(32), h(), REGION_B, until)
    expect_revert("SameRegion", m.a.record_consent, h(), h(), REGION_A, until)
    expect_revert("RegionNotActive", m.a.record_consent, h(), h(), 999999, until)
    expect_revert("InvalidValidity", m.a.record_consent, h(), h(), REGION_B, m.now() - 1)
    expect_revert("NotAMember", m.stranger.record_consent, h(), h(), REGION_B, until)


def test_withdraw_refusals(members: Members) -> None:
    m = members
    consent = h()
    expect_revert("UnknownConsent", m.a.withdraw_consent, consent)
    m.a.record_consent(consent, h(), REGION_B, m.now() + HOUR)
    expect_revert("NotGrantor", m.b.withdraw_consent, consent)  # not even the grantee
    expect_revert("NotAMember", m.stranger.withdraw_consent, consent)
    m.a.withdraw_consent(consent)
    expect_revert("ConsentAlreadyWithdrawn", m.a.withdraw_consent, consent)
    events = m.a.events_in_range(m.deployment.block_number, m.w3.eth.block_number)
    assert [e.consent_hash for e in events.withdrawals] == [consent]


def test_removed_region_neither_writes_nor_receives(members: Members) -> None:
    m = members
    consent, leaf = h(), h()
    m.a.record_consent(consent, leaf, REGION_C, m.now() + HOUR)
    m.c.record_consent(h(), h(), REGION_A, m.now() + HOUR)
    m.directory_a.propose(Action.REMOVE_REGION, REGION_C)
    expect_revert("NotAMember", m.c.record_consent, h(), h(), REGION_A, m.now() + HOUR)
    expect_revert("RegionNotActive", m.a.record_release, h(), leaf, REGION_C, h(), consent)
    expect_revert("RegionNotActive", m.a.record_consent, h(), h(), REGION_C, m.now() + HOUR)


def test_constructor_refuses_zero_directory(members: Members, chain_config: ChainConfig) -> None:
    art = load_artifact(SHARING)
    sender = sender_for(members.w3, chain_config)
    zero = "0x0000000000000000000000000000000000000000"
    expect_revert("ZeroAddress", sender.prepare_deploy, art.abi, art.bytecode, zero)
    assert members.a.directory() == members.deployment.directory


# ------------------------------------------------------------------ sharing requests


def _requested(m: Members) -> tuple[bytes, bytes, bytes]:
    """A request of B for a leaf of A, recorded by A: (request, leaf, purpose) hashes."""
    request, leaf, purpose = h(), h(), h()
    step = m.a.record_request(request, leaf, REGION_B, purpose)
    assert (step.step, step.holder_region, step.requester_region) == (
        "requested", REGION_A, REGION_B,
    )  # fmt: skip
    return request, leaf, purpose


def test_request_approval_and_metered_releases(members: Members) -> None:
    m = members
    request, leaf, purpose = _requested(m)
    info = m.b.sharing_request(request)  # any region reads it
    assert info is not None and info.state is RequestState.PENDING and info.uses == 0
    assert m.a.sharing_request(h()) is None
    expect_revert("RequestNotApproved", m.a.record_approved_release,
                  h(), leaf, REGION_B, purpose, request)  # fmt: skip
    reviewer, until = h(), m.now() + HOUR
    step = m.a.approve_request(request, reviewer, until, 2)
    assert (step.step, step.reviewer_hash, step.valid_until, step.cap) == (
        "approved", reviewer, until, 2,
    )  # fmt: skip
    expect_revert("RequestNotPending", m.a.approve_request, request, reviewer, until, 0)
    expect_revert("RequestNotPending", m.a.refuse_request, request, reviewer, h())
    for n in (1, 2):
        receipt = h()
        release, used = m.a.record_approved_release(receipt, leaf, REGION_B, purpose, request)
        assert (release.consent_hash, used.step, used.uses, used.cap) == (request, "used", n, 2)
        assert m.a.release(receipt) is not None
    err = expect_revert("CapReached", m.a.record_approved_release,
                        h(), leaf, REGION_B, purpose, request)  # fmt: skip
    assert err.args_by_name["cap"] == 2
    info = m.a.sharing_request(request)
    assert info is not None and (info.state, info.uses) == (RequestState.APPROVED, 2)
    events = m.a.events_in_range(m.deployment.block_number, m.w3.eth.block_number)
    steps = [e.step for e in events.requests if e.request_hash == request]
    assert steps == ["requested", "approved", "used", "used"]


def test_request_refusals(members: Members) -> None:
    m = members
    request, leaf, purpose = _requested(m)
    expect_revert("RequestAlreadyRecorded", m.a.record_request, request, h(), REGION_B, h())
    expect_revert("SameRegion", m.a.record_request, h(), h(), REGION_A, h())
    expect_revert("RegionNotActive", m.a.record_request, h(), h(), 999999, h())
    expect_revert("ZeroHash", m.a.record_request, h(), bytes(32), REGION_B, h())
    expect_revert("NotAMember", m.stranger.record_request, h(), h(), REGION_B, h())
    # only the holding region reviews, not the requester nor a third region
    for other in (m.b, m.c):
        err = expect_revert("NotHolderRegion", other.approve_request, request, h(), m.now() + HOUR)
        assert err.args_by_name["holderRegion"] == REGION_A
    expect_revert("UnknownRequest", m.a.approve_request, h(), h(), m.now() + HOUR)
    expect_revert("ZeroHash", m.a.approve_request, request, bytes(32), m.now() + HOUR)
    expect_revert("InvalidValidity", m.a.approve_request, request, h(), m.now() - 1)
    expect_revert("ZeroHash", m.a.refuse_request, request, h(), bytes(32))
    step = m.a.refuse_request(request, h(), h())
    assert step.step == "refused"
    err = expect_revert("RequestNotApproved", m.a.record_approved_release,
                        h(), leaf, REGION_B, purpose, request)  # fmt: skip
    assert err.args_by_name["state"] == RequestState.REFUSED


def test_approved_release_refusals(members: Members) -> None:
    m = members
    request, leaf, purpose = _requested(m)
    until = m.now() + 20  # room for a few transactions on a loaded machine
    m.a.approve_request(request, h(), until, 0)  # no cap
    release = m.a.record_approved_release
    expect_revert("WrongGrantee", release, h(), leaf, REGION_C, purpose, request)
    expect_revert("WrongLeaf", release, h(), h(), REGION_B, purpose, request)
    expect_revert("WrongPurpose", release, h(), leaf, REGION_B, h(), request)
    expect_revert("NotHolderRegion", m.b.record_approved_release,
                  h(), leaf, REGION_B, purpose, request)  # fmt: skip
    receipt = h()
    release(receipt, leaf, REGION_B, purpose, request)
    expect_revert("ReleaseAlreadyRecorded", release, receipt, leaf, REGION_B, purpose, request)
    # test fixture only (anvil-specific): chain time passes the approval's end
    m.w3.provider.make_request("evm_increaseTime", [21])  # type: ignore[arg-type]
    m.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    err = expect_revert("ApprovalExpired", release, h(), leaf, REGION_B, purpose, request)
    assert err.args_by_name["validUntil"] == until
