"""Usage history (one sample per managed bucket per day), bucket quotas and quota alerts.

Revision ID: 0006_usage
Revises: 0005_plans
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_usage"
down_revision = "0005_plans"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_samples",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.String(length=63), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=True),
        sa.Column("storage_bytes", sa.BigInteger(), nullable=False),
        sa.Column("objects", sa.BigInteger(), nullable=False),
        sa.Column("by_class", sa.Text(), nullable=False),
        sa.Column("bytes_downloaded", sa.BigInteger(), nullable=True),
        sa.Column("bytes_uploaded", sa.BigInteger(), nullable=True),
        sa.Column("requests", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("traffic_source", sa.String(length=16), nullable=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("resume_token", sa.Text(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("account", "bucket", "day", name=op.f("pk_usage_samples")),
    )
    with op.batch_alter_table("usage_samples", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_usage_samples_tenant_day"), ["tenant", "day"], unique=False)
        batch_op.create_index(batch_op.f("ix_usage_samples_day"), ["day"], unique=False)
    op.create_table(
        "bucket_quotas",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.String(length=63), nullable=False),
        sa.Column("quota_bytes", sa.BigInteger(), nullable=False),
        sa.Column("thresholds", sa.String(length=64), nullable=False),
        sa.Column("set_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", "bucket", name=op.f("pk_bucket_quotas")),
    )
    op.create_table(
        "quota_alerts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("used_bytes", sa.BigInteger(), nullable=False),
        sa.Column("limit_bytes", sa.BigInteger(), nullable=False),
        sa.Column("projected_day", sa.String(length=10), nullable=True),
        sa.Column("crossed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('storage', 'bandwidth')", name=op.f("ck_quota_alerts_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota_alerts")),
    )
    with op.batch_alter_table("quota_alerts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quota_alerts_subject_kind_cleared_at"), ["subject", "kind", "cleared_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("quota_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quota_alerts_subject_kind_cleared_at"))
    op.drop_table("quota_alerts")
    op.drop_table("bucket_quotas")
    with op.batch_alter_table("usage_samples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usage_samples_day"))
        batch_op.drop_index(batch_op.f("ix_usage_samples_tenant_day"))
    op.drop_table("usage_samples")
