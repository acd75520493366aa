"""Operations: show, list, cancel; and what the routes that start one share (``accepted``, ``prefer``,
``starter``). Roles are decided at the edge (:func:`s3api.auth.authorize`)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, g, jsonify, request
from flask.views import MethodView

from s3api import runtime
from s3api.api import Blueprint
from s3api.control import isolation, tenants
from s3api.db.models import Operation
from s3api.db.operations import record
from s3api.errors import BadRequest
from s3api.jobs.operations import Starter
from s3api.schemas.operations import OperationPageSchema, OperationQuerySchema, OperationSchema

blp = Blueprint("operations", __name__, url_prefix="/v1/s3", description="Long work: status, progress, cancel")

#: what ``GET /v1/s3/operations/{id}`` asks the client to wait, in seconds, while the operation runs
RETRY_AFTER = 2


def prefer() -> set[str]:
    """The ``Prefer`` header's preferences (RFC 7240), lower case: ``respond-async``, ``if-busy=conflict``."""
    found: set[str] = set()
    for header in request.headers.getlist("Prefer"):
        for part in header.split(","):
            token = part.split(";")[0].strip().lower().replace(" ", "")
            if token:
                found.add(token)
    return found


def if_busy() -> str:
    """``Prefer: if-busy=conflict``: 409 instead of waiting behind another operation on the same target."""
    choices = {p.split("=", 1)[1] for p in prefer() if p.startswith("if-busy=")}
    if not choices:
        return "queue"
    if len(choices) > 1 or not choices <= {"queue", "conflict"}:
        raise BadRequest("Prefer: if-busy must be queue or conflict")
    return choices.pop()


def starter() -> Starter:
    caller = g.get("caller")
    return Starter(
        caller_id=getattr(caller, "id", None),
        caller_name=getattr(caller, "name", None),
        tenant=getattr(caller, "tenant", None),
        request_id=g.get("request_id"),
    )


def accepted(op: Operation) -> tuple[dict[str, Any], int, dict[str, str]]:
    """202 with ``Location`` and the operation."""
    headers = {"Location": f"/v1/s3/operations/{op.id}"}
    if respond_async():  # RFC 7240: only a preference the caller stated is applied
        headers["Preference-Applied"] = "respond-async"
    return record(op), 202, headers


# --- routes that may answer 202 with an operation (``Prefer: respond-async``) ---------------------------------

#: the ``Prefer`` request header (RFC 7240), as the routes that honour it document it
PREFER_PARAMETER = {
    "in": "header",
    "name": "Prefer",
    "required": False,
    "schema": {"type": "string"},
    "description": "respond-async: answer 202 with the operation (Location: its URL) instead of doing the work in "
    "the request; if-busy=conflict: 409 instead of queueing behind another operation on the same target",
}
#: the headers of a 202 (``accepted``), for the OpenAPI document
ACCEPTED_HEADERS = {
    "Location": {"schema": {"type": "string"}, "description": "the operation: GET it for Status and Result"},
    "Preference-Applied": {"schema": {"type": "string"}, "description": "respond-async, when the caller asked"},
}


def respond_async() -> bool:
    """``Prefer: respond-async``: the caller asks for a 202 and an operation instead of the work in the request."""
    return "respond-async" in prefer()


def accepted_response(op: Operation) -> Response:
    """:func:`accepted` as a Response: for a route whose documented 200 schema must not dump the operation."""
    body, status, headers = accepted(op)
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers)
    return response


@blp.route("/operations")
class Operations(MethodView):
    @blp.arguments(OperationQuerySchema, location="query", unknown=ma.RAISE)
    @blp.response(200, OperationPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Operations, newest first: filters kind, target, status, account; page_size and page_token (a tenant
        key: the operations it started)"""
        return isolation.list_operations(runtime.current(), g.get("caller"), query)


@blp.route("/operations/<operation_id>")
class OperationView(MethodView):
    @blp.response(200, OperationSchema, headers={"Retry-After": {"schema": {"type": "integer"}}})
    def get(self, operation_id: str) -> Any:
        """One operation: Status, Done, Progress counters, Error (our envelope), Result; Retry-After while it runs"""
        rt = runtime.current()
        op = rt.operations.get(operation_id)
        body = tenants.take_handover(rt, op, g.get("caller"), record(op))  # a new tenant's secrets: once
        return (body, 200, {} if body["Done"] else {"Retry-After": str(RETRY_AFTER)})


@blp.route("/operations/<operation_id>/cancel")
class OperationCancel(MethodView):
    @blp.response(202, OperationSchema)
    def post(self, operation_id: str) -> Any:
        """Cancel (admin): not started → Canceled at once; running → stops at its next checkpoint, keeping what
        its rules say stays done; ended → 409"""
        op = runtime.current().operations.request_cancel(operation_id)
        return record(op), 202, {"Location": f"/v1/s3/operations/{op.id}"}
