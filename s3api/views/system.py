"""Public system routes: ping, version, metrics (no token needed), and the docs page's vendored assets."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Flask, Response, current_app, send_from_directory
from flask.views import MethodView
from werkzeug.exceptions import NotFound

from s3api import __version__, metrics
from s3api.api import Blueprint

blp = Blueprint("system", __name__, url_prefix="/v1/s3", description="Health, version and metrics")


class VersionSchema(ma.Schema):
    version = ma.fields.String(required=True)
    githash = ma.fields.String(required=True)
    buildstamp = ma.fields.String(required=True)


@blp.route("/ping")
class Ping(MethodView):
    @blp.doc(security=[])
    @blp.response(200, content_type="text/plain")
    def get(self) -> Response:
        """Liveness: answers pong without touching AWS"""
        return Response("pong", mimetype="text/plain")


@blp.route("/version")
class Version(MethodView):
    @blp.doc(security=[])
    @blp.response(200, VersionSchema)
    def get(self) -> dict[str, Any]:
        """Version and build of this server"""
        return {
            "version": __version__,
            "githash": current_app.config["GITHASH"],
            "buildstamp": current_app.config["BUILDSTAMP"],
        }


@blp.route("/metrics")
class Metrics(MethodView):
    @blp.doc(security=[])
    @blp.response(200, content_type="text/plain")
    def get(self) -> Response:
        """Prometheus metrics: requests, AWS calls, rollbacks, sweeper (all workers)"""
        return metrics.exposition()


# the files the docs page (flask-smorest's swagger_ui.html) loads; nothing else of the bundle is served
DOCS_ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"})


def _docs_asset(filename: str) -> Response:
    if filename not in DOCS_ASSETS:
        raise NotFound()
    from swagger_ui_bundle import swagger_ui_path

    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)


def register_docs_assets(app: Flask) -> None:
    """Serve Swagger UI's files from the installed ``swagger-ui-bundle`` package under ``/v1/s3/docs/assets/``
    (endpoint ``swagger_assets``, public, not in the OpenAPI document): the docs page works without internet.
    ``create_app`` switches Swagger UI's online spec validator off for the same reason."""
    app.add_url_rule("/v1/s3/docs/assets/<path:filename>", endpoint="swagger_assets", view_func=_docs_asset)
