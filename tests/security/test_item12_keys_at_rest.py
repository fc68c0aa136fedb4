"""Issue 8 item 12: keys at rest, on a data directory made by a real `licledger init`.

- Signing keys are sealed with scrypt + AES-256-GCM; the parameters read back from the stored
  file; the default cost is strong (N = 2^17); a key in the former PKCS#8/PBKDF2 format still
  loads and is rewritten in the envelope.
- A wrong passphrase is a clear error (exit 2, "wrong passphrase"), nothing changed.
- Production mode refuses to start with the passphrase file inside the data directory, or with
  no passphrase source at all; with a file outside it works.
- The data directory is 0700 and every file in it 0600 (licledger.db included), even when the
  process was started with umask 022; an older world-readable directory is tightened.
- The region CA key kept offline: commands that need it fail naming --ca-key, and work with it.

The checks that do not depend on the key's own format run on an ``intl`` region and on an
``sm`` one (SM2 keys sealed with SM4-GCM under the same scrypt).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ledger_client.node import AnvilNode
from licence_service.region.bootstrap import HEALTH_AGENCY
from signing.errors import KeystoreError
from signing.key_envelope import DEFAULT_N, ENV_N, configured_n, open_sealed, read_params, seal
from signing.keystore import load_credentials

EXE = str(Path(sys.executable).parent / "licledger")
AGENCY = "11330100002489458U"


@dataclass
class Region:
    home: Path
    env: dict[str, str]
    suite: str = "intl"

    def run(self, *args: str, check: int = 0, **env: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [EXE, *args, "--data-dir", str(self.home)],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=180,
            preexec_fn=lambda: os.umask(0o022),  # a permissive shell: the service must not be
        )
        assert proc.returncode == check, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
        return proc


BOTH = pytest.mark.parametrize("region", ["intl", "sm"], indirect=True, scope="module")
INTL_ONLY = pytest.mark.parametrize("region", ["intl"], indirect=True, scope="module")
CIPHER = {"intl": b"Cipher: AES-256-GCM", "sm": b"Cipher: SM4-GCM"}


@pytest.fixture(scope="module")
def region(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode
) -> Region:
    env = {
        **os.environ,
        "LICLEDGER_RPC_URL": anvil.config.rpc_url,
        "LICLEDGER_CHAIN_PORT": str(anvil.config.port),
        "LICLEDGER_EMBEDDED_CHAIN": "0",  # the session's node, not this directory's
    }
    for name in ("LICLEDGER_HOME", "LICLEDGER_ENV", "LICLEDGER_KEY_PASSPHRASE"):
        env.pop(name, None)
    suite = request.param
    r = Region(tmp_path_factory.mktemp(f"at-rest-{suite}") / "data", env, suite)
    init = r.run("init", "--crypto", suite)
    assert "development mode" in init.stderr and "keys/passphrase" in init.stderr
    return r


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@BOTH
def test_data_directory_is_0700_and_files_0600(region: Region) -> None:
    assert (region.home / "licledger.db").is_file()
    assert mode(region.home) == 0o700
    loose = [
        f"{p.relative_to(region.home)} {oct(mode(p))}"
        for p in region.home.rglob("*")
        if mode(p) != (0o700 if p.is_dir() else 0o600)
    ]
    assert loose == []
    # a directory from before the rule is tightened when the service opens it
    region.home.chmod(0o755)
    (region.home / "licledger.db").chmod(0o644)
    region.run("init")
    assert mode(region.home) == 0o700 and mode(region.home / "licledger.db") == 0o600


@BOTH
def test_kdf_parameters_read_back_and_default_is_strong(
    region: Region, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = (region.home / "keys" / f"agency-{AGENCY}.key.pem").read_bytes()
    assert b"PRIVATE KEY-----" in stored and b"KDF: scrypt" in stored
    assert CIPHER[region.suite] in stored and f"Suite: {region.suite}".encode() in stored
    params, nonce, _, _ = read_params(stored)
    assert (params.n, params.r, params.p) == (int(os.environ[ENV_N]), 8, 1)
    assert len(params.salt) == 16 and len(nonce) == 12
    passphrase = (region.home / "keys" / "passphrase").read_bytes().strip()
    assert open_sealed(stored, passphrase).public_key()  # opens with the right passphrase

    monkeypatch.delenv(ENV_N)
    assert configured_n() == DEFAULT_N == 2**17
    key = open_sealed(stored, passphrase)
    strong = seal(key, b"pw")
    assert read_params(strong)[0].n == 2**17
    monkeypatch.setenv(ENV_N, "1000")
    with pytest.raises(KeystoreError, match="power of two"):
        configured_n()


@INTL_ONLY  # no sm key was ever written in the former format
def test_former_pbkdf2_key_still_loads_and_is_resealed(tmp_path: Path, region: Region) -> None:
    keys = region.home / "keys"
    passphrase = (keys / "passphrase").read_bytes().strip()
    creds = load_credentials(keys, f"agency-{AGENCY}", passphrase)
    for suffix in (".cert.pem", ".chain.pem"):
        shutil.copy(keys / f"agency-{AGENCY}{suffix}", tmp_path / f"old{suffix}")
    legacy = creds.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )
    (tmp_path / "old.key.pem").write_bytes(legacy)
    assert load_credentials(tmp_path, "old", passphrase).fingerprint == creds.fingerprint
    assert b"KDF: scrypt" in (tmp_path / "old.key.pem").read_bytes()
    assert load_credentials(tmp_path, "old", passphrase).fingerprint == creds.fingerprint


@BOTH
def test_wrong_passphrase_is_a_clear_error(region: Region) -> None:
    key = region.home / "keys" / f"agency-{AGENCY}.key.pem"
    before = key.read_bytes()
    proc = region.run("init", check=2, LICLEDGER_KEY_PASSPHRASE="not the passphrase")
    assert "wrong passphrase" in proc.stderr
    assert key.read_bytes() == before


@INTL_ONLY  # the passphrase's source, whatever the cipher
def test_production_refuses_a_passphrase_inside_the_data_directory(
    region: Region, tmp_path: Path
) -> None:
    inside = region.home / "keys" / "passphrase"
    prod = {"LICLEDGER_ENV": "production"}
    proc = region.run("serve", check=2, **prod, LICLEDGER_KEY_PASSPHRASE_FILE=str(inside))
    assert (
        "LICLEDGER_KEY_PASSPHRASE_FILE" in proc.stderr
        and "inside the data directory" in proc.stderr
    )
    proc = region.run("serve", check=2, **prod)  # no source at all: the generated file is not one
    assert "production mode" in proc.stderr and "LICLEDGER_KEY_PASSPHRASE" in proc.stderr

    outside = tmp_path / "secrets" / "passphrase"
    outside.parent.mkdir()
    shutil.copy(inside, outside)
    region.run("init", **prod, LICLEDGER_KEY_PASSPHRASE_FILE=str(outside))


@BOTH
def test_region_ca_key_kept_offline(region: Region, tmp_path: Path) -> None:
    keys = region.home / "keys"
    offline = tmp_path / "usb"
    offline.mkdir()
    shutil.move(keys / "region-ca.key.pem", offline / "region-ca.key.pem")
    code, name = HEALTH_AGENCY
    args = ("init", "--agency-code", code, "--agency-name", name)

    refused = region.run(*args, check=2)
    assert "--ca-key" in refused.stderr and "region CA key" in refused.stderr
    assert not (keys / f"agency-{code}.key.pem").exists()

    region.run(*args, "--ca-key", str(offline / "region-ca.key.pem"))
    cert = x509.load_pem_x509_certificate((keys / f"agency-{code}.cert.pem").read_bytes())
    ca = x509.load_pem_x509_certificate((keys / "region-ca.cert.pem").read_bytes())
    assert cert.issuer == ca.subject
    assert not (keys / "region-ca.key.pem").exists()

    refused = region.run("region", "rotate", check=2)
    assert "--ca-key" in refused.stderr
    region.run("region", "rotate", "--ca-key", str(offline / "region-ca.key.pem"))
