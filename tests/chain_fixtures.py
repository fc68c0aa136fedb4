"""Helpers shared by tests that need a real chain.

Since the registry asks the directory who may anchor, any test that anchors needs a
consortium: ``fresh_consortium`` deploys the contracts, bootstraps the first region with its
agencies' accounts and adds every further region by an M-of-N proposal, as a real consortium
grows. ``random_docs`` makes documents in the leaf order the registry demands.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger_client import merkle
from ledger_client.accounts import create_account
from ledger_client.connection import ChainConfig
from ledger_client.deployment import Deployment, deploy, revert_decoder
from ledger_client.directory import Action, AgencyAccount, DirectoryClient
from ledger_client.errors import ContractRevertError
from ledger_client.registry import BatchAnchored, RegistryClient
from ledger_client.transactions import TransactionSender

REGION_A = 330100
REGION_B = 440300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sender_for(
    w3: Web3, config: ChainConfig, account: LocalAccount | None = None
) -> TransactionSender:
    """A sender whose reverts decode against every contract's errors (the registry's calls
    into the directory can revert with either's)."""
    return TransactionSender(w3, account or create_account(), config, revert_decoder())


def expect_revert(
    name: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
) -> ContractRevertError:
    """Call ``fn`` and require the chain to refuse it with the custom error ``name``."""
    with pytest.raises(ContractRevertError) as info:
        fn(*args, **kwargs)
    assert info.value.name == name, str(info.value)
    return info.value


def agency_code(region: int, n: int = 1) -> str:
    """An 18-character agency code that names its region and its number in it."""
    return f"11{region:06d}{n:09d}X"


@dataclass(frozen=True)
class Docs:
    """Documents of one agency in ascending leaf order, as ``anchorBatch`` wants them."""

    keys: list[bytes]
    bodies: list[bytes]
    leaves: list[bytes]


def docs_for(agency: bytes, pairs: Sequence[tuple[bytes, bytes]]) -> Docs:
    """``(key, body)`` pairs sorted by the leaf ``agency`` anchoring them gets."""
    ordered = sorted(pairs, key=lambda kb: merkle.leaf_of(agency, *kb))
    return Docs(
        keys=[k for k, _ in ordered],
        bodies=[b for _, b in ordered],
        leaves=[merkle.leaf_of(agency, k, b) for k, b in ordered],
    )


def random_docs(agency: bytes, n: int) -> Docs:
    return docs_for(agency, [(os.urandom(16), os.urandom(32)) for _ in range(n)])


@dataclass
class Issuer:
    """A chain account of one agency of one region, with clients that sign as it."""

    sender: TransactionSender
    region: int
    agency_code: str
    registry: RegistryClient
    directory: DirectoryClient

    @property
    def address(self) -> str:
        return self.sender.address

    @property
    def agency(self) -> bytes:
        return merkle.agency_id(self.agency_code)

    def anchor_random(self, n: int) -> tuple[Docs, BatchAnchored]:
        """Anchor ``n`` random documents of this agency."""
        docs = random_docs(self.agency, n)
        return docs, self.registry.anchor(docs.keys, docs.bodies)


@dataclass
class Consortium:
    w3: Web3
    config: ChainConfig
    deployment: Deployment
    deployer: TransactionSender
    issuers: dict[int, list[Issuer]] = field(default_factory=dict)

    def sender(self) -> TransactionSender:
        """A fresh account that belongs to no region."""
        return sender_for(self.w3, self.config)

    def registry(self, sender: TransactionSender | None = None) -> RegistryClient:
        return RegistryClient(self.w3, self.deployment.registry, sender)

    def directory(self, sender: TransactionSender | None = None) -> DirectoryClient:
        return DirectoryClient(self.w3, self.deployment.directory, sender)

    def now(self) -> int:
        """The latest block's time (other tests of the session move anvil's clock)."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def issuer(self, region: int, index: int = 0) -> Issuer:
        return self.issuers[region][index]

    def _issuer(self, region: int, code: str, sender: TransactionSender | None = None) -> Issuer:
        s = sender or self.sender()
        return Issuer(s, region, code, self.registry(s), self.directory(s))

    def decide(self, proposer: Issuer, pid: int) -> int:
        """Let one account of every region other than ``proposer``'s approve proposal ``pid``
        until it executes (M-of-N); returns the id."""
        for code, members in self.issuers.items():
            if self.directory().proposal(pid).executed:
                break
            if code != proposer.region and members:
                members[0].directory.approve(pid)
        assert self.directory().proposal(pid).executed, f"proposal {pid} did not execute"
        return pid

    def add_region(self, region: int, accounts: int = 1) -> list[Issuer]:
        """Add ``region`` by proposal with ``accounts`` accounts, each of its own agency."""
        proposer = next(iter(self.issuers.values()))[0]
        first = self._issuer(region, agency_code(region, 1))
        pid = proposer.directory.propose(
            Action.ADD_REGION, region, name=f"Region {region}", account=first.address,
            agency_code=first.agency_code,
        )  # fmt: skip
        self.decide(proposer, pid)
        self.issuers[region] = [first]
        for n in range(2, accounts + 1):
            self.add_account(region, agency_code(region, n))
        return self.issuers[region]

    def add_account(self, region: int, code: str) -> Issuer:
        """Add a fresh account of agency ``code`` to ``region`` by proposal."""
        new = self._issuer(region, code)
        proposer = self.issuer(region)
        pid = proposer.directory.propose(
            Action.ADD_ACCOUNT, region, account=new.address, agency_code=code
        )
        self.decide(proposer, pid)
        self.issuers[region].append(new)
        return new


def deployed(w3: Web3, config: ChainConfig, threshold: int = 1) -> Consortium:
    """The three contracts freshly deployed by a new account; no region exists yet."""
    deployer = sender_for(w3, config)
    return Consortium(w3, config, deploy(deployer, threshold), deployer)


def fresh_consortium(
    w3: Web3,
    config: ChainConfig,
    regions: Sequence[int] = (REGION_A, REGION_B),
    accounts: int = 1,
    threshold: int = 1,
) -> Consortium:
    """Deploy, bootstrap ``regions[0]`` with ``accounts`` agency accounts, then add every
    further region (``accounts`` accounts each) by M-of-N proposals."""
    c = deployed(w3, config, threshold)
    first = regions[0]
    founders = [c._issuer(first, agency_code(first, n)) for n in range(1, accounts + 1)]
    c.directory(c.deployer).bootstrap(
        first, f"Region {first}", [AgencyAccount(i.address, i.agency_code) for i in founders]
    )
    c.issuers[first] = founders
    for region in regions[1:]:
        c.add_region(region, accounts)
    return c
