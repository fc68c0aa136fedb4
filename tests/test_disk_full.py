"""A full disk and a read-only data directory, for real: the region's PDF folder and its
SQLite database each sit on a small tmpfs of their own (root mounts them; the suite runs as
root, and root ignores file modes, so chmod would prove nothing). Filling a mount up or
remounting it read-only makes issuance fail with a clear error — CLI exit 2 naming the
directory, API 507 / 503 with a readable detail — and nothing is corrupted: no half-written
PDF, no PDF without its row, no row without its PDF, the database opens, the audit replay is
clean, and the next issuance after space is freed works."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner, Result

from ledger_client.node import AnvilNode
from licence_service.api.app import create_app
from licence_service.audit.replay import replay
from licence_service.audit.verify_counts import close_counter
from licence_service.cli.main import app
from licence_service.domain.errors import StorageError
from licence_service.region.runtime import Runtime
from licence_service.services import issue_licence
from licence_service.services.verify import verify_pdf
from licence_service.store.engine import make_engine, make_sessions
from tests.chain_fixtures import free_port
from tests.people_fixtures import serving, staff
from tests.service_fixtures import BUSINESS_FIELDS, HOLDER_USCC, business_request, region_runtime

if os.geteuid() != 0:  # pragma: no cover - the suite runs as root here
    pytest.skip("mounting a tmpfs needs root", allow_module_level=True)


def _mount(target: Path, size: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                    str(target)], check=True, capture_output=True)  # fmt: skip


def _remount(target: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(target)], check=True,
                   capture_output=True)  # fmt: skip


@dataclass
class Region:
    rt: Runtime
    pdfs: Path  # mount point: the region's pdfs/ folder
    db_dir: Path  # mount point: the folder of its SQLite file

    @property
    def db_file(self) -> Path:
        return self.db_dir / "licledger.db"

    def snapshot(self) -> tuple[set[str], int]:
        """The PDFs on disk and the versions in the database."""
        rows = self.query("SELECT count(*) FROM licence_version")
        return {p.name for p in self.pdfs.rglob("*")}, int(rows[0])

    def query(self, sql: str) -> tuple[Any, ...]:
        """One row, read the way that works on a full or read-only disk (no -wal/-shm)."""
        con = sqlite3.connect(f"file:{self.db_file}?immutable=1", uri=True)
        try:
            return tuple(con.execute(sql).fetchone())
        finally:
            con.close()

    def close_database(self) -> None:
        """Fold the WAL back into the database, so new writes need new space (the runtime's
        engine keeps no connection open: a mount with files open for writing cannot be
        remounted read-only)."""
        con = sqlite3.connect(self.db_file)
        try:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            con.close()


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[Region]:
    base = tmp_path_factory.mktemp("tight")
    home, db_dir = base / "home", base / "db"
    _mount(home / "pdfs", "4m")
    _mount(db_dir, "8m")
    try:
        rt = region_runtime(home, anvil, database_url=f"sqlite:///{db_dir / 'licledger.db'}")
        rt.sessions.kw["bind"].dispose()  # from now on no connection stays open between uses:
        rt.__dict__["sessions"] = make_sessions(make_engine(rt.settings.database_url, NullPool))
        yield Region(rt, home / "pdfs", db_dir)
        close_counter(rt)  # its last counts go in before the database's mount goes
    finally:
        for mount in (home / "pdfs", db_dir):
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@contextmanager
def full(mount: Path) -> Iterator[None]:
    """``mount`` filled to the last byte for the block's duration."""
    filler = mount / "filler"
    with open(filler, "wb", buffering=0) as fh:
        for chunk in (1 << 20, 1 << 12, 1):
            with suppress(OSError):
                while fh.write(b"\0" * chunk):
                    pass
    try:
        yield
    finally:
        filler.unlink()


@contextmanager
def read_only(mount: Path) -> Iterator[None]:
    _remount(mount, "ro")
    try:
        yield
    finally:
        _remount(mount, "rw")


def _assert_intact(region: Region, before: tuple[set[str], int]) -> None:
    assert region.snapshot() == before  # nothing half-written, nothing recorded
    assert not list(region.pdfs.rglob("*.tmp"))
    assert region.query("PRAGMA integrity_check") == ("ok",)


def _issue_works(region: Region) -> None:
    doc = issue_licence(region.rt, business_request())
    assert verify_pdf(region.rt, doc.pdf_path.read_bytes()).verdict.name == "VALID"


def test_full_database_disk_records_nothing_and_keeps_no_pdf(region: Region) -> None:
    _issue_works(region)
    region.close_database()
    before = region.snapshot()
    # A reader holds the WAL open (as a running server does), so the issuance reads, signs,
    # writes its PDF and fails only when the database needs a new page: the PDF must go.
    reader = sqlite3.connect(region.db_file)
    reader.execute("SELECT count(*) FROM licence").fetchone()
    try:
        with full(region.db_dir):
            with pytest.raises(StorageError, match="is full") as info:
                issue_licence(region.rt, business_request())
            assert info.value.status_code == 507 and str(region.db_dir) in str(info.value)
            assert "database or disk is full" in str(info.value.__cause__)
            _assert_intact(region, before)  # the PDF written first was removed again
    finally:
        reader.close()
    _issue_works(region)


def test_read_only_database_records_nothing(region: Region) -> None:
    region.close_database()
    before = region.snapshot()
    with read_only(region.db_dir):
        with pytest.raises(StorageError, match="read-only") as info:
            issue_licence(region.rt, business_request())
        assert info.value.status_code == 503
        assert region.snapshot()[0] == before[0]
    _assert_intact(region, before)
    _issue_works(region)


def _cli_issue(region: Region) -> Result:
    """The real `licledger issue`, in this process (a subprocess costs ~15 s here)."""
    settings = region.rt.settings
    env = {"LICLEDGER_DATABASE_URL": settings.database_url, "LICLEDGER_RPC_URL": settings.rpc_url,
           "LICLEDGER_CHAIN_PORT": str(settings.chain_port)}  # fmt: skip
    fields = [a for k, v in BUSINESS_FIELDS.items() for a in ("--field", f"{k}={v}")]
    args = ["issue", "--type", "BL01", "--holder-name", "杭州青禾科技有限公司", "--holder-id",
            HOLDER_USCC, *fields, "--data-dir", str(settings.home)]  # fmt: skip
    return CliRunner().invoke(app, args, env=env)


def test_cli_on_a_full_pdf_folder_exits_2_naming_it(region: Region) -> None:
    before = region.snapshot()
    with full(region.pdfs):
        done = _cli_issue(region)
        assert done.exit_code == 2, done.output
        assert ("Traceback" not in done.output and done.exception is None) or isinstance(
            done.exception, SystemExit
        )
        assert str(region.pdfs) in done.stderr and "is full" in done.stderr, done.stderr
        before = (before[0] | {"filler"}, before[1])
        _assert_intact(region, before)


def test_api_answers_507_when_full_and_503_when_read_only(region: Region) -> None:
    port = free_port()
    issuer = staff(region.rt, "-disk")["issuer"]
    body = {"type_code": "BL01", "holder_name": "杭州青禾科技有限公司", "holder_id": HOLDER_USCC,
            "fields": BUSINESS_FIELDS}  # fmt: skip
    with serving(create_app(region.rt), port) as url, httpx.Client(base_url=url, timeout=60) as c:
        before = region.snapshot()
        with full(region.pdfs):
            r = c.post("/api/v1/licences", json=body, headers=issuer)
            assert r.status_code == 507, r.text
            assert "is full" in r.json()["detail"] and str(region.pdfs) in r.json()["detail"]
        with read_only(region.pdfs):
            r = c.post("/api/v1/licences", json=body, headers=issuer)
            assert r.status_code == 503, r.text
            assert "read-only" in r.json()["detail"]
        _assert_intact(region, before)
        r = c.post("/api/v1/licences", json=body, headers=issuer)
        assert r.status_code == 201, r.text
    audit = replay(region.rt)
    assert audit.consistent, audit.discrepancies
