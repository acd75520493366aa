"""Orders and the customer life cycle: the status a tenant goes back to when its scheduled deletion is taken back
(``tenants.resume_status``: ``active`` or ``suspended``).

Revision ID: 0007_orders
Revises: 0006_usage
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_orders"
down_revision = "0006_usage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("resume_status", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("resume_status")
