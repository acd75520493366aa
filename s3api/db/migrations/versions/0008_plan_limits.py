"""Plans: alert thresholds, what going over the bandwidth does, the longest share link, S3 request metrics.

Revision ID: 0008_plan_limits
Revises: 0007_orders
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_plan_limits"
down_revision = "0007_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alert_thresholds", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("bandwidth_action", sa.String(length=8), server_default="alert", nullable=False))
        batch_op.add_column(sa.Column("max_link_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("request_metrics", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_column("request_metrics")
        batch_op.drop_column("max_link_seconds")
        batch_op.drop_column("bandwidth_action")
        batch_op.drop_column("alert_thresholds")
