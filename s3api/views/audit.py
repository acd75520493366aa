"""The audit trail: ``GET /v1/s3/audit`` (every role), newest first, as pages or streamed as NDJSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import marshmallow as ma
from flask import Response, request, stream_with_context
from flask.views import MethodView

from s3api import audit
from s3api.api import Blueprint
from s3api.schemas.audit import AuditEventSchema, AuditPageSchema, AuditQuerySchema

blp = Blueprint("audit", __name__, url_prefix="/v1/s3", description="The audit trail of mutating requests")

NDJSON = "application/x-ndjson"
_EVENT = AuditEventSchema()
#: the JSON page, or (``Accept: application/x-ndjson``) one AuditEvent per line
ANSWER = {
    "description": "OK",
    "content": {
        "application/json": {"schema": AuditPageSchema},
        NDJSON: {"schema": {"type": "string", "description": "one AuditEvent as JSON per line"}},
    },
}


def _lines(events: Iterator[dict[str, Any]]) -> Iterator[str]:
    for event in events:
        yield json.dumps(_EVENT.dump(event), separators=(",", ":")) + "\n"


@blp.route("/audit")
class Audit(MethodView):
    @blp.arguments(AuditQuerySchema, location="query", unknown=ma.RAISE)
    @blp.response(200, AuditPageSchema)
    @blp.doc(responses={"200": ANSWER})
    def get(self, query: dict[str, Any]) -> Any:
        """Audit events, newest first (filters: caller, tenant, action prefix, resource, outcome, since, until);
        with Accept: application/x-ndjson, every matching event as one JSON line each (page_size ignored)"""
        page_size, page_token = query.pop("page_size"), query.pop("page_token", None)
        if request.accept_mimetypes.best_match(["application/json", NDJSON]) == NDJSON:
            events = audit.stream(audit.Filters(**query), page_token)
            return Response(stream_with_context(_lines(events)), mimetype=NDJSON)
        return audit.trail().page(audit.Filters(**query), page_size, page_token)
