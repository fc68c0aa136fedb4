"""`licledger backup` / `restore`: a region restored into a fresh directory (and a fresh
database) replays clean against the chain and its licences verify as before; a damaged
archive or a non-empty target is refused and nothing changes."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from ledger_client.registry import LeafStatus
from licence_service.audit.replay import replay
from licence_service.backup import DamagedArchiveError, backup_region, restore_region
from licence_service.cli.main import app
from licence_service.region.runtime import Runtime
from licence_service.region.settings import load_settings
from licence_service.services import issue_licence
from licence_service.services.status import change_status
from licence_service.services.verify import verify_pdf
from licence_service.services.views import pdf_path
from licence_service.store.models import LicenceVersion
from tests.pg_fixtures import PgCluster
from tests.service_fixtures import business_request


@dataclass(frozen=True)
class Backed:
    archive: Path
    verdicts: dict[str, str]


def _cli(*args: str, **env: str) -> Result:
    """The real `licledger` command, in this process (a subprocess costs ~10 s here)."""
    return CliRunner().invoke(app, list(args), env=env)


@pytest.fixture(scope="module")
def backed(rt: Runtime, tmp_path_factory: pytest.TempPathFactory) -> Backed:
    """Three licences, one revoked, backed up by `licledger backup`; the verdicts each PDF
    had then."""
    ids = [issue_licence(rt, business_request()).licence_id for _ in range(3)]
    change_status(rt, ids[1], LeafStatus.REVOKED, 1, "吊销")
    verdicts = {i: verify_pdf(rt, pdf_path(rt, i).read_bytes()).verdict.name for i in ids}
    assert sorted(verdicts.values()) == ["REVOKED", "VALID", "VALID"]
    archive = tmp_path_factory.mktemp("backup") / "region.tar.gz"
    done = _cli("backup", str(archive), "--data-dir", str(rt.settings.home), "--json",
                LICLEDGER_DATABASE_URL=rt.settings.database_url)  # fmt: skip
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    print(f"backup ({result['database']}): {result['files']} files, {result['bytes']} bytes, "
          f"{result['seconds']} s")  # fmt: skip
    assert result["files"] >= 3 + 4  # the database, the PDFs, keys, deployment.json
    return Backed(archive, verdicts)


def _target(rt: Runtime, home: Path, request: pytest.FixtureRequest) -> Runtime:
    """Settings of a fresh region home on the same chain (and a fresh database of rt's kind)."""
    url = f"sqlite:///{home / 'licledger.db'}"
    if rt.settings.database_url.startswith("postgresql"):
        cluster: PgCluster = request.getfixturevalue("pg_cluster")
        url = cluster.create_database()
    settings = load_settings(
        home, rpc_url=rt.settings.rpc_url, chain_port=rt.settings.chain_port,
        embedded_chain=False, database_url=url,
    )  # fmt: skip
    return Runtime(settings)


def test_restored_region_replays_clean_and_verifies_alike(
    rt: Runtime, backed: Backed, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    home = tmp_path / "restored"
    restored = _target(rt, home, request)
    result = restore_region(restored.settings, backed.archive)
    print(f"restore ({result.database}): {result.files} files, {result.seconds:.2f} s")
    assert result.paths_moved > 0
    assert (home / "deployment.json").read_bytes() == rt.settings.deployment_file.read_bytes()
    assert not (home / "chain").exists()
    keys = sorted(p.name for p in (home / "keys").glob("*.key.pem"))
    assert keys and all(b"ENCRYPTED" in (home / "keys" / k).read_bytes() for k in keys), keys
    with restored.sessions() as s:
        paths = s.scalars(select(LicenceVersion.pdf_path)).all()
    assert paths and all(Path(p).is_relative_to(home) and Path(p).is_file() for p in paths)

    audit = replay(restored)
    assert audit.consistent, audit.discrepancies
    assert len(audit.licences) >= len(backed.verdicts)
    again = {
        i: verify_pdf(restored, pdf_path(restored, i).read_bytes()).verdict.name
        for i in backed.verdicts
    }
    assert again == backed.verdicts


def _rewrite(archive: Path, out: Path, change: str) -> None:
    """A copy of ``archive`` with one byte of its first PDF flipped."""
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz") as dst:
        for member in src:
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if change and member.name.startswith(change) and member.name.endswith(".pdf"):
                data = data[:100] + bytes([data[100] ^ 1]) + data[101:]
                change = ""
            dst.addfile(member, io.BytesIO(data))
    assert not change, "no PDF to tamper with"


def _restore_cli(archive: Path, home: Path) -> Result:
    return _cli("restore", str(archive), "--home", str(home))


def test_tampered_archive_is_refused_and_nothing_is_restored(
    backed: Backed, tmp_path: Path
) -> None:
    tampered = tmp_path / "tampered.tar.gz"
    _rewrite(backed.archive, tampered, "home/pdfs/")
    home = tmp_path / "target"
    with pytest.raises(DamagedArchiveError, match=r"home/pdfs/.*does not match the manifest"):
        restore_region(load_settings(home), tampered)
    assert not home.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["tampered.tar.gz"]  # no staging left

    done = _restore_cli(tampered, home)
    assert done.exit_code == 2, done.output
    assert "does not match the manifest" in done.output and "Traceback" not in done.output
    assert not home.exists()


def test_truncated_archive_is_refused(backed: Backed, tmp_path: Path) -> None:
    data = backed.archive.read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DamagedArchiveError, match="not a readable backup archive"):
        restore_region(load_settings(tmp_path / "target"), cut)
    plain = tmp_path / "plain.tar.gz"
    plain.write_bytes(gzip.compress(b"not a tar at all" * 100))
    with pytest.raises(DamagedArchiveError):
        restore_region(load_settings(tmp_path / "target"), plain)
    assert not (tmp_path / "target").exists()


def test_non_empty_target_is_refused_unchanged(backed: Backed, tmp_path: Path) -> None:
    home = tmp_path / "busy"
    home.mkdir()
    (home / "notes.txt").write_text("keep me")
    done = _restore_cli(backed.archive, home)
    assert done.exit_code == 2, done.output
    assert "is not empty" in done.output and "Traceback" not in done.output
    assert [p.name for p in home.iterdir()] == ["notes.txt"]
    assert (home / "notes.txt").read_text() == "keep me"


def test_backup_never_overwrites(rt: Runtime, backed: Backed) -> None:
    before = backed.archive.read_bytes()
    with pytest.raises(Exception, match="already exists"):
        backup_region(rt.settings, backed.archive)
    assert backed.archive.read_bytes() == before
