"""The hosting provider's half: plans and their revisions, tenants, orders, the webhook outbox, share links and
their signers.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "plans",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("test_only", sa.Boolean(), nullable=False),
        sa.Column("storage_type", sa.String(length=32), nullable=False),
        sa.Column("locations", sa.Text(), nullable=False),
        sa.Column("quota_bytes", sa.BigInteger(), nullable=True),
        sa.Column("max_buckets", sa.Integer(), nullable=True),
        sa.Column("bandwidth_bytes_per_month", sa.BigInteger(), nullable=True),
        sa.Column("prices", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_plans")),
    )
    op.create_table(
        "share_links",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.String(length=63), nullable=False),
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("share", sa.String(length=128), nullable=True),
        sa.Column("signer", sa.String(length=64), nullable=False),
        sa.Column("signer_key_id", sa.String(length=128), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_links")),
    )
    with op.batch_alter_table("share_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_share_links_account_bucket_created_at_id"),
            ["account", "bucket", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_share_links_account_bucket_share"), ["account", "bucket", "share"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_share_links_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_links_signer_key_id"), ["signer_key_id"], unique=False)

    op.create_table(
        "signers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.String(length=63), nullable=False),
        sa.Column("share", sa.String(length=128), nullable=True),
        sa.Column("iam_user", sa.String(length=64), nullable=False),
        sa.Column("access_key_id", sa.String(length=128), nullable=True),
        sa.Column("sealed_secret", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_created_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signers")),
    )
    with op.batch_alter_table("signers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signers_account_bucket_share"), ["account", "bucket", "share"], unique=False
        )

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("endpoint", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=512), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name=op.f("ck_webhook_deliveries_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_created_at_id"), ["created_at", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_event_type_created_at"), ["event_type", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_status_next_attempt_at"), ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "plan_revisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("caller_id", sa.String(length=16), nullable=True),
        sa.Column("caller_name", sa.String(length=128), nullable=True),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["plan"], ["plans.name"], name=op.f("fk_plan_revisions_plan_plans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_revisions")),
    )
    with op.batch_alter_table("plan_revisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_revisions_plan_revision"), ["plan", "revision"], unique=True)

    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=True),
        sa.Column("billing", sa.String(length=128), nullable=True),
        sa.Column("tester", sa.Boolean(), nullable=False),
        sa.Column("first_bucket", sa.String(length=63), nullable=True),
        sa.Column("iam_user", sa.String(length=64), nullable=True),
        sa.Column("access_key_id", sa.String(length=128), nullable=True),
        sa.Column("sealed_secret", sa.Text(), nullable=True),
        sa.Column("api_key_id", sa.String(length=16), nullable=True),
        sa.Column("operation_id", sa.String(length=40), nullable=True),
        sa.Column("deletion_reason", sa.String(length=512), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_charge_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("terminate_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("terminated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('provisioning', 'pending_payment', 'active', 'suspended', 'cancelling', 'terminating', "
            "'terminated', 'failed')",
            name=op.f("ck_tenants_status"),
        ),
        sa.ForeignKeyConstraint(["plan"], ["plans.name"], name=op.f("fk_tenants_plan_plans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
    )
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tenants_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tenants_created_at_id"), ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tenants_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_tenants_plan"), ["plan"], unique=False)
        batch_op.create_index(batch_op.f("ix_tenants_status_cancel_at"), ["status", "cancel_at"], unique=False)

    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'paid', 'failed', 'canceled')", name=op.f("ck_orders_status")),
        sa.ForeignKeyConstraint(["plan"], ["plans.name"], name=op.f("fk_orders_plan_plans")),
        sa.ForeignKeyConstraint(["tenant"], ["tenants.id"], name=op.f("fk_orders_tenant_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_created_at_id"), ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_tenant"), ["tenant"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_tenant"))
        batch_op.drop_index(batch_op.f("ix_orders_created_at_id"))

    op.drop_table("orders")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tenants_status_cancel_at"))
        batch_op.drop_index(batch_op.f("ix_tenants_plan"))
        batch_op.drop_index(batch_op.f("ix_tenants_email"))
        batch_op.drop_index(batch_op.f("ix_tenants_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_tenants_client_id"))

    op.drop_table("tenants")
    with op.batch_alter_table("plan_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_revisions_plan_revision"))

    op.drop_table("plan_revisions")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_status_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_event_type_created_at"))
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_created_at_id"))

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("signers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signers_account_bucket_share"))

    op.drop_table("signers")
    with op.batch_alter_table("share_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_links_signer_key_id"))
        batch_op.drop_index(batch_op.f("ix_share_links_expires_at"))
        batch_op.drop_index(batch_op.f("ix_share_links_account_bucket_share"))
        batch_op.drop_index(batch_op.f("ix_share_links_account_bucket_created_at_id"))

    op.drop_table("share_links")
    op.drop_table("plans")
