"""The OpenAPI document, generated from the code (committed as openapi/openapi.json, drift-tested)."""

from __future__ import annotations

import json
from typing import Any

from apispec import APISpec, BasePlugin

from s3api.config import from_mapping


def spec_json() -> str:
    from s3api import create_app

    settings = from_mapping(
        {"accounts": {"doc": {"account_id": "000000000000"}}, "tokens": {"doc": "documentation-only-token"}},
        env={},
    )
    app = create_app(settings)
    with app.app_context():
        spec = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    return json.dumps(spec, indent=2, sort_keys=True) + "\n"


#: Answers the HTTP server (gunicorn) gives by itself, before the app sees the request; in our JSON error
#: envelope (``s3api.gunicorn_conf.json_error``). A malformed request line or header is a 400 the same way.
SERVER_ANSWERS = {
    "414": ("SERVER_URI_TOO_LONG", "request line longer than 8190 bytes (answered by the HTTP server)"),
    "431": ("SERVER_HEADERS_TOO_LARGE", "a header field over 8190 bytes or more than 100 fields (HTTP server)"),
}


class ServerAnswersPlugin(BasePlugin):
    """Lists :data:`SERVER_ANSWERS` on every operation: they can answer any request."""

    def init_spec(self, spec: APISpec) -> None:
        for name, description in SERVER_ANSWERS.values():
            spec.components.response(
                name, {"description": description, "content": {"application/json": {"schema": "Error"}}}
            )

    def operation_helper(self, path: str | None = None, operations: dict[Any, Any] | None = None, **_: Any) -> None:
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            for status, (name, _description) in SERVER_ANSWERS.items():
                responses.setdefault(status, name)


#: ``Idempotency-Key`` (s3api.idempotency): a parameter of every creating or changing operation, and its answers.
IDEMPOTENT_METHODS = ("post", "put", "patch", "delete")
IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": (
        "1 to 255 printable ASCII characters, scoped to the caller, kept 24 hours. A repeat with the same key and "
        "request (method, path, query, body) replays the first answer (status, body, Location) with "
        "`Idempotent-Replayed: true`; a repeat while the first runs waits for it (up to `idempotency_wait` "
        "seconds), then 409 IdempotencyKeyInFlight; the key with another request is 422 IdempotencyKeyReused. "
        "Answers with status 5xx or 429 are not kept: a retry runs again."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
}
IDEMPOTENCY_ANSWERS = {
    "409": ("IDEMPOTENCY_KEY_IN_FLIGHT", "IdempotencyKeyInFlight: the first request with this Idempotency-Key is "
            "still running after the wait (Retry-After)"),
    "422": ("IDEMPOTENCY_KEY_REUSED", "IdempotencyKeyReused: this Idempotency-Key was used with another request"),
}  # fmt: skip


class IdempotencyPlugin(BasePlugin):
    """Adds the ``Idempotency-Key`` header parameter and its 409/422 answers to every POST, PUT, PATCH and
    DELETE operation (an operation's own 409 keeps its description, which then names the in-flight case too)."""

    def init_spec(self, spec: APISpec) -> None:
        spec.components.parameter("IdempotencyKey", "header", dict(IDEMPOTENCY_PARAMETER))
        for name, description in IDEMPOTENCY_ANSWERS.values():
            spec.components.response(
                name, {"description": description, "content": {"application/json": {"schema": "Error"}}}
            )

    def operation_helper(self, path: str | None = None, operations: dict[Any, Any] | None = None, **_: Any) -> None:
        for method, operation in (operations or {}).items():
            if str(method).lower() not in IDEMPOTENT_METHODS:
                continue
            operation.setdefault("parameters", []).append("IdempotencyKey")
            responses = operation.setdefault("responses", {})
            for status, (name, description) in IDEMPOTENCY_ANSWERS.items():
                own = responses.get(int(status), responses.get(status))  # flask-smorest's keys are ints
                if own is None:
                    responses[status] = name
                elif isinstance(own, dict) and "description" in own and description not in own["description"]:
                    own["description"] = f"{own['description']}; or {description}"
