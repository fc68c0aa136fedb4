"""The multi-node Clique network (ledger_client.network) as tests and the consortium bench use
it: the London build of the contracts, the network started and stopped, each region's node
list (its own node first, the others after it to fail over to), and the chain's own count of
what was anchored."""

from __future__ import annotations

import os
import socket
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

from ledger_client.artifacts import load_artifact, revert_decoder
from ledger_client.network import CliqueNetwork, NetworkConfig
from licence_service.audit.history import read_history
from licence_service.region.runtime import Runtime
from tests.chain_fixtures import free_port
from tests.tcp_link import TcpLink

PROJECT = Path(__file__).resolve().parent.parent
LONDON_ARTIFACTS = PROJECT / "artifacts-london"
CLIQUE_CONFIRMATIONS = 2
"""Blocks on top of a batch before it counts as anchored on Clique, whose recent blocks can be
replaced (QBFT's are final at once: 0)."""


@contextmanager
def london_artifacts() -> Iterator[None]:
    """The contracts built for London (`make artifacts-london`): the Clique network's miner
    stops at the merge forks, so it runs no Shanghai/Cancun code (PUSH0, MCOPY)."""
    if not (LONDON_ARTIFACTS / "contracts").is_dir():
        raise RuntimeError(f"{LONDON_ARTIFACTS} missing: run `make artifacts-london`")
    before = os.environ.get("LICLEDGER_ARTIFACTS")
    os.environ["LICLEDGER_ARTIFACTS"] = str(LONDON_ARTIFACTS)
    load_artifact.cache_clear()
    revert_decoder.cache_clear()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("LICLEDGER_ARTIFACTS", None)
        else:
            os.environ["LICLEDGER_ARTIFACTS"] = before
        load_artifact.cache_clear()
        revert_decoder.cache_clear()


class LinkedNetwork(CliqueNetwork):
    """A network whose every pair of nodes talks through a ``TcpLink`` of its own (one per
    direction of dialling), so that a test can cut a node off while it runs."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__(config)
        n = config.nodes
        self.links = {
            (i, j): TcpLink(config.p2p_port + j) for i in range(n) for j in range(n) if i != j
        }

    def peer_port(self, dialer: int, peer: int) -> int:
        return self.links[(dialer, peer)].port

    def isolate(self, index: int) -> None:
        for pair, link in self.links.items():
            if index in pair:
                link.cut()

    def rejoin(self, index: int) -> None:
        for pair, link in self.links.items():
            if index in pair:
                link.mend()

    def close_links(self) -> None:
        for link in self.links.values():
            link.close()


@contextmanager
def running_network(
    directory: Path,
    nodes: int = 3,
    block_period: int = 2,
    timeout: float = 180.0,
    linked: bool = False,
    followers: Collection[int] = (),
) -> Iterator[CliqueNetwork]:
    """``nodes`` signer nodes on free loopback ports, on one chain before it yields; always
    stopped. ``timeout`` is generous: on a loaded 2-core machine the nodes converge slowly.
    ``linked``: a ``LinkedNetwork``, whose nodes a test can cut off from each other;
    ``followers``: nodes that seal nothing (signers in the genesis all the same)."""
    rpc = _free_run(nodes)
    config = NetworkConfig(
        directory, nodes=nodes, rpc_port=rpc, p2p_port=_free_run(nodes),
        block_period=block_period, start_timeout=120.0,
    )  # fmt: skip
    net = LinkedNetwork(config) if linked else CliqueNetwork(config)
    try:
        if followers:
            _start_in_turn(net, followers, timeout)
        else:
            net.start()
            net.converge(timeout=timeout)
        yield net
    finally:
        net.stop()
        if isinstance(net, LinkedNetwork):
            net.close_links()


def _start_in_turn(net: CliqueNetwork, followers: Collection[int], timeout: float) -> None:
    """Start a network where only some signers seal: the first of them alone until every node
    has block 1, then the others. Started at once, two signers each seal a block 1 and, each
    having signed the block before, may seal nothing on top of it: the chain stops."""
    sealers = [i for i in range(net.config.nodes) if i not in followers]
    net.start(followers=[*followers, *sealers[1:]])
    net.converge(timeout=timeout)
    for index in sealers[1:]:
        net.stop_node(index)
        net.start_node(index, seal=True)
    net.converge(timeout=timeout)


def _free_run(count: int) -> int:
    """A port P with P … P+count-1 free now (the network numbers its nodes' ports so)."""
    for _ in range(50):
        first, held = free_port(), []
        try:
            for port in range(first, first + count):
                held.append(socket.socket())
                held[-1].bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise RuntimeError(f"no run of {count} free ports found")


def region_urls(net: CliqueNetwork, own: int, failover: bool = True) -> str:
    """``LICLEDGER_RPC_URL`` of the region on node ``own``: that node first, then (with
    ``failover``) every other node of the network."""
    urls = net.rpc_urls
    others = [u for i, u in enumerate(urls) if i != own] if failover else []
    return ",".join([urls[own], *others])


def anchored_counts(rt: Runtime) -> tuple[int, int, int]:
    """From the chain alone (the auditor's reader, through ``rt``'s node): the batches, the
    leaves they hold (the sum of their sizes) and the distinct leaves among them. A leaf
    anchored twice makes the second figure exceed the third."""
    history = read_history(rt.registry(), rt.deployment.block_number)
    size = sum(b.size for b in history.batches.values())
    return len(history.batches), size, len(history.leaves)
