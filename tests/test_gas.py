"""The registry's gas, on the chain the product runs (the session's anvil node, at the
product's default hardfork). Gas is deterministic for given documents (bench.gas_measure
derives them from their index), so these bounds are the figures reached, not loose floors:
a change that makes anchoring dearer fails here. `python -m bench.gas` prints every figure."""

from __future__ import annotations

from web3 import Web3

from bench.gas_measure import documents, set_up
from ledger_client.connection import ChainConfig
from ledger_client.events import BATCH_ANCHORED

# Reached at the product's hardfork (cancun; see NodeConfig.hardfork): 64,389 gas for one leaf,
# 362,903 for 256 (1,418 per licence; the target is 1,500). Before keys were cut to 16
# bytes: 64,511 and 1,593. Where the gas goes is in ARCHITECTURE.md ("Gas").
GAS_PER_LICENCE_AT_256 = 1_420
GAS_BATCH_1 = 64_400


def test_anchoring_gas_per_licence(w3: Web3, chain_config: ChainConfig) -> None:
    bench = set_up(chain_config.rpc_url, chain_config.chain_id)
    _, one = bench.anchor(documents(1, "test-gas-1"))
    docs = documents(256, "test-gas-256")
    batch_id, gas = bench.anchor(docs)
    assert one <= GAS_BATCH_1, one
    assert gas / 256 <= GAS_PER_LICENCE_AT_256, gas / 256
    # what makes it cheap: the event names the batch in four words, the leaves and keys come
    # back from the calldata (and are exactly the documents')
    (log,) = [
        lg for lg in w3.eth.get_logs({"address": bench.registry.address, "fromBlock": 0})
        if bytes(lg["topics"][0]) == BATCH_ANCHORED and int.from_bytes(lg["topics"][1]) == batch_id
    ]  # fmt: skip
    assert len(bytes(log["data"])) == 4 * 32
    (batch,) = bench.registry.events_in_range(log["blockNumber"], log["blockNumber"]).batches
    assert batch.problem is None
    assert batch.keys == tuple(docs.keys) and batch.leaves == tuple(docs.leaves)
