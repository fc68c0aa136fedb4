"""Benchmark of auditor replay: build a chain history of >= 100,000 licence events, then
measure how fast it is rebuilt from the chain alone, and how memory grows with history.

Licence events are leaves anchored (each a licence document), status changes and version
links. The history is written straight through the registry by one agency account of a
bootstrapped region (batches of 1,024 random documents, plus status changes), on its own anvil
node on a free loopback port.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import socket
import tempfile
import time
import tracemalloc
from pathlib import Path

from ledger_client import merkle
from ledger_client.accounts import create_account
from ledger_client.connection import ChainConfig, connect
from ledger_client.deployment import deploy, revert_decoder
from ledger_client.directory import AgencyAccount, DirectoryClient
from ledger_client.node import AnvilNode, NodeConfig
from ledger_client.registry import LeafStatus, RegistryClient
from ledger_client.transactions import TransactionSender
from licence_service.audit.history import read_history


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


REGION = 330100
AGENCY_CODE = "913301000000000001"


def random_batch(agency: bytes, n: int) -> tuple[list[bytes], list[bytes]]:
    """Keys and bodies of ``n`` random documents, in the ascending leaf order the registry
    wants (it computes each leaf from the anchoring agency, the key and the body)."""
    docs = sorted(
        ((os.urandom(16), os.urandom(32)) for _ in range(n)),
        key=lambda kb: merkle.leaf_of(agency, *kb),
    )
    return [k for k, _ in docs], [b for _, b in docs]


def build(reg: RegistryClient, events: int, batch: int, statuses: int) -> tuple[int, float, int]:
    """Anchor documents and change statuses until ``events`` licence events exist; also
    returns the block by which half of the leaves were anchored."""
    t0 = time.perf_counter()
    agency = merkle.agency_id(AGENCY_CODE)
    made = 0
    samples: list[tuple[list[bytes], int]] = []
    blocks: list[int] = []
    while made < events - statuses:
        keys, bodies = random_batch(agency, batch)
        ev = reg.anchor(keys, bodies)
        leaves = list(ev.leaves)
        made += len(leaves)
        samples.append((leaves, ev.batch_id))
        blocks.append(ev.tx.block_number)
    for i in range(statuses):
        leaves, batch_id = samples[i % len(samples)]
        j = (i // len(samples)) % len(leaves)
        reg.change_status(leaves[j], batch_id, merkle.proof(leaves, j), LeafStatus.SUSPENDED, 1)
        made += 1
    return made, time.perf_counter() - t0, blocks[len(blocks) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--statuses", type=int, default=1_000)
    parser.add_argument("--range", type=int, default=100, help="blocks per eth_getLogs call")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        node = AnvilNode(NodeConfig(directory=Path(tmp), port=port))
        node.start()
        try:
            config = ChainConfig(rpc_url=f"http://127.0.0.1:{port}", receipt_timeout=120)
            w3 = connect(config)
            sender = TransactionSender(w3, create_account(), config, revert_decoder())
            dep = deploy(sender)
            # a deployer bootstraps the first region once; it can give itself an agency's
            # account there, which is all a one-agency benchmark needs
            DirectoryClient(w3, dep.directory, sender).bootstrap(
                REGION, "Benchmark", [AgencyAccount(sender.address, AGENCY_CODE)]
            )
            reg = RegistryClient(w3, dep.registry, sender)
            made, build_s, half_block = build(reg, args.events, args.batch, args.statuses)
            head = int(w3.eth.block_number)
            reader = RegistryClient(w3, dep.registry)

            runs = []
            for _ in range(3):
                t0 = time.perf_counter()
                history = read_history(reader, dep.block_number, head, max_range=args.range)
                runs.append(time.perf_counter() - t0)
            best = min(runs)
            rss_after = _rss_mib()

            tracemalloc.start()
            half = read_history(reader, dep.block_number, half_block, max_range=args.range)
            half_peak, half_leaves = tracemalloc.get_traced_memory()[1], len(half.leaves)
            tracemalloc.reset_peak()
            del half
            full = read_history(reader, dep.block_number, head, max_range=args.range)
            full_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        finally:
            node.stop()

    leaves = len(full.leaves)
    print("Licence Ledger auditor replay benchmark")
    print(
        f"  machine: {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.system()} {platform.machine()}"
    )
    print(
        f"  chain: anvil on loopback, {head - dep.block_number} blocks, "
        f"{args.batch} leaves per batch, {args.range} blocks per eth_getLogs call"
    )
    print(
        f"  history: {made} licence events ({leaves} leaves anchored, "
        f"{args.statuses} status changes), built in {build_s:.1f} s"
    )
    print(
        f"  replay from the chain: {history.events} events in "
        f"{', '.join(f'{r:.2f}' for r in runs)} s; best {history.events / best:,.0f} events/s "
        f"(target >= 20,000)"
    )
    print(
        f"  memory (tracemalloc peak): {half_leaves} leaves {half_peak / 2**20:.1f} MiB "
        f"({half_peak / max(half_leaves, 1):.0f} B/leaf), {leaves} leaves "
        f"{full_peak / 2**20:.1f} MiB ({full_peak / max(leaves, 1):.0f} B/leaf): grows with "
        f"the index only; process max RSS {rss_after:.0f} MiB"
    )


if __name__ == "__main__":
    main()
