"""The web console under ``/console``: :mod:`s3api.console.blueprint` (the blueprint, its gate, errors and
navigation), :mod:`s3api.console.session` (the cookie), :mod:`s3api.console.views` (the pages) and
:mod:`s3api.console.catalog` (plans and orders)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the blueprint and its gate (in the app factory)."""
    from s3api import auth, errors
    from s3api.console import catalog, views  # noqa: F401  (register the pages on ``bp``)
    from s3api.console.blueprint import bp, gate, routing_error

    auth.SESSION_GATES[bp.name] = gate
    errors.ROUTING_ERROR_PAGES[f"{bp.url_prefix}/"] = routing_error
    app.register_blueprint(bp)
