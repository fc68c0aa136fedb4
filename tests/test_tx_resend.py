"""A transaction the node dropped is sent again, byte for byte, while its sender waits
(ledger_client.transactions, ``TransactionSender.wait`` with ``signed``).

On the multi-node Clique network a node can drop the transactions of a block that a fork then
replaced and never put them back in its pool (scripts/ethereumjs-clique-hooks.mjs). Here the
drop is made for real on a private anvil node that mines only when told (automine off):
``anvil_dropTransaction`` takes the transaction out of its pool, ``evm_mine`` seals blocks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from ledger_client.artifacts import DIRECTORY, load_artifact
from ledger_client.connection import ChainConfig, connect
from ledger_client.errors import TransactionError
from ledger_client.node import AnvilNode, NodeConfig
from ledger_client.transactions import NonceConflictError, SignedTx, TransactionSender
from tests.chain_fixtures import free_port, sender_for

pytestmark = pytest.mark.contract


@pytest.fixture
def manual(tmp_path: Path) -> Iterator[tuple[Web3, ChainConfig]]:
    """A private anvil node that seals a block only on ``evm_mine``."""
    node = AnvilNode(NodeConfig(directory=tmp_path / "anvil", port=free_port()))
    node.start()
    try:
        config = ChainConfig(rpc_url=node.config.rpc_url, receipt_timeout=20.0)
        w3 = connect(config)
        w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
        yield w3, config
    finally:
        node.stop()


def _rpc(w3: Web3, method: str, *params: Any) -> Any:
    reply = w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    assert "error" not in reply, reply
    return reply["result"]


@pytest.fixture
def miner(manual: tuple[Web3, ChainConfig]) -> Iterator[None]:
    """Seal a block every 0.3 s while the test runs, as a network's signers would."""
    w3, _ = manual
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(0.3):
            _rpc(w3, "evm_mine")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(5)


def _signed_creation(sender: TransactionSender, threshold: int = 1) -> SignedTx:
    art = load_artifact(DIRECTORY)
    return sender.prepare_deploy(art.abi, art.bytecode, threshold)


def _dropped(w3: Web3, sender: TransactionSender) -> SignedTx:
    """A contract creation broadcast, then dropped by the node: it will never be mined."""
    signed = _signed_creation(sender)
    sender.broadcast(signed)
    assert _rpc(w3, "eth_getTransactionByHash", signed.tx_hash) is not None  # pending
    _rpc(w3, "anvil_dropTransaction", signed.tx_hash)
    assert _rpc(w3, "eth_getTransactionByHash", signed.tx_hash) is None
    return signed


def test_a_dropped_transaction_is_sent_again_and_mined_once(
    manual: tuple[Web3, ChainConfig], miner: None
) -> None:
    w3, config = manual
    sender = sender_for(w3, config)
    signed = _dropped(w3, sender)
    receipt = sender.wait(signed.tx_hash, signed=signed)
    assert receipt["status"] == 1 and receipt["contractAddress"]
    # the very bytes were mined (same hash, same nonce), and only one transaction of the
    # account: the nonce moved by one
    mined = w3.eth.get_transaction(signed.tx_hash)  # type: ignore[arg-type]
    assert mined["nonce"] == signed.nonce == 0
    assert w3.eth.get_transaction_count(sender.address) == 1
    assert sender.resend_if_dropped(signed) is False  # known (mined): nothing sent


def test_without_its_bytes_the_wait_for_a_dropped_transaction_times_out(
    manual: tuple[Web3, ChainConfig], miner: None
) -> None:
    """What the re-broadcast fixes: waiting on the hash alone never sees it mined."""
    w3, _ = manual
    config = ChainConfig(rpc_url=manual[1].rpc_url, receipt_timeout=6.0)
    sender = sender_for(w3, config)
    signed = _dropped(w3, sender)
    with pytest.raises(TransactionError, match="not mined within"):
        sender.wait(signed.tx_hash)
    assert w3.eth.get_transaction_count(sender.address) == 0


def test_a_pending_transaction_is_not_sent_again(manual: tuple[Web3, ChainConfig]) -> None:
    w3, config = manual
    sender = sender_for(w3, config)
    signed = _signed_creation(sender)
    sender.broadcast(signed)
    assert sender.resend_if_dropped(signed) is False
    assert sender.broadcast(signed) == signed.tx_hash  # the same bytes again: harmless


def test_a_dropped_transaction_whose_nonce_another_took_is_never_mined(
    manual: tuple[Web3, ChainConfig], miner: None
) -> None:
    """Nothing twice: once another transaction holds the nonce, re-sending is refused and the
    wait ends with a nonce conflict instead of a second creation."""
    w3, config = manual
    sender = sender_for(w3, config)
    first = _dropped(w3, sender)
    sender.reset_nonce()
    other = _signed_creation(sender, 2)  # the node's count is 0 again: the same nonce
    assert other.nonce == first.nonce and other.tx_hash != first.tx_hash
    sender.broadcast(other)
    assert sender.wait(other.tx_hash)["status"] == 1
    with pytest.raises(NonceConflictError, match="never will be"):
        sender.wait(first.tx_hash, signed=first)
    assert w3.eth.get_transaction_count(sender.address) == 1
    assert _rpc(w3, "eth_getTransactionByHash", first.tx_hash) is None
