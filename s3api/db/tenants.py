"""Tenants: a customer's S3 account, the row (:class:`TenantStore`). What the tenant owns in AWS stays in AWS
(a bucket's owner is its ``s3api:tenant`` tag); the row holds what AWS cannot: plan, status, the provider's
references, service dates and the names of the tenant's IAM user and current access key.

Statuses: ``provisioning`` (its operation runs), ``pending_payment`` (an order waits), ``active``,
``suspended``, ``cancelling`` (deletion scheduled for ``cancel_at``), ``terminating`` (its termination runs),
``terminated`` (kept for the audit), ``failed`` (provisioning failed and was undone).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from s3api.db.models import Tenant
from s3api.db.session import Database
from s3api.errors import NotFound

TENANT_ID = re.compile(r"t-[0-9a-f]{16}")
STATUSES = (
    "provisioning",
    "pending_payment",
    "active",
    "suspended",
    "cancelling",
    "terminating",
    "terminated",
    "failed",
)


def now() -> datetime:
    return datetime.now(UTC)


def iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


def new_id() -> str:
    return "t-" + secrets.token_hex(8)


@dataclass(frozen=True)
class NewTenant:
    account: str
    location: str
    plan: str
    email: str
    status: str
    client_id: str | None = None
    billing: str | None = None
    tester: bool = False
    first_bucket: str | None = None
    id: str | None = None


class TenantStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, new: NewTenant) -> Tenant:
        when = now()
        row = Tenant(
            id=new.id or new_id(),
            account=new.account,
            location=new.location,
            plan=new.plan,
            status=new.status,
            email=new.email,
            client_id=new.client_id,
            billing=new.billing,
            tester=new.tester,
            first_bucket=new.first_bucket,
            created_at=when,
            updated_at=when,
        )
        with self.db.write() as session:
            session.add(row)
        return row

    def get(self, tenant_id: str) -> Tenant:
        """The tenant; 404 for an id that is not one."""
        if not TENANT_ID.fullmatch(tenant_id):
            raise NotFound(f"tenant '{tenant_id}' not found")
        with self.db.read() as session:
            row = session.get(Tenant, tenant_id)
        if row is None:
            raise NotFound(f"tenant '{tenant_id}' not found")
        return row

    def update(self, tenant_id: str, **changes: Any) -> Tenant:
        """Set columns of the tenant (``updated_at`` too) in one write; 404 when it is not there."""
        with self.db.write() as session:
            row = session.get(Tenant, tenant_id)
            if row is None:
                raise NotFound(f"tenant '{tenant_id}' not found")
            for name, value in changes.items():
                if not hasattr(Tenant, name):
                    raise AttributeError(name)
                setattr(row, name, value)
            row.updated_at = now()
        return row
