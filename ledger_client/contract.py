"""What every typed contract client shares: the bound contract, an optional signer, and reads
and log queries whose failures come back as typed errors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Generic, TypeVar

from web3 import Web3
from web3.contract.contract import Contract, ContractFunction
from web3.types import TxReceipt

from ledger_client.artifacts import load_artifact, revert_decoder
from ledger_client.errors import ChainUnavailableError, ContractRevertError, TransactionError
from ledger_client.logs import LogDecoder
from ledger_client.reverts import revert_data
from ledger_client.transactions import TransactionSender


def read_error(exc: BaseException) -> Exception:
    """A typed error for a failed read: the decoded revert if a contract refused."""
    data = revert_data(exc)
    if data is not None:
        return revert_decoder().decode(data)
    if isinstance(exc, ContractRevertError | ChainUnavailableError):
        return exc
    return ChainUnavailableError(f"reading the chain failed ({type(exc).__name__}: {exc})")


E = TypeVar("E")


class ContractClient(Generic[E]):
    """One deployed contract (named by its Hardhat artifact); writes need a sender.

    ``E`` is the contract's decoded-events type: every write returns the events its receipt
    carries, and ``events_in_range`` reads the same type from a block range.
    """

    artifact: ClassVar[str]

    def __init__(self, w3: Web3, address: str, sender: TransactionSender | None = None) -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(address)
        self.abi = load_artifact(self.artifact).abi
        self.contract: Contract = w3.eth.contract(address=self.address, abi=self.abi)
        self.sender = sender
        self._logs = LogDecoder(self.abi)  # ABI-driven decoding of this contract's events

    def _need_sender(self) -> TransactionSender:
        if self.sender is None:
            raise TransactionError(
                f"this {self.artifact} client is read-only: it has no signing account"
            )
        return self.sender

    def _call(self, fn: ContractFunction) -> Any:
        try:
            return fn.call()
        except Exception as exc:
            raise read_error(exc) from exc

    def _raw_logs(self, from_block: int, to_block: int) -> list[Any]:
        """This contract's raw logs in ``[from_block, to_block]``."""
        try:
            return list(
                self.w3.eth.get_logs(
                    {"address": self.address, "fromBlock": from_block, "toBlock": to_block}
                )
            )
        except Exception as exc:
            raise read_error(exc) from exc

    def _decode(self, logs: Iterable[Any]) -> E:
        """Decode this contract's raw logs (each client knows its own event layouts)."""
        raise NotImplementedError

    def _events(self, receipt: TxReceipt) -> E:
        """The events this contract emitted in ``receipt``."""
        return self._decode(log for log in receipt["logs"] if log["address"] == self.address)

    def _transact(self, fn: ContractFunction) -> E:
        """Send ``fn`` signed by this client's sender; the events it emitted."""
        return self._events(self._need_sender().transact(fn))

    def events_in_range(self, from_block: int, to_block: int) -> E:
        """This contract's events in ``[from_block, to_block]``, in chain order."""
        return self._decode(self._raw_logs(from_block, to_block))
