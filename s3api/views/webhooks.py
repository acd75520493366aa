"""Webhook deliveries (``GET /v1/s3/webhooks/deliveries``): the outbox's state, for admins."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from s3api import runtime
from s3api.api import Blueprint
from s3api.control import webhooks
from s3api.schemas.webhooks import DeliveryPageSchema, DeliveryQuerySchema

blp = Blueprint("webhooks", __name__, url_prefix="/v1/s3", description="Webhook deliveries: signed events, retries")


@blp.route("/webhooks/deliveries")
class Deliveries(MethodView):
    @blp.arguments(DeliveryQuerySchema, location="query", unknown=ma.RAISE)
    @blp.response(200, DeliveryPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Webhook deliveries, newest first (filters status, event_type, endpoint, event_id, since, until; pages)"""
        return webhooks.deliveries(runtime.current(), query)
