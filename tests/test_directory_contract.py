"""RegionDirectory on a real anvil node: bootstrap by the deployer once, M-of-N proposals,
agencies bound to one region for ever, issuers as the registry sees them, certificate rotation
and key loss, events that rebuild the certificate store, every revert."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from web3 import Web3

from ledger_client import merkle
from ledger_client.accounts import create_account
from ledger_client.artifacts import load_artifact
from ledger_client.connection import ChainConfig
from ledger_client.deployment import DIRECTORY, REGISTRY, SHARING, Deployment
from ledger_client.directory import (
    Action,
    AgencyAccount,
    DirectoryClient,
    NewCertificate,
    fingerprint_of,
)
from ledger_client.registry import BatchAnchored, LeafStatus, RegistryClient
from ledger_client.sharing import SharingClient
from tests.chain_fixtures import (
    Consortium,
    agency_code,
    deployed,
    expect_revert,
    random_docs,
)

REGION_A = 330100
REGION_B = 440300
REGION_C = 510100
REGION_D = 320500
ZERO = "0x0000000000000000000000000000000000000000"


def make_certificate(agency_code: str, name: str = "Agency") -> NewCertificate:
    """A real self-signed certificate, so the DER read back from events can be parsed."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, agency_code),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return NewCertificate(agency_code, cert.public_bytes(serialization.Encoding.DER))


@pytest.fixture
def consortium(w3: Web3, chain_config: ChainConfig) -> Callable[[int], Consortium]:
    """Freshly deployed contracts with threshold M; no region yet."""

    def make(threshold: int = 1) -> Consortium:
        return deployed(w3, chain_config, threshold)

    return make


@dataclass
class Founded:
    """A consortium bootstrapped with region A (two accounts of two agencies, one
    certificate of the first agency)."""

    c: Consortium
    a: DirectoryClient
    a2: DirectoryClient
    cert_a: NewCertificate


def found(c: Consortium) -> Founded:
    a, a2 = c.directory(c.sender()), c.directory(c.sender())
    cert = make_certificate(agency_code(REGION_A))
    assert a.sender is not None and a2.sender is not None
    accounts = [
        AgencyAccount(a.sender.address, cert.agency_code),
        AgencyAccount(a2.sender.address, agency_code(REGION_A, 2)),
    ]
    c.directory(c.deployer).bootstrap(REGION_A, "Hangzhou", accounts, [cert])
    return Founded(c, a, a2, cert)


def add_region(
    proposer: DirectoryClient, c: Consortium, code: int, cert: bool = False
) -> tuple[DirectoryClient, int]:
    """Propose region ``code`` with a fresh first account; returns its client and the id."""
    client = c.directory(c.sender())
    assert client.sender is not None
    pid = proposer.propose(
        Action.ADD_REGION,
        code,
        name=f"Region {code}",
        account=client.sender.address,
        certificate=make_certificate(agency_code(code)) if cert else None,
        agency_code=agency_code(code),
    )
    return client, pid


def anchor_some(reg: RegistryClient) -> BatchAnchored:
    """Anchor three documents of the agency the directory names for the sender."""
    assert reg.sender is not None
    _, agency = reg.issuer_of(reg.sender.address)
    docs = random_docs(agency, 3)
    return reg.anchor(docs.keys, docs.bodies)


# ------------------------------------------------------------------------------ deployment


def test_deploy_wires_the_three_contracts(consortium, w3: Web3, tmp_path: Path) -> None:
    c: Consortium = consortium(2)
    dep = c.deployment
    assert dep.is_live(w3) and dep.directory and dep.sharing
    d = c.directory()
    assert (d.threshold(), d.effective_threshold(), d.active_region_count()) == (2, 0, 0)
    # the registry and the sharing ledger both ask this directory who acts for which region
    assert c.registry().directory_address() == dep.directory
    assert SharingClient(w3, dep.sharing).directory() == dep.directory
    # a record written before the directory existed still loads and is checked
    old = tmp_path / "deployment.json"
    old.write_text(
        json.dumps(
            {"chain_id": dep.chain_id, "registry": dep.registry, "deployer": dep.deployer,
             "block_number": dep.block_number}
        )
    )  # fmt: skip
    loaded = Deployment.load(old)
    assert loaded.directory == "" and loaded.is_live(w3)
    dep.save(tmp_path / "new.json")
    assert Deployment.load(tmp_path / "new.json") == dep
    dead = Deployment(
        dep.chain_id, dep.registry, dep.deployer, 0, directory=create_account().address
    )
    assert not dead.is_live(w3)


def test_no_contract_has_an_admin(consortium) -> None:
    """No role, no owner, no registrar anywhere: after bootstrap the deployer is a stranger
    and every change goes through M-of-N proposals."""
    admin_words = ("role", "owner", "admin", "registerissuer", "removeissuer", "grant")
    for name in (REGISTRY, DIRECTORY, SHARING):
        for item in load_artifact(name).abi:
            if item.get("type") in ("function", "event"):
                assert not any(w in item["name"].lower() for w in admin_words), (name, item)
    c: Consortium = consortium(1)
    found(c)
    deployer = c.deployer.address
    assert c.directory().issuer_of(deployer) == (0, bytes(32))
    assert c.registry().issuer_of(deployer) == (0, bytes(32))
    as_deployer = c.directory(c.deployer)
    expect_revert(
        "NotAMember", as_deployer.propose, Action.ADD_ACCOUNT, REGION_A, account=deployer,
        agency_code=agency_code(REGION_A, 3),
    )  # fmt: skip
    expect_revert("NotAMember", as_deployer.approve, 1)
    expect_revert(
        "AlreadyBootstrapped", as_deployer.bootstrap, REGION_B, "B",
        [AgencyAccount(deployer, agency_code(REGION_B))],
    )  # fmt: skip
    expect_revert("NotAnIssuer", anchor_some, c.registry(c.deployer))


def test_constructor_refuses_bad_arguments(consortium) -> None:
    c: Consortium = consortium()
    art = load_artifact(DIRECTORY)
    sender = c.sender()
    err = expect_revert("InvalidThreshold", sender.prepare_deploy, art.abi, art.bytecode, 0)
    assert err.args_by_name["threshold"] == 0


# ------------------------------------------------------------------------------ bootstrap


def test_bootstrap_creates_the_first_region(consortium) -> None:
    c: Consortium = consortium(2)
    f = found(c)
    assert f.a.sender is not None and f.a2.sender is not None
    accounts = [f.a.sender.address, f.a2.sender.address]
    agencies = [merkle.agency_id(agency_code(REGION_A, n)) for n in (1, 2)]
    d = c.directory()
    info = d.region(REGION_A)
    assert info is not None and info.name == "Hangzhou" and info.active and info.added_at > 0
    assert d.region(REGION_B) is None
    assert d.region_codes() == [REGION_A]
    assert d.active_region_count() == 1
    assert d.effective_threshold() == 1  # min(M=2, N=1): a lone region can still grow
    assert d.region_accounts(REGION_A) == accounts
    for account, agency in zip(accounts, agencies, strict=True):
        assert d.account_region(account) == REGION_A
        assert d.issuer_of(account) == (REGION_A, agency)
        assert c.registry().issuer_of(account) == (REGION_A, agency)
        assert bytes(d.contract.functions.accountAgency(account).call()) == agency
        assert d.agency_region(agency) == REGION_A
    assert bytes(d.contract.functions.agencyId(agency_code(REGION_A)).call()) == agencies[0]
    assert d.agency_region(merkle.agency_id(agency_code(REGION_B))) == 0
    cert = d.certificate(f.cert_a.fingerprint)
    assert cert is not None
    assert (cert.region, cert.agency_code, cert.compromised_at, cert.revoked) == (
        REGION_A, agency_code(REGION_A), 0, False,
    )  # fmt: skip
    assert d.region_certificates(REGION_A) == [f.cert_a.fingerprint]
    assert d.is_certificate_valid_at(f.cert_a.fingerprint, c.now())
    assert d.certificate(os.urandom(32)) is None
    assert not d.is_certificate_valid_at(os.urandom(32), c.now())
    events = d.events_in_range(c.deployment.block_number, c.w3.eth.block_number)
    assert [(e.account, e.agency_code) for e in events.accounts] == [
        (f.a.sender.address, agency_code(REGION_A)),
        (f.a2.sender.address, agency_code(REGION_A, 2)),
    ]
    # the bootstrapped members anchor at once, each under its own agency
    batch = anchor_some(c.registry(f.a.sender))
    assert (batch.batch_id, batch.region, batch.agency) == (1, REGION_A, agencies[0])


def test_bootstrap_reverts(consortium) -> None:
    c: Consortium = consortium()
    admin = c.directory(c.deployer)
    member = AgencyAccount(c.sender().address, agency_code(REGION_A))
    cert = make_certificate(agency_code(REGION_A))
    stranger = c.directory(c.sender())
    assert stranger.sender is not None
    err = expect_revert("NotBootstrapper", stranger.bootstrap, REGION_A, "A", [member])
    assert Web3.to_checksum_address(err.args_by_name["caller"]) == stranger.sender.address
    expect_revert("NoAccounts", admin.bootstrap, REGION_A, "A", [])
    for bad in (0, 12345, 1_000_000):
        expect_revert("InvalidRegion", admin.bootstrap, bad, "A", [member])
    expect_revert("EmptyName", admin.bootstrap, REGION_A, "", [member])
    expect_revert(
        "ZeroAddress", admin.bootstrap, REGION_A, "A", [AgencyAccount(ZERO, member.agency_code)]
    )
    expect_revert("AccountAlreadyRegistered", admin.bootstrap, REGION_A, "A", [member, member])
    for code in ("", "91330100", "9" * 19, "9133010012345678ab", "91330100123456-789", "é" * 9):
        expect_revert(
            "InvalidAgencyCode", admin.bootstrap, REGION_A, "A",
            [AgencyAccount(member.address, code)],
        )  # fmt: skip
    expect_revert(
        "InvalidAgencyCode", admin.bootstrap, REGION_A, "A", [member],
        [NewCertificate("91330100", cert.der)],
    )  # fmt: skip
    expect_revert(
        "CertificateAlreadyRegistered", admin.bootstrap, REGION_A, "A", [member], [cert, cert]
    )
    fn = admin.contract.functions.bootstrap(
        REGION_A, "A", [(member.address, member.agency_code)],
        [(os.urandom(32), cert.agency_code, cert.der)],
    )  # fmt: skip
    err = expect_revert("FingerprintMismatch", c.deployer.transact, fn)
    assert err.args_by_name["computed"] == cert.fingerprint
    assert c.directory().region_codes() == []  # every refusal left nothing behind

    admin.bootstrap(REGION_A, "A", [member], [cert])
    other = AgencyAccount(c.sender().address, agency_code(REGION_B))
    expect_revert("AlreadyBootstrapped", admin.bootstrap, REGION_B, "B", [other])
    # nobody else can bootstrap afterwards either
    expect_revert("NotBootstrapper", stranger.bootstrap, REGION_B, "B", [other])
    assert c.directory().region_codes() == [REGION_A]


# ------------------------------------------------------------------------------ proposals


def test_m_of_n_grows_from_one_region_to_three(consortium) -> None:
    c: Consortium = consortium(2)
    f = found(c)
    d = c.directory()
    # N=1: effective threshold min(2, 1) = 1, so A's own approval adds B at once
    b, pid_b = add_region(f.a, c, REGION_B, cert=True)
    pb = d.proposal(pid_b)
    assert pb.executed and pb.approvals == 1 and pb.proposer_region == REGION_A
    assert pb.cert == b""  # the DER is kept in the events only
    assert d.active_region_count() == 2 and d.effective_threshold() == 2
    assert b.sender is not None
    assert c.registry().issuer_of(b.sender.address) == (
        REGION_B, merkle.agency_id(agency_code(REGION_B)),
    )  # fmt: skip
    assert [r.code for r in map(d.region, d.region_codes()) if r] == [REGION_A, REGION_B]

    # N=2: adding C needs A and B
    c_client, pid_c = add_region(f.a, c, REGION_C)
    assert c_client.sender is not None
    p = d.proposal(pid_c)
    assert not p.executed and p.approvals == 1 and p.action is Action.ADD_REGION
    assert p.account == c_client.sender.address and p.name == f"Region {REGION_C}"
    assert d.has_approved(pid_c, REGION_A) and not d.has_approved(pid_c, REGION_B)
    assert d.account_region(c_client.sender.address) == 0
    err = expect_revert("AlreadyApproved", f.a2.approve, pid_c)  # same region, other account
    assert err.args_by_name == {"id": pid_c, "region": REGION_A}
    expect_revert("NotAMember", c_client.approve, pid_c)
    err = expect_revert("ThresholdNotReached", f.a.execute, pid_c)
    assert err.args_by_name == {"id": pid_c, "approvals": 1, "threshold": 2}
    result = b.approve(pid_c)
    assert result.executed and result.proposal_id == pid_c and result.tx.timestamp > 0
    assert d.proposal(pid_c).approvals == 2
    assert d.account_region(c_client.sender.address) == REGION_C
    # N=3, M=2
    assert d.active_region_count() == 3 and d.effective_threshold() == 2
    expect_revert("ProposalAlreadyExecuted", c_client.approve, pid_c)
    expect_revert("ProposalAlreadyExecuted", f.a.execute, pid_c)
    expect_revert("UnknownProposal", f.a.approve, 99)
    expect_revert("UnknownProposal", d.proposal, 0)
    assert d.proposal_count() == 2

    # N=3, M=2: B and C add D without A
    d_client, pid_d = add_region(b, c, REGION_D)
    assert c_client.approve(pid_d).executed
    assert d_client.sender is not None
    assert d.account_region(d_client.sender.address) == REGION_D
    assert not d.has_approved(pid_d, REGION_A)
    assert d.active_region_count() == 4 and d.effective_threshold() == 2

    events = d.events_in_range(c.deployment.block_number, c.w3.eth.block_number)
    assert [p.proposal_id for p in events.proposals] == [pid_b, pid_c, pid_d]
    assert [(a.proposal_id, a.region) for a in events.approvals] == [
        (pid_b, REGION_A), (pid_c, REGION_A), (pid_c, REGION_B), (pid_d, REGION_B),
        (pid_d, REGION_C),
    ]  # fmt: skip
    assert [(e.proposal_id, e.action) for e in events.executions] == [
        (pid_b, Action.ADD_REGION), (pid_c, Action.ADD_REGION), (pid_d, Action.ADD_REGION),
    ]  # fmt: skip
    assert [(r.region, r.added) for r in events.regions] == [
        (REGION_A, True), (REGION_B, True), (REGION_C, True), (REGION_D, True),
    ]  # fmt: skip
    assert events.regions[0].name == "Hangzhou"


def test_propose_reverts(consortium) -> None:
    c: Consortium = consortium(1)
    f = found(c)
    b, _ = add_region(f.a, c, REGION_B)
    assert f.a.sender is not None and b.sender is not None
    stranger = c.directory(c.sender())
    fresh = create_account().address
    cert = make_certificate(agency_code(REGION_A, 2))

    expect_revert("NotAMember", stranger.propose, Action.ADD_ACCOUNT, REGION_A, account=fresh)
    # AddRegion
    expect_revert(
        "RegionAlreadyActive", f.a.propose, Action.ADD_REGION, REGION_B, name="B", account=fresh
    )
    expect_revert("InvalidRegion", f.a.propose, Action.ADD_REGION, 99, name="X", account=fresh)
    expect_revert("EmptyName", f.a.propose, Action.ADD_REGION, REGION_C, account=fresh)
    expect_revert("ZeroAddress", f.a.propose, Action.ADD_REGION, REGION_C, name="C")
    expect_revert(
        "AccountAlreadyRegistered", f.a.propose, Action.ADD_REGION, REGION_C, name="C",
        account=b.sender.address,
    )  # fmt: skip
    # AddAccount / RemoveAccount
    expect_revert("RegionNotActive", f.a.propose, Action.ADD_ACCOUNT, REGION_C, account=fresh)
    expect_revert("ZeroAddress", f.a.propose, Action.ADD_ACCOUNT, REGION_A)
    err = expect_revert(
        "AccountAlreadyRegistered", f.a.propose, Action.ADD_ACCOUNT, REGION_A,
        account=b.sender.address,
    )  # fmt: skip
    assert err.args_by_name["region"] == REGION_B
    expect_revert(
        "AccountNotInRegion", f.a.propose, Action.REMOVE_ACCOUNT, REGION_A,
        account=b.sender.address,
    )  # fmt: skip
    expect_revert(
        "LastAccount", b.propose, Action.REMOVE_ACCOUNT, REGION_B, account=b.sender.address
    )
    # RemoveRegion
    expect_revert("RegionNotActive", f.a.propose, Action.REMOVE_REGION, REGION_C)
    # Certificates
    expect_revert(
        "CertificateAlreadyRegistered", f.a.propose, Action.ADD_CERTIFICATE, REGION_A,
        certificate=f.cert_a,
    )  # fmt: skip
    expect_revert(
        "FingerprintMismatch", f.a.propose, Action.ADD_CERTIFICATE, REGION_A, certificate=cert,
        fingerprint=os.urandom(32),
    )  # fmt: skip
    expect_revert(
        "FingerprintMismatch", f.a.propose, Action.ADD_CERTIFICATE, REGION_A,
        agency_code=cert.agency_code,
    )  # fmt: skip
    expect_revert(
        "InvalidAgencyCode", f.a.propose, Action.ADD_CERTIFICATE, REGION_A,
        certificate=NewCertificate("X" * 17, cert.der),
    )  # fmt: skip
    expect_revert(
        "RegionNotActive", f.a.propose, Action.ADD_CERTIFICATE, REGION_C, certificate=cert
    )
    expect_revert(
        "UnknownCertificate", f.a.propose, Action.REVOKE_CERTIFICATE, REGION_A,
        fingerprint=cert.fingerprint,
    )  # fmt: skip
    err = expect_revert(
        "CertificateNotInRegion", f.a.propose, Action.REVOKE_CERTIFICATE, REGION_B,
        fingerprint=f.cert_a.fingerprint,
    )  # fmt: skip
    assert err.args_by_name["certificateRegion"] == REGION_A

    # the last region cannot leave
    assert b.propose(Action.REMOVE_REGION, REGION_B) > 0
    expect_revert("LastRegion", f.a.propose, Action.REMOVE_REGION, REGION_A)


def test_an_agency_belongs_to_one_region_for_ever(consortium) -> None:
    """An agency code bound to region A can never be claimed by region B, neither for an
    account nor for a certificate nor for a new region: leaves namespaced by agency cannot
    be forged across regions. Unbound or own codes are accepted."""
    c: Consortium = consortium(1)
    f = found(c)
    b, _ = add_region(f.a, c, REGION_B)
    d = c.directory()
    fresh = create_account().address
    code_a, code_a2, code_b = agency_code(REGION_A), agency_code(REGION_A, 2), agency_code(REGION_B)
    expect_revert("InvalidAgencyCode", f.a.propose, Action.ADD_ACCOUNT, REGION_A, account=fresh)
    expect_revert(
        "InvalidAgencyCode", f.a.propose, Action.ADD_ACCOUNT, REGION_A, account=fresh,
        agency_code=code_a + "0",
    )  # fmt: skip
    for proposer, region, code, owner in (
        (f.a, REGION_A, code_b, REGION_B),
        (b, REGION_B, code_a, REGION_A),
        (b, REGION_B, code_a2, REGION_A),  # bound by an account only, no certificate
    ):
        err = expect_revert(
            "AgencyInOtherRegion", proposer.propose, Action.ADD_ACCOUNT, region, account=fresh,
            agency_code=code,
        )  # fmt: skip
        assert err.args_by_name == {"agencyCode": code, "region": owner}
        err = expect_revert(
            "AgencyInOtherRegion", proposer.propose, Action.ADD_CERTIFICATE, region,
            certificate=make_certificate(code),
        )  # fmt: skip
        assert err.args_by_name == {"agencyCode": code, "region": owner}
    for code in (code_a, code_b):
        expect_revert(
            "AgencyInOtherRegion", f.a.propose, Action.ADD_REGION, REGION_C, name="C",
            account=fresh, agency_code=code,
        )  # fmt: skip
    expect_revert(
        "AgencyInOtherRegion", f.a.propose, Action.ADD_REGION, REGION_C, name="C",
        account=fresh, certificate=make_certificate(code_b),
    )  # fmt: skip
    # a code bound by a certificate alone is bound as well
    cert_only = agency_code(REGION_B, 5)
    b.propose(Action.ADD_CERTIFICATE, REGION_B, certificate=make_certificate(cert_only))
    assert d.agency_region(merkle.agency_id(cert_only)) == REGION_B
    expect_revert(
        "AgencyInOtherRegion", f.a.propose, Action.ADD_ACCOUNT, REGION_A, account=fresh,
        agency_code=cert_only,
    )  # fmt: skip
    assert d.proposal_count() == 2 and d.account_region(fresh) == 0  # nothing was proposed
    # the own region adds accounts and certificates of its agencies, old or new
    f.a.propose(Action.ADD_ACCOUNT, REGION_A, account=fresh, agency_code=code_a2)
    assert d.issuer_of(fresh) == (REGION_A, merkle.agency_id(code_a2))
    f.a.propose(Action.ADD_CERTIFICATE, REGION_A, certificate=make_certificate(code_a))
    new_code = agency_code(REGION_A, 3)
    f.a.propose(Action.ADD_CERTIFICATE, REGION_A, certificate=make_certificate(new_code))
    assert d.agency_region(merkle.agency_id(new_code)) == REGION_A


def test_agency_claimed_by_two_pending_proposals_goes_to_the_first_executed(consortium) -> None:
    c: Consortium = consortium(2)
    f = found(c)
    b, _ = add_region(f.a, c, REGION_B)
    code = agency_code(REGION_D, 1)  # bound to no region yet
    to_a = f.a.propose(
        Action.ADD_ACCOUNT, REGION_A, account=create_account().address, agency_code=code
    )
    to_b = b.propose(Action.ADD_CERTIFICATE, REGION_B, certificate=make_certificate(code))
    assert b.approve(to_a).executed
    err = expect_revert("AgencyInOtherRegion", f.a.approve, to_b)
    assert err.args_by_name == {"agencyCode": code, "region": REGION_A}
    assert not c.directory().proposal(to_b).executed
    assert c.directory().agency_region(merkle.agency_id(code)) == REGION_A


def test_added_account_anchors_and_removed_account_cannot(consortium) -> None:
    c: Consortium = consortium(1)
    f = found(c)
    new = c.sender()
    d = c.directory()
    code = agency_code(REGION_A, 3)
    pid = f.a.propose(Action.ADD_ACCOUNT, REGION_A, account=new.address, agency_code=code)
    assert d.proposal(pid).executed and d.proposal(pid).agency_code == code
    assert d.account_region(new.address) == REGION_A
    assert c.registry().issuer_of(new.address) == (REGION_A, merkle.agency_id(code))
    assert anchor_some(c.registry(new)).agency == merkle.agency_id(code)
    # the new account is a member of the directory too: it can propose
    assert f.a.sender is not None and f.a2.sender is not None
    c.directory(new).propose(Action.REMOVE_ACCOUNT, REGION_A, account=f.a.sender.address)
    assert d.account_region(f.a.sender.address) == 0
    assert c.registry().issuer_of(f.a.sender.address) == (0, bytes(32))
    assert bytes(d.contract.functions.accountAgency(f.a.sender.address).call()) == bytes(32)
    assert set(d.region_accounts(REGION_A)) == {f.a2.sender.address, new.address}
    expect_revert("NotAnIssuer", anchor_some, c.registry(f.a.sender))
    expect_revert(
        "NotAMember", f.a.propose, Action.ADD_ACCOUNT, REGION_A, account=new.address,
        agency_code=code,
    )  # fmt: skip
    # the removed account's agency stays bound to its region
    assert d.agency_region(merkle.agency_id(agency_code(REGION_A))) == REGION_A
    f.a2.propose(Action.REMOVE_ACCOUNT, REGION_A, account=new.address)
    assert d.region_accounts(REGION_A) == [f.a2.sender.address]
    expect_revert("NotAnIssuer", anchor_some, c.registry(new))
    events = d.events_in_range(c.deployment.block_number, c.w3.eth.block_number)
    assert [(e.account, e.added, e.agency_code) for e in events.accounts][-3:] == [
        (new.address, True, code), (f.a.sender.address, False, ""), (new.address, False, ""),
    ]  # fmt: skip


def test_removing_a_region_stops_its_accounts_and_certificates(consortium) -> None:
    c: Consortium = consortium(1)
    f = found(c)
    b, _ = add_region(f.a, c, REGION_B, cert=True)
    assert b.sender is not None
    d = c.directory()
    cert_b = d.region_certificates(REGION_B)[0]
    b_issuer = c.registry(b.sender)
    docs = random_docs(merkle.agency_id(agency_code(REGION_B)), 2)
    anchored = docs, b_issuer.anchor(docs.keys, docs.bodies)
    before = c.now()
    f.a.propose(Action.REMOVE_REGION, REGION_B)
    info = d.region(REGION_B)
    assert info is not None and not info.active and info.removed_at >= before
    assert d.active_region_count() == 1 and d.region_codes() == [REGION_A, REGION_B]
    assert d.account_region(b.sender.address) == 0 and d.region_accounts(REGION_B) == []
    assert c.registry().issuer_of(b.sender.address) == (0, bytes(32))
    expect_revert("NotAnIssuer", anchor_some, c.registry(b.sender))
    docs, ev = anchored
    expect_revert(
        "NotAnIssuer", c.registry(b.sender).change_status, docs.leaves[0], ev.batch_id,
        merkle.proof(docs.leaves, 0), LeafStatus.REVOKED, 1,
    )  # fmt: skip
    expect_revert("NotAMember", b.propose, Action.ADD_ACCOUNT, REGION_B, account=ZERO)
    # B's agencies stay bound to B: no other region takes over their namespace
    err = expect_revert(
        "AgencyInOtherRegion", f.a.propose, Action.ADD_ACCOUNT, REGION_A,
        account=create_account().address, agency_code=agency_code(REGION_B),
    )  # fmt: skip
    assert err.args_by_name["region"] == REGION_B
    # what B signed while it was a member stays valid; nothing it signs later is
    revoked = d.certificate(cert_b)
    assert revoked is not None and revoked.revoked_at == info.removed_at
    assert d.is_certificate_valid_at(cert_b, info.removed_at - 1)
    assert not d.is_certificate_valid_at(cert_b, info.removed_at)
    # B can come back with a new account of its own agency; its old certificate stays retired
    b2, pid = add_region(f.a, c, REGION_B)
    assert d.proposal(pid).executed and d.region(REGION_B).active  # type: ignore[union-attr]
    assert d.region_codes() == [REGION_A, REGION_B]
    assert (d.certificate(cert_b) or revoked).revoked
    anchor_some(c.registry(b2.sender))
    # and answers again for what it anchored before its removal
    assert b2.sender is not None
    c.registry(b2.sender).change_status(
        docs.leaves[0], anchored[1].batch_id, merkle.proof(docs.leaves, 0), LeafStatus.REVOKED, 1
    )


def test_removed_regions_approvals_stop_counting_and_execute_applies_a_lowered_threshold(
    consortium,
) -> None:
    c: Consortium = consortium(3)
    f = found(c)
    d = c.directory()
    b, _ = add_region(f.a, c, REGION_B)  # N=1 -> threshold 1
    c_client, pid = add_region(f.a, c, REGION_C)  # N=2 -> threshold 2
    b.approve(pid)
    assert d.active_region_count() == 3 and d.effective_threshold() == 3

    new_a = create_account().address
    pending = f.a.propose(
        Action.ADD_ACCOUNT, REGION_A, account=new_a, agency_code=agency_code(REGION_A)
    )
    assert not b.approve(pending).executed  # 2 of 3
    stale = c_client.propose(
        Action.ADD_ACCOUNT, REGION_B, account=create_account().address,
        agency_code=agency_code(REGION_B),
    )  # fmt: skip
    err = expect_revert("ThresholdNotReached", f.a.execute, pending)
    assert err.args_by_name == {"id": pending, "approvals": 2, "threshold": 3}

    removal = b.propose(Action.REMOVE_REGION, REGION_C)
    f.a.approve(removal)
    assert c_client.approve(removal).executed  # C approves its own removal: 3 of 3
    assert d.effective_threshold() == 2
    assert d.proposal(stale).approvals == 0  # C's approval went with C
    assert d.has_approved(stale, REGION_C)
    result = b.execute(pending)
    assert result.executed and d.account_region(new_a) == REGION_A
    assert d.proposal(pending).executed

    # C is admitted again: its approval from the earlier membership does not come back
    c_again, readmit = add_region(f.a, c, REGION_C)
    assert b.approve(readmit).executed and d.effective_threshold() == 3
    assert d.proposal(stale).approvals == 0 and not d.has_approved(stale, REGION_C)
    assert not c_again.approve(stale).executed
    assert d.proposal(stale).approvals == 1 and d.has_approved(stale, REGION_C)
    expect_revert("AlreadyApproved", c_again.approve, stale)


def test_proposal_checked_again_when_it_executes(consortium) -> None:
    c: Consortium = consortium(2)
    f = found(c)
    b, _ = add_region(f.a, c, REGION_B)
    account = create_account().address
    first = f.a.propose(
        Action.ADD_ACCOUNT, REGION_A, account=account, agency_code=agency_code(REGION_A)
    )
    second = b.propose(
        Action.ADD_ACCOUNT, REGION_B, account=account, agency_code=agency_code(REGION_B)
    )
    assert b.approve(first).executed
    err = expect_revert("AccountAlreadyRegistered", f.a.approve, second)
    assert err.args_by_name["region"] == REGION_A
    assert not c.directory().proposal(second).executed


# ------------------------------------------------------------------------------ certificates


def test_certificate_rotation(consortium) -> None:
    c: Consortium = consortium(2)
    f = found(c)
    b, _ = add_region(f.a, c, REGION_B)
    d = c.directory()
    new = make_certificate(agency_code(REGION_A, 2))
    pid = f.a.propose(Action.ADD_CERTIFICATE, REGION_A, certificate=new)
    p = d.proposal(pid)
    assert not p.executed and p.cert == new.der and p.agency_code == new.agency_code
    assert d.certificate(new.fingerprint) is None
    assert b.approve(pid).executed
    added = d.certificate(new.fingerprint)
    assert added is not None and added.region == REGION_A and not added.revoked
    assert d.proposal(pid).cert == b""

    old = f.cert_a.fingerprint
    pid = f.a2.propose(Action.REVOKE_CERTIFICATE, REGION_A, fingerprint=old)
    assert d.proposal(pid).fingerprint == old
    b.approve(pid)
    retired = d.certificate(old)
    assert retired is not None and retired.revoked
    assert d.is_certificate_valid_at(old, retired.revoked_at - 1)
    assert not d.is_certificate_valid_at(old, retired.revoked_at)
    assert retired.valid_at(retired.revoked_at - 1) and not retired.valid_at(retired.revoked_at)
    assert d.is_certificate_valid_at(new.fingerprint, c.now())
    assert d.region_certificates(REGION_A) == [old, new.fingerprint]
    expect_revert(
        "CertificateAlreadyRevoked", f.a.propose, Action.REVOKE_CERTIFICATE, REGION_A,
        fingerprint=old,
    )  # fmt: skip
    # a revoked fingerprint can never be registered again
    expect_revert(
        "CertificateAlreadyRegistered", f.a.propose, Action.ADD_CERTIFICATE, REGION_A,
        certificate=f.cert_a,
    )  # fmt: skip


def test_report_compromised(consortium) -> None:
    c: Consortium = consortium(2)
    f = found(c)
    b, _ = add_region(f.a, c, REGION_B, cert=True)
    d = c.directory()
    fp = f.cert_a.fingerprint
    now = c.now()
    err = expect_revert("CertificateNotInRegion", b.report_compromised, fp, now)
    assert err.args_by_name == {
        "fingerprint": fp,
        "region": REGION_B,
        "certificateRegion": REGION_A,
    }
    expect_revert("NotAMember", c.directory(c.sender()).report_compromised, fp, now)
    expect_revert("UnknownCertificate", f.a.report_compromised, os.urandom(32), now)
    expect_revert("InvalidCompromiseTime", f.a.report_compromised, fp, 0)
    expect_revert("InvalidCompromiseTime", f.a.report_compromised, fp, now + 3600)

    since = now - 100
    ev = f.a2.report_compromised(fp, since)  # any account of the own region, no approvals
    assert (ev.fingerprint, ev.region, ev.since) == (fp, REGION_A, since)
    assert d.is_certificate_valid_at(fp, since - 1)
    assert not d.is_certificate_valid_at(fp, since)
    assert not d.is_certificate_valid_at(fp, now)
    assert d.certificate(fp).compromised_at == since  # type: ignore[union-attr]
    err = expect_revert("CompromiseNotEarlier", f.a.report_compromised, fp, since + 10)
    assert err.args_by_name["current"] == since
    expect_revert("CompromiseNotEarlier", f.a.report_compromised, fp, since)
    f.a.report_compromised(fp, since - 50)
    assert d.is_certificate_valid_at(fp, since - 51)
    assert not d.is_certificate_valid_at(fp, since - 50)
    # a certificate of B is untouched
    cert_b = d.region_certificates(REGION_B)[0]
    assert d.is_certificate_valid_at(cert_b, c.now())


def test_events_rebuild_the_certificate_store(consortium) -> None:
    c: Consortium = consortium(1)
    f = found(c)
    b, _ = add_region(f.a, c, REGION_B, cert=True)
    extra = make_certificate(agency_code(REGION_B, 7), "Second agency")
    b.propose(Action.ADD_CERTIFICATE, REGION_B, certificate=extra)
    b.propose(Action.REVOKE_CERTIFICATE, REGION_B, fingerprint=extra.fingerprint)
    f.a.report_compromised(f.cert_a.fingerprint, c.now())

    # a reader with no signing account, starting from the deployment block
    d = c.directory()
    events = d.events_in_range(c.deployment.block_number, c.w3.eth.block_number)
    store = {e.fingerprint: e for e in events.certificates}
    assert len(store) == 3 and extra.fingerprint in store and f.cert_a.fingerprint in store
    for fp, added in store.items():
        assert fingerprint_of(added.der) == fp
        cert = x509.load_der_x509_certificate(added.der)
        serial = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value
        assert serial == added.agency_code
        assert d.certificate(fp).registered_at == added.timestamp  # type: ignore[union-attr]
    assert store[extra.fingerprint].region == REGION_B
    assert [r.fingerprint for r in events.revocations] == [extra.fingerprint]
    assert [(x.fingerprint, x.region) for x in events.compromises] == [
        (f.cert_a.fingerprint, REGION_A)
    ]
    assert all(e.tx.block_number >= c.deployment.block_number for e in events.certificates)
    # the same events, read in small ranges, add up to the same store
    merged = []
    for start in range(c.deployment.block_number, c.w3.eth.block_number + 1, 2):
        merged += d.events_in_range(start, start + 1).certificates
    assert merged == events.certificates
