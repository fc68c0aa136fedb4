"""A throwaway PostgreSQL cluster for the test session, on a loopback port the test owns.

The cluster itself is ``bench.pg`` (benchmarks start one too). A missing PostgreSQL fails
the tests that need it, with the command that installs it: it is never a silent skip.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.pg import Cluster as PgCluster
from bench.pg import pg_cluster as start_cluster
from bench.pg import pg_tool

__all__ = ["PgCluster", "pg_cluster"]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    try:
        pg_tool("initdb")
    except RuntimeError as exc:
        pytest.fail(f"{exc}; the database tests run on PostgreSQL too")
    with start_cluster() as cluster:
        yield cluster
