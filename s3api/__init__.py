"""s3api: self-service S3 provisioning and management API.

``create_app(settings)`` is the only factory. Nothing here does I/O at import time: configuration is
read when the app is created, AWS clients when a request first needs them.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

__version__ = "0.1.0"


def create_app(settings: Any = None, *, clients: Any = None) -> Flask:
    """Build the WSGI app. ``settings`` defaults to :func:`s3api.embedded.load` (the config file, otherwise the
    embedded emulator's settings)."""
    from s3api import audit, auth, console, embedded, errors, idempotency, logs
    from s3api.api import Api
    from s3api.control import isolation
    from s3api.runtime import Runtime
    from s3api.views import register, system

    if settings is None:
        settings = embedded.load()
    logs.configure(settings.log_level)
    app = Flask("s3api", static_folder=None)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.url_map.strict_slashes = False
    app.config.update(
        API_TITLE="s3api",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/v1/s3",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=f"{auth.PREFIX}/docs/assets/",  # vendored (swagger-ui-bundle): no CDN, no internet
        OPENAPI_SWAGGER_UI_CONFIG={"validatorUrl": None},  # no call to the online validator either
        MAX_CONTENT_LENGTH=settings.max_body_bytes,  # larger bodies answer 413 in the JSON envelope
        API_SPEC_OPTIONS={
            "info": {"description": "Self-service S3 buckets, users and static websites."},
            "components": {"securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"}}},
            "security": [{"token": []}],
        },
        GITHASH=os.environ.get("S3API_GITHASH", "unknown"),
        BUILDSTAMP=os.environ.get("S3API_BUILDSTAMP", "unknown"),
    )
    runtime = Runtime(settings, clients)
    app.extensions["s3api"] = runtime
    logs.init_app(app)
    audit.init_app(app, runtime.db)  # before auth: refused requests are audited too
    auth.init_app(app, runtime.checker, isolation.Edge(runtime))
    idempotency.init_app(app, runtime.db, settings.idempotency_wait)  # after auth: the caller; before init_start
    audit.init_start(app)  # after auth: the started event of AWS work names its caller
    api = Api(app)
    register(api)
    system.register_docs_assets(app)
    console.init_app(app)  # /console: session cookie instead of X-Auth-Token (auth.SESSION_GATES)
    errors.init_app(app)  # after Api: our handlers replace flask-smorest's
    return app
