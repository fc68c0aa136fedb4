"""Generate the files of a Hyperledger Besu QBFT network for Licence Ledger.

    python deploy/besu_network.py --spec deploy/network.example.json --out build/besu

From a small JSON spec (chain id, block period, validators with their region and host, the
chain accounts allowed to transact) this writes, without Besu installed:

- ``genesis.json``: QBFT with the validators in ``extraData`` (RLP, block-header validator
  selection), ``zeroBaseFee`` so gas is free, and no pre-funded accounts (none are needed);
- per node ``<name>/``: ``key`` and ``key.pub`` (secp256k1, Besu's hex format, 0600),
  ``static-nodes.json`` (the other validators), ``permissions_config.toml`` (node allowlist:
  every validator; account allowlist: the spec's accounts — Besu's local permissioning, not
  the deprecated on-chain contracts; with no accounts in the spec, account permissioning is
  off: the bootstrap window) and ``config.toml`` (``min-gas-price=0``, only the ETH/NET/WEB3
  APIs over HTTP on loopback, permissioning files enabled);
- ``validators.json``: name, region, address and enode of every validator.

Existing node keys in ``--out`` are kept (re-running regenerates everything else from them),
so adding an account to the allowlist never changes a validator's identity. Exit 0 on
success, 2 with a message naming the field on a bad spec.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rlp
from eth_keys.datatypes import PrivateKey

MIN_VALIDATORS = 4  # QBFT tolerates f faulty validators out of 3f + 1
P2P_PORT = 30303
RPC_PORT = 8545
# QBFT's fixed mixHash ("istanbul digest"), as in Besu's QBFT genesis examples.
QBFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class SpecError(ValueError):
    """The spec is unusable; the message names the field."""


@dataclass(frozen=True)
class Validator:
    name: str
    region: int
    host: str
    p2p_port: int
    rpc_port: int


@dataclass(frozen=True)
class Spec:
    chain_id: int
    block_period: int
    request_timeout: int
    epoch_length: int
    gas_limit: int
    validators: list[Validator]
    accounts: list[str]


def _int(raw: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise SpecError(f"{key} must be an integer in [{low}, {high}], got {value!r}")
    return value


def _validator(raw: Any, index: int) -> Validator:
    where = f"validators[{index}]"
    if not isinstance(raw, dict):
        raise SpecError(f"{where} must be an object")
    name = raw.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise SpecError(f"{where}.name must be lower-case letters, digits and '-', got {name!r}")
    host = raw.get("host")
    try:
        ipaddress.ip_address(str(host))
    except ValueError:
        raise SpecError(
            f"{where}.host must be an IP address (enode URLs in Besu's allowlists use IPs), "
            f"got {host!r}"
        ) from None
    region = raw.get("region")
    if not isinstance(region, int) or not 100000 <= region <= 999999:
        raise SpecError(f"{where}.region must be a 6-digit division code, got {region!r}")
    return Validator(
        name,
        region,
        str(host),
        _int(raw, "p2p_port", P2P_PORT, 1, 65535),
        _int(raw, "rpc_port", RPC_PORT, 1, 65535),
    )


def parse_spec(raw: Any) -> Spec:
    """Check the spec and return it typed; :class:`SpecError` names the first bad field."""
    if not isinstance(raw, dict):
        raise SpecError("the spec must be a JSON object")
    validators = [_validator(v, i) for i, v in enumerate(raw.get("validators") or [])]
    if len(validators) < MIN_VALIDATORS:
        raise SpecError(
            f"validators: QBFT needs at least {MIN_VALIDATORS} (tolerates one faulty), "
            f"got {len(validators)}"
        )
    names = [v.name for v in validators]
    if len(set(names)) != len(names):
        raise SpecError("validators: names must be unique")
    endpoints = [(v.host, v.p2p_port) for v in validators]
    if len(set(endpoints)) != len(endpoints):
        raise SpecError("validators: two validators share a host and p2p_port")
    accounts = raw.get("accounts", [])
    if not isinstance(accounts, list) or not all(
        isinstance(a, str) and ADDRESS.match(a) for a in accounts
    ):
        raise SpecError("accounts must be a list of 0x-prefixed 20-byte hex addresses")
    return Spec(
        chain_id=_int(raw, "chain_id", 15600, 1, 2**53),
        block_period=_int(raw, "block_period_seconds", 2, 1, 60),
        request_timeout=_int(raw, "request_timeout_seconds", 10, 1, 600),
        epoch_length=_int(raw, "epoch_length", 30000, 1, 10**9),
        gas_limit=_int(raw, "gas_limit", 0x1FFFFFFFFFFFFF, 5000, 2**63 - 1),
        validators=validators,
        accounts=sorted({a.lower() for a in accounts}),
    )


def qbft_extra_data(addresses: list[bytes]) -> str:
    """RLP([32-byte vanity, [validators], no vote, round 0, no seals]) as Besu's QBFT
    block-header validator selection expects it in the genesis block."""
    return "0x" + rlp.encode([b"\x00" * 32, list(addresses), [], b"", []]).hex()


def genesis(spec: Spec, addresses: list[bytes]) -> dict[str, Any]:
    return {
        "config": {
            "chainId": spec.chain_id,
            "berlinBlock": 0,
            "londonBlock": 0,
            "shanghaiTime": 0,
            "cancunTime": 0,
            "zeroBaseFee": True,
            "contractSizeLimit": 2147483647,
            "qbft": {
                "blockperiodseconds": spec.block_period,
                "epochlength": spec.epoch_length,
                "requesttimeoutseconds": spec.request_timeout,
            },
        },
        "nonce": "0x0",
        "timestamp": "0x0",
        "gasLimit": hex(spec.gas_limit),
        "difficulty": "0x1",
        "mixHash": QBFT_MIX_HASH,
        "coinbase": "0x0000000000000000000000000000000000000000",
        "alloc": {},
        "extraData": qbft_extra_data(addresses),
    }


def _node_key(directory: Path) -> PrivateKey:
    """The node's key: kept if present (a validator's identity never changes), else new."""
    path = directory / "key"
    if path.exists():
        return PrivateKey(bytes.fromhex(path.read_text().strip().removeprefix("0x")))
    key = PrivateKey(os.urandom(32))
    directory.mkdir(parents=True, exist_ok=True)
    _write(path, key.to_hex(), secret=True)
    return key


def _write(path: Path, text: str, secret: bool = False) -> None:
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    path.chmod(0o600 if secret else 0o644)


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def node_config(v: Validator, accounts_allowlist: bool) -> str:
    return "\n".join(
        [
            f"# Besu node {v.name} (region {v.region}), generated by deploy/besu_network.py",
            'genesis-file="../genesis.json"',
            'data-path="data"',
            'node-private-key-file="key"',
            f'p2p-host="{v.host}"',
            f"p2p-port={v.p2p_port}",
            "discovery-enabled=false",
            'static-nodes-file="static-nodes.json"',
            "min-gas-price=0",
            "rpc-http-enabled=true",
            'rpc-http-host="127.0.0.1"',
            f"rpc-http-port={v.rpc_port}",
            'rpc-http-api=["ETH","NET","WEB3"]',
            'host-allowlist=["localhost","127.0.0.1"]',
            "rpc-max-logs-range=5000",
            "revert-reason-enabled=true",
            "permissions-nodes-config-file-enabled=true",
            f"permissions-accounts-config-file-enabled={str(accounts_allowlist).lower()}",
            'permissions-nodes-config-file="permissions_config.toml"',
            'permissions-accounts-config-file="permissions_config.toml"',
            "",
        ]
    )


def generate(spec: Spec, out: Path) -> dict[str, Any]:
    """Write every file into ``out``; returns the validators' public description."""
    out.mkdir(parents=True, exist_ok=True)
    nodes = []
    for v in spec.validators:
        key = _node_key(out / v.name)
        pub = key.public_key
        _write(out / v.name / "key.pub", pub.to_hex())
        enode = f"enode://{pub.to_hex()[2:]}@{v.host}:{v.p2p_port}"
        nodes.append((v, pub.to_canonical_address(), enode))
    enodes = [e for _, _, e in nodes]
    _write(out / "genesis.json", json.dumps(genesis(spec, [a for _, a, _ in nodes]), indent=2))
    for v, _, enode in nodes:
        others = [e for e in enodes if e != enode]
        _write(out / v.name / "static-nodes.json", json.dumps(others, indent=2))
        accounts = (
            f"accounts-allowlist={_toml_list(spec.accounts)}"
            if spec.accounts
            else "# no accounts yet: account permissioning is off (bootstrap window)"
        )
        _write(
            out / v.name / "permissions_config.toml",
            f"nodes-allowlist={_toml_list(enodes)}\n{accounts}",
        )
        _write(out / v.name / "config.toml", node_config(v, bool(spec.accounts)))
    described = {
        "chain_id": spec.chain_id,
        "validators": [
            {"name": v.name, "region": v.region, "address": "0x" + a.hex(), "enode": e}
            for v, a, e in nodes
        ],
        "accounts": spec.accounts,
    }
    _write(out / "validators.json", json.dumps(described, indent=2))
    return described


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=Path, required=True, help="network spec (JSON)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args(argv)
    try:
        raw = json.loads(args.spec.read_text(encoding="utf-8"))
        described = generate(parse_spec(raw), args.out)
    except OSError as exc:
        print(f"error: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return 2
    except json.JSONDecodeError as exc:
        print(f"error: {args.spec} is not JSON ({exc})", file=sys.stderr)
        return 2
    except SpecError as exc:
        print(f"error: {args.spec}: {exc}", file=sys.stderr)
        return 2
    count = len(described["validators"])
    print(f"{count} validators, chain id {described['chain_id']}: files in {args.out}")
    if not described["accounts"]:
        print(
            "note: no accounts in the spec, so account permissioning is off; add the operator "
            "and agency accounts and run again before opening the network (deploy/README.md)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
