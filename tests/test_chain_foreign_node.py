"""Issue 25, point 6: `licledger chain up` knows its own node. A node already answering on
the port that its data directory did not start (another checkout's anvil) is refused with a
message naming the port and the fix, and nothing is deployed onto it."""

from __future__ import annotations

from pathlib import Path

import pytest
from web3 import Web3

from ledger_client.node import AnvilNode, NodeConfig
from tests.chain_fixtures import free_port
from tests.test_cli import Cli

pytestmark = pytest.mark.e2e


def test_chain_up_refuses_a_foreign_node_on_its_port_and_deploys_nothing(tmp_path: Path) -> None:
    port = free_port()
    foreign = AnvilNode(NodeConfig(directory=tmp_path / "other-checkout", port=port))
    foreign.start()
    try:
        w3 = Web3(Web3.HTTPProvider(foreign.config.rpc_url))
        block_before = w3.eth.block_number
        cli = Cli(tmp_path / "fresh-home", tmp_path)
        refused = cli.run("chain", "up", "--port", str(port), check=2)
        assert str(port) in refused.stderr and "did not start" in refused.stderr
        assert "--port" in refused.stderr  # the fix
        assert not (cli.home / "deployment.json").exists()
        assert w3.eth.block_number == block_before  # not one transaction sent to it
        # its own node on another port comes up and deploys
        own = cli.run("chain", "up", "--port", str(free_port()))
        assert "deployed now" in own.stdout
        cli.run("chain", "down")
    finally:
        foreign.stop()


def test_a_node_this_directory_started_is_its_own(tmp_path: Path) -> None:
    node = AnvilNode(NodeConfig(directory=tmp_path / "chain", port=free_port()))
    assert node.start()
    try:
        assert node.is_own() and node.start() is False  # running already: not started again
        stranger = AnvilNode(NodeConfig(directory=tmp_path / "elsewhere", port=node.config.port))
        assert not stranger.is_own()
    finally:
        node.stop()
