"""The OpenAPI document, generated from the code (committed as openapi/openapi.json, drift-tested)."""

from __future__ import annotations

import json

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
