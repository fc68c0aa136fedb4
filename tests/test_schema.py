"""The schema is Alembic's: created on an empty database, upgraded from the first release's,
and a database the code does not know is refused with the command that fixes it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, select, text
from typer.testing import CliRunner

from ledger_client.index import IndexBase
from licence_service.store.engine import make_engine, make_sessions
from licence_service.store.models import Agency, Base
from licence_service.store.schema import BASELINE, SchemaError, alembic_config, head, state, upgrade

pytestmark = pytest.mark.contract  # PostgreSQL runs as a server process of the session


def _agency() -> Agency:
    return Agency(
        code="11330100002489458U", name="杭州市市场监督管理局", region_code=330100,
        region_name="杭州市", chain_address="0x" + "11" * 20, cert_pem="-", cert_fingerprint="ab",
        created_at=datetime.now(UTC),
    )  # fmt: skip


def _first_release(url: str) -> Engine:
    """A database as the first release left it: the baseline's tables, no version table."""
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), BASELINE)
        conn.execute(text("DROP TABLE alembic_version"))
    return engine


def test_an_empty_database_gets_the_current_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    assert state(engine).revision == head()
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
    assert {"licence", "outbox", "chain_batch", "person"} <= tables
    make_engine(database_url)  # a second start finds it current


def test_the_migrations_build_exactly_the_models(database_url: str) -> None:
    """A model changed without a migration fails here, before it fails an operator."""
    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn), [Base.metadata, IndexBase.metadata]
        )
    assert diff == []


def test_the_first_releases_database_is_refused_then_upgraded_keeping_its_rows(
    database_url: str,
) -> None:
    old = _first_release(database_url)
    with make_sessions(old).begin() as s:
        s.add(_agency())
    with pytest.raises(SchemaError, match="licledger db upgrade"):
        make_engine(database_url)
    assert upgrade(old) == (None, head())
    with make_sessions(make_engine(database_url))() as s:
        assert s.scalar(select(Agency.code)) == "11330100002489458U"
    assert state(old).revision == head() and head() >= BASELINE


def test_an_older_revision_is_refused_until_upgraded(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), BASELINE)
    with pytest.raises(SchemaError, match=f"revision {BASELINE}, older .*licledger db upgrade"):
        make_engine(database_url)
    assert upgrade(engine) == (BASELINE, head()) and head() > BASELINE
    make_engine(database_url)


def test_a_schema_from_a_newer_version_is_refused(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaError, match="does not know"):
        make_engine(database_url)


def test_db_commands(tmp_path: Path) -> None:
    from licence_service.cli.main import app

    home = tmp_path / "region"
    home.mkdir()
    _first_release(f"sqlite:///{home / 'licledger.db'}")
    runner = CliRunner()
    status = runner.invoke(app, ["db", "status", "--data-dir", str(home), "--json"])
    assert status.exit_code == 0 and '"up_to_date": false' in status.output
    done = runner.invoke(app, ["db", "upgrade", "--data-dir", str(home)])
    assert done.exit_code == 0 and f"→ {head()}" in done.output
    status = runner.invoke(app, ["db", "status", "--data-dir", str(home), "--json"])
    assert '"up_to_date": true' in status.output
    missing = runner.invoke(app, ["db", "status", "--data-dir", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "no data directory" in missing.output
