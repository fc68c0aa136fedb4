"""The multi-node Clique network (ledger_client.network) as tests and the consortium bench use
it: the London build of the contracts, the network started and stopped, each region's node
list (its own node first, the others after it to fail over to), and the chain's own count of
what was anchored."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ledger_client.artifacts import load_artifact, revert_decoder
from ledger_client.network import CliqueNetwork, NetworkConfig
from licence_service.audit.history import read_history
from licence_service.region.runtime import Runtime
from tests.chain_fixtures import free_port

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


@contextmanager
def running_network(
    directory: Path, nodes: int = 3, block_period: int = 2, timeout: float = 180.0
) -> Iterator[CliqueNetwork]:
    """``nodes`` signer nodes on free loopback ports, on one chain before it yields; always
    stopped. ``timeout`` is generous: on a loaded 2-core machine the nodes converge slowly."""
    rpc = _free_run(nodes)
    config = NetworkConfig(
        directory, nodes=nodes, rpc_port=rpc, p2p_port=_free_run(nodes),
        block_period=block_period, start_timeout=120.0,
    )  # fmt: skip
    net = CliqueNetwork(config)
    try:
        net.start()
        net.converge(timeout=timeout)
        yield net
    finally:
        net.stop()


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
