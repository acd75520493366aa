"""Orders: a paid plan bought for a new tenant, confirmed (or not) by the provider's billing system.

- :func:`create` (``POST /v1/s3/orders``): the tenant's checks (:func:`s3api.control.tenants.validate_new`: plan,
  location, e-mail, first bucket; 400/404/409 with nothing created), then the plan must be paid and
  ``Amount``/``Currency`` its monthly price for the location (400 naming the price otherwise). One transaction:
  the tenant row (``pending_payment``), the order (``pending``), the webhook ``order.created`` and the audit event.
- :func:`paid` (``POST /v1/s3/orders/{id}/paid``): one transaction — the order ``paid``, the tenant
  ``provisioning`` with ``NextChargeAt`` one calendar month after the payment (the paid period), the webhook
  ``order.paid`` — then :func:`s3api.control.tenants.start_create` (202, the operation ``tenant.create``). A
  repeat answers the same operation; a repeat finding none (the first call died between its commit and the
  start, :data:`RESTART_AFTER` ago) starts it.
- :func:`failed` (``POST /v1/s3/orders/{id}/failed``): the order and its tenant ``failed`` (nothing of the tenant
  was made in AWS), webhook ``order.failed``, in one transaction.

Recurring billing is the billing system's: a later charge moves ``NextChargeAt`` through the tenants' PATCH.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from s3api import webhooks
from s3api.control import lifecycle, tenants
from s3api.db.models import Operation, Order, Tenant
from s3api.db.orders import Hook, LifecycleStore, OrderStore, now, tenant_record
from s3api.db.plans import PlanStore
from s3api.db.tenants import NewTenant
from s3api.errors import BadRequest, Conflict
from s3api.jobs.kinds import Env
from s3api.jobs.operations import Starter

#: a paid order whose tenant has no create operation this long after the payment: the start is made again
RESTART_AFTER = timedelta(seconds=60)
#: the fields of the order that are not the tenant's
ORDER_FIELDS = ("Amount", "Currency")

Audit = Callable[[Session, str], None]


def validate_new(env: Env, body: Mapping[str, Any]) -> NewTenant:
    """The tenants' checks of a new tenant (their interface: :mod:`s3api.control.tenants`)."""
    return tenants.validate_new(env, dict(body))


def start_create(env: Env, starter: Starter, tenant_id: str) -> Operation:
    """The tenants' start of ``tenant.create`` for a row in ``provisioning``."""
    return tenants.start_create(env, starter, tenant_id)


def _audit_hook(audit: Audit | None, name: str | None = None) -> list[Hook]:
    """The request's audit event in the change's transaction, its resource the order (or ``name``)."""
    if audit is None:
        return []
    return [lambda session, order: audit(session, name or order.id)]


def _order_data(session: Session, order: Order) -> dict[str, Any]:
    tenant = session.get(Tenant, order.tenant)
    shown = OrderStore.shape(order)
    return {
        "Order": shown,
        "Tenant": {
            "Id": order.tenant,
            "Status": tenant.status if tenant else None,
            "ClientId": tenant.client_id if tenant else None,
            "Billing": tenant.billing if tenant else None,
            "Location": tenant.location if tenant else None,
            "NextChargeAt": tenant_record(tenant)["NextChargeAt"] if tenant else None,
        },
    }


def _webhook(env: Env, event_type: str) -> Hook:
    def emit(session: Session, order: Order) -> None:
        webhooks.emit(session, env.settings, event_type, _order_data(session, order))

    return emit


def check_price(plan: Any, location: str, amount: str, currency: str) -> str:
    """The plan's monthly price text when ``amount`` in ``currency`` is it; 400 otherwise (free plan, no price in
    that currency for the location, another amount)."""
    if plan.is_free:
        raise BadRequest(
            f"plan '{plan.name}' is free: create the tenant with POST /v1/s3/tenants, no order is needed",
            errors={"json": {"Plan": ["a free plan needs no order"]}},
        )
    price = plan.price(location, currency)
    if price is None:
        sold = sorted({p.get("Currency", "") for p in plan.prices if p.get("Location") == location})
        raise BadRequest(
            f"plan '{plan.name}' has no price in {currency} for location '{location}'"
            + (f" (it is sold there in {', '.join(sold)})" if sold else ""),
            errors={"json": {"Currency": [f"not a currency of the plan in '{location}'"]}},
        )
    monthly = str(price.get("Monthly", "0"))
    if Decimal(amount) != Decimal(monthly):
        raise BadRequest(
            f"Amount {amount} {currency} is not the price of plan '{plan.name}' in '{location}': {monthly} {currency}",
            errors={"json": {"Amount": [f"the plan's monthly price is {monthly} {currency}"]}},
        )
    return monthly


def create(env: Env, body: Mapping[str, Any], *, audit: Audit | None = None) -> dict[str, Any]:
    """A new tenant in ``pending_payment`` and its order (see the module docstring): the order, with
    ``TenantStatus``."""
    tenant_fields = {k: v for k, v in body.items() if k not in ORDER_FIELDS}
    new = validate_new(env, tenant_fields)
    plan = PlanStore(env.db).get(new.plan)
    monthly = check_price(plan, new.location, str(body["Amount"]), str(body["Currency"]))
    hooks = [_webhook(env, "order.created"), *_audit_hook(audit)]
    order, tenant = OrderStore(env.db).create(new, monthly, str(body["Currency"]), hooks)
    return {**order, "TenantStatus": tenant["Status"]}


def get(env: Env, order_id: str) -> dict[str, Any]:
    return OrderStore(env.db).get(order_id)


def list_orders(env: Env, **query: Any) -> dict[str, Any]:
    return OrderStore(env.db).list(**query)


def paid(env: Env, starter: Starter, order_id: str, reference: str | None = None) -> Operation:
    """The payment arrived: the tenant is provisioned (see the module docstring); the operation."""
    orders = OrderStore(env.db)
    order, changed = orders.paid(order_id, reference, lifecycle.add_month, [_webhook(env, "order.paid")])
    store = LifecycleStore(env.db)
    tenant = store.get(order["Tenant"])
    if tenant.operation_id:
        return env.operations.get(tenant.operation_id)
    if tenant.status != "provisioning":
        raise Conflict(f"order '{order_id}' is paid and tenant '{tenant.id}' is {tenant.status}: nothing to start")
    paid_at = orders.paid_at(order_id)
    if not changed and paid_at is not None and now() - paid_at < RESTART_AFTER:
        raise Conflict(
            f"order '{order_id}' was just paid and its tenant's create is being started: retry in a minute",
            headers={"Retry-After": str(int(RESTART_AFTER.total_seconds()))},
        )
    op = start_create(env, starter, tenant.id)

    def remember(session: Session, t: Tenant) -> None:
        if not t.operation_id:
            t.operation_id = op.id

    store.change(tenant.id, remember)
    return op


def failed(env: Env, order_id: str, *, audit: Audit | None = None) -> dict[str, Any]:
    """The payment failed: the order and its tenant ``failed``."""
    return OrderStore(env.db).failed(order_id, [_webhook(env, "order.failed"), *_audit_hook(audit, "failed")])
