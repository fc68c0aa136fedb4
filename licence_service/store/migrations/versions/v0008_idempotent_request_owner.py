"""idempotent request owner and heartbeat (issue 25)

A request in flight names the process running it (``owner``) and when that process last said
it was alive (``alive_at``, refreshed every few seconds): a retry with the key waits while the
owner is alive and takes the request over once it is dead, instead of answering 409 after a
fixed wait.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 09:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idempotent_request") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("alive_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotent_request") as batch:
        batch.drop_column("alive_at")
        batch.drop_column("owner")
