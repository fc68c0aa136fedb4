"""Gas of the licence registry: ``python -m bench.gas [--json] [--hardfork NAME ...]``.

Each hardfork gets its own throwaway anvil node on a free loopback port; the contracts are
deployed, one region bootstrapped, and batches of 1, 16, 256, 512 and 1024 documents anchored,
then a revocation and an amendment (the new version anchored, then ``supersede``) measured.

Under Prague and later (EIP-7623) a transaction pays at least 10 gas per calldata token (a
non-zero byte is 4 tokens): with 64 bytes of calldata per licence (its key and body, what the
chain must carry for the leaf to be recoverable) that floor is 2,560 gas per licence, whatever
the contract does. The figures are printed per hardfork so the two regimes can be compared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.gas_measure import anvil_version, chain, compiler, measure, node_info, set_up
from ledger_client.connection import DEFAULT_CHAIN_ID
from ledger_client.node import NodeConfig

SIZES = (1, 16, 256, 512, 1024)
BLOCK_GAS = 30_000_000
MAX_BATCH_LEAVES = 1024  # LicenceRegistry.MAX_BATCH_LEAVES


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _memory_gas(n: int) -> float:
    """The quadratic part of an anchor's memory cost: the first tree layer, n/2 words."""
    words = (n + 1) // 2 + 8
    return words * words / 512


def largest_batch(gas: dict[int, int], block_gas: int = BLOCK_GAS) -> tuple[int, int]:
    """The largest batch whose anchor fits ``block_gas``, from the measured gas: a line through
    the 256 and 1,024 points plus the (measured-in, not fitted) quadratic memory cost, solved
    for the limit. Returns ``(n, the model's error at the measured 512 in gas)``; under
    EIP-7623's floor the gas is exactly linear and the memory term only makes it cautious."""
    (x0, y0), (x1, y1) = ((n, gas[n] - _memory_gas(n)) for n in (256, 1024))
    slope = (y1 - y0) / (x1 - x0)

    def model(n: int) -> float:
        return y0 + slope * (n - x0) + _memory_gas(n)

    lo, hi = 1, 1_000_000
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if model(mid) <= block_gas:
            lo = mid
        else:
            hi = mid - 1
    return lo, round(model(512) - gas[512])


def run(quick: bool = False, hardfork: str | None = None) -> dict[str, Any]:
    """Every figure under ``hardfork`` (None: the product's default) with its conditions.
    Gas is deterministic, so ``quick`` (for ``licledger bench``) measures the same."""
    with chain(hardfork, _free_port()) as url:
        bench = set_up(url, DEFAULT_CHAIN_ID)
        info = node_info(bench.w3)
        other = measure(bench, SIZES)
    g = bench.gas
    largest, model_error = largest_batch(g)
    figures: dict[str, Any] = {
        "hardfork": str(info.get("hardFork", hardfork or "default")).lower(),
        "gas_batch_1": g[1],
        **{f"gas_batch_{n}": g[n] for n in SIZES[1:]},
        **{f"gas_per_licence_batch_{n}": round(g[n] / n) for n in SIZES[1:]},
        "calldata_floor_gas_per_licence_prague": 64 * 4 * 10,
        "largest_batch_in_30m_block": largest,
        "largest_batch_model_error_gas_at_512": model_error,
        "max_batch_leaves": MAX_BATCH_LEAVES,
        "gas_revocation": other["gas_revocation"],
        "gas_supersede": other["gas_supersede"],
        "gas_amendment": other["gas_supersede"] + other["gas_anchor_amended_version_alone"],
        "gas_amendment_batched_256": other["gas_supersede"] + round(g[256] / 256),
    }
    return figures


def conditions() -> dict[str, Any]:
    return {
        "chain": anvil_version(),
        "product_hardfork": NodeConfig.__dataclass_fields__["hardfork"].default or "anvil default",
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        **compiler(),
    }


def _print(cond: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    print(f"conditions: {json.dumps(cond)}")
    for r in runs:
        print(f"\nhardfork {r['hardfork']}:")
        print(f"  anchor 1 leaf: {r['gas_batch_1']:,} gas")
        for n in SIZES[1:]:
            print(
                f"  anchor {n} leaves: {r[f'gas_batch_{n}']:,} gas, "
                f"{r[f'gas_per_licence_batch_{n}']:,} per licence"
            )
        print(
            f"  largest batch in a 30M-gas block: {r['largest_batch_in_30m_block']:,} leaves "
            f"(model from the measured sizes, off by {r['largest_batch_model_error_gas_at_512']} "
            f"gas at 512; MAX_BATCH_LEAVES is {r['max_batch_leaves']})"
        )
        print(f"  revocation: {r['gas_revocation']:,} gas")
        print(
            f"  amendment: {r['gas_amendment']:,} gas (new version anchored alone + supersede "
            f"{r['gas_supersede']:,}); {r['gas_amendment_batched_256']:,} with the new version "
            "in a batch of 256"
        )


def for_evm_version(evm: str, as_json: bool) -> int:
    """Compile the contracts for EVM ``evm`` (``LICLEDGER_EVM_VERSION``, the one setting of the
    target) into a temporary folder, then measure that build on a node of the same hardfork
    (a separate process: the artifacts are read once per process)."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="licledger-evm-") as tmp:
        env = {
            **os.environ, "LICLEDGER_EVM_VERSION": evm,
            "LICLEDGER_ARTIFACTS": str(Path(tmp) / "artifacts"),
            "LICLEDGER_HARDHAT_CACHE": str(Path(tmp) / "cache"),
            "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true",
        }  # fmt: skip
        built = subprocess.run(
            ["npx", "hardhat", "compile", "--quiet"], cwd=root, env=env,
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if built.returncode != 0:
            print(f"compiling for {evm} failed: {built.stderr.strip()[-500:]}", file=sys.stderr)
            return 1
        again = [sys.executable, "-m", "bench.gas", "--hardfork", evm]
        return subprocess.run(again + (["--json"] if as_json else []), cwd=root, env=env).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gas", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--hardfork", action="append", metavar="NAME",
        help="measure under this anvil hardfork (repeatable; default: the product's and prague)",
    )  # fmt: skip
    parser.add_argument(
        "--evm-version", metavar="NAME",
        help="build the contracts for this EVM (LICLEDGER_EVM_VERSION, e.g. london) and measure "
        "that build under the same hardfork",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.evm_version:
        return for_evm_version(args.evm_version, args.json)
    forks: list[str | None] = list(args.hardfork) if args.hardfork else [None, "prague"]
    runs = [run(hardfork=f) for f in forks]
    cond = conditions()
    if args.json:
        first = runs[0]
        print(json.dumps({**first, "conditions": cond, "by_hardfork": runs}, indent=2))
    else:
        _print(cond, runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
