"""Hardhat artifacts: the Python side never compiles Solidity, it reads what Hardhat built."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ledger_client.errors import ArtifactError
from ledger_client.reverts import RevertDecoder

REGISTRY = "LicenceRegistry"
DIRECTORY = "RegionDirectory"
SHARING = "SharingLedger"
CONTRACTS = (REGISTRY, DIRECTORY, SHARING)

_DEFAULT_DIR = Path(__file__).resolve().parent.parent / "artifacts"


def artifacts_dir() -> Path:
    """``LICLEDGER_ARTIFACTS`` if set, else ``artifacts/`` at the project root."""
    return Path(os.environ.get("LICLEDGER_ARTIFACTS", str(_DEFAULT_DIR)))


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str


@cache
def load_artifact(name: str, directory: Path | None = None) -> Artifact:
    """The compiled contract ``name`` (e.g. ``"LicenceRegistry"``)."""
    base = directory or artifacts_dir()
    path = base / "contracts" / f"{name}.sol" / f"{name}.json"
    if not path.is_file():
        raise ArtifactError(
            f"compiled contract {name} not found at {path}; run `npx hardhat compile` "
            "(the README's commands do it) or set LICLEDGER_ARTIFACTS"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Artifact(name=name, abi=data["abi"], bytecode=data["bytecode"])
    except (ValueError, KeyError) as exc:
        raise ArtifactError(f"artifact {path} is unreadable ({exc}); recompile") from exc


@cache
def revert_decoder() -> RevertDecoder:
    """A decoder for the custom errors of every contract.

    The registry calls the directory, so a revert can carry either's errors; one decoder that
    knows all of them names any revert whichever contract raised it.
    """
    return RevertDecoder([load_artifact(name).abi for name in CONTRACTS])
