"""Chain accounts of agencies: eth-account keys kept as encrypted keystore files.

Transactions are signed locally with these keys, never by the node, so the same code works on
any standard Ethereum JSON-RPC endpoint (anvil in development, Besu in production).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger_client.errors import KeystoreError

# Lower than eth-account's default so that tests and the demo do not spend seconds in scrypt;
# still an scrypt-encrypted keystore. Production deployments can raise it via the env var.
_SCRYPT_N = int(os.environ.get("LICLEDGER_KEYSTORE_SCRYPT_N", str(2**14)))


def create_account() -> LocalAccount:
    """A fresh random account."""
    return Account.create()


def save_account(path: Path, account: LocalAccount, passphrase: str) -> None:
    """Write ``account`` as an encrypted keystore (mode 0600), atomically."""
    blob = Account.encrypt(account.key, passphrase, kdf="scrypt", iterations=_SCRYPT_N)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(blob, fh)
    os.replace(tmp, path)


def load_account(path: Path, passphrase: str) -> LocalAccount:
    """Decrypt the keystore at ``path``."""
    try:
        blob = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise KeystoreError(f"chain account keystore {path} does not exist") from exc
    except ValueError as exc:
        raise KeystoreError(f"chain account keystore {path} is not valid JSON") from exc
    try:
        key = Account.decrypt(blob, passphrase)
    except ValueError as exc:
        raise KeystoreError(
            f"cannot decrypt chain account keystore {path}: wrong passphrase "
            "(check LICLEDGER_KEY_PASSPHRASE or the passphrase file in the data directory)"
        ) from exc
    account: LocalAccount = Account.from_key(key)
    return account
