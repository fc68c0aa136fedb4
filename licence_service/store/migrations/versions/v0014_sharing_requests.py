"""sharing requests between regions: review, approval with expiry and cap, metered use

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 12:50:00.000000

Another region's request for a licence's data waits in ``sharing_request`` for a named
reviewer's approval or refusal; consents and approvals count their releases (``uses``) up to
an optional cap (``use_cap``), and a release names the approved request it relied on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sharing_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("licence_id", sa.Integer(), nullable=False),
        sa.Column("leaf", sa.LargeBinary(length=32), nullable=False),
        sa.Column("from_region", sa.Integer(), nullable=False),
        sa.Column("from_account", sa.String(length=42), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("fields_json", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewer", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("use_cap", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("in_full_json", sa.Text(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("decision_tx", sa.String(length=66), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["licence_id"], ["licence.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_hash"),
    )
    with op.batch_alter_table("sharing_request", schema=None) as batch_op:
        for column in ("licence_id", "from_region", "state"):
            batch_op.create_index(f"ix_sharing_request_{column}", [column], unique=False)
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("use_cap", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("uses", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("release", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_release_request_id", "sharing_request", ["request_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("release", schema=None) as batch_op:
        batch_op.drop_constraint("fk_release_request_id", type_="foreignkey")
        batch_op.drop_column("request_id")
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.drop_column("uses")
        batch_op.drop_column("use_cap")
    op.drop_table("sharing_request")
