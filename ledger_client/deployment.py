"""Deploying the contracts once and remembering where they are."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.types import TxReceipt

from ledger_client.artifacts import (
    CONTRACTS,
    DIRECTORY,
    REGISTRY,
    SHARING,
    load_artifact,
    revert_decoder,
)
from ledger_client.errors import DeploymentError
from ledger_client.transactions import TransactionSender

__all__ = ["CONTRACTS", "DIRECTORY", "SHARING", "Deployment", "deploy", "revert_decoder"]


@dataclass(frozen=True)
class Deployment:
    """Addresses of the deployed contracts on one chain.

    ``directory`` and ``sharing`` default to empty so records written before those contracts
    existed still load.
    """

    chain_id: int
    registry: str
    deployer: str
    block_number: int
    directory: str = ""
    sharing: str = ""

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Deployment:
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError as exc:
            raise DeploymentError(
                f"no contract deployment recorded at {path}; run `licledger chain up` first"
            ) from exc
        except (ValueError, TypeError) as exc:
            raise DeploymentError(f"deployment record {path} is corrupt ({exc})") from exc

    @property
    def addresses(self) -> tuple[str, ...]:
        """Every recorded contract address."""
        return tuple(a for a in (self.registry, self.directory, self.sharing) if a)

    def is_live(self, w3: Web3) -> bool:
        """Whether every recorded address holds code on the connected chain."""
        return all(len(w3.eth.get_code(Web3.to_checksum_address(a))) > 0 for a in self.addresses)


def _deploy(sender: TransactionSender, name: str, *args: Any) -> tuple[str, TxReceipt]:
    """Deploy ``name``; its address and the creation receipt."""
    art = load_artifact(name)
    signed = sender.prepare_deploy(art.abi, art.bytecode, *args)
    sender.broadcast(signed)
    receipt = sender.wait(signed.tx_hash, signed=signed)
    address = receipt["contractAddress"]
    if address is None:
        raise DeploymentError(f"deploying {name} created no contract")
    return str(address), receipt


def deploy(sender: TransactionSender, threshold: int = 1) -> Deployment:
    """Deploy the directory, the registry that asks it who issues, and the sharing ledger.

    ``threshold`` is the directory's M (approvals a proposal needs). The deployer may
    bootstrap the directory's first region once and holds no other power over any contract:
    after bootstrap, membership, issuers and keys change only by M-of-N decisions.
    """
    if threshold < 1:
        raise DeploymentError(f"the approval threshold must be at least 1, not {threshold}")
    directory, first = _deploy(sender, DIRECTORY, threshold)
    registry, _ = _deploy(sender, REGISTRY, directory)
    sharing, _ = _deploy(sender, SHARING, directory)
    return Deployment(
        chain_id=sender.config.chain_id,
        registry=registry,
        deployer=sender.address,
        block_number=int(first["blockNumber"]),
        directory=directory,
        sharing=sharing,
    )
