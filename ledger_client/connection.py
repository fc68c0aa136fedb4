"""Connecting to a JSON-RPC node with only standard eth_/net_/web3_ methods."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from eth_typing import URI
from web3 import Web3
from web3.middleware import ExtraDataToPOAMiddleware
from web3.providers.rpc import HTTPProvider
from web3.types import RPCEndpoint, RPCResponse

from ledger_client.errors import ChainUnavailableError, WrongChainError

DEFAULT_CHAIN_ID = 15600
# Besu refuses an eth_getLogs over more blocks than --rpc-max-logs-range (default 5,000).
MAX_LOGS_RANGE = 5_000


def rpc_urls(rpc_url: str) -> list[str]:
    """The node URLs of a ``LICLEDGER_RPC_URL``: one, or several separated by commas (the
    region's own node first, then others of the consortium to fail over to)."""
    urls = [u.strip() for u in rpc_url.split(",") if u.strip()]
    if not urls:
        raise ChainUnavailableError("LICLEDGER_RPC_URL names no node; set it to http://host:port")
    return urls


class BoundedLogsProvider(HTTPProvider):
    """An HTTP provider that splits every ``eth_getLogs`` over more than ``max_logs_range``
    blocks into consecutive queries within the limit, so no caller (indexer, auditor,
    certificate cache) can ask a Besu node for a range it refuses, however far the chain has
    grown. The logs come back as one list, in chain order, as from one query.

    Given several URLs (comma-separated), a request that finds its node unreachable is sent
    to the next one, and that node is kept for the requests after it: a region whose own
    node is down reads and writes through another node of the consortium."""

    def __init__(
        self, endpoint_uri: str, *args: Any, max_logs_range: int = MAX_LOGS_RANGE, **kwargs: Any
    ) -> None:
        self.urls = rpc_urls(str(endpoint_uri))
        super().__init__(self.urls[0], *args, **kwargs)
        self.max_logs_range = max(1, max_logs_range)

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        for _ in range(len(self.urls) - 1):
            try:
                return self._attempt(method, params)
            except ChainUnavailableError:
                at = self.urls.index(str(self.endpoint_uri))
                self.endpoint_uri = URI(self.urls[(at + 1) % len(self.urls)])
        return self._attempt(method, params)

    def _attempt(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        try:
            return self._request(method, params)
        except (OSError, requests.RequestException) as exc:
            # Not web3's or requests' error, with a traceback's worth of URL and pool detail:
            # every caller (a verification, the worker, the indexer) gets one error it knows.
            raise ChainUnavailableError(
                f"the chain node at {self.endpoint_uri} is unreachable "
                f"({type(exc).__name__} during {method}); nothing read from the chain now"
            ) from exc

    def _request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        if method != "eth_getLogs" or not params or not isinstance(params[0], dict):
            return super().make_request(method, params)
        query = params[0]
        if "blockHash" in query:
            return super().make_request(method, params)
        start, end = _block(query.get("fromBlock", "latest")), _block(query.get("toBlock"))
        if start is None or end is None:  # a tag: resolve it, as the node would
            head = int(super().make_request(RPCEndpoint("eth_blockNumber"), [])["result"], 16)
            start, end = start if start is not None else head, end if end is not None else head
        if end - start < self.max_logs_range:
            return super().make_request(method, params)
        logs: list[Any] = []
        part: RPCResponse = {}
        for first in range(start, end + 1, self.max_logs_range):
            last = min(end, first + self.max_logs_range - 1)
            part = super().make_request(
                method, [{**query, "fromBlock": hex(first), "toBlock": hex(last)}]
            )
            if "error" in part:
                return part
            logs.extend(part["result"])
        return {**part, "result": logs}


def _block(value: Any) -> int | None:
    """A block number from a JSON-RPC block parameter; None for a tag (or no value: latest)."""
    if isinstance(value, int):
        return value
    if value == "earliest":
        return 0
    if isinstance(value, str) and value.startswith("0x"):
        return int(value, 16)
    return None


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
    provider = BoundedLogsProvider(
        config.rpc_url,
        request_kwargs={"timeout": config.request_timeout},
        # web3's validation asks the node its chain id before every eth_call and transaction
        # (a second round trip each, and a fifth of an idle server's chain CPU); the id is
        # checked once below and a chain does not change it.
        cache_allowed_requests=True,
        cacheable_requests={RPCEndpoint("eth_chainId")},
    )
    w3 = Web3(provider)
    # Proof-of-authority headers carry more than the 32 bytes of extraData web3's block
    # formatter accepts: Clique's signers and seal (97 bytes and more: the multi-node test
    # network), QBFT's RLP of validators and votes (Besu). "cannot read block 70 (The field
    # extraData is 97 bytes, but should be 32 …)" stopped the indexer on the Clique network.
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
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
    w3 = Web3(BoundedLogsProvider(rpc_url, request_kwargs={"timeout": timeout}))
    try:
        return w3.eth.chain_id > 0
    except Exception:
        return False
