"""Helpers shared by tests that need a real chain."""

from __future__ import annotations

import socket

from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger_client.accounts import create_account
from ledger_client.artifacts import load_artifact
from ledger_client.connection import ChainConfig
from ledger_client.deployment import Deployment, deploy
from ledger_client.registry import REGISTRY, RegistryClient
from ledger_client.reverts import RevertDecoder
from ledger_client.transactions import TransactionSender


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sender_for(
    w3: Web3, config: ChainConfig, account: LocalAccount | None = None
) -> TransactionSender:
    decoder = RevertDecoder([load_artifact(REGISTRY).abi])
    return TransactionSender(w3, account or create_account(), config, decoder)


def fresh_registry(w3: Web3, config: ChainConfig) -> tuple[Deployment, TransactionSender]:
    admin = sender_for(w3, config)
    return deploy(admin), admin


def registry_as(w3: Web3, deployment: Deployment, sender: TransactionSender) -> RegistryClient:
    return RegistryClient(w3, deployment.registry, sender)
