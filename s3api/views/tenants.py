"""Tenants (a customer's S3 account): create (an operation), list, show, change, and their S3 credentials
(rotate, switch a key off and on, reveal), suspension. Roles are decided at the edge
(:func:`s3api.auth.authorize`); each view makes one call into :mod:`s3api.control.tenants`. ``DELETE`` and
``cancel-deletion`` are the orders blueprint's (:mod:`s3api.views.orders`)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g
from flask.views import MethodView

from s3api import runtime
from s3api.api import Blueprint
from s3api.control import tenants
from s3api.schemas.operations import OperationSchema
from s3api.schemas.tenants import (
    TenantCreateSchema,
    TenantKeyStatusAnswerSchema,
    TenantKeyStatusSchema,
    TenantPageSchema,
    TenantPatchSchema,
    TenantQuerySchema,
    TenantRevealedSchema,
    TenantRotatedSchema,
    TenantRotateSchema,
    TenantSchema,
    TenantShowQuerySchema,
)
from s3api.schemas.usage import TenantHistoryQuery, TenantHistorySchema
from s3api.views.operations import ACCEPTED_HEADERS, accepted, starter

blp = Blueprint("tenants", __name__, url_prefix="/v1/s3", description="Tenants: customers' S3 accounts on a plan")


@blp.route("/tenants")
class Tenants(MethodView):
    @blp.arguments(TenantQuerySchema, location="query", unknown=ma.RAISE)
    @blp.response(200, TenantPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Tenants (admin): filters client_id, plan, email, billing, tenant, bucket, storage_type, location, status;
        order_by CreatedAt or -CreatedAt; page_size and page_token"""
        return tenants.list_tenants(runtime.current(), query)

    @blp.arguments(TenantCreateSchema)
    @blp.response(202, OperationSchema, headers=ACCEPTED_HEADERS)
    def post(self, body: dict[str, Any]) -> Any:
        """Create a tenant on a free plan (admin): the operation tenant.create (first bucket, S3 credentials, API
        key); GET the operation once for the secrets"""
        return accepted(tenants.create(runtime.current(), starter(), body))


@blp.route("/tenants/<tenant_id>")
class Tenant(MethodView):
    @blp.arguments(TenantShowQuerySchema, location="query", unknown=ma.RAISE)
    @blp.response(200, TenantSchema)
    def get(self, query: dict[str, Any], tenant_id: str) -> dict[str, Any]:
        """One tenant: plan, status, buckets (from AWS), quota, access key ids (never a secret), endpoint, dates"""
        rt = runtime.current()
        return tenants.get(rt, g.get("caller"), tenant_id, usage=query.get("include") == "usage")

    @blp.arguments(TenantPatchSchema)
    @blp.response(200, TenantSchema)
    def patch(self, body: dict[str, Any], tenant_id: str) -> dict[str, Any]:
        """Change a tenant's plan (its limits apply from then on), Email, ClientId, Billing (admin)"""
        return tenants.patch(runtime.current(), g.get("caller"), tenant_id, body)


@blp.route("/tenants/<tenant_id>/usage")
class TenantUsage(MethodView):
    @blp.arguments(TenantHistoryQuery, location="query", unknown=ma.RAISE)
    @blp.response(200, TenantHistorySchema)
    def get(self, query: dict[str, Any], tenant_id: str) -> dict[str, Any]:
        """The tenant's usage over time: its buckets' daily samples summed per day or month (default the last 30
        days)"""
        return tenants.usage_history(runtime.current(), g.get("caller"), tenant_id, query)


@blp.route("/tenants/<tenant_id>/credentials/rotate")
class TenantRotate(MethodView):
    @blp.arguments(TenantRotateSchema)
    @blp.response(200, TenantRotatedSchema)
    def post(self, body: dict[str, Any], tenant_id: str) -> dict[str, Any]:
        """A new S3 access key (its secret in this answer only); the old one works GraceSeconds more"""
        return tenants.rotate(runtime.current(), tenant_id, body["GraceSeconds"])


@blp.route("/tenants/<tenant_id>/credentials/reveal")
class TenantReveal(MethodView):
    @blp.response(200, TenantRevealedSchema)
    def post(self, tenant_id: str) -> dict[str, Any]:
        """The current S3 secret again: only when the operator configured secret_keys (else 409: rotate)"""
        return tenants.reveal(runtime.current(), tenant_id)


@blp.route("/tenants/<tenant_id>/credentials/<key_id>")
class TenantKey(MethodView):
    @blp.arguments(TenantKeyStatusSchema)
    @blp.response(200, TenantKeyStatusAnswerSchema)
    def patch(self, body: dict[str, Any], tenant_id: str, key_id: str) -> dict[str, Any]:
        """Switch one of the tenant's S3 access keys off (Inactive) or on (Active); the key is kept"""
        return tenants.set_key_status(runtime.current(), tenant_id, key_id, body["Status"])


@blp.route("/tenants/<tenant_id>/suspend")
class TenantSuspend(MethodView):
    @blp.response(200, TenantSchema)
    def post(self, tenant_id: str) -> dict[str, Any]:
        """Suspend: a Deny policy blocks all data access with the tenant's credentials; the data stays"""
        return tenants.suspend(runtime.current(), tenant_id)


@blp.route("/tenants/<tenant_id>/resume")
class TenantResume(MethodView):
    @blp.response(200, TenantSchema)
    def post(self, tenant_id: str) -> dict[str, Any]:
        """Resume a suspended tenant: its credentials work again"""
        return tenants.resume(runtime.current(), tenant_id)
