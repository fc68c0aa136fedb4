"""Session fixtures: one real anvil node for the whole test run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from web3 import Web3

from ledger_client.connection import ChainConfig, connect
from ledger_client.node import AnvilNode, NodeConfig
from licence_service.region.runtime import Runtime
from tests.chain_fixtures import free_port
from tests.pg_fixtures import PgCluster, pg_cluster  # noqa: F401 - a session fixture
from tests.rpc_recording import LOG_SPANS, METHODS, recording
from tests.service_fixtures import region_runtime

# Signing keys are sealed with scrypt at N=2^17 by default (~1 s per key here); the suite makes
# hundreds of keys, so it runs at a low cost (inherited by the CLI and server subprocesses).
# tests/security/test_item12_keys_at_rest.py checks the strong default and the parameters.
os.environ.setdefault("LICLEDGER_KEY_SCRYPT_N", str(2**12))
# `licledger serve` runs one process per core by default; the suite's servers start within
# 30 s on a loaded machine only as one process (tests/test_serve_workers.py runs several).
os.environ.setdefault("LICLEDGER_API_WORKERS", "1")

# Property tests check properties, not speed: a loaded CI machine must not fail them on time.
# Derandomised: CI runs the same examples every time (explore with HYPOTHESIS_PROFILE=explore).
settings.register_profile("licledger", deadline=None, derandomize=True)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "licledger"))


@pytest.fixture(scope="session", autouse=True)
def rpc_recording() -> Iterator[None]:
    """Every JSON-RPC call of the run is recorded (tests/rpc_recording.py) for the
    Besu-readiness check in tests/test_zz_besu_rpc.py."""
    with recording():
        yield


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not METHODS:
        return
    product = sorted(m for m, o in METHODS.items() if "product" in o)
    fixture_only = sorted(m for m, o in METHODS.items() if o == {"fixture"})
    widest = max((span for _, span in LOG_SPANS), default=0)
    terminalreporter.write_line(f"JSON-RPC methods used by the product: {', '.join(product)}")
    terminalreporter.write_line(f"JSON-RPC methods used only by tests: {', '.join(fixture_only)}")
    terminalreporter.write_line(f"widest eth_getLogs: {widest} blocks")


BLOCK_TIME_ENV = "LICLEDGER_TEST_BLOCK_TIME"
"""Seconds between the session node's blocks (``make test-block-time`` sets 2): the tests then
run as on a real network, a block every period, instead of a block per transaction at once."""


def session_block_time() -> float | None:
    raw = os.environ.get(BLOCK_TIME_ENV, "").strip()
    return float(raw) if raw else None


@pytest.fixture(scope="session")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    directory: Path = tmp_path_factory.mktemp("anvil")
    # No state dumps while the suite runs: with every historical state kept, the session's
    # dump grew to 2.8 GB by the end of a run and was rewritten every second, which slowed the
    # node until a batch was not mined within its 60 s (no test restarts this node).
    node = AnvilNode(
        NodeConfig(
            directory=directory, port=free_port(), state_interval=86_400,
            block_time=session_block_time(),
        )
    )  # fmt: skip
    node.start()
    yield node
    node.stop()


DATABASES = ("sqlite", "postgresql")
"""Every database-touching test that takes ``rt`` or ``database_url`` runs on both."""


def _database_url(request: pytest.FixtureRequest, home: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{home / 'licledger.db'}"
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database()


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind the service supports."""
    return _database_url(request, tmp_path)


@pytest.fixture(scope="module", params=DATABASES)
def rt(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode
) -> Runtime:
    """A region set up on the session's chain, one per test module and database: its tests add
    licences to it and never expect it empty (a module that tampers with it overrides this)."""
    home = tmp_path_factory.mktemp("region")
    return region_runtime(home, anvil, database_url=_database_url(request, home))


@pytest.fixture(scope="session")
def chain_config(anvil: AnvilNode) -> ChainConfig:
    return ChainConfig(rpc_url=anvil.config.rpc_url, chain_id=anvil.config.chain_id)


@pytest.fixture(scope="session")
def w3(chain_config: ChainConfig) -> Web3:
    return connect(chain_config)


# ------------------------------------------------------------------------------ tiers
# `unit`: no chain, no network, no subprocess (`pytest -m unit`, seconds); `contract`: the
# test uses the session's anvil node; `e2e`: whole processes (the CLI, servers, the demo).
E2E_MODULES = {"test_cli", "test_demo", "test_federation_e2e"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = getattr(item, "module", None)
        name = module.__name__.rsplit(".", 1)[-1] if module else ""
        fixtures = getattr(item, "fixturenames", ())
        if any(item.get_closest_marker(tier) for tier in ("unit", "contract", "e2e")):
            continue  # a test that declares its tier keeps it
        if name in E2E_MODULES:
            item.add_marker(pytest.mark.e2e)
        elif "anvil" in fixtures:
            item.add_marker(pytest.mark.contract)
        else:
            item.add_marker(pytest.mark.unit)
