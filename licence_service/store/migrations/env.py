"""Alembic's environment: run migrations on the connection ``licence_service.store.schema``
hands over (the service never reads an alembic.ini)."""

from __future__ import annotations

from alembic import context

from ledger_client.index import IndexBase
from licence_service.people import holder_models as _holder_models  # noqa: F401 - registers tables
from licence_service.people import models as _people_models  # noqa: F401 - registers tables
from licence_service.store import imports as _import_models  # noqa: F401 - registers tables
from licence_service.store import reads as _read_models  # noqa: F401 - registers tables
from licence_service.store import sharing_requests as _sharing_models  # noqa: F401 - registers tables
from licence_service.store.models import Base

target_metadata = [Base.metadata, IndexBase.metadata]

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
