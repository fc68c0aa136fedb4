"""The multi-node test network (ledger_client.network): three Clique signer nodes of
@ethereumjs/client on loopback, static peers, discovery off — started, inspected and
stopped for real. What it does not do yet (mine contract transactions) is in
deploy/README.md."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger_client.network import CliqueNetwork, NetworkConfig
from tests.chain_fixtures import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.network]


@pytest.fixture
def network(tmp_path: Path) -> Iterator[CliqueNetwork]:
    """Three nodes, one per region, 2 s blocks; always stopped."""
    rpc, p2p = free_port(), free_port()
    net = CliqueNetwork(NetworkConfig(tmp_path / "network", nodes=3, rpc_port=rpc, p2p_port=p2p))
    try:
        net.start()
        yield net
    finally:
        net.stop()


def test_three_nodes_peer_statically_and_agree_on_one_chain(network: CliqueNetwork) -> None:
    nodes = network.converge(timeout=90)
    assert [n.rpc_url for n in nodes] == network.rpc_urls
    # one chain can already hold while the last of the three static links is still being
    # dialled (seen once: a node with one peer at block 2); the full mesh follows in seconds
    deadline = time.monotonic() + 30
    while not all(n.running and n.peers == 2 for n in nodes) and time.monotonic() < deadline:
        time.sleep(1)
        nodes = network.status()
    assert all(n.running and n.peers == 2 for n in nodes), nodes
    first = min(n.head_block or 0 for n in nodes)
    time.sleep(5)  # blocks go on every 2 s
    later = network.status()
    assert min(n.head_block or 0 for n in later) > first
    assert len({network.block_hash(n.index, first) for n in later}) == 1


def test_a_stopped_node_is_shown_down_and_rejoins(network: CliqueNetwork) -> None:
    network.converge(timeout=90)
    assert network.stop_node(0)
    down = network.status()[0]
    assert not down.running and down.head_block is None
    assert network.start_node(0, seal=False)
    nodes = network.converge(timeout=90)
    assert nodes[0].running and not nodes[0].sealing
    assert network.stop() == 3
    assert not any(n.running for n in network.status())
