"""Plans (``/v1/s3/plans``): the catalogue, its changes and their history. Admins change plans; every caller
reads the plans it may see (:mod:`s3api.control.plans`). A change writes its audit event, its revision and (for a
PATCH) the ``plan.changed`` webhook in one transaction."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g
from flask.views import MethodView

from s3api import audit, runtime
from s3api.api import Blueprint
from s3api.control import plans
from s3api.schemas.plans import (
    HistoryQuerySchema,
    HistorySchema,
    PlanCreateSchema,
    PlanPageSchema,
    PlanPatchSchema,
    PlanQuerySchema,
    PlanSchema,
)

blp = Blueprint("plans", __name__, url_prefix="/v1/s3", description="Plans: limits, storage class, prices, history")


@blp.route("/plans")
class Plans(MethodView):
    @blp.arguments(PlanQuerySchema, location="query", unknown=ma.RAISE)
    @blp.response(200, PlanPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Plans the caller may see, by name (filters active, test_only, location, storage_type; pages)"""
        return plans.page(runtime.current(), g.caller, query)

    @blp.arguments(PlanCreateSchema)
    @blp.response(201, PlanSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a plan (admin): revision 1 of its history"""
        return plans.create(runtime.current(), g.caller, body, audit.in_transaction(201)).record()


@blp.route("/plans/<plan>")
class Plan(MethodView):
    @blp.response(200, PlanSchema)
    def get(self, plan: str) -> dict[str, Any]:
        """One plan (404 for a plan the caller may not see)"""
        return plans.get(runtime.current(), g.caller, plan).record()

    @blp.arguments(PlanPatchSchema)
    @blp.response(200, PlanSchema)
    def patch(self, body: dict[str, Any], plan: str) -> dict[str, Any]:
        """Change a plan (admin): a revision and the plan.changed webhook; Active false deactivates it"""
        return plans.update(runtime.current(), g.caller, plan, body, audit.in_transaction(200)).record()

    @blp.response(200, PlanSchema)
    def delete(self, plan: str) -> dict[str, Any]:
        """Delete a plan no live tenant uses (admin; 409 otherwise: deactivate it); its history stays"""
        return plans.delete(runtime.current(), g.caller, plan, audit.in_transaction(200)).record()


@blp.route("/plans/<plan>/history")
class PlanHistory(MethodView):
    @blp.arguments(HistoryQuerySchema, location="query", unknown=ma.RAISE)
    @blp.response(200, HistorySchema)
    def get(self, query: dict[str, Any], plan: str) -> dict[str, Any]:
        """The plan's revisions, oldest first: who, when, each changed field's old and new value"""
        return plans.history(runtime.current(), g.caller, plan, query["page_size"], query.get("page_token"))
