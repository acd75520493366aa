"""The console's plans and orders (admin; readers see): the catalogue with the admin's forms to create, change and
delete a plan, and the orders with the forms to order a paid plan for a new tenant and to mark an order paid (303 to
its ``tenant.create`` operation's page) or failed.

Thin as the API views they stand for (:mod:`s3api.views.plans`, :mod:`s3api.views.orders`): the form's text is
parsed into the API schema's types (integers, lists, one price a line) and nothing more, the schema refuses bad
values with its own messages, then one call into :mod:`s3api.control.plans` or :mod:`s3api.control.orders`. A
checkbox comes with a hidden input of its name, so a form that leaves a field out changes nothing of it."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, g, request

from s3api import audit, runtime
from s3api.console.blueprint import page
from s3api.console.views import PAGE_SIZE, _token, checked, default_location, form, integer, is_admin, load, see, show
from s3api.control import orders, plans
from s3api.errors import BadRequest
from s3api.names import BANDWIDTH_ACTIONS
from s3api.schemas.orders import ORDER_STATUSES, OrderCreateSchema, OrderPaidSchema, OrderQuerySchema
from s3api.schemas.plans import STORAGE_TYPES, PlanCreateSchema, PlanPatchSchema, PlanQuerySchema
from s3api.schemas.plans import HistoryQuerySchema as PlanHistoryQuery
from s3api.views.operations import starter

#: the form's limit fields: empty is null (unlimited, or the configured maximum for MaxLinkSeconds)
LIMITS = (
    ("quota_bytes", "QuotaBytes"), ("max_buckets", "MaxBuckets"), ("bandwidth_bytes", "BandwidthBytesPerMonth"),
    ("max_link_seconds", "MaxLinkSeconds"),
)  # fmt: skip
CHECKS = (("active", "Active"), ("test_only", "TestOnly"), ("request_metrics", "RequestMetrics"))
#: a price line: ``location amount currency``, optionally then the overage per GB stored and of traffic
PRICE_PARTS = ("Location", "Monthly", "Currency", "StorageOverPerGb", "TrafficOverPerGb")
#: the order form's text fields and the API's names
ORDER_FIELDS = (
    ("plan", "Plan"), ("location", "Location"), ("email", "Email"), ("first_bucket", "Bucket"),
    ("client_id", "ClientId"), ("billing", "Billing"), ("amount", "Amount"), ("currency", "Currency"),
)  # fmt: skip
PRICE_LINE = "write 'location amount currency' (optionally then the overage per GB stored and of traffic)"


# --- the plan form's text as the API's fields ------------------------------------------------------------------


def _words(text: str) -> list[str]:
    """Comma or space separated values."""
    return [w for w in re.split(r"[\s,]+", text) if w]


def _prices(text: str) -> list[dict[str, str]]:
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) not in (3, len(PRICE_PARTS)):
            message = f"prices line {n}: {PRICE_LINE}"
            raise BadRequest(message, errors={"form": {"prices": [message]}})
        out.append(dict(zip(PRICE_PARTS, parts, strict=False)))
    return out


def _plan_fields() -> dict[str, Any]:
    """The plan fields the form carries, named as the API names them: text fields present in the form (an empty
    limit or threshold list is null), checkboxes whose hidden twin is there (checked: ``on`` was sent too)."""
    f = request.form
    out: dict[str, Any] = {}
    if "storage_type" in f:
        out["StorageType"] = f["storage_type"].strip()
    if "locations" in f:
        out["Locations"] = _words(f["locations"])
    if "bandwidth_action" in f:
        out["BandwidthAction"] = f["bandwidth_action"].strip()
    if "alert_thresholds" in f:
        out["AlertThresholds"] = [integer(w) for w in _words(f["alert_thresholds"])] or None
    if "prices" in f:
        out["Prices"] = _prices(f["prices"])
    for name, field in LIMITS:
        if name in f:
            out[field] = integer(f[name]) if f[name].strip() else None
    for name, field in CHECKS:
        if name in f:
            out[field] = "on" in f.getlist(name)
    return out


def _price_key(price: dict[str, Any]) -> dict[str, Any]:
    return {"StorageOverPerGb": "0", "TrafficOverPerGb": "0", **price}


def _same(field: str, new: Any, old: Any) -> bool:
    if field == "Prices" and isinstance(new, list) and isinstance(old, list):
        return [_price_key(p) for p in new] == [_price_key(p) for p in old]
    return bool(type(new) is type(old) and new == old)


def price_lines(view: Any) -> str:
    """The prices as the form's text: one ``location amount currency`` a line (the overages when set)."""
    lines = []
    for p in view.prices:
        parts = [str(p.get(k, "0")) for k in PRICE_PARTS]
        lines.append(" ".join(parts if parts[3:] != ["0", "0"] else parts[:3]))
    return "\n".join(lines)


# --- plans ----------------------------------------------------------------------------------------------------


@page("/plans", "plans.Plans")
def plans_page() -> Response:
    given = {k: request.args[k] for k in ("active", "test_only", "location", "storage_type") if request.args.get(k)}
    query = load(PlanQuerySchema(), {**given, "page_size": PAGE_SIZE, **_token()})
    rt = runtime.current()
    found = plans.page(rt, g.get("caller"), query)
    return show(
        "plans.html", page=found, filters=given, storage_types=STORAGE_TYPES, bandwidth_actions=BANDWIDTH_ACTIONS,
        known_locations=sorted(plans.locations(rt.settings)),
    )  # fmt: skip


@page("/plans", "plans.Plans", methods=("POST",))
def plan_create() -> Response:
    """``POST /v1/s3/plans``: revision 1 of a new plan (400 naming every field the schema or the rules refuse)."""
    body = load(PlanCreateSchema(), {"Name": request.form.get("name", "").strip(), **_plan_fields()})
    created = plans.create(runtime.current(), g.caller, body, audit.in_transaction(303))
    return see("console.plan", plan=created.name, notice=f"Plan {created.name} created.")


@page("/plans/<plan>", "plans.PlanHistory")
def plan(plan: str) -> Response:
    """A plan and its history (revisions oldest first: who, when, each field's old and new value); for admins the
    edit form (prefilled) and the delete form."""
    rt = runtime.current()
    query = load(PlanHistoryQuery(), {"page_size": PAGE_SIZE, **_token()})
    view = plans.get(rt, g.get("caller"), plan)
    found = plans.history(rt, g.get("caller"), plan, query["page_size"], query.get("page_token"))
    return show(
        "plan.html", plan=view.record(), history=found, storage_types=STORAGE_TYPES,
        bandwidth_actions=BANDWIDTH_ACTIONS, prices_text=price_lines(view),
    )  # fmt: skip


@page("/plans/<plan>/edit", "plans.Plan", methods=("POST",), api_method="PATCH")
def plan_edit(plan: str) -> Response:
    """``PATCH /v1/s3/plans/{name}`` with the fields the form changed (``Locations`` and ``Prices`` whole)."""
    rt = runtime.current()
    current = plans.get(rt, g.caller, plan).fields()
    changed = {k: v for k, v in _plan_fields().items() if not _same(k, v, current.get(k))}
    if not changed:
        return see("console.plan", plan=plan, notice="Nothing to change.")
    body = load(PlanPatchSchema(), changed)
    view = plans.update(rt, g.caller, plan, body, audit.in_transaction(303))
    return see("console.plan", plan=plan, notice=f"Plan {plan} changed: revision {view.revision}.")


@page("/plans/<plan>/delete", "plans.Plan", methods=("POST",), api_method="DELETE")
def plan_delete(plan: str) -> Response:
    """``DELETE /v1/s3/plans/{name}``, confirmed by typing the name (409 while a live tenant uses it)."""
    if request.form.get("confirm") != plan:
        raise BadRequest("type the plan's name to confirm", errors={"form": {"confirm": ["must be the plan name"]}})
    plans.delete(runtime.current(), g.caller, plan, audit.in_transaction(303))
    return see("console.plans_page", notice=f"Plan {plan} deleted.")


# --- orders ---------------------------------------------------------------------------------------------------


def _paid_plans() -> list[Any]:
    return [p for p in plans.visible(runtime.current(), g.get("caller")) if p.active and not p.is_free]


@page("/orders", "orders.Orders")
def orders_page() -> Response:
    """The orders, newest first, with the API's filters; for admins the form ordering a paid plan (the amount and
    currency prefilled with the first paid plan's first price)."""
    given = {k: request.args[k] for k in ("tenant", "status", "plan") if request.args.get(k)}
    query = load(OrderQuerySchema(), {**given, "page_size": PAGE_SIZE, **_token()})
    rt = runtime.current()
    found = orders.list_orders(rt, **query)
    paid = _paid_plans() if is_admin() else []
    first = paid[0].prices[0] if paid and paid[0].prices else {}
    return show(
        "orders.html", page=found, filters=given, statuses=ORDER_STATUSES, paid_plans=paid, first_price=first,
        default_location=first.get("Location") or default_location(),
    )  # fmt: skip


@page("/orders", "orders.Orders", methods=("POST",))
def order_create() -> Response:
    """``POST /v1/s3/orders``: the tenant waits in pending_payment; 303 to the new order's page."""
    given = {field: request.form.get(name, "").strip() for name, field in ORDER_FIELDS}
    data: dict[str, Any] = {field: value for field, value in given.items() if value}  # empty: not sent
    data["Tester"] = checked("tester")
    body = load(OrderCreateSchema(), data)
    created = orders.create(runtime.current(), body, audit=audit.in_transaction(303))
    return see("console.order", order_id=created["Id"], notice=f"Order {created['Id']} created: awaiting payment.")


@page("/orders/<order_id>", "orders.OrderView")
def order(order_id: str) -> Response:
    """One order: its tenant, plan, amount and status; for admins, while pending, mark it paid or failed."""
    return show("order.html", order=orders.get(runtime.current(), order_id))


@page("/orders/<order_id>/paid", "orders.OrderPaid", methods=("POST",))
def order_paid(order_id: str) -> Response:
    """The payment arrived: 303 to the ``tenant.create`` operation's page (which hands over the secrets)."""
    body = load(OrderPaidSchema(), {"Reference": form("reference", required=False) or None})
    op = orders.paid(runtime.current(), starter(), order_id, body["Reference"])
    return see("console.operation", operation_id=op.id, notice="Payment recorded: the tenant is being made.")


@page("/orders/<order_id>/failed", "orders.OrderFailed", methods=("POST",))
def order_failed(order_id: str) -> Response:
    """The payment failed: the order and its tenant are failed (nothing was made in AWS)."""
    orders.failed(runtime.current(), order_id, audit=audit.in_transaction(303))
    return see("console.order", order_id=order_id, notice="Order marked failed.")
