"""Item 3: one account above the consortium.

Observed before the fix: the operator account that deployed the contracts kept
DEFAULT_ADMIN_ROLE and REGISTRAR_ROLE on the registry (its key in region A's keys/), registered
a rogue account as an issuer of region 440300, and after 440300 was removed by the consortium
the rogue was still an issuer of 440300. Now no contract has an admin or registrar role at
all: the registry asks the directory at every call which region and agency an account acts
for, the deployer can only bootstrap the first region once, and membership changes only by
M-of-N decisions. These tests list every account with power over any contract after setup and
after a removal, and try the rogue registration for real.
"""

from __future__ import annotations

import os
import time

import pytest
from eth_utils import keccak

from ledger_client.accounts import create_account
from ledger_client.artifacts import load_artifact
from ledger_client.deployment import CONTRACTS
from ledger_client.directory import Action, AgencyAccount
from ledger_client.errors import ContractRevertError
from ledger_client.registry import LeafStatus
from licence_service.federation.region import approve_proposal, propose_removal
from licence_service.region.runtime import Runtime
from tests.security.trust_fixtures import A1, A2, B1, BOTH_SUITES, Regions, issue_by, member
from verifier.verdicts import Verdict

pytestmark = BOTH_SUITES  # region B on intl, then on sm (its issuers go with it)

ROLE_EVENTS = {
    keccak(text=sig)
    for sig in (
        "RoleGranted(bytes32,address,address)",
        "RoleRevoked(bytes32,address,address)",
        "RoleAdminChanged(bytes32,bytes32,bytes32)",
        "OwnershipTransferred(address,address)",
    )
}
ADMIN_FUNCTIONS = {
    "grantRole", "revokeRole", "renounceRole", "hasRole", "transferOwnership", "registerIssuer",
    "removeIssuer", "upgradeTo", "upgradeToAndCall",
}  # fmt: skip


def _reverts(name: str, fn, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ContractRevertError) as info:
        fn(*args, **kwargs)
    assert info.value.name == name, info.value


def power_holders(rt: Runtime) -> dict[str, dict[str, int]]:
    """Every account that can change anything on any contract, by what it can do.

    The directory's accounts are the only writers of all three contracts (the registry and
    the sharing ledger ask the directory); no contract has any other privileged account.
    """
    directory, registry = rt.directory(), rt.registry()
    members = {
        account: code
        for code in directory.region_codes()
        for account in directory.region_accounts(code)
    }
    issuers = {account: registry.issuer_of(account)[0] for account in members}
    return {"directory members": members, "registry issuers": issuers}


def test_no_contract_has_an_admin(regions: Regions) -> None:
    a = regions.a
    for name in CONTRACTS:
        functions = {i["name"] for i in load_artifact(name).abi if i.get("type") == "function"}
        assert not functions & ADMIN_FUNCTIONS, (name, functions & ADMIN_FUNCTIONS)
    dep = a.deployment
    logs = a.w3.eth.get_logs(
        {"fromBlock": dep.block_number, "toBlock": "latest", "address": list(dep.addresses)}
    )
    assert logs, "the setup wrote events"
    assert not [log for log in logs if bytes(log["topics"][0]) in ROLE_EVENTS]


def test_the_deployer_has_no_power_after_bootstrap(regions: Regions) -> None:
    a = regions.a
    operator = a.operator_account()
    assert operator.address == a.deployment.deployer
    holders = power_holders(a)
    assert operator.address not in holders["directory members"]
    as_operator = a.directory(operator)
    _reverts(
        "AlreadyBootstrapped", as_operator.bootstrap, 440300, "x",
        [AgencyAccount(create_account().address, B1)],
    )  # fmt: skip
    _reverts("NotAMember", as_operator.propose, Action.ADD_ACCOUNT, 440300,
             account=create_account().address, agency_code=B1)  # fmt: skip
    _reverts("NotAnIssuer", a.registry(operator).anchor, [os.urandom(16)], [os.urandom(32)])
    stranger = a.directory(create_account())
    _reverts(
        "NotBootstrapper",
        stranger.bootstrap,
        110100,
        "x",
        [AgencyAccount(stranger.sender.address, B1)],
    )  # type: ignore[union-attr]


def test_one_region_cannot_register_an_issuer_for_another(regions: Regions) -> None:
    a = regions.a
    rogue = create_account()
    proposal = a.directory(a.agency_account(A1)).propose(
        Action.ADD_ACCOUNT, 440300, account=rogue.address, agency_code=B1
    )
    assert not a.directory().proposal(proposal).executed  # M = 2: B never approved
    assert a.registry().issuer_of(rogue.address) == (0, bytes(32))
    _reverts("NotAnIssuer", a.registry(rogue).anchor, [os.urandom(16)], [os.urandom(32)])
    # nor can a region move another region's agency into itself
    _reverts(
        "AgencyInOtherRegion", a.directory(a.agency_account(A1)).propose,
        Action.ADD_ACCOUNT, 330100, account=rogue.address, agency_code=B1,
    )  # fmt: skip


def test_removing_a_region_removes_every_issuer_of_it(regions: Regions) -> None:
    a, b = regions.a, regions.b
    doc_b = issue_by(b)
    before = power_holders(a)
    b_accounts = {acc for acc, code in before["directory members"].items() if code == 440300}
    a_accounts = {a.agency_account(A1).address, a.agency_account(A2).address}
    assert b_accounts == {b.agency_account(B1).address}
    assert set(before["directory members"]) == a_accounts | b_accounts
    assert all(before["registry issuers"][acc] == 440300 for acc in b_accounts)

    time.sleep(1.1)  # block times have one-second resolution: the removal comes after
    removal = propose_removal(a, 440300)
    assert not removal.executed
    assert approve_proposal(b, removal.proposal_id).executed

    after = power_holders(a)
    assert set(after["directory members"]) == a_accounts
    b_registry = regions.registry(b, B1)
    assert b_registry.issuer_of(b.agency_account(B1).address) == (0, bytes(32))
    _reverts("NotAnIssuer", b_registry.anchor, [os.urandom(16)], [os.urandom(32)])
    leaf = member(b, doc_b.leaf)
    _reverts(
        "NotAnIssuer", b_registry.change_status, leaf.leaf, leaf.batch_id, leaf.proof,
        LeafStatus.REVOKED, 1,
    )  # fmt: skip
    # what B anchored while a member stays anchored: its certificate was retired only now
    result = a.verifier().verify_pdf(doc_b.pdf_path.read_bytes())
    assert result.verdict is Verdict.VALID, [c.detail for c in result.checks if not c.ok]
