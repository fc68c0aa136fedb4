"""A throwaway PostgreSQL cluster for the test session, on a loopback port the test owns.

Found on PATH or under /usr/lib/postgresql/*/bin (Debian's `postgresql` package, which
scripts/system-deps.sh installs). PostgreSQL refuses to run as root, so as root the cluster
belongs to the `postgres` user. A missing PostgreSQL fails the tests that need it, with the
command that installs it: it is never a silent skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.chain_fixtures import free_port


def _bin(tool: str) -> str:
    found = shutil.which(tool)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{tool}"), reverse=True):
        return str(candidate)
    pytest.fail(
        f"PostgreSQL's {tool} is not installed: run `bash scripts/system-deps.sh` as root "
        "(or `apt-get install postgresql`); the database tests run on PostgreSQL too"
    )


def _as_owner(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class PgCluster:
    directory: Path
    port: int

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; returns its SQLAlchemy URL."""
        name = "t_" + uuid.uuid4().hex[:12]
        subprocess.run(
            _as_owner([_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                       "postgres", name]),
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        return self.url(name)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    # not under pytest's temporary folder: that is private to root, and the cluster may not be
    directory = Path(tempfile.mkdtemp(prefix="licledger-pg-"))
    directory.chmod(0o755)
    data, sockets = directory / "data", directory / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
        shutil.chown(sockets, "postgres")
    subprocess.run(
        _as_owner([_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                   "-E", "UTF8", "--locale=C.UTF-8"]),
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    port = free_port()
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_owner([_bin("pg_ctl"), "-D", str(data), "-o", options, "-w", "-t", "60",
                   "-l", str(directory / "pg.log"), "start"]),
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    try:
        yield PgCluster(directory, port)
    finally:
        subprocess.run(
            _as_owner([_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True, timeout=60,
        )  # fmt: skip
        shutil.rmtree(directory, ignore_errors=True)
