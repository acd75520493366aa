"""Webhook deliveries: the query (filters, cursor pages) and the answer (PascalCase, times ISO 8601 UTC)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from s3api.schemas.fields import FullMatch
from s3api.schemas.keys import MAX_PAGE_SIZE, UtcTime

DELIVERY_STATUSES = ("pending", "delivered", "failed")
EVENT_TYPE = "[a-z_]{1,32}[.][a-z_]{1,31}"
ENDPOINT = "[a-z0-9][a-z0-9_-]{0,62}"  # s3api.config.WEBHOOK_NAME
EVENT_ID = "evt-[0-9a-f]{24}"


class DeliveryQuerySchema(ma.Schema):
    """Filters ``status`` (pending, delivered, failed), ``event_type`` (e.g. plan.changed), ``endpoint`` (a
    configured webhook's name), ``event_id``, ``since`` (inclusive) and ``until`` (exclusive) on the event's time;
    newest first."""

    class Meta:
        unknown = ma.RAISE

    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    event_type = fields.String(validate=FullMatch(EVENT_TYPE, error="event_type: e.g. plan.changed"))
    endpoint = fields.String(validate=FullMatch(ENDPOINT, error="endpoint: a configured webhook's name"))
    event_id = fields.String(validate=FullMatch(EVENT_ID, error="event_id: evt- and 24 hex digits"))
    since = UtcTime(metadata={"description": "ISO 8601 with offset; events at or after"})
    until = UtcTime(metadata={"description": "ISO 8601 with offset; events before"})
    page_size = fields.Integer(load_default=50, strict=False, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    page_token = fields.String(validate=validate.Length(min=1, max=512))

    @ma.validates_schema
    def _range(self, data: dict[str, object], **_: object) -> None:
        since, until = data.get("since"), data.get("until")
        if since is not None and until is not None and since >= until:  # type: ignore[operator]
            raise ma.ValidationError("since must be before until", "since")


class DeliverySchema(ma.Schema):
    """One event for one endpoint. ``Status``: pending (``NextAttemptAt`` says when it is tried again),
    delivered (a 2xx answer, ``DeliveredAt``) or failed (not delivered within a day, or its endpoint is no longer
    configured). ``LastStatus``/``LastError``: the last attempt's HTTP status or why it got none. ``Event`` is the
    body exactly as POSTed and signed."""

    Id = fields.String(required=True)
    EventId = fields.String(required=True)
    EventType = fields.String(required=True)
    Endpoint = fields.String(required=True)
    Status = fields.String(required=True, validate=validate.OneOf(DELIVERY_STATUSES))
    Attempts = fields.Integer(required=True)
    NextAttemptAt = UtcTime(allow_none=True)
    LastStatus = fields.Integer(allow_none=True)
    LastError = fields.String(allow_none=True)
    CreatedAt = UtcTime(required=True)
    DeliveredAt = UtcTime(allow_none=True)
    Event = fields.Dict(required=True, metadata={"description": "{Id, Type, CreatedAt, Data}"})


class DeliveryPageSchema(ma.Schema):
    Deliveries = fields.List(fields.Nested(DeliverySchema), required=True)
    NextPageToken = fields.String(allow_none=True)
