"""exchange at scale: a numbered change log, its sequencer, push subscriptions (issue 22, 6)

``feed_change`` records every licence version and status change with the licence's status
after it; the feed, the snapshot and the push deliveries page through it by ``seq``, a number
given after commit by one sequencer at a time (``feed_sequence``'s row), so a cursor never
skips or repeats a change. Existing versions and status changes are recorded and numbered
here in the order they were made. ``push_subscription``: other regions' webhooks.

Revision ID: 0015
Revises: 0017
Create Date: 2026-12-07 12:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("licence_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["licence_id"], ["licence.id"]),
        sa.ForeignKeyConstraint(["version_id"], ["licence_version.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seq"),
    )
    with op.batch_alter_table("feed_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_change_licence_id"), ["licence_id"])
    op.create_table(
        "feed_sequence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "push_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("url", sa.String(length=300), nullable=False),
        sa.Column("type_code", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("push_subscription", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_subscription_region"), ["region"])
    _backfill()


def _backfill() -> None:
    """Record the versions and status changes made before the log existed, oldest first."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT created_at, licence_id, id, version, 'ACTIVE' FROM licence_version "
            "UNION ALL SELECT sc.created_at, v.licence_id, v.id, -1, sc.status "
            "FROM status_change sc JOIN licence_version v ON v.id = sc.version_id "
            "WHERE sc.attachment_id IS NULL"
        )
    ).all()
    feed = sa.table(
        "feed_change",
        sa.column("seq", sa.BigInteger()),
        sa.column("licence_id", sa.Integer()),
        sa.column("version_id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("status", sa.String()),
        sa.column("created_at"),  # as read: the source rows' own format
    )
    ordered = sorted(rows, key=lambda r: (str(r[0]), r[3] < 0, r[2]))
    values = [
        {
            "seq": n,
            "licence_id": licence_id,
            "version_id": version_id,
            "kind": "status" if version < 0 else ("issued" if version == 1 else "amended"),
            "status": status,
            "created_at": created_at,
        }
        for n, (created_at, licence_id, version_id, version, status) in enumerate(ordered, 1)
    ]
    if values:
        op.bulk_insert(feed, values)
    counter = sa.table("feed_sequence", sa.column("id"), sa.column("last", sa.BigInteger()))
    op.bulk_insert(counter, [{"id": 1, "last": len(values)}])


def downgrade() -> None:
    with op.batch_alter_table("push_subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_subscription_region"))
    op.drop_table("push_subscription")
    op.drop_table("feed_sequence")
    with op.batch_alter_table("feed_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feed_change_licence_id"))
    op.drop_table("feed_change")
