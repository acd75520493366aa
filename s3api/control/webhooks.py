"""Webhook deliveries as the API reads them (the outbox and its delivery task are :mod:`s3api.webhooks`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from s3api import webhooks
from s3api.db.session import Database


class Env(Protocol):
    db: Database


def deliveries(rt: Env, query: Mapping[str, Any]) -> dict[str, Any]:
    """One page of deliveries, newest first: filters ``status``, ``event_type``, ``endpoint``, ``event_id``,
    ``since``, ``until``; ``page_size``, ``page_token``."""
    filters = webhooks.Filters(
        status=query.get("status"),
        event_type=query.get("event_type"),
        endpoint=query.get("endpoint"),
        event_id=query.get("event_id"),
        since=query.get("since"),
        until=query.get("until"),
    )
    return webhooks.page(rt.db, filters, query.get("page_size", 50), query.get("page_token"))
