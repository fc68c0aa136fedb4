"""Sending transactions signed locally: nonces, gas, receipts, and typed reverts.

A transaction can be prepared (signed, with its hash known) before it is broadcast, so a caller
can record it durably first and, after a crash, re-broadcast exactly the same bytes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TransactionNotFound
from web3.types import TxReceipt

from ledger_client.connection import ChainConfig
from ledger_client.errors import ChainUnavailableError, TransactionError
from ledger_client.reverts import RevertDecoder, revert_data

_GAS_HEADROOM = 1.25
_NONCE_ERRORS = ("nonce too low", "nonce too high", "already known", "replacement transaction")
# The node has these very bytes already: geth/anvil/Besu say "already known"/"already
# imported", @ethereumjs/client "…: this transaction is already in the TxPool".
_ALREADY_SENT = ("already known", "already imported", "already in the txpool")
# An answer that means "not mined on the canonical chain (yet)", not a fault: the tx-hash index
# of @ethereumjs/client 0.10.5 can point at a block its chain does not hold (one its miner
# sealed and the chain then refused, a Clique fork), and its lookups then fail with "value for
# 0x… not found in DB" (scripts/ethereumjs-clique-hooks.mjs makes them answer null instead).
_NOT_MINED_ERRORS = ("not found in db",)
# A node that is still catching up with its peers refuses transactions for a while (the
# client: "client is not aware of the current chain height yet"): the chain is not there yet,
# as when the node is down, so it is a ChainUnavailableError (retried), not a refusal.
_NOT_SYNCED_ERRORS = ("not aware of the current chain height",)
RESEND_EVERY = 3.0
"""Seconds between two looks, while waiting for a receipt, whether the node still knows the
transaction (and if not, sending its bytes again)."""
_NONCE_TAKEN_LOOKS = 3  # looks in a row that find the nonce used but no receipt: another tx

log = logging.getLogger(__name__)

NonceLock = Callable[[str], AbstractContextManager[None]]
"""A lock on one account's nonces shared by every process that signs for it (given the
account's address): the service passes one held in its database, so that worker processes and
server instances take turns from reading the nonce to broadcasting (see ``sending``)."""


@dataclass(frozen=True)
class SignedTx:
    """A signed transaction not necessarily broadcast yet."""

    raw: bytes
    tx_hash: str
    nonce: int
    sender: str


class TransactionSender:
    """Signs and sends transactions of one account; safe to share between threads, and
    between processes when given a shared ``nonce_lock``."""

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        config: ChainConfig,
        decoder: RevertDecoder,
        nonce_lock: NonceLock | None = None,
    ) -> None:
        self.w3 = w3
        self.account = account
        self.config = config
        self.decoder = decoder
        self.nonce_lock = nonce_lock
        self._lock = threading.RLock()
        self._next_nonce: int | None = None
        self._refresh = True
        self._sending = threading.local()

    @contextmanager
    def sending(self) -> Iterator[None]:
        """Hold the account's nonces from taking one until the transaction is broadcast.

        Inside, the first nonce is read from the node (its pending count) and the following
        ones counted on; whoever holds this broadcasts what it signed before leaving, so the
        next holder — another thread, worker process or server instance — reads a count that
        includes it. Without it, two processes with the same cached nonce both signed, and one
        answered 502 ``nonce too low`` for work that was done. Re-entrant in one thread."""
        depth = getattr(self._sending, "depth", 0)
        if depth:
            self._sending.depth = depth + 1
            try:
                yield
            finally:
                self._sending.depth -= 1
            return
        shared = self.nonce_lock(self.address) if self.nonce_lock else nullcontext()
        with self._lock, shared:
            self._refresh = True  # another process may have sent since: read it again
            self._sending.depth = 1
            try:
                yield
            finally:
                self._sending.depth = 0

    @property
    def address(self) -> str:
        return str(self.account.address)

    # ------------------------------------------------------------------ preparing

    def prepare(self, call: ContractFunction) -> SignedTx:
        """Estimate gas (a revert surfaces here as ``ContractRevertError``), take a nonce, sign."""
        tx = self._base_tx()
        gas = self._estimate(call, tx)
        with self.sending():
            nonce = self._take_nonce()
            tx.update({"nonce": nonce, "gas": gas})
            built = call.build_transaction(tx)  # type: ignore[arg-type]
            signed = self.account.sign_transaction(built)  # type: ignore[arg-type]
        return SignedTx(
            raw=bytes(signed.raw_transaction),
            tx_hash="0x" + bytes(signed.hash).hex(),
            nonce=nonce,
            sender=self.address,
        )

    def prepare_deploy(self, abi: list[dict[str, Any]], bytecode: str, *args: Any) -> SignedTx:
        """A signed contract creation."""
        factory = self.w3.eth.contract(abi=abi, bytecode=bytecode)
        return self.prepare(factory.constructor(*args))  # type: ignore[arg-type]

    def _base_tx(self) -> dict[str, Any]:
        price = self.config.gas_price_wei
        return {
            "from": self.address,
            "chainId": self.config.chain_id,
            "maxFeePerGas": price,
            "maxPriorityFeePerGas": price,
        }

    def _estimate(self, call: ContractFunction, tx: dict[str, Any]) -> int:
        try:
            estimate = call.estimate_gas(tx)  # type: ignore[arg-type]
        except ContractLogicError as exc:
            data = revert_data(exc)
            if data is not None:
                raise self.decoder.decode(data) from exc
            raise TransactionError(f"contract refused the call: {exc}") from exc
        except Exception as exc:
            raise self._wrap(exc, "estimating gas") from exc
        return int(estimate * _GAS_HEADROOM) + 21_000

    def _take_nonce(self) -> int:
        """The node's pending count when first asked under this hold (or what this process
        signed beyond it and has not broadcast yet: a stored batch counts), then counted on."""
        if self._next_nonce is None or self._refresh:
            self._next_nonce = max(self._chain_nonce(), self._next_nonce or 0)
            self._refresh = False
        nonce = self._next_nonce
        self._next_nonce += 1
        return nonce

    def _chain_nonce(self) -> int:
        try:
            return int(self.w3.eth.get_transaction_count(self.account.address, "pending"))
        except Exception as exc:
            raise self._wrap(exc, "reading the account nonce") from exc

    def reset_nonce(self) -> None:
        """Forget the cached nonce: the next transaction reads it from the node again."""
        with self._lock:
            self._next_nonce = None

    # ------------------------------------------------------------------ sending

    def broadcast(self, signed: SignedTx) -> str:
        """Send ``signed``; sending the same bytes twice is harmless."""
        try:
            self.w3.eth.send_raw_transaction(HexBytes(signed.raw))
        except Exception as exc:
            if _says(exc, _ALREADY_SENT):
                return signed.tx_hash
            if _says(exc, _NONCE_ERRORS):
                self.reset_nonce()
                raise NonceConflictError(
                    f"nonce {signed.nonce} of {signed.sender} was already used ({exc})"
                ) from exc
            raise self._wrap(exc, "sending a transaction") from exc
        return signed.tx_hash

    def receipt(self, tx_hash: str) -> TxReceipt | None:
        """The receipt of ``tx_hash`` if it is mined on the canonical chain, else None."""
        try:
            return self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
        except TransactionNotFound:
            return None
        except Exception as exc:
            if _says(exc, _NOT_MINED_ERRORS):
                return None
            raise self._wrap(exc, "reading a receipt") from exc

    def wait(
        self, tx_hash: str, call: ContractFunction | None = None, signed: SignedTx | None = None
    ) -> TxReceipt:
        """Wait for the receipt; a failed transaction raises with the decoded revert if known.

        Given ``signed`` (the transaction's bytes), send them again whenever the node no longer
        knows the transaction: a node may drop the transactions of a block that the chain then
        replaced (a Clique fork: @ethereumjs/client takes them out of its pool when it seals,
        whether or not its chain keeps the block) and never put them back. The same bytes
        carry the same nonce, so at most one of the copies is ever mined."""
        deadline = time.monotonic() + self.config.receipt_timeout
        next_look = time.monotonic() + RESEND_EVERY
        taken = 0  # looks in a row that found the nonce used and no receipt
        while (receipt := self.receipt(tx_hash)) is None:
            now = time.monotonic()
            if now > deadline:
                raise TransactionError(
                    f"transaction {tx_hash} not mined within "
                    f"{self.config.receipt_timeout:.0f} s; is the chain producing blocks?"
                )
            if signed is not None and now >= next_look:
                taken = taken + 1 if self.resend_if_dropped(signed) is None else 0
                if taken >= _NONCE_TAKEN_LOOKS and self.receipt(tx_hash) is None:
                    raise NonceConflictError(
                        f"nonce {signed.nonce} of {signed.sender} was mined in another "
                        f"transaction: {tx_hash} never will be"
                    )
                next_look = now + RESEND_EVERY
            time.sleep(self.config.poll_interval)
        if receipt["status"] != 1:
            raise TransactionError(f"transaction {tx_hash} failed on-chain (status 0)")
        return receipt

    def resend_if_dropped(self, signed: SignedTx) -> bool | None:
        """Send ``signed`` again if the node does not know it (neither pending nor mined).

        True: sent again; False: the node knows it; None: the node refused it because its
        nonce is used already (by this very transaction, whose receipt then comes, or by
        another one). Safe at any time: the same bytes, the same nonce."""
        try:
            known = self.w3.eth.get_transaction(HexBytes(signed.tx_hash))
        except TransactionNotFound:
            known = None
        except Exception as exc:
            if not _says(exc, _NOT_MINED_ERRORS):
                raise self._wrap(exc, "looking up a transaction") from exc
            known = None
        if known is not None:
            return False
        try:
            self.broadcast(signed)
        except NonceConflictError:
            return None
        log.info("the node did not know transaction %s (nonce %s): its bytes sent again",
                 signed.tx_hash, signed.nonce)  # fmt: skip
        return True

    def transact(self, call: ContractFunction, attempts: int = 3) -> TxReceipt:
        """Prepare, broadcast and wait; retries when another writer took the nonce."""
        for attempt in range(attempts):
            try:
                with self.sending():  # held from the nonce to the broadcast
                    signed = self.prepare(call)
                    self.broadcast(signed)
            except NonceConflictError:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
                continue
            return self.wait(signed.tx_hash, signed=signed)
        raise AssertionError("unreachable")

    def _wrap(self, exc: BaseException, doing: str) -> Exception:
        if isinstance(exc, TransactionError | ChainUnavailableError):
            return exc
        name = type(exc).__name__
        if "connection" in name.lower() or "timeout" in name.lower() or isinstance(exc, OSError):
            return ChainUnavailableError(
                f"chain node at {self.config.rpc_url} stopped answering while {doing} ({name})"
            )
        if _says(exc, _NOT_SYNCED_ERRORS):
            return ChainUnavailableError(
                f"chain node at {self.config.rpc_url} is still catching up with its peers "
                f"and takes no transaction yet ({doing}); try again shortly"
            )
        return TransactionError(f"error while {doing}: {exc}")


def _says(exc: BaseException, messages: tuple[str, ...]) -> bool:
    """Nodes tell these cases apart only in their error's words (lower case here)."""
    message = str(exc).lower()
    return any(m in message for m in messages)


class NonceConflictError(TransactionError):
    """The nonce was consumed by another transaction of the same account."""
