"""`CliqueNetwork.converge`'s judgement of its nodes (ledger_client/network_health.py): the
same status rows the real network gives, without starting one (the network tier,
`make test-network`, runs it for real)."""

from __future__ import annotations

from ledger_client.network import NodeStatus
from ledger_client.network_health import (
    SHORT_OF_PEERS_S,
    STRANDED_LOOKS,
    agree,
    short_of_peers,
    stranded,
)

CHAIN = {n: f"0x{n:064x}" for n in range(20)}


def _node(index: int, peers: int, head: int, head_hash: str | None = None) -> NodeStatus:
    url = f"http://127.0.0.1:{8545 + index}"
    return NodeStatus(
        index, url, 100 + index, True, "0x0", True, peers, head, head_hash or CHAIN[head]
    )


def _on_chain(index: int, number: int) -> str | None:
    return CHAIN.get(number)


def test_one_chain_counts_only_with_every_node_connected_to_every_other() -> None:
    meshed = [_node(0, 2, 9), _node(1, 2, 9), _node(2, 2, 8)]  # one a block behind: fine
    assert agree(meshed, _on_chain)
    one_link_missing = [_node(0, 2, 9), _node(1, 1, 9), _node(2, 1, 9)]
    assert not agree(one_link_missing, _on_chain)
    assert not agree([_node(0, 2, 0), _node(1, 2, 0), _node(2, 2, 0)], _on_chain)  # genesis
    assert not agree([], _on_chain)


def test_a_node_short_of_a_peer_is_due_for_a_restart_once_and_only_after_a_while() -> None:
    since: dict[int, float] = {}
    spared: set[int] = set()
    rows = [_node(0, 2, 5), _node(1, 1, 5), _node(2, 1, 5)]
    assert short_of_peers(rows, since, 100.0, spared) == []
    assert short_of_peers(rows, since, 100.0 + SHORT_OF_PEERS_S - 1, spared) == []
    healed = [_node(0, 2, 6), _node(1, 2, 6), _node(2, 2, 6)]
    assert short_of_peers(healed, since, 150.0, spared) == []  # a good look: the clock restarts
    assert short_of_peers(rows, since, 151.0, spared) == []
    assert short_of_peers(rows, since, 151.0 + SHORT_OF_PEERS_S, spared) == [1, 2]
    # restarted once: still short afterwards, it is not restarted again by this converge
    assert short_of_peers(rows, since, 300.0, spared) == []
    assert short_of_peers(rows, since, 300.0 + 10 * SHORT_OF_PEERS_S, spared) == []


def test_two_running_nodes_need_one_peer_each() -> None:
    since: dict[int, float] = {}
    two = [_node(1, 1, 5), _node(2, 1, 5)]  # node 0 stopped: not in the list
    assert agree(two, _on_chain)
    assert short_of_peers(two, since, 0.0, set()) == []
    assert short_of_peers(two, since, 10 * SHORT_OF_PEERS_S, set()) == []


def test_a_node_on_a_branch_of_its_own_is_stranded_after_three_looks() -> None:
    own = "0x" + "ab" * 32  # node 2's block 7, sealed by itself; the others have CHAIN[7]

    def hash_at(index: int, number: int) -> str | None:
        return own if (index, number) == (2, 7) else CHAIN.get(number)

    looks: dict[int, int] = {}
    rows = [_node(0, 2, 9), _node(1, 2, 9), _node(2, 2, 7, head_hash=own)]
    for _ in range(STRANDED_LOOKS - 1):
        assert stranded(rows, hash_at, looks) == []
    assert stranded(rows, hash_at, looks) == [2]
    assert not agree(rows, hash_at)
