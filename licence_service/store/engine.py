"""Database engine and sessions (SQLite file by default, any SQLAlchemy URL otherwise)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from ledger_client.index import IndexBase
from licence_service.people import models as _people_models  # noqa: F401 - registers tables
from licence_service.store import imports as _import_models  # noqa: F401 - registers tables
from licence_service.store.models import Base


def make_engine(url: str) -> Engine:
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            # WAL lets the API read while the anchoring worker writes; FULL sync because an
            # acknowledged issuance must survive a power cut.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

    Base.metadata.create_all(engine)
    IndexBase.metadata.create_all(engine)
    _check_schema(engine, url)
    return engine


def _check_schema(engine: Engine, url: str) -> None:
    """Refuse, with a clear message, a database created by an older version of the schema."""
    inspector = inspect(engine)
    for metadata in (Base.metadata, IndexBase.metadata):
        for table in metadata.sorted_tables:
            present = {c["name"] for c in inspector.get_columns(table.name)}
            missing = [c.name for c in table.columns if c.name not in present]
            if missing:
                raise SchemaError(
                    f"the database {engine.url.render_as_string(hide_password=True)} was made by "
                    f"an older Licence Ledger (table {table.name} lacks {', '.join(missing)}); "
                    "use a new data directory (--data-dir) or move the old one aside"
                )


class SchemaError(RuntimeError):
    """The database's tables do not match this version's models."""


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
