"""What `CliqueNetwork.converge` looks for in its nodes' status, and which nodes it restarts.

Two ways a node of @ethereumjs/client 0.10.5 stays wrong without help, both learnt on this
machine (deploy/README.md):

- **stranded on a branch**: a node left on a block of its own at a height where the others
  went on (two signers sealed at once, at a start or after a partition) kept it and stopped
  importing; a restart re-fetches the last 100 blocks from its peers and takes the heavier
  chain. The hooks now store such competing blocks as they come, so the restart is only a net,
  and the node comes back sealing as it did. Made a follower (as before), a node stranded at
  the start refused the deployment that came next, still catching up ("not aware of the
  current chain height"), and it would leave two sealers, of which one stopped leaves a last
  that cannot seal alone (of three signers, each seals at most one of two blocks in a row).
- **short of a peer**: a node that missed a static peer never dials it again while it has any
  other peer (the peer pool restarts its RLPx server only with no peer at all), and a failed
  ping bans that peer in its discovery table for 5 minutes (@ethereumjs/devp2p dpt.js
  ``addPeer``). Seen once: two signers that, once the third stopped, had no peer at all and
  restarted their RLPx servers every minute, both in the same second, without reaching each
  other again; their chain of two stalled ("too recently signed"). Whether they had been
  joined only through the third from the start was not logged. A restarted process has a
  fresh table and dials every static peer, so a node short of a peer is restarted (once
  in a `converge`, after SHORT_OF_PEERS_S).

Both are judged over time (looks in a row, or seconds), so that a block in flight or a link
being dialled is not mistaken for either.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

STRANDED_LOOKS = 8  # the client's own sync loop (every 5 s or so) gets a chance first
SHORT_OF_PEERS_S = 45.0
"""A node may be short of a peer this long before it is restarted, once per `converge`: a
fresh node dials its peers within seconds, but a restart takes some 10 s to stop the node, and
restarting again before the peers have dropped the old connection only repeats itself (seen:
15 looks, 10-18 s, restarted one node five times in a row)."""


class Status(Protocol):
    """A node as `CliqueNetwork.status` shows it (network.NodeStatus), read only."""

    @property
    def index(self) -> int: ...
    @property
    def peers(self) -> int | None: ...
    @property
    def head_block(self) -> int | None: ...
    @property
    def head_hash(self) -> str | None: ...


HashAt = Callable[[int, int], "str | None"]
"""The hash of block ``number`` on node ``index`` (None: unreachable or unknown)."""


def agree(nodes: Sequence[Status], hash_at: HashAt) -> bool:
    """All running nodes past genesis, on one chain (each holds the same block at the lowest
    head among them: a node may lag a block or two, it is not on a branch) and each connected
    to all the others."""
    heads = [n.head_block or 0 for n in nodes]
    if not nodes or min(heads) < 1:
        return False
    if any(n.peers != len(nodes) - 1 for n in nodes):
        return False
    hashes = {hash_at(n.index, min(heads)) for n in nodes}
    return len(hashes) == 1 and None not in hashes


def stranded(nodes: Sequence[Status], hash_at: HashAt, looks: dict[int, int]) -> list[int]:
    """Nodes whose head has not been on the leading node's chain for STRANDED_LOOKS looks."""
    leader = max(nodes, key=lambda n: n.head_block or 0)
    return _for_looks(
        nodes, looks, STRANDED_LOOKS,
        lambda n: n.head_block is not None and hash_at(leader.index, n.head_block) != n.head_hash,
    )  # fmt: skip


def short_of_peers(
    nodes: Sequence[Status], since: dict[int, float], now: float, spared: set[int]
) -> list[int]:
    """Nodes connected to fewer than all the other running nodes without a break since
    SHORT_OF_PEERS_S ago (``since``: when each was first seen short), except those in
    ``spared`` (restarted for it once already); each returned node is added to ``spared``."""
    due = []
    for n in nodes:
        if n.peers is None or n.peers >= len(nodes) - 1:
            since.pop(n.index, None)
        elif now - since.setdefault(n.index, now) >= SHORT_OF_PEERS_S and n.index not in spared:
            due.append(n.index)
            spared.add(n.index)
            since.pop(n.index)
    return due


def _for_looks(
    nodes: Sequence[Status], looks: dict[int, int], needed: int, wrong: Callable[[Status], bool]
) -> list[int]:
    """Count, per node, the looks in a row at which ``wrong`` held; the nodes that reached
    ``needed`` (their count starts again)."""
    due = []
    for n in nodes:
        if wrong(n):
            looks[n.index] = looks.get(n.index, 0) + 1
            if looks[n.index] >= needed:
                due.append(n.index)
                looks.pop(n.index)
        else:
            looks.pop(n.index, None)
    return due
