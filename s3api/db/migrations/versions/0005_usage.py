"""Usage history: one sample per managed bucket per day.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
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


def downgrade() -> None:
    with op.batch_alter_table("usage_samples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usage_samples_day"))
        batch_op.drop_index(batch_op.f("ix_usage_samples_tenant_day"))
    op.drop_table("usage_samples")
