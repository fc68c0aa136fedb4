"""Deploying the contracts once and remembering where they are."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from web3 import Web3

from ledger_client.artifacts import load_artifact
from ledger_client.errors import DeploymentError
from ledger_client.registry import REGISTRY
from ledger_client.transactions import TransactionSender

CONTRACTS = (REGISTRY,)


@dataclass(frozen=True)
class Deployment:
    """Addresses of the deployed contracts on one chain."""

    chain_id: int
    registry: str
    deployer: str
    block_number: int

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

    def is_live(self, w3: Web3) -> bool:
        """Whether the recorded registry address holds code on the connected chain."""
        return len(w3.eth.get_code(Web3.to_checksum_address(self.registry))) > 0


def deploy(sender: TransactionSender) -> Deployment:
    """Deploy every contract with ``sender`` as admin."""
    art = load_artifact(REGISTRY)
    signed = sender.prepare_deploy(art.abi, art.bytecode, sender.address)
    sender.broadcast(signed)
    receipt = sender.wait(signed.tx_hash)
    address = receipt["contractAddress"]
    if address is None:
        raise DeploymentError("deployment transaction created no contract")
    return Deployment(
        chain_id=sender.config.chain_id,
        registry=str(address),
        deployer=sender.address,
        block_number=int(receipt["blockNumber"]),
    )
