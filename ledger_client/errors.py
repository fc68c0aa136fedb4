"""Typed errors of the chain access layer.

Callers above this package never see raw web3 or RPC exceptions: each failure becomes one of
these, with a message a person can act on.
"""

from __future__ import annotations

from typing import Any


class LedgerError(Exception):
    """Base of every error raised by ``ledger_client``."""


class ChainUnavailableError(LedgerError):
    """The JSON-RPC endpoint cannot be reached or answered nonsense."""


class ForeignNodeError(ChainUnavailableError):
    """A node already answers on the embedded node's port, but this data directory did not
    start it (another checkout's chain, say): never deployed onto, never used as ours."""


class WrongChainError(LedgerError):
    """The node serves another chain id than the one configured."""


class ArtifactError(LedgerError):
    """A compiled contract artifact is missing or unreadable."""


class DeploymentError(LedgerError):
    """Contract addresses are missing, or no code is deployed where one is expected."""


class KeystoreError(LedgerError):
    """A chain account keystore is missing, corrupt, or the passphrase is wrong."""


class TransactionError(LedgerError):
    """A transaction could not be sent or did not succeed."""


class ContractRevertError(TransactionError):
    """The contract refused the call with a custom error (or a plain revert).

    ``name`` is the Solidity error name (``"WrongRegion"``), ``args`` its decoded arguments.
    """

    def __init__(self, name: str, args: dict[str, Any], message: str | None = None) -> None:
        self.name = name
        self.args_by_name = args
        detail = ", ".join(f"{k}={_show(v)}" for k, v in args.items())
        super().__init__(message or f"contract refused the call: {name}({detail})")


def _show(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return str(value)
