"""Connecting to a JSON-RPC node with only standard eth_/net_/web3_ methods."""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3
from web3.providers.rpc import HTTPProvider

from ledger_client.errors import ChainUnavailableError, WrongChainError

DEFAULT_CHAIN_ID = 15600


@dataclass(frozen=True)
class ChainConfig:
    """Where the chain is and how patiently to talk to it."""

    rpc_url: str = "http://127.0.0.1:8545"
    chain_id: int = DEFAULT_CHAIN_ID
    request_timeout: float = 10.0
    receipt_timeout: float = 60.0
    poll_interval: float = 0.05
    # Permissioned networks (Besu with min-gas-price 0, anvil with --base-fee 0) charge no gas,
    # so agency accounts need no funding.
    gas_price_wei: int = 0


def connect(config: ChainConfig) -> Web3:
    """A connected Web3 for ``config``, after checking the node answers with the right chain id."""
    w3 = Web3(HTTPProvider(config.rpc_url, request_kwargs={"timeout": config.request_timeout}))
    try:
        chain_id = w3.eth.chain_id
    except Exception as exc:  # requests/aiohttp/OS errors all mean the same thing to the caller
        raise ChainUnavailableError(
            f"chain node at {config.rpc_url} is not reachable ({type(exc).__name__}); "
            "start it with `licledger chain up` or set LICLEDGER_RPC_URL"
        ) from exc
    if chain_id != config.chain_id:
        raise WrongChainError(
            f"node at {config.rpc_url} serves chain id {chain_id}, expected {config.chain_id}; "
            "check LICLEDGER_RPC_URL and LICLEDGER_CHAIN_ID"
        )
    return w3


def is_reachable(rpc_url: str, timeout: float = 1.0) -> bool:
    """Whether a node answers ``eth_chainId`` at ``rpc_url``."""
    w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
    try:
        return w3.eth.chain_id > 0
    except Exception:
        return False
