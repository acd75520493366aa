"""API keys (admin creates and revokes; every role may list and show) and ``whoami``. Roles are decided at the
edge (:func:`s3api.auth.authorize`), never here. A create or revoke writes its audit event in the same
transaction as the key (:func:`s3api.audit.in_transaction`)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g
from flask.views import MethodView

from s3api import audit, runtime
from s3api.api import Blueprint
from s3api.schemas.keys import CreatedKeySchema, KeyCreateSchema, KeyPageSchema, KeyQuerySchema, KeySchema, WhoamiSchema

blp = Blueprint("keys", __name__, url_prefix="/v1/s3", description="API keys with roles, and who the caller is")


@blp.route("/keys")
class Keys(MethodView):
    @blp.arguments(KeyQuerySchema, location="query", unknown=ma.RAISE)
    @blp.response(200, KeyPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """API keys, newest first: filters name, role, tenant, revoked; page_size and page_token"""
        return runtime.keys().list(**query)

    @blp.arguments(KeyCreateSchema)
    @blp.response(201, CreatedKeySchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create an API key (admin); its secret Key is shown in this answer only"""
        event = audit.in_transaction(201)
        return runtime.keys().create(body["Name"], body["Role"], body["Tenant"], body["ExpiresAt"], audit=event)


@blp.route("/keys/<key_id>")
class Key(MethodView):
    @blp.response(200, KeySchema)
    def get(self, key_id: str) -> dict[str, Any]:
        """One API key: never its secret; LastUsedAt (written at most once a minute)"""
        return runtime.keys().get(key_id)

    @blp.response(200, KeySchema)
    def delete(self, key_id: str) -> dict[str, Any]:
        """Revoke an API key (admin): refused at once here, within 2 s on every other worker and replica"""
        return runtime.keys().revoke(key_id, audit=audit.in_transaction(200))


@blp.route("/whoami")
class Whoami(MethodView):
    @blp.response(200, WhoamiSchema)
    def get(self) -> Any:
        """Who the caller is: a config-file token (role admin) or an API key (its id, role and tenant)"""
        return g.caller
