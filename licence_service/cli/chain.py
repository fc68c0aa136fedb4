"""`licledger chain …`: the embedded anvil node of a region (start, stop, status)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

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
    as_json: JsonOut = False,
) -> None:
    """Start the embedded anvil node (persistent state) and deploy the contracts once."""
    from licence_service.region.bootstrap import chain_up

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


@chain_app.command("down")
@handled
def chain_down_cmd(data_dir: DataDir = None) -> None:
    """Stop the embedded node gracefully (its state is saved)."""
    rt = runtime(data_dir)
    stopped = rt.node.stop()
    out.print("chain stopped" if stopped else "chain was not running")


@chain_app.command("status")
@handled
def chain_status_cmd(data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """Block height, contract addresses and node process."""
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
