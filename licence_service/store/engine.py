"""Database engine and sessions (SQLite file by default, any SQLAlchemy URL otherwise)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import Pool

from licence_service.people import holder_models as _holder_models  # noqa: F401 - registers tables
from licence_service.people import models as _people_models  # noqa: F401 - registers tables
from licence_service.store import imports as _import_models  # noqa: F401 - registers tables
from licence_service.store import messages as _message_models  # noqa: F401 - registers tables
from licence_service.store import sealing
from licence_service.store import sharing_requests as _sharing_models  # noqa: F401 - registers tables
from licence_service.store.field_key import FieldKey
from licence_service.store.schema import SchemaError, ensure_current
from licence_service.store.sequencing import install as install_sequencing

__all__ = ["SchemaError", "make_engine", "make_sessions"]


def make_engine(url: str, poolclass: type[Pool] | None = None) -> Engine:
    """The engine of ``url``; ``poolclass`` NullPool keeps no connection open between uses
    (tests that remount the database's folder read-only need that)."""
    kwargs: dict[str, Any] = {} if poolclass is None else {"poolclass": poolclass}
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

    ensure_current(engine)
    return engine


def make_sessions(engine: Engine, field_key: FieldKey | None = None) -> sessionmaker[Session]:
    """Sessions of ``engine``; ``field_key`` seals and opens the sensitive values
    (``store.sealing``; without it, the key registered for the database's URL)."""
    sealing.install()
    install_sequencing()  # and registers the exchange's tables (store.exchange)
    info = {"field_key": field_key} if field_key is not None else {}
    return sessionmaker(engine, expire_on_commit=False, info=info)
