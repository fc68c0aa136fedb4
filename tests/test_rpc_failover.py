"""LICLEDGER_RPC_URL with several nodes: a region whose own node is down goes on through the
next one (ledger_client.connection), on the session's real anvil node and a port nobody
answers."""

from __future__ import annotations

import pytest
from web3 import Web3

from ledger_client.connection import BoundedLogsProvider, ChainConfig, connect, rpc_urls
from ledger_client.errors import ChainUnavailableError
from ledger_client.node import AnvilNode
from tests.chain_fixtures import free_port

pytestmark = pytest.mark.contract


def test_a_dead_first_node_fails_over_to_the_next(anvil: AnvilNode) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    w3 = connect(ChainConfig(rpc_url=f"{dead}, {anvil.config.rpc_url}"))
    assert w3.eth.block_number >= 0
    provider = w3.provider
    assert isinstance(provider, BoundedLogsProvider)
    assert provider.endpoint_uri == anvil.config.rpc_url  # kept for the requests after it


def test_the_region_node_is_used_while_it_answers(anvil: AnvilNode) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    provider = BoundedLogsProvider(f"{anvil.config.rpc_url},{dead}")
    assert Web3(provider).eth.chain_id == anvil.config.chain_id
    assert provider.endpoint_uri == anvil.config.rpc_url


def test_no_node_answering_is_one_clear_error() -> None:
    urls = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
    with pytest.raises(ChainUnavailableError, match="not reachable"):
        connect(ChainConfig(rpc_url=",".join(urls)))


@pytest.mark.unit
def test_an_empty_url_list_is_refused_naming_the_setting() -> None:
    with pytest.raises(ChainUnavailableError, match="LICLEDGER_RPC_URL"):
        rpc_urls(" , ")
