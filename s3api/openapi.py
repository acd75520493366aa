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
