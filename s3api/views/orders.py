"""Orders (``/v1/s3/orders``) and the end of a tenant's life (``DELETE /v1/s3/tenants/{id}``,
``POST /v1/s3/tenants/{id}/cancel-deletion``). Admin only for changes, readers may list and show (decided at the
edge, :func:`s3api.auth.authorize`). Each view makes one call into :mod:`s3api.control.orders` or
:mod:`s3api.control.lifecycle`."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from s3api import audit, runtime
from s3api.api import Blueprint, ErrorSchema
from s3api.control import lifecycle, orders
from s3api.errors import BadRequest
from s3api.schemas.operations import OperationSchema
from s3api.schemas.orders import (
    CancelDeletionSchema,
    OrderCreatedSchema,
    OrderCreateSchema,
    OrderFailedSchema,
    OrderPageSchema,
    OrderPaidSchema,
    OrderQuerySchema,
    OrderSchema,
    TenantDeleteQuerySchema,
    TenantDeleteSchema,
    TenantLifecycleSchema,
)
from s3api.views.operations import accepted, accepted_response, starter

blp = Blueprint("orders", __name__, url_prefix="/v1/s3", description="Orders, and the end of a tenant's life")

LOCATION = {"Location": {"schema": {"type": "string"}, "description": "the operation: GET it for Status and Result"}}


@blp.route("/orders")
class Orders(MethodView):
    @blp.arguments(OrderQuerySchema, location="query", unknown=ma.RAISE)
    @blp.response(200, OrderPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Orders, newest first: filters tenant, status, plan; page_size and page_token"""
        return orders.list_orders(runtime.current(), **query)

    @blp.arguments(OrderCreateSchema)
    @blp.response(201, OrderCreatedSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="unknown plan")
    @blp.alt_response(409, schema=ErrorSchema, description="the first bucket's name is taken")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Order a paid plan for a new tenant (admin): the tenant waits in pending_payment until the order is paid"""
        return orders.create(runtime.current(), body, audit=audit.in_transaction(201))


@blp.route("/orders/<order_id>")
class OrderView(MethodView):
    @blp.response(200, OrderSchema)
    def get(self, order_id: str) -> dict[str, Any]:
        """One order"""
        return orders.get(runtime.current(), order_id)


@blp.route("/orders/<order_id>/paid")
class OrderPaid(MethodView):
    @blp.arguments(OrderPaidSchema, required=False)
    @blp.response(202, OperationSchema, headers=LOCATION)
    @blp.alt_response(409, schema=ErrorSchema, description="the order failed or was canceled")
    def post(self, body: dict[str, Any], order_id: str) -> Any:
        """The billing system confirms the payment (admin): the tenant is provisioned by the operation tenant.create"""
        return accepted(orders.paid(runtime.current(), starter(), order_id, body["Reference"]))


@blp.route("/orders/<order_id>/failed")
class OrderFailed(MethodView):
    @blp.arguments(OrderFailedSchema, required=False)
    @blp.response(200, OrderSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="the order is paid or canceled")
    def post(self, body: dict[str, Any], order_id: str) -> dict[str, Any]:
        """The payment failed (admin): the order and its tenant are failed; nothing was made in AWS"""
        return orders.failed(runtime.current(), order_id, audit=audit.in_transaction(200))


@blp.route("/tenants/<tenant_id>")
class TenantDeletion(MethodView):
    @blp.arguments(TenantDeleteQuerySchema, location="query", unknown=ma.RAISE)
    @blp.arguments(TenantDeleteSchema, required=False)
    @blp.response(200, TenantLifecycleSchema, description="a paid tenant: deletion scheduled for CancelAt")
    @blp.alt_response(202, schema=OperationSchema, headers=LOCATION, description="terminated now: tenant.terminate")
    @blp.alt_response(409, schema=ErrorSchema, description="being provisioned, or already terminated")
    def delete(self, query: dict[str, Any], body: dict[str, Any], tenant_id: str) -> Any:
        """Delete a tenant with a Reason (admin): free now (202), paid at the end of its paid period (200)"""
        reason = body["Reason"] or query.get("reason")
        if not reason:
            errors = {"json": {"Reason": ["required"]}}
            raise BadRequest("a Reason is required (body Reason or ?reason=)", errors=errors)
        rt = runtime.current()
        shown, op = lifecycle.delete(rt, starter(), tenant_id, reason, immediate=body["Immediate"])
        return shown if op is None else accepted_response(op)


@blp.route("/tenants/<tenant_id>/cancel-deletion")
class TenantCancelDeletion(MethodView):
    @blp.arguments(CancelDeletionSchema, required=False)
    @blp.response(200, TenantLifecycleSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="no deletion is scheduled, or its termination began")
    def post(self, body: dict[str, Any], tenant_id: str) -> dict[str, Any]:
        """Take back a scheduled deletion (admin) while it is pending: the tenant's status before it comes back"""
        event = audit.in_transaction(200)
        return lifecycle.cancel_deletion(runtime.current(), tenant_id, [lambda s, _row: event(s, "cancel-deletion")])
