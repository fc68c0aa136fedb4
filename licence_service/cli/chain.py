"""`licledger chain …`: the embedded anvil node of a region (start, stop, status)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger_client.network import CliqueNetwork, NetworkConfig
from licence_service.cli.common import (
    DataDir,
    JsonOut,
    chain_app,
    handled,
    out,
    print_json,
    runtime,
)
from licence_service.region.runtime import Runtime
from licence_service.region.settings import load_settings

# ---------------------------------------------------------------------------- chain


@chain_app.command("up")
@handled
def chain_up_cmd(
    data_dir: DataDir = None,
    port: Annotated[int | None, typer.Option(help="RPC port (default 8545).")] = None,
    nodes: Annotated[
        int,
        typer.Option(
            min=1,
            help="Above 1: a test network of that many Clique signer nodes of "
            "@ethereumjs/client (one per region, static peers, RPC on port, port+1, …).",
        ),
    ] = 1,
    as_json: JsonOut = False,
) -> None:
    """Start the embedded anvil node (persistent state) and deploy the contracts once."""
    from licence_service.region.bootstrap import chain_up

    if nodes > 1:
        _network_up(data_dir, port, nodes, as_json)
        return

    settings = load_settings(data_dir, **_port_overrides(port))
    result = chain_up(Runtime(settings))
    info = {
        "rpc_url": settings.rpc_url,
        "started": result.started_node,
        "deployed": result.deployed,
        "registry": result.registry,
        "block_number": result.block_number,
        "data_dir": str(settings.home),
    }
    if as_json:
        print_json(info)
        return
    state = "started" if result.started_node else "already running"
    out.print(f"chain {state} at {settings.rpc_url}, block {result.block_number}")
    out.print(f"LicenceRegistry {result.registry}{' (deployed now)' if result.deployed else ''}")


def _port_overrides(port: int | None) -> dict[str, Any]:
    if port is None:
        return {}
    return {"chain_port": port, "rpc_url": f"http://127.0.0.1:{port}", "embedded_chain": True}


def _network(data_dir: Path | None, port: int | None, nodes: int | None) -> CliqueNetwork | None:
    """The test network of this data directory (None when it has none and ``nodes`` is None)."""
    settings = load_settings(data_dir)
    directory = settings.chain_dir / "network"
    layout = directory / "network.json"
    rpc_port = port if port is not None else settings.chain_port
    if nodes is None:  # the network as `chain up --nodes` made it
        if not layout.exists():
            return None
        recorded = json.loads(layout.read_text())
        nodes, rpc_port = len(recorded["nodes"]), int(recorded.get("rpc_port", rpc_port))
    return CliqueNetwork(
        NetworkConfig(directory, nodes=nodes, rpc_port=rpc_port, chain_id=settings.chain_id)
    )


def _network_up(data_dir: Path | None, port: int | None, nodes: int, as_json: bool) -> None:
    net = _network(data_dir, port, nodes)
    assert net is not None
    started = net.start()
    status = net.converge()
    info = {
        "started": started,
        "nodes": [n.as_dict() for n in status],
        "rpc_url": ",".join(net.rpc_urls),
    }
    if as_json:
        print_json(info)
        return
    for n in status:
        out.print(f"node {n.index} at {n.rpc_url}: block {n.head_block}, {n.peers} peers")
    out.print(f"LICLEDGER_RPC_URL={info['rpc_url']} (each region: its own node first)")


@chain_app.command("down")
@handled
def chain_down_cmd(data_dir: DataDir = None) -> None:
    """Stop the embedded node gracefully (its state is saved), and every node of the test
    network when there is one."""
    net = _network(data_dir, None, None)
    if net is not None:
        stopped = net.stop()
        out.print(f"{stopped} chain nodes stopped" if stopped else "chain nodes were not running")
        return
    rt = runtime(data_dir)
    stopped_one = rt.node.stop()
    out.print("chain stopped" if stopped_one else "chain was not running")


@chain_app.command("status")
@handled
def chain_status_cmd(data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """Block height, contract addresses and node process; with a test network, every node
    (RPC URL, peer count, head block)."""
    net = _network(data_dir, None, None)
    if net is not None:
        nodes = [n.as_dict() for n in net.status()]
        if as_json:
            print_json({"nodes": nodes})
            return
        for n in nodes:
            state = f"block {n['head_block']}, {n['peers']} peers" if n["running"] else "down"
            out.print(f"node {n['index']} at {n['rpc_url']}: {state}")
        return
    rt = runtime(data_dir)
    info: dict[str, Any] = {"rpc_url": rt.settings.rpc_url, "pid": rt.node.pid()}
    info["block_number"] = int(rt.w3.eth.block_number)
    info["chain_id"] = rt.settings.chain_id
    info["registry"] = rt.deployment.registry
    info["batches"] = rt.registry().batch_count()
    if as_json:
        print_json(info)
        return
    for k, v in info.items():
        out.print(f"{k:>13}: {v}")
