"""Clique's own formats: the signers in a genesis block, and who sealed a block.

Clique (EIP-225) keeps its signer list and each block's seal in the header's ``extraData``:
32 vanity bytes, then (genesis and epoch blocks) the signers' addresses, then a 65-byte
signature over the header without it. The miner field says nothing (it carries votes), so the
sealer of a block is recovered from that signature. The partition test uses it to check that
the block its cut-off node made alone really was sealed by that node.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import rlp
from eth_keys import keys
from eth_utils import keccak, to_checksum_address

_SEAL = 65  # r, s, v at the end of extraData
_LONDON_FIELDS = (
    "parentHash", "sha3Uncles", "miner", "stateRoot", "transactionsRoot", "receiptsRoot",
    "logsBloom", "difficulty", "number", "gasLimit", "gasUsed", "timestamp", "extraData",
    "mixHash", "nonce", "baseFeePerGas",
)  # fmt: skip
# Far above any batch: a block more than half full would lift the base fee off 0 for good.
GAS_LIMIT = 1_000_000_000
_QUANTITIES = {"difficulty", "number", "gasLimit", "gasUsed", "timestamp", "baseFeePerGas"}


def genesis(layout: Mapping[str, Any]) -> dict[str, Any]:
    """A geth-style London genesis with Clique: every node a signer (sorted, in extraData)."""
    signers = sorted((n["signer"] for n in layout["nodes"]), key=lambda a: int(a, 16))
    forks = ["homestead", "eip150", "eip155", "eip158", "byzantium", "constantinople"]
    forks += ["petersburg", "istanbul", "berlin", "london"]
    config: dict[str, Any] = {"chainId": layout["chain_id"]}
    config.update({f"{fork}Block": 0 for fork in forks})
    config["clique"] = {"period": layout["block_period"], "epoch": 30000}
    zero32 = "00" * 32
    return {
        "config": config,
        "nonce": "0x0",
        "timestamp": hex(int(time.time())),
        "difficulty": "0x1",
        "gasLimit": hex(GAS_LIMIT),
        "baseFeePerGas": "0x0",
        "extraData": "0x" + zero32 + "".join(a[2:].lower() for a in signers) + "00" * _SEAL,
        "coinbase": "0x" + "00" * 20,
        "mixHash": "0x" + zero32,
        "parentHash": "0x" + zero32,
        "alloc": {},
    }


def block_signer(block: Mapping[str, Any]) -> str:
    """The address that sealed ``block`` (a London block as JSON-RPC returns it, hex strings).

    The seal signs the Keccak hash of the header's RLP with the signature cut off extraData;
    the hash of the header *with* it is the block hash, which this checks, so a block whose
    fields were read wrong raises instead of naming somebody."""
    fields: list[Any] = [
        int(str(block[name]), 16) if name in _QUANTITIES else bytes.fromhex(str(block[name])[2:])
        for name in _LONDON_FIELDS
    ]
    if keccak(rlp.encode(fields)).hex() != str(block["hash"]).removeprefix("0x"):
        raise ValueError(f"block {block['number']}: its fields do not hash to its hash")
    extra = fields[12]
    fields[12] = extra[:-_SEAL]
    seal = extra[-_SEAL:]
    signature = keys.Signature(signature_bytes=seal[:64] + bytes([seal[64] % 27]))
    public = signature.recover_public_key_from_msg_hash(keccak(rlp.encode(fields)))
    return to_checksum_address(public.to_canonical_address())
