"""Orders and the customer life cycle: the rows (:class:`OrderStore`, :class:`LifecycleStore`).

An order is a paid plan bought for a tenant: made with its tenant row (``pending_payment``) in one transaction,
then ``paid`` (the tenant goes to ``provisioning``) or ``failed`` (the tenant to ``failed``: nothing was made in
AWS); a deletion of a tenant whose order is still pending cancels it (``canceled``).

The life cycle of a tenant's end: ``cancelling`` (deletion scheduled for ``cancel_at``, the end of the paid
period; ``resume_status`` is what cancel-deletion goes back to) → ``terminating`` (the operation
``tenant.terminate`` runs) → ``terminated`` (the row stays for the audit).

Every change here takes ``hooks``: functions ``fn(session, row)`` run inside the change's transaction before it
commits (the audit event, the webhook): they commit or roll back with it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from s3api.db.models import ApiKey, Order, Tenant
from s3api.db.pages import decode_token, encode_token
from s3api.db.session import Database
from s3api.db.tenants import TENANT_ID, NewTenant, new_id
from s3api.errors import Conflict, NotFound

ORDER_ID = re.compile(r"ord-[0-9a-f]{24}")
ORDER_STATUSES = ("pending", "paid", "failed", "canceled")
DEFAULT_PAGE_SIZE = 50

Hook = Callable[[Session, Any], None]


def now() -> datetime:
    return datetime.now(UTC)


def iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


def new_order_id() -> str:
    return "ord-" + secrets.token_hex(12)


def record(row: Order) -> dict[str, Any]:
    """The API's shape of an order."""
    return {
        "Id": row.id,
        "Tenant": row.tenant,
        "Plan": row.plan,
        "Amount": row.amount,
        "Currency": row.currency,
        "Status": row.status,
        "Reference": row.reference,
        "CreatedAt": iso(row.created_at),
        "UpdatedAt": iso(row.updated_at),
        "PaidAt": iso(row.paid_at),
    }


def tenant_record(row: Tenant) -> dict[str, Any]:
    """What the life-cycle routes answer about a tenant (never a secret)."""
    return {
        "Id": row.id,
        "Account": row.account,
        "Location": row.location,
        "Plan": row.plan,
        "Status": row.status,
        "NextChargeAt": iso(row.next_charge_at),
        "CancelAt": iso(row.cancel_at),
        "TerminateAt": iso(row.terminate_at),
        "TerminatedAt": iso(row.terminated_at),
        "DeletionReason": row.deletion_reason,
        "OperationId": row.operation_id,
    }


def _run(hooks: Iterable[Hook], session: Session, row: Any) -> None:
    session.flush()
    for hook in hooks:
        hook(session, row)


def _tenant(session: Session, tenant_id: str, *, lock: bool = True) -> Tenant:
    if not TENANT_ID.fullmatch(tenant_id):
        raise NotFound(f"tenant '{tenant_id}' not found")
    query = select(Tenant).where(Tenant.id == tenant_id)
    row = session.scalars(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(f"tenant '{tenant_id}' not found")
    return row


class OrderStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self, new: NewTenant, amount: str, currency: str, hooks: Sequence[Hook] = ()
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The tenant row (``pending_payment``) and its order (``pending``), in one transaction with ``hooks``:
        ``(order, tenant)`` as the API shows them."""
        when = now()
        tenant = Tenant(
            id=new.id or new_id(),
            account=new.account,
            location=new.location,
            plan=new.plan,
            status="pending_payment",
            email=new.email,
            client_id=new.client_id,
            billing=new.billing,
            tester=new.tester,
            first_bucket=new.first_bucket,
            created_at=when,
            updated_at=when,
        )
        order = Order(
            id=new_order_id(),
            tenant=tenant.id,
            plan=new.plan,
            amount=amount,
            currency=currency,
            status="pending",
            created_at=when,
            updated_at=when,
        )
        with self.db.write() as session:
            session.add(tenant)
            session.flush()  # the order's foreign key names it
            session.add(order)
            _run(hooks, session, order)
            return record(order), tenant_record(tenant)

    shape = staticmethod(record)

    def paid_at(self, order_id: str) -> datetime | None:
        with self.db.read() as session:
            row = session.get(Order, order_id)
            return row.paid_at if row is not None else None

    def get(self, order_id: str) -> dict[str, Any]:
        with self.db.read() as session:
            row = session.get(Order, order_id) if ORDER_ID.fullmatch(order_id) else None
            if row is None:
                raise NotFound(f"order '{order_id}' not found")
            return record(row)

    def paid(
        self, order_id: str, reference: str | None, period_end: Callable[[datetime], datetime], hooks: Sequence[Hook]
    ) -> tuple[dict[str, Any], bool]:
        """Mark the order paid and its tenant ``provisioning`` (``next_charge_at`` = ``period_end(paid_at)``), with
        ``hooks``, in one transaction: ``(order, changed)``. An order already paid changes nothing (``changed``
        False: the caller makes sure its tenant's create runs); failed or canceled: 409."""
        with self.db.write() as session:
            order = self._locked(session, order_id)
            if order.status == "paid":
                return record(order), False
            if order.status != "pending":
                raise Conflict(f"order '{order_id}' is {order.status}: it cannot be paid")
            tenant = _tenant(session, order.tenant)
            if tenant.status != "pending_payment":
                raise Conflict(f"tenant '{tenant.id}' is {tenant.status}, not pending_payment: the order is not paid")
            when = now()
            order.status, order.paid_at, order.updated_at, order.reference = "paid", when, when, reference
            tenant.status, tenant.updated_at = "provisioning", when
            tenant.next_charge_at = period_end(when)
            _run(hooks, session, order)
            return record(order), True

    def failed(self, order_id: str, hooks: Sequence[Hook]) -> dict[str, Any]:
        """The payment failed: the order ``failed``, its tenant ``failed`` (nothing of it exists in AWS). Only a
        pending order: a paid one is 409 (its tenant exists: delete the tenant); a failed one answers as it is."""
        with self.db.write() as session:
            order = self._locked(session, order_id)
            if order.status == "failed":
                return record(order)
            if order.status != "pending":
                raise Conflict(f"order '{order_id}' is {order.status}: only a pending order can fail")
            tenant = _tenant(session, order.tenant)
            when = now()
            order.status, order.updated_at = "failed", when
            if tenant.status == "pending_payment":
                tenant.status, tenant.updated_at = "failed", when
            _run(hooks, session, order)
            return record(order)

    @staticmethod
    def _locked(session: Session, order_id: str) -> Order:
        row = None
        if ORDER_ID.fullmatch(order_id):
            row = session.scalars(select(Order).where(Order.id == order_id).with_for_update()).first()
        if row is None:
            raise NotFound(f"order '{order_id}' not found")
        return row

    def list(
        self,
        *,
        tenant: str | None = None,
        status: str | None = None,
        plan: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        """Newest first: ``{"Orders": [...], "NextPageToken": token or None}``."""
        query = select(Order)
        if tenant is not None:
            query = query.where(Order.tenant == tenant)
        if status is not None:
            query = query.where(Order.status == status)
        if plan is not None:
            query = query.where(Order.plan == plan)
        if page_token:
            created, last = decode_token(page_token, ORDER_ID)
            query = query.where(or_(Order.created_at < created, and_(Order.created_at == created, Order.id < last)))
        query = query.order_by(Order.created_at.desc(), Order.id.desc()).limit(page_size + 1)
        with self.db.read() as session:
            rows = list(session.scalars(query))
        more = len(rows) > page_size
        rows = rows[:page_size]
        token = encode_token(rows[-1].created_at, rows[-1].id) if more and rows else None
        return {"Orders": [record(r) for r in rows], "NextPageToken": token}


class LifecycleStore:
    """The end of a tenant: schedule, take back, begin and finish its termination."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, tenant_id: str) -> Tenant:
        with self.db.read() as session:
            return _tenant(session, tenant_id, lock=False)

    def change(self, tenant_id: str, decide: Callable[[Session, Tenant], Any], hooks: Sequence[Hook] = ()) -> Any:
        """Lock the tenant, let ``decide(session, row)`` check and change it (it raises to refuse: nothing is
        written), run ``hooks`` on the row, commit; what ``decide`` returned."""
        with self.db.write() as session:
            row = _tenant(session, tenant_id)
            answer = decide(session, row)
            row.updated_at = now()
            _run(hooks, session, row)
            return answer

    def cancel_pending_orders(self, session: Session, tenant_id: str) -> int:
        result = session.execute(
            update(Order)
            .where(Order.tenant == tenant_id, Order.status == "pending")
            .values(status="canceled", updated_at=now())
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def due(self, account: str, *, at: datetime | None = None, limit: int = 100) -> list[str]:
        """Tenants of ``account`` whose termination should run: scheduled (``cancelling``) with ``cancel_at``
        reached, and ``terminating`` ones (their operation failed, was canceled, or was never queued: it is
        started again; a running one is found by the kind's de-duplication). Oldest due first."""
        when = at or now()
        query = (
            select(Tenant.id)
            .where(
                Tenant.account == account,
                or_(
                    and_(Tenant.status == "cancelling", Tenant.cancel_at <= when),
                    Tenant.status == "terminating",
                ),
            )
            .order_by(Tenant.cancel_at, Tenant.id)
            .limit(limit)
        )
        with self.db.read() as session:
            return list(session.scalars(query))

    def revoke_keys(self, tenant_id: str) -> int:
        """Revoke every API key of the tenant (idempotent): how many were still valid."""
        with self.db.write() as session:
            result = session.execute(
                update(ApiKey).where(ApiKey.tenant == tenant_id, ApiKey.revoked_at.is_(None)).values(revoked_at=now())
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def live_keys(self, tenant_id: str) -> list[str]:
        with self.db.read() as session:
            query = select(ApiKey.id).where(ApiKey.tenant == tenant_id, ApiKey.revoked_at.is_(None))
            return list(session.scalars(query))
