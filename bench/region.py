"""A throw-away region for a benchmark: its own data directory and anvil node on loopback."""

from __future__ import annotations

import os
import platform
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ledger_client.node import AnvilNode, NodeConfig
from licence_service.region.bootstrap import chain_up, init_region
from licence_service.region.runtime import Runtime
from licence_service.region.settings import load_settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def machine() -> dict[str, object]:
    """The conditions every figure is printed with."""
    return {
        "cores": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "system": f"{platform.system()} {platform.machine()}",
        "load_1min": round(os.getloadavg()[0], 2),
        "database": "SQLite (WAL, synchronous FULL)",
        "chain": "anvil on loopback (automine)",
    }


@contextmanager
def bench_region(
    crypto: str | None = None, block_time: float | None = None, **overrides: object
) -> Iterator[Runtime]:
    """A bootstrapped region (authority, one agency) of crypto suite ``crypto`` (``intl``
    unless named) on a fresh anvil node (mining every ``block_time`` seconds when given)."""
    with tempfile.TemporaryDirectory(prefix="licledger-bench-") as tmp:
        home = Path(tmp)
        port = free_port()
        node = AnvilNode(NodeConfig(directory=home / "chain", port=port, block_time=block_time))
        node.start()
        try:
            settings = load_settings(
                home,
                chain_port=port,
                rpc_url=f"http://127.0.0.1:{port}",
                embedded_chain=False,
                api_port=free_port(),
                **overrides,
            )
            rt = Runtime(settings)
            chain_up(rt)
            init_region(rt, crypto=crypto)
            yield rt
        finally:
            node.stop()
