"""Share links: the inventory of the presigned links a bucket's signers issued (``POST .../presign`` issues and
records them), their revocation (one link: its signer key; a share: all its keys) and re-issue.

Every route acts only on a bucket this service manages (404 unknown, 403 not ours). Revoking answers the blast
radius: every link that stopped working with it. The audit event of each change names the links it touched.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g
from flask.views import MethodView

from s3api import audit, runtime
from s3api.api import Blueprint
from s3api.control import links
from s3api.schemas.links import (
    LinkPageSchema,
    LinkQuerySchema,
    LinkSchema,
    ReissuedLinkSchema,
    ReissueSchema,
    RevokedSchema,
    ShareRevokedSchema,
)

blp = Blueprint("links", __name__, url_prefix="/v1/s3", description="Share links: presigned links issued, revoked")

BUCKET = "/<account:account>/buckets/<bucket:bucket>"


def _revoked(answer: dict[str, Any]) -> dict[str, Any]:
    ids = [link["Id"] for link in answer["Revoked"]]
    return {"Revoked": ids[:200], "Count": answer["Count"]}


@blp.route(f"{BUCKET}/links")
class Links(MethodView):
    @blp.arguments(LinkQuerySchema, location="query", unknown=ma.RAISE)  # webargs ignores Meta for queries
    @blp.response(200, LinkPageSchema)
    def get(self, query: dict[str, Any], account: str, bucket: str) -> dict[str, Any]:
        """The bucket's presigned links, newest first: filters active, key_prefix, share; page_size, page_token"""
        return links.list_links(runtime.current().db, runtime.aws(account), bucket, **query)


@blp.route(f"{BUCKET}/links/<string:link_id>")
class Link(MethodView):
    @blp.response(200, LinkSchema)
    def get(self, account: str, bucket: str, link_id: str) -> dict[str, Any]:
        """One presigned link as recorded (never its URL or signature)"""
        return links.show(runtime.current().db, runtime.aws(account), bucket, link_id)


@blp.route(f"{BUCKET}/links/<string:link_id>/revoke")
class LinkRevoke(MethodView):
    @blp.response(200, RevokedSchema)
    def post(self, account: str, bucket: str, link_id: str) -> dict[str, Any]:
        """Revoke a link by deleting its signer key: every link that key signed stops too (listed in Revoked)"""
        answer = links.revoke_link(runtime.current().db, runtime.aws(account), bucket, link_id)
        audit.note(_revoked(answer))
        return answer


@blp.route(f"{BUCKET}/links/<string:link_id>/reissue")
class LinkReissue(MethodView):
    @blp.arguments(ReissueSchema)
    @blp.response(200, ReissuedLinkSchema)
    def post(self, body: dict[str, Any], account: str, bucket: str, link_id: str) -> dict[str, Any]:
        """A new link for a revoked or expired link's key, method and share, on the signer's current key"""
        caller = g.get("caller")
        answer = links.reissue(
            runtime.current().db,
            runtime.aws(account),
            bucket,
            link_id,
            body["ExpiresIn"],
            tenant=caller.tenant if caller else None,
            created_by=caller.log_name if caller else None,
        )
        audit.note({"Link": answer["Id"], "ReissuedFrom": link_id, "ExpiresAt": answer["ExpiresAt"]})
        return answer


@blp.route(f"{BUCKET}/shares/<string:share>/revoke")
class ShareRevoke(MethodView):
    @blp.response(200, ShareRevokedSchema)
    def post(self, account: str, bucket: str, share: str) -> dict[str, Any]:
        """Revoke every link of a share (its signer's keys deleted); the links that stopped are listed"""
        answer = links.revoke_share(runtime.current().db, runtime.aws(account), bucket, share)
        audit.note(_revoked(answer))
        return answer
