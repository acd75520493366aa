"""Public system routes: ping, version, metrics (no token needed)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, current_app
from flask.views import MethodView

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
