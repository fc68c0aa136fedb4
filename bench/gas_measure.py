"""Measuring the registry's gas on a real anvil node: anchoring at several batch sizes, a
revocation, a supersede. Gas is deterministic for given documents, so the documents are
derived from their index (not random) and every run gives the same figures."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from eth_utils import keccak
from web3 import Web3

from ledger_client import merkle
from ledger_client.accounts import create_account
from ledger_client.artifacts import artifacts_dir
from ledger_client.connection import ChainConfig
from ledger_client.deployment import deploy, revert_decoder
from ledger_client.directory import AgencyAccount, DirectoryClient
from ledger_client.node import AnvilNode, NodeConfig, anvil_binary
from ledger_client.registry import LeafStatus, Member, RegistryClient
from ledger_client.transactions import TransactionSender

AGENCY_CODE = "11330100000000001X"
REGION = 330100


@dataclass(frozen=True)
class Documents:
    keys: list[bytes]
    bodies: list[bytes]
    leaves: list[bytes]


def documents(n: int, salt: str) -> Documents:
    """``n`` documents of the bench agency derived from ``salt`` and their index, sorted by
    leaf as ``anchorBatch`` wants them."""
    agency = merkle.agency_id(AGENCY_CODE)
    pairs = [
        (keccak(text=f"{salt}/key/{i}")[:16], keccak(text=f"{salt}/body/{i}")) for i in range(n)
    ]
    pairs.sort(key=lambda kb: merkle.leaf_of(agency, *kb))
    return Documents(
        [k for k, _ in pairs], [b for _, b in pairs], [merkle.leaf_of(agency, *kb) for kb in pairs]
    )


@dataclass
class Bench:
    """A consortium of one region with one issuer account on a chain."""

    w3: Web3
    sender: TransactionSender
    registry: RegistryClient
    gas: dict[int, int] = field(default_factory=dict)

    def anchor(self, docs: Documents) -> tuple[int, int]:
        """Anchor ``docs``; ``(batch id, gas used)``."""
        fn = self.registry.contract.functions.anchorBatch(docs.keys, docs.bodies)
        receipt = self.sender.transact(fn)
        return self.registry.batch_from_receipt(receipt).batch_id, int(receipt["gasUsed"])

    def gas_of(self, fn: object) -> int:
        return int(self.sender.transact(fn)["gasUsed"])  # type: ignore[arg-type]


def set_up(rpc_url: str, chain_id: int) -> Bench:
    """Deploy the contracts and bootstrap one region whose one account anchors."""
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 120}))
    config = ChainConfig(rpc_url=rpc_url, chain_id=chain_id)
    deployer = TransactionSender(w3, create_account(), config, revert_decoder())
    issuer = TransactionSender(w3, create_account(), config, revert_decoder())
    deployment = deploy(deployer, 1)
    DirectoryClient(w3, deployment.directory, deployer).bootstrap(
        REGION, "Bench region", [AgencyAccount(issuer.address, AGENCY_CODE)]
    )
    bench = Bench(w3, issuer, RegistryClient(w3, deployment.registry, issuer))
    # The registry's first batch also pays for its batch counter's first write (0 -> 1, about
    # 17,000 gas once per chain); one warm-up batch keeps that out of every figure.
    bench.anchor(documents(2, "warm-up"))
    return bench


def measure(bench: Bench, sizes: Sequence[int]) -> dict[str, int]:
    """Gas of anchoring each size, of a revocation and of a supersede."""
    out: dict[str, int] = {}
    batches: dict[int, tuple[int, Documents]] = {}
    for n in sizes:
        docs = documents(n, f"batch-{n}")
        batch_id, gas = bench.anchor(docs)
        bench.gas[n] = gas
        batches[n] = (batch_id, docs)
    big = max(sizes)
    batch_id, docs = batches[big]
    fns = bench.registry.contract.functions
    proof = merkle.proof(docs.leaves, 3)
    out["gas_revocation"] = bench.gas_of(
        fns.changeStatus(docs.leaves[3], batch_id, proof, int(LeafStatus.REVOKED), 1)
    )
    parent = Member(docs.leaves[5], batch_id, tuple(merkle.proof(docs.leaves, 5)))
    new = documents(1, "amended")
    child_batch, out["gas_anchor_amended_version_alone"] = bench.anchor(new)
    child = Member(new.leaves[0], child_batch, ())
    out["gas_supersede"] = bench.gas_of(fns.supersede(parent.as_tuple(), child.as_tuple(), 2))
    return out


def node_info(w3: Web3) -> dict[str, object]:
    """What anvil says about itself (its hardfork, chain id, gas limit)."""
    info = w3.provider.make_request("anvil_nodeInfo", [])  # type: ignore[arg-type]
    return dict(info.get("result") or {})


def compiler() -> dict[str, object]:
    """The solc version and settings of the artifacts in use (newest build info)."""
    infos = sorted((artifacts_dir() / "build-info").glob("*.json"), key=lambda p: p.stat().st_mtime)
    if not infos:
        return {}
    data = json.loads(infos[-1].read_text(encoding="utf-8"))
    settings = data["input"]["settings"]
    return {
        "solc": data.get("solcLongVersion", data.get("solcVersion")),
        "optimizer_runs": settings.get("optimizer", {}).get("runs"),
        "evm_version": settings.get("evmVersion"),
    }


def anvil_version() -> str:
    done = subprocess.run([anvil_binary(), "--version"], capture_output=True, text=True)
    return done.stdout.splitlines()[0].strip() if done.stdout else "unknown"


@contextmanager
def chain(hardfork: str | None, port: int) -> Iterator[str]:
    """A throwaway anvil node with ``hardfork`` (None: the product's default); its RPC URL."""
    with tempfile.TemporaryDirectory(prefix="licledger-gas-") as tmp:
        config = NodeConfig(directory=Path(tmp), port=port)
        if hardfork is not None:
            config = replace(config, hardfork=hardfork)
        node = AnvilNode(config)
        node.start()
        try:
            yield node.config.rpc_url
        finally:
            node.stop()
