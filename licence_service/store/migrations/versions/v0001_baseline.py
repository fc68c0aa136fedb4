"""the schema of the first release

Revision ID: 0001
Revises:
Create Date: 2026-11-22 00:01:24.245442
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from licence_service.store.migrations import baseline_index, baseline_people

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("region_code", sa.Integer(), nullable=False),
        sa.Column("region_name", sa.String(length=100), nullable=False),
        sa.Column("chain_address", sa.String(length=42), nullable=False),
        sa.Column("cert_pem", sa.Text(), nullable=False),
        sa.Column("cert_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chain_address"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "oplog",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("details_json", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("oplog", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oplog_hash"), ["hash"], unique=False)
    baseline_people.create()
    op.create_table(
        "submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=False),
        sa.Column("holder_id", sa.String(length=18), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=False),
        sa.Column("pdf_path", sa.String(length=500), nullable=False),
        sa.Column("checked_pdf_path", sa.String(length=500), nullable=True),
        sa.Column("checked_by", sa.String(length=100), nullable=True),
        sa.Column("checked_until", sa.Date(), nullable=True),
        sa.Column("leaf", sa.LargeBinary(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("leaf"),
    )
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_submission_holder_id"), ["holder_id"], unique=False)
    op.create_table(
        "anchor_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("raw_tx", sa.LargeBinary(), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("nonce", sa.Integer(), nullable=True),
        sa.Column("chain_batch_id", sa.BigInteger(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("block_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("root"),
    )
    with op.batch_alter_table("anchor_batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_anchor_batch_state"), ["state"], unique=False)
    op.create_table(
        "licence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("base_id", sa.String(length=120), nullable=False),
        sa.Column("type_code", sa.String(length=32), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=False),
        sa.Column("holder_id_type", sa.String(length=20), nullable=False),
        sa.Column("holder_id", sa.String(length=18), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agency_id", "type_code", "serial"),
        sa.UniqueConstraint("base_id"),
    )
    with op.batch_alter_table("licence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_licence_holder_id"), ["holder_id"], unique=False)
    op.create_table(
        "consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consent_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("holder_id", sa.String(length=18), nullable=False),
        sa.Column("licence_id", sa.Integer(), nullable=True),
        sa.Column("type_code", sa.String(length=32), nullable=True),
        sa.Column("grantee_region", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("fields_json", sa.Text(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("confirmed_by", sa.String(length=100), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["licence_id"],
            ["licence.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("consent_hash"),
    )
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_holder_id"), ["holder_id"], unique=False)
    op.create_table(
        "licence_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("licence_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=140), nullable=False),
        sa.Column("fields_json", sa.Text(), nullable=False),
        sa.Column("salts_json", sa.Text(), nullable=False),
        sa.Column("data_root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("document_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("pdf_path", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.Integer(), nullable=False),
        sa.Column("key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("leaf", sa.LargeBinary(length=32), nullable=False),
        sa.Column("parent_leaf", sa.LargeBinary(length=32), nullable=False),
        sa.Column("qr_payload", sa.Text(), nullable=False),
        sa.Column("change_category", sa.String(length=20), nullable=True),
        sa.Column("change_reason", sa.Text(), nullable=True),
        sa.Column("link_state", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["licence_id"],
            ["licence.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("identifier"),
        sa.UniqueConstraint("leaf"),
        sa.UniqueConstraint("licence_id", "version"),
    )
    with op.batch_alter_table("licence_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_licence_version_key"), ["key"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_licence_version_link_state"), ["link_state"], unique=False
        )
    op.create_table(
        "review_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("licence_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("approvers_json", sa.Text(), nullable=False),
        sa.Column("reason_code", sa.Integer(), nullable=False),
        sa.Column("reason_text", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["licence_id"],
            ["licence.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("review_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_request_licence_id"), ["licence_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_review_request_state"), ["state"], unique=False)
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=160), nullable=False),
        sa.Column("data_json", sa.Text(), nullable=False),
        sa.Column("salts_json", sa.Text(), nullable=False),
        sa.Column("data_root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("document_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("pdf_path", sa.String(length=500), nullable=True),
        sa.Column("key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("leaf", sa.LargeBinary(length=32), nullable=False),
        sa.Column("parent_leaf", sa.LargeBinary(length=32), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["licence_version.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("identifier"),
        sa.UniqueConstraint("leaf"),
        sa.UniqueConstraint("version_id", "kind", "serial"),
    )
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachment_key"), ["key"], unique=False)
        batch_op.create_index(batch_op.f("ix_attachment_version_id"), ["version_id"], unique=False)
    op.create_table(
        "release",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receipt_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("licence_id", sa.Integer(), nullable=False),
        sa.Column("leaf", sa.LargeBinary(length=32), nullable=False),
        sa.Column("to_region", sa.Integer(), nullable=False),
        sa.Column("to_account", sa.String(length=42), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("consent_id", sa.Integer(), nullable=True),
        sa.Column("fields_json", sa.Text(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["consent.id"],
        ),
        sa.ForeignKeyConstraint(
            ["licence_id"],
            ["licence.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("receipt_hash"),
    )
    with op.batch_alter_table("release", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_release_licence_id"), ["licence_id"], unique=False)
    op.create_table(
        "approval",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("agency_code", sa.String(length=18), nullable=False),
        sa.Column("person", sa.String(length=100), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachment.id"],
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["review_request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("review_id", "agency_code"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("attachment_id", sa.Integer(), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("oplog_seq", sa.Integer(), nullable=True),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("leaf", sa.LargeBinary(length=32), nullable=False),
        sa.Column("key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("body", sa.LargeBinary(length=32), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
        ),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachment.id"],
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["anchor_batch.id"],
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["licence_version.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("attachment_id"),
        sa.UniqueConstraint("leaf"),
        sa.UniqueConstraint("oplog_seq"),
        sa.UniqueConstraint("submission_id"),
        sa.UniqueConstraint("version_id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_key"), ["key"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_state"), ["state"], unique=False)
    op.create_table(
        "status_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason_code", sa.Integer(), nullable=False),
        sa.Column("reason_text", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachment.id"],
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["licence_version.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("status_change", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_status_change_version_id"), ["version_id"], unique=False
        )
    baseline_index.create()


def downgrade() -> None:
    baseline_index.drop()
    with op.batch_alter_table("status_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_change_version_id"))
    op.drop_table("status_change")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_state"))
        batch_op.drop_index(batch_op.f("ix_outbox_key"))
    op.drop_table("outbox")
    op.drop_table("approval")
    with op.batch_alter_table("release", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_release_licence_id"))
    op.drop_table("release")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachment_version_id"))
        batch_op.drop_index(batch_op.f("ix_attachment_key"))
    op.drop_table("attachment")
    with op.batch_alter_table("review_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_request_state"))
        batch_op.drop_index(batch_op.f("ix_review_request_licence_id"))
    op.drop_table("review_request")
    with op.batch_alter_table("licence_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_licence_version_link_state"))
        batch_op.drop_index(batch_op.f("ix_licence_version_key"))
    op.drop_table("licence_version")
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_holder_id"))
    op.drop_table("consent")
    with op.batch_alter_table("licence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_licence_holder_id"))
    op.drop_table("licence")
    with op.batch_alter_table("anchor_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_anchor_batch_state"))
    op.drop_table("anchor_batch")
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_holder_id"))
    op.drop_table("submission")
    baseline_people.drop()
    with op.batch_alter_table("oplog", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oplog_hash"))
    op.drop_table("oplog")
    op.drop_table("agency")
