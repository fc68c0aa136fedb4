"""sensitive fields sealed with the field key; holder IDs found by keyed hash

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 10:00:00.000000

Holder IDs (licence, submission, consent) and the sensitive face fields of every licence
version are encrypted in place with the region's field key (``store.field_key``), and each
holder ID's keyed hash is written to ``holder_id_hash``. A database with rows to seal needs
the key: in development it is made here when missing (``keys/field.key``); in production it
must be configured (``LICLEDGER_FIELD_KEY_FILE``), or this migration stops with that error
and changes nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from licence_service.domain.data_classes import sensitive_keys
from licence_service.domain.licence_types import load_licence_types
from licence_service.store.field_key import FieldKey, FieldKeyMissingError, is_sealed
from licence_service.store.sealing import key_for_url, seal_json

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

HOLDER_TABLES = ("licence", "submission", "consent")


def _key(needed: bool) -> FieldKey | None:
    key = key_for_url(op.get_bind().engine.url)
    if key is None:
        if needed:
            raise FieldKeyMissingError(
                "the database holds holder IDs to encrypt, and no field key is configured: "
                "run `licledger db upgrade` with the region's data directory (or "
                "LICLEDGER_FIELD_KEY_FILE) so the key is found"
            )
        return None
    if not key.production:
        key.create()  # development: once, beside the other keys; production: configured
    return key


def upgrade() -> None:
    for table in HOLDER_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_holder_id")
            batch_op.alter_column("holder_id", type_=sa.String(120),
                                  existing_type=sa.String(18), existing_nullable=False)  # fmt: skip
            batch_op.add_column(sa.Column("holder_id_hash", sa.LargeBinary(32), nullable=True))
            batch_op.create_index(f"ix_{table}_holder_id_hash", ["holder_id_hash"], unique=False)
    conn = op.get_bind()
    rows = {t: conn.execute(sa.text(f"SELECT id, holder_id FROM {t}")).all() for t in HOLDER_TABLES}
    key = _key(any(rows.values()))
    if key is None:
        return
    for table, found in rows.items():
        for row_id, holder_id in found:
            if is_sealed(holder_id):
                continue
            conn.execute(
                sa.text(f"UPDATE {table} SET holder_id = :v, holder_id_hash = :h WHERE id = :i"),
                {"v": key.seal(holder_id, f"{table}.holder_id"),
                 "h": key.holder_hash(holder_id), "i": row_id},
            )  # fmt: skip
    types = load_licence_types()
    versions = conn.execute(sa.text(
        "SELECT v.id, v.fields_json, l.type_code FROM licence_version v "
        "JOIN licence l ON l.id = v.licence_id"
    )).all()  # fmt: skip
    for row_id, fields_json, type_code in versions:
        keys = sensitive_keys(types[type_code]) if type_code in types else frozenset()
        sealed = seal_json(key, fields_json, keys, "licence_version.fields_json")
        if sealed != fields_json:
            conn.execute(sa.text("UPDATE licence_version SET fields_json = :f WHERE id = :i"),
                         {"f": sealed, "i": row_id})  # fmt: skip


def downgrade() -> None:
    raise NotImplementedError(
        "sealed holder IDs and fields are not decrypted by a downgrade: restore the backup "
        "made before the upgrade"
    )
