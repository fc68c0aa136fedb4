"""Issue 11, Besu readiness: the product speaks only JSON-RPC that Hyperledger Besu implements.

Every call of the test run is recorded (``tests/rpc_recording.py``); this module is named to
run last, so it checks what the whole suite's end-to-end tests made the product send. Run
alone, it first drives a full cycle itself (deploy, bootstrap, issue, anchor, verify a PDF and
a QR code, revoke, audit replay), so the check is never vacuous.

``BESU_METHODS`` is the ``eth_``/``net_``/``web3_`` part of Besu's own method table
(``RpcMethod.java``), minus the node-side signing methods the product must never use.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3
from web3.providers.rpc import HTTPProvider

from ledger_client.connection import MAX_LOGS_RANGE, BoundedLogsProvider
from ledger_client.node import AnvilNode
from ledger_client.registry import LeafStatus
from licence_service.anchoring.worker import AnchorWorker
from licence_service.audit.replay import replay
from licence_service.services import issue_licence
from licence_service.services.status import change_status
from signing.pdf_metadata import read_metadata
from tests.rpc_recording import LOG_SPANS, ROOT, product_methods
from tests.service_fixtures import business_request, region_runtime
from verifier.engine import METADATA_FILE

BESU_METHODS = frozenset(
    {
        "eth_blockNumber", "eth_call", "eth_chainId", "eth_estimateGas", "eth_feeHistory",
        "eth_gasPrice", "eth_getBalance", "eth_getBlockByHash", "eth_getBlockByNumber",
        "eth_getBlockReceipts", "eth_getCode", "eth_getLogs", "eth_getStorageAt",
        "eth_getTransactionByHash", "eth_getTransactionCount", "eth_getTransactionReceipt",
        "eth_maxPriorityFeePerGas", "eth_sendRawTransaction", "eth_syncing",
        "net_listening", "net_peerCount", "net_version", "web3_clientVersion",
    }
)  # fmt: skip
# Besu has these, but they sign with keys held by the node: the product signs locally.
NODE_SIGNING = frozenset({"eth_sendTransaction", "eth_accounts", "eth_sign", "eth_signTransaction"})
DEV_NODE_ONLY = re.compile(r"^(anvil|evm|hardhat|debug|admin|miner|txpool)_")
PRODUCT_DIRS = ("ledger_client", "licence_service", "verifier", "signing", "bench", "scripts")
EMBEDDED_NODE = Path("ledger_client/node.py")  # the embedded anvil node's own management
BENCH_CHAINS = Path("bench")  # benchmarks run their own throwaway anvil nodes, like the tests


@pytest.fixture(scope="module")
def full_cycle(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> None:
    rt = region_runtime(tmp_path_factory.mktemp("besu-rpc"), anvil)
    doc = issue_licence(rt, business_request())
    AnchorWorker(rt).flush()
    pdf = doc.pdf_path.read_bytes()
    assert rt.verifier().verify_pdf(pdf).verdict == "VALID"
    token = str(read_metadata(pdf, METADATA_FILE)["qr_token"])
    assert rt.verifier(direct=True).verify_qr(token).verdict == "VALID"
    change_status(rt, doc.licence_id, LeafStatus.REVOKED, 1, "Besu readiness check")
    assert replay(rt).consistent


def test_the_product_uses_only_methods_besu_implements(full_cycle: None) -> None:
    used = product_methods()
    assert {"eth_sendRawTransaction", "eth_getLogs", "eth_call"} <= used, used
    assert used <= BESU_METHODS, f"not implemented by Besu: {sorted(used - BESU_METHODS)}"


def test_no_node_signing_and_no_dev_node_methods_in_the_product(full_cycle: None) -> None:
    used = product_methods()
    assert not used & NODE_SIGNING, sorted(used & NODE_SIGNING)
    assert not [m for m in used if DEV_NODE_ONLY.match(m)]


def test_every_log_query_of_the_product_stays_within_besus_range(full_cycle: None) -> None:
    spans = [span for origin, span in LOG_SPANS if origin == "product"]
    assert spans, "the product issued no eth_getLogs with block numbers"
    assert max(spans) <= MAX_LOGS_RANGE, max(spans)


def test_a_query_wider_than_the_limit_is_split(anvil: AnvilNode, full_cycle: None) -> None:
    """With a limit of a third of the chain the chunked query returns exactly the logs of one
    wide query, in order, and no request it sends is wider than the limit; a query by tags
    ("earliest" to "latest") is split too."""
    url = anvil.config.rpc_url
    head = Web3(HTTPProvider(url)).eth.block_number
    assert head >= 3, head
    limit = head // 3
    query: Any = {"fromBlock": 0, "toBlock": head}
    wide = Web3(HTTPProvider(url)).eth.get_logs(query)
    bounded = Web3(BoundedLogsProvider(url, max_logs_range=limit))
    seen = len(LOG_SPANS)
    chunked = bounded.eth.get_logs(query)
    assert [dict(x) for x in chunked] == [dict(x) for x in wide] and wide
    sent = LOG_SPANS[seen:]
    assert len(sent) == -(-(head + 1) // limit) and max(s for _, s in sent) <= limit, sent
    assert {origin for origin, _ in sent} == {"fixture"}  # this test's own calls
    seen = len(LOG_SPANS)
    tagged = bounded.eth.get_logs({"fromBlock": "earliest", "toBlock": "latest"})
    assert len(tagged) >= len(wide) and len(LOG_SPANS) - seen >= 3


def test_anvil_only_methods_appear_only_in_test_fixtures() -> None:
    """Outside tests/, an anvil_/evm_/hardhat_ method name may appear only in the embedded
    node's management (which today sends none)."""
    quoted = re.compile(r"""["'](anvil|evm|hardhat)_[A-Za-z]+["']""")
    found = []
    for top in PRODUCT_DIRS:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if (
                rel != EMBEDDED_NODE
                and rel.parts[0] != BENCH_CHAINS.name
                and quoted.search(path.read_text(encoding="utf-8"))
            ):
                found.append(str(rel))
    assert not found, found
    assert quoted.search('make_request("evm_mine", [])')  # the pattern does match a call


def test_the_deployment_guide_lists_every_method_the_product_uses(full_cycle: None) -> None:
    guide = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    missing = sorted(m for m in product_methods() if f"`{m}`" not in guide)
    assert not missing, f"deploy/README.md does not list: {missing}"
