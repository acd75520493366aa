"""Tenants: a customer's S3 account, the row (:class:`TenantStore`). What the tenant owns in AWS stays in AWS
(a bucket's owner is its ``s3api:tenant`` tag); the row holds what AWS cannot: plan, status, the provider's
references, service dates and the names of the tenant's IAM user and current access key.

Statuses: ``provisioning`` (its operation runs), ``pending_payment`` (an order waits), ``active``,
``suspended``, ``cancelling`` (deletion scheduled for ``cancel_at``), ``terminating`` (its termination runs),
``terminated`` (kept for the audit), ``failed`` (provisioning failed and was undone).
"""

from __future__ import annotations

import builtins
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from s3api.db.models import Plan, Tenant
from s3api.db.pages import decode_position, decode_token, encode_position, encode_token
from s3api.db.session import Database
from s3api.db.usage import metering_table
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

    def list(
        self,
        *,
        filters: dict[str, Any] | None = None,
        newest_first: bool = True,
        page_size: int = 50,
        page_token: str | None = None,
        metric: str | None = None,
        month_start: str | None = None,
    ) -> tuple[list[Tenant], str | None]:
        """Tenants in ``CreatedAt`` order (newest first unless ``newest_first`` is False), or by ``metric`` (``peak``
        storage or ``traffic`` of the period from ``month_start``, :func:`s3api.db.usage.metering_table`; then the
        id), filtered by :data:`FILTERS` (``storage_type``: the plan's), and the next page's token (None on the last
        page)."""
        if metric is not None:
            return self._by_metric(filters or {}, metric, str(month_start), newest_first, page_size, page_token)
        query = select(Tenant)
        query = _filtered(query, filters or {})
        created, ident = Tenant.created_at, Tenant.id
        if page_token:
            when, last = decode_token(page_token, TENANT_ID)
            if newest_first:
                query = query.where(or_(created < when, and_(created == when, ident < last)))
            else:
                query = query.where(or_(created > when, and_(created == when, ident > last)))
        order = (created.desc(), ident.desc()) if newest_first else (created.asc(), ident.asc())
        query = query.order_by(*order).limit(page_size + 1)
        with self.db.read() as session:
            rows = list(session.scalars(query))
        more = len(rows) > page_size
        rows = rows[:page_size]
        token = encode_token(rows[-1].created_at, rows[-1].id) if more and rows else None
        return rows, token

    def _by_metric(
        self,
        filters: dict[str, Any],
        metric: str,
        month_start: str,
        descending: bool,
        page_size: int,
        page_token: str | None,
    ) -> tuple[builtins.list[Tenant], str | None]:
        table = metering_table(month_start)
        value = func.coalesce(getattr(table.c, metric), 0)
        query = select(Tenant, value.label("value")).outerjoin(table, table.c.tenant == Tenant.id)
        query = _filtered(query, filters)
        if page_token:
            last_value, last = decode_position(page_token, TENANT_ID)
            if descending:
                query = query.where(or_(value < last_value, and_(value == last_value, Tenant.id < last)))
            else:
                query = query.where(or_(value > last_value, and_(value == last_value, Tenant.id > last)))
        order = (value.desc(), Tenant.id.desc()) if descending else (value.asc(), Tenant.id.asc())
        with self.db.read() as session:
            found = list(session.execute(query.order_by(*order).limit(page_size + 1)).all())
        more = len(found) > page_size
        found = found[:page_size]
        token = encode_position(int(found[-1][1]), found[-1][0].id) if more and found else None
        return [row for row, _ in found], token

    def change(self, tenant_id: str, fn: Any) -> Tenant:
        """``fn(session, row)`` on the tenant in one write transaction (it may add an audit event or a webhook in
        the same transaction, and raise to change nothing); 404 when it is not there."""
        with self.db.write() as session:
            row = _locked(session, tenant_id)
            fn(session, row)
            row.updated_at = now()
        return row


def _filtered(query: Any, filters: dict[str, Any]) -> Any:
    for name, value in filters.items():
        if value is None:
            continue
        if name == "storage_type":
            query = query.where(Tenant.plan.in_(select(Plan.name).where(Plan.storage_type == value)))
        else:
            query = query.where(getattr(Tenant, FILTERS[name]) == value)
    return query


def _locked(session: Session, tenant_id: str) -> Tenant:
    row = session.get(Tenant, tenant_id, with_for_update=True) if TENANT_ID.fullmatch(tenant_id) else None
    if row is None:
        raise NotFound(f"tenant '{tenant_id}' not found")
    return row


#: the list's filters (query parameter → column); ``storage_type`` is the plan's
FILTERS = {
    "client_id": "client_id",
    "plan": "plan",
    "email": "email",
    "billing": "billing",
    "tenant": "id",
    "location": "location",
    "status": "status",
    "account": "account",
    "storage_type": "plan",
}
