"""Record every JSON-RPC method the code under test sends, for the Besu-readiness check.

A session fixture (``tests/conftest.py``) wraps ``HTTPProvider.make_request`` for the whole
run; every call is recorded with where it came from: ``product`` when the nearest project
frame on the stack is outside ``tests/`` (ledger_client, licence_service, verifier, ...),
``fixture`` when a test or a fixture called the node directly (``evm_mine``, a test reading a
block). ``tests/test_zz_besu_rpc.py`` runs last and checks the product's set against the
methods Besu implements; the terminal summary prints the set.

Only calls made in the pytest process are seen: servers and CLIs started as subprocesses
run the same ``ledger_client`` code, but their calls are not recorded.
"""

from __future__ import annotations

import sys
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from web3.providers.rpc import HTTPProvider

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
VENV = ROOT / ".venv"
# Transport, not a caller: the provider itself (it splits wide eth_getLogs).
TRANSPORT = (str(ROOT / "ledger_client" / "connection.py"), __file__)

METHODS: dict[str, set[str]] = defaultdict(set)  # method -> {"product", "fixture"}
LOG_SPANS: list[tuple[str, int]] = []  # (origin, blocks) of every numeric eth_getLogs
_lock = threading.Lock()


def _origin() -> str:
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(str(ROOT)) and not name.startswith(str(VENV)) and name not in TRANSPORT:
            return "fixture" if name.startswith(str(TESTS)) else "product"
        frame = frame.f_back  # type: ignore[assignment]
    return "fixture"


def _span(params: Any) -> int | None:
    try:
        query = params[0]
        return int(query["toBlock"], 16) - int(query["fromBlock"], 16) + 1
    except (IndexError, KeyError, TypeError, ValueError):
        return None


@contextmanager
def recording() -> Iterator[None]:
    """Wrap the provider class for the duration; nested or repeated use is harmless."""
    original = HTTPProvider.make_request

    def make_request(self: HTTPProvider, method: Any, params: Any) -> Any:
        origin = _origin()
        with _lock:
            METHODS[str(method)].add(origin)
            if method == "eth_getLogs" and (span := _span(params)) is not None:
                LOG_SPANS.append((origin, span))
        return original(self, method, params)

    HTTPProvider.make_request = make_request  # type: ignore[method-assign]
    try:
        yield
    finally:
        HTTPProvider.make_request = original  # type: ignore[method-assign]


def product_methods() -> set[str]:
    return {m for m, origins in METHODS.items() if "product" in origins}
