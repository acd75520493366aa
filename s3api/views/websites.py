"""Static websites (S3 + CloudFront + Route53 + ACM) and their users: Yale-compatible paths and shapes."""

from __future__ import annotations

from typing import Any

from flask import Response, g
from flask.views import MethodView

from s3api import runtime
from s3api.api import Blueprint
from s3api.control import isolation
from s3api.jobs.operations import start
from s3api.provisioning import users, websites
from s3api.schemas.buckets import DuckQuerySchema, EmptySchema
from s3api.schemas.operations import OperationSchema
from s3api.schemas.users import (
    KeyStatusOutSchema,
    KeyStatusSchema,
    RotatedKeysSchema,
    RotateQuerySchema,
    UserCreateSchema,
    UserSchema,
)
from s3api.schemas.websites import (
    InvalidationCreatedSchema,
    InvalidationRequestSchema,
    InvalidationStatusSchema,
    WebsiteCreatedSchema,
    WebsiteCreatedUserSchema,
    WebsiteCreateSchema,
    WebsiteDeletedSchema,
    WebsiteSchema,
    WebsiteUpdateSchema,
    WebsiteUserDetailSchema,
)
from s3api.views.operations import (
    ACCEPTED_HEADERS,
    PREFER_PARAMETER,
    accepted_response,
    if_busy,
    respond_async,
    starter,
)

blp = Blueprint("websites", __name__, url_prefix="/v1/s3", description="Static websites and their users")

ASYNC_CREATE = (
    "Prefer: respond-async: the checks ran (400/409 at once, nothing made); the operation website.create runs "
    "the create and waits for CloudFront Deployed; its Result is the 200 body plus Deployed"
)
ASYNC_DELETE = (
    "Prefer: respond-async: the name and emptiness were checked (400/409 at once); the operation website.delete "
    "runs the delete, waits for the disabled distribution to deploy and deletes it"
)

DUCK_MIMETYPE = "application/x-plist"


@blp.route("/<account:account>/websites")
class Websites(MethodView):
    @blp.arguments(WebsiteCreateSchema)
    @blp.response(200, WebsiteCreatedSchema)
    @blp.alt_response(202, schema=OperationSchema, headers=ACCEPTED_HEADERS, success=True, description=ASYNC_CREATE)
    @blp.doc(parameters=[PREFER_PARAMETER])
    def post(self, body: dict[str, Any], account: str) -> Any:
        """Create a website: bucket, CloudFront distribution, DNS alias, IAM groups (rolled back on failure)"""
        aws = runtime.aws(account)
        name, tags, configuration = body["BucketInput"]["Bucket"], body["Tags"], body["WebsiteConfiguration"]
        owner = isolation.website_owner(runtime.current(), g.get("caller"), account, name)  # a tenant's: its plan
        if respond_async():
            params = {"Website": name, "Tags": tags, "WebsiteConfiguration": configuration}
            if owner is not None:
                params["Owner"] = owner
            op, _ = start(runtime.current(), "website.create", aws, params, starter(), if_busy=if_busy())
            return accepted_response(op)
        return websites.create(aws, name, tags, configuration, owner=owner)


@blp.route("/<account:account>/websites/<website:website>")
class Website(MethodView):
    @blp.response(200, WebsiteSchema)
    def get(self, account: str, website: str) -> dict[str, Any]:
        """Tags, logging, emptiness, DNS record, distribution and one overall Status"""
        return websites.show(runtime.aws(account), website)

    @blp.response(200)
    def head(self, account: str, website: str) -> Response:
        """200 when the site's bucket exists and is ours, 404 when missing, 403 when not ours"""
        websites.head(runtime.aws(account), website)
        return Response(status=200)

    @blp.arguments(WebsiteUpdateSchema)
    @blp.response(200, EmptySchema)
    def put(self, body: dict[str, Any], account: str, website: str) -> dict[str, Any]:
        """Replace the tags of bucket and distribution (tags left out are removed from both)"""
        websites.update_tags(runtime.aws(account), website, body["Tags"])
        return {}

    @blp.arguments(InvalidationRequestSchema)
    @blp.response(200, InvalidationCreatedSchema)
    def patch(self, body: dict[str, Any], account: str, website: str) -> dict[str, Any]:
        """Invalidate cached paths of the site's distribution"""
        return websites.invalidate(runtime.aws(account), website, body["CacheInvalidation"])

    @blp.response(200, WebsiteDeletedSchema)
    @blp.alt_response(202, schema=OperationSchema, headers=ACCEPTED_HEADERS, success=True, description=ASYNC_DELETE)
    @blp.doc(parameters=[PREFER_PARAMETER])
    def delete(self, account: str, website: str) -> Any:
        """Delete an empty website: DNS records, then the distribution (disabled), IAM, default pages, bucket"""
        aws = runtime.aws(account)
        if respond_async():
            op, _ = start(runtime.current(), "website.delete", aws, {"Website": website}, starter(), if_busy=if_busy())
            return accepted_response(op)
        return websites.delete(aws, website)


@blp.route("/<account:account>/websites/<website:website>/invalidations/<string:invalidation>")
class Invalidation(MethodView):
    @blp.response(200, InvalidationStatusSchema)
    def get(self, account: str, website: str, invalidation: str) -> dict[str, Any]:
        """Status of a cache invalidation (InProgress or Completed)"""
        return websites.invalidation(runtime.aws(account), website, invalidation)


@blp.route("/<account:account>/websites/<website:website>/duck")
class Duck(MethodView):
    @blp.arguments(DuckQuerySchema, location="query")
    @blp.response(200, content_type=DUCK_MIMETYPE)
    def get(self, query: dict[str, str], account: str, website: str) -> Response:
        """Cyberduck bookmark (.duck) for the site's bucket, opening at ?path= (no AWS call)"""
        body, filename = websites.bookmark(runtime.aws(account), website, query["path"])
        response = Response(body, mimetype=DUCK_MIMETYPE)
        response.headers["Content-Disposition"] = f"attachment; filename={filename}"
        return response


@blp.route("/<account:account>/websites/<website:website>/users")
class WebsiteUsers(MethodView):
    @blp.response(200, UserSchema(many=True))
    def get(self, account: str, website: str) -> list[dict[str, Any]]:
        """Users of a website: the members of its groups, all paths"""
        return websites.list_users(runtime.aws(account), website)

    @blp.arguments(UserCreateSchema)
    @blp.response(200, WebsiteCreatedUserSchema)
    def post(self, body: dict[str, Any], account: str, website: str) -> dict[str, Any]:
        """Create a website user, scoped to User.Path, with an access key (its secret is shown only here)"""
        user = body["User"]
        new = users.NewUser(name=user["UserName"], path=user["Path"], tags=user["Tags"])
        return websites.create_user(runtime.aws(account), website, new, body["Groups"])


@blp.route("/<account:account>/websites/<website:website>/users/<user:user>")
class WebsiteUser(MethodView):
    @blp.response(200, WebsiteUserDetailSchema)
    def get(self, account: str, website: str, user: str) -> dict[str, Any]:
        """One website user: path, access keys, groups, attached policies"""
        return websites.show_user(runtime.aws(account), website, user)

    @blp.arguments(RotateQuerySchema, location="query")
    @blp.response(200, RotatedKeysSchema)
    def put(self, query: dict[str, Any], account: str, website: str, user: str) -> dict[str, Any]:
        """Rotate a website user's access keys; old keys keep working for grace_seconds (default 0)"""
        return websites.rotate_user_keys(runtime.aws(account), website, user, query["grace_seconds"])

    @blp.response(200, EmptySchema)
    def delete(self, account: str, website: str, user: str) -> dict[str, Any]:
        """Delete a website user: keys, group memberships and the site's attached policies first"""
        websites.delete_user(runtime.aws(account), website, user)
        return {}


@blp.route("/<account:account>/websites/<website:website>/users/<user:user>/keys/<string:key_id>")
class WebsiteUserKey(MethodView):
    @blp.arguments(KeyStatusSchema)
    @blp.response(200, KeyStatusOutSchema)
    def patch(self, body: dict[str, Any], account: str, website: str, user: str, key_id: str) -> dict[str, Any]:
        """Switch a website user's access key off (Inactive: refused at once, kept) or on again (Active)"""
        return websites.set_user_key_status(runtime.aws(account), website, user, key_id, body["Status"])
