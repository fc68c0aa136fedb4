"""Session fixtures: one real anvil node for the whole test run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from ledger_client.connection import ChainConfig, connect
from ledger_client.node import AnvilNode, NodeConfig
from tests.chain_fixtures import free_port


@pytest.fixture(scope="session")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    directory: Path = tmp_path_factory.mktemp("anvil")
    node = AnvilNode(NodeConfig(directory=directory, port=free_port()))
    node.start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def chain_config(anvil: AnvilNode) -> ChainConfig:
    return ChainConfig(rpc_url=anvil.config.rpc_url, chain_id=anvil.config.chain_id)


@pytest.fixture(scope="session")
def w3(chain_config: ChainConfig) -> Web3:
    return connect(chain_config)
