"""The database schema's version: created and upgraded by Alembic, checked at every start.

A new, empty database is brought to the current revision at once (a fresh data directory just
works). Any other database must already be at the current revision: the service refuses to
start on one it does not know, and says which command upgrades it, so an operator upgrading the
software never has a half-migrated database under a running service.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, inspect

from ledger_client.index import IndexBase
from licence_service.store.models import Base

BASELINE = "0001"
"""The revision of the first release's schema (made before migrations, by ``create_all``)."""

UPGRADE_COMMAND = "licledger db upgrade"


class SchemaError(RuntimeError):
    """The database's schema is not the one this version runs on."""


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    location = resources.files("licence_service.store").joinpath("migrations")
    cfg.set_main_option("script_location", str(location))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    """The revision this version of the code runs on."""
    found = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert found is not None
    return found


@dataclass(frozen=True)
class SchemaState:
    revision: str | None  # None: no alembic_version table (empty, or made before migrations)
    has_tables: bool

    @property
    def empty(self) -> bool:
        return self.revision is None and not self.has_tables


def state(engine: Engine) -> SchemaState:
    with engine.connect() as conn:
        revision = MigrationContext.configure(conn).get_current_revision()
        tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
    ours = {t.name for md in (Base.metadata, IndexBase.metadata) for t in md.sorted_tables}
    return SchemaState(revision, bool(tables & ours))


def ensure_current(engine: Engine) -> None:
    """Create an empty database's schema; refuse any database not at the current revision."""
    found = state(engine)
    if found.empty:
        upgrade(engine)
        return
    where = engine.url.render_as_string(hide_password=True)
    current = head()
    if found.revision == current:
        return
    known = {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if found.revision is None:
        why = "was made by a Licence Ledger release from before schema migrations"
    elif found.revision in known:
        why = f"is at schema revision {found.revision}, older than this version's {current}"
    else:
        raise SchemaError(
            f"the database {where} is at schema revision {found.revision}, which this version "
            f"does not know (made by a newer Licence Ledger?): run that version, or restore a "
            "backup made by this one"
        )
    raise SchemaError(
        f"the database {where} {why}: stop every service of the region and run "
        f"`{UPGRADE_COMMAND}` (with the same --data-dir or LICLEDGER_DATABASE_URL), then start "
        "again"
    )


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the database to the current revision; returns (from, to).

    A database made before migrations is first checked against the baseline's tables and
    columns and stamped as the baseline, then upgraded like any other.
    """
    found = state(engine)
    with engine.begin() as conn:
        cfg = alembic_config(conn)
        if found.revision is None and found.has_tables:
            _check_baseline(conn)
            command.stamp(cfg, BASELINE)
        command.upgrade(cfg, "head")
    return found.revision, head()


def _baseline_columns() -> dict[str, set[str]]:
    """The first release's tables and columns, as migration ``BASELINE`` builds them."""
    scratch = create_engine("sqlite://")
    with scratch.begin() as conn:
        command.upgrade(alembic_config(conn), BASELINE)
        inspector = inspect(conn)
        return {
            table: {c["name"] for c in inspector.get_columns(table)}
            for table in inspector.get_table_names()
            if table != "alembic_version"
        }


def _check_baseline(conn: Connection) -> None:
    """A database without a version table may be stamped as the baseline only if it has the
    baseline's tables and columns (it was made by the first release)."""
    inspector = inspect(conn)
    present = set(inspector.get_table_names())
    for table, columns in _baseline_columns().items():
        if table not in present:
            continue  # never written by the first release (e.g. an unused feature's table)
        missing = columns - {c["name"] for c in inspector.get_columns(table)}
        if missing:
            raise SchemaError(
                f"table {table} lacks {', '.join(sorted(missing))}: this database predates "
                "the first release this version can upgrade; use a new data directory"
            )
