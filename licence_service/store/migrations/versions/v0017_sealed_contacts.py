"""holder contacts and wallet accounts' IDs sealed with the field key (issue 20)

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-07 12:40:00.000000

What 0013 did for the licences' holder IDs, for the personal data added since: a licence's
``holder_email`` / ``holder_phone``, a wallet account's ``holder_id`` and ``contact``, an
activation code's ``holder_id`` and an outbox message's ``recipient`` are encrypted in place
with the region's field key (``store.field_key``); the accounts' and activations' holder IDs
get their keyed hash in ``holder_id_hash`` (what sign-in and activation look up; the account's
is unique). The columns are widened for the ciphertext. A database with rows to seal needs the
key, found as 0013 finds it (in development made when missing; in production configured, or
this migration stops with that error and changes nothing).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from licence_service.store.field_key import is_sealed
from licence_service.store.sealing import migration_key

revision = "0017"
down_revision = "0014"
branch_labels = None
depends_on = None

# table -> (column, hashed) sealed here
SEALED = {
    "licence": (("holder_email", False), ("holder_phone", False)),
    "holder_account": (("holder_id", True), ("contact", False)),
    "holder_activation": (("holder_id", True),),
    "notify_message": (("recipient", False),),
}


def _widen() -> None:
    with op.batch_alter_table("licence", schema=None) as b:
        b.alter_column("holder_email", type_=sa.Text(), existing_type=sa.String(254),
                       existing_nullable=True)  # fmt: skip
        b.alter_column("holder_phone", type_=sa.String(120), existing_type=sa.String(20),
                       existing_nullable=True)  # fmt: skip
    with op.batch_alter_table("holder_account", schema=None) as b:
        b.alter_column("holder_id", type_=sa.String(120), existing_type=sa.String(18),
                       existing_nullable=False)  # fmt: skip
        b.alter_column("contact", type_=sa.Text(), existing_type=sa.String(200),
                       existing_nullable=False)  # fmt: skip
        b.add_column(sa.Column("holder_id_hash", sa.LargeBinary(32), nullable=True))
        b.create_unique_constraint("uq_holder_account_holder_id_hash", ["holder_id_hash"])
    with op.batch_alter_table("holder_activation", schema=None) as b:
        b.drop_index("ix_holder_activation_holder_id")
        b.alter_column("holder_id", type_=sa.String(120), existing_type=sa.String(18),
                       existing_nullable=False)  # fmt: skip
        b.add_column(sa.Column("holder_id_hash", sa.LargeBinary(32), nullable=True))
        b.create_index("ix_holder_activation_holder_id_hash", ["holder_id_hash"], unique=False)
    with op.batch_alter_table("notify_message", schema=None) as b:
        b.alter_column("recipient", type_=sa.Text(), existing_type=sa.String(320),
                       existing_nullable=False)  # fmt: skip


def upgrade() -> None:
    _widen()
    conn = op.get_bind()
    rows: dict[str, list[Any]] = {}
    for table, columns in SEALED.items():
        names = ", ".join(c for c, _ in columns)
        rows[table] = list(conn.execute(sa.text(f"SELECT id, {names} FROM {table}")).all())
    needed = any(any(v for v in r[1:]) for found in rows.values() for r in found)
    key = migration_key(conn.engine.url, needed, "holder contacts and wallet IDs")
    if key is None:
        return
    for table, columns in SEALED.items():
        for row in rows[table]:
            values: dict[str, Any] = {}
            for (column, hashed), plain in zip(columns, row[1:], strict=True):
                if not plain or is_sealed(plain):
                    continue
                values[column] = key.seal(plain, f"{table}.{column}")
                if hashed:
                    values[f"{column}_hash"] = key.holder_hash(plain)
            if values:
                sets = ", ".join(f"{c} = :{c}" for c in values)
                conn.execute(sa.text(f"UPDATE {table} SET {sets} WHERE id = :row_id"),
                             {**values, "row_id": row[0]})  # fmt: skip


def downgrade() -> None:
    raise NotImplementedError(
        "sealed contacts and wallet IDs are not decrypted by a downgrade: restore the backup "
        "made before the upgrade"
    )
