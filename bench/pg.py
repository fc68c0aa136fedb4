"""A throwaway PostgreSQL cluster on a loopback port, for benchmarks.

Found on PATH or under /usr/lib/postgresql/*/bin (Debian's ``postgresql`` package).
PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres`` user.
The test suite's session fixture (tests/pg_fixtures.py) wraps this one. A missing
PostgreSQL raises ``RuntimeError`` with the command that installs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.region import free_port


def pg_tool(tool: str) -> str:
    found = shutil.which(tool)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{tool}"), reverse=True):
        return str(candidate)
    raise RuntimeError(
        f"PostgreSQL's {tool} is not installed: run `bash scripts/system-deps.sh` as root "
        "(or `apt-get install postgresql`)"
    )


def _as_owner(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass(frozen=True)
class Cluster:
    directory: Path
    port: int

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new, empty database (named, or a fresh random name); returns its SQLAlchemy URL."""
        name = name or "t_" + uuid.uuid4().hex[:12]
        subprocess.run(
            _as_owner([pg_tool("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                       "postgres", name]),
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        return self.url(name)


@contextmanager
def pg_cluster() -> Iterator[Cluster]:
    """Start a cluster (fsync off: its data is thrown away); stop and remove it after.
    Not under pytest's temporary folder: that is private to root, and the cluster may not be."""
    directory = Path(tempfile.mkdtemp(prefix="licledger-pg-"))
    directory.chmod(0o755)
    data, sockets = directory / "data", directory / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
        shutil.chown(sockets, "postgres")
    subprocess.run(
        _as_owner([pg_tool("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                   "-E", "UTF8", "--locale=C.UTF-8"]),
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    port = free_port()
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_owner([pg_tool("pg_ctl"), "-D", str(data), "-o", options, "-w", "-t", "60",
                   "-l", str(directory / "pg.log"), "start"]),
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    try:
        yield Cluster(directory, port)
    finally:
        subprocess.run(
            _as_owner([pg_tool("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True, timeout=60,
        )  # fmt: skip
        shutil.rmtree(directory, ignore_errors=True)
