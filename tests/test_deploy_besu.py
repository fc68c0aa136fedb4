"""Issue 11, production deployment: the Besu QBFT network generator (deploy/besu_network.py)
run as an operator runs it, and its output checked for the structure Besu expects. Besu
itself cannot run here; see deploy/README.md for what is and is not tested."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import rlp
from eth_keys.datatypes import PrivateKey

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "deploy" / "besu_network.py"
EXAMPLE = ROOT / "deploy" / "network.example.json"
sys.path.insert(0, str(SCRIPT.parent))
import besu_network  # noqa: E402

# Besu's documented QBFT genesis (block-header validator selection): four validators.
BESU_DOC_VALIDATORS = [
    "64a702e6263b7297a96638cac6ae65e6541f4169",
    "3923390ad55e90c237593b3b0e401f3b08a03185",
    "aefdb9a738c9f433e5b6b212a6d62f6370c2f692",
    "c7eeb9a4e00ce683cf93039b212648e01c6c6b78",
]
BESU_DOC_EXTRA_DATA = (
    "0xf87aa00000000000000000000000000000000000000000000000000000000000000000f854"
    "9464a702e6263b7297a96638cac6ae65e6541f4169943923390ad55e90c237593b3b0e401f3b08a03185"
    "94aefdb9a738c9f433e5b6b212a6d62f6370c2f69294c7eeb9a4e00ce683cf93039b212648e01c6c6b78"
    "c080c0"
)
ACCOUNTS = ["0x" + "ab" * 20, "0x" + "0C" * 20]


def run(spec: dict[str, object] | Path, out: Path) -> subprocess.CompletedProcess[str]:
    if isinstance(spec, dict):
        path = out.parent / f"{out.name}-spec.json"
        path.write_text(json.dumps(spec))
        spec = path
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--spec", str(spec), "--out", str(out)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_extra_data_encodes_like_besus_documented_genesis() -> None:
    addresses = [bytes.fromhex(a) for a in BESU_DOC_VALIDATORS]
    assert besu_network.qbft_extra_data(addresses) == BESU_DOC_EXTRA_DATA


def test_generated_network_has_the_structure_besu_expects(tmp_path: Path) -> None:
    spec = {**json.loads(EXAMPLE.read_text()), "accounts": ACCOUNTS}
    out = tmp_path / "net"
    done = run(spec, out)
    assert done.returncode == 0, done.stderr
    described = json.loads((out / "validators.json").read_text())
    nodes = described["validators"]
    assert len(nodes) >= 4 and {n["region"] for n in nodes} == {330100, 440300}

    g = json.loads((out / "genesis.json").read_text())
    assert g["config"]["chainId"] == 15600 and g["config"]["zeroBaseFee"] is True
    assert set(g["config"]["qbft"]) == {
        "blockperiodseconds",
        "epochlength",
        "requesttimeoutseconds",
    }
    vanity, validators, vote, round_, seals = rlp.decode(bytes.fromhex(g["extraData"][2:]))
    assert vanity == b"\x00" * 32 and vote == [] and round_ == b"" and seals == []
    assert validators == [bytes.fromhex(n["address"][2:]) for n in nodes]

    enodes = {n["enode"] for n in nodes}
    for n in nodes:
        node = out / n["name"]
        key = PrivateKey(bytes.fromhex(node.joinpath("key").read_text().strip()[2:]))
        assert key.public_key.to_checksum_address().lower() == n["address"]
        assert node.joinpath("key.pub").read_text().strip() == key.public_key.to_hex()
        assert node.joinpath("key").stat().st_mode & 0o077 == 0
        assert n["enode"] == f"enode://{key.public_key.to_hex()[2:]}@{n['enode'].split('@')[1]}"
        static = json.loads(node.joinpath("static-nodes.json").read_text())
        assert set(static) == enodes - {n["enode"]}
        perms = tomllib.loads(node.joinpath("permissions_config.toml").read_text())
        assert set(perms["nodes-allowlist"]) == enodes
        assert perms["accounts-allowlist"] == sorted(a.lower() for a in ACCOUNTS)
        config = tomllib.loads(node.joinpath("config.toml").read_text())
        assert config["min-gas-price"] == 0 and config["rpc-http-api"] == ["ETH", "NET", "WEB3"]
        assert config["permissions-nodes-config-file-enabled"] is True
        assert config["permissions-accounts-config-file-enabled"] is True
        assert config["rpc-max-logs-range"] == 5000 and config["discovery-enabled"] is False


def test_rerunning_keeps_the_validators_identity(tmp_path: Path) -> None:
    out = tmp_path / "net"
    assert run(EXAMPLE, out).returncode == 0
    before = json.loads((out / "validators.json").read_text())["validators"]
    spec = {**json.loads(EXAMPLE.read_text()), "accounts": ACCOUNTS}
    assert run(spec, out).returncode == 0
    after = json.loads((out / "validators.json").read_text())
    assert after["validators"] == before and after["accounts"] == sorted(
        a.lower() for a in ACCOUNTS
    )
    config = tomllib.loads((out / "hz-1" / "config.toml").read_text())
    assert config["permissions-accounts-config-file-enabled"] is True


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"validators": 3}, "validators"),
        ({"host": "besu-1.example"}, "validators[0].host"),
        ({"region": 12}, "validators[0].region"),
        ({"accounts": ["0x1234"]}, "accounts"),
        ({"chain_id": 0}, "chain_id"),
    ],
)
def test_a_bad_spec_is_refused_naming_the_field(
    tmp_path: Path, change: dict[str, object], field: str
) -> None:
    spec = json.loads(EXAMPLE.read_text())
    if "validators" in change:
        spec["validators"] = spec["validators"][:3]
    elif "host" in change or "region" in change:
        spec["validators"][0].update(change)
    else:
        spec.update(change)
    out = tmp_path / "net"
    done = run(spec, out)
    assert done.returncode == 2 and field in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()
