"""The console's pages and forms. Each is thin as an API view: check the input with the API's own schema, one call
into the same provisioning/control function the API view calls, render. Forms answer 303 to a page (or, where a
secret is shown once, the page with it: never in a URL, never again). Each route names the API route whose
authorization it takes (:func:`s3api.console.blueprint.page`)."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlsplit

import marshmallow as ma
from flask import Response, current_app, g, jsonify, redirect, render_template, request, url_for

from s3api import audit, auth, runtime
from s3api.api import PATH_VALUES
from s3api.console import charts
from s3api.console import session as sessions
from s3api.console.blueprint import bp, page
from s3api.control import isolation, lifecycle, links, plans, quotas, tenants, usage
from s3api.db.operations import STATUSES, record
from s3api.errors import ApiError, BadRequest, Forbidden, NotFound
from s3api.jobs.operations import start
from s3api.names import GROUP_KINDS
from s3api.provisioning import objects, users, websites
from s3api.schemas.audit import AuditQuerySchema
from s3api.schemas.buckets import BucketCreateSchema
from s3api.schemas.keys import KeyCreateSchema
from s3api.schemas.links import LinkQuerySchema
from s3api.schemas.objects import BatchDeleteSchema, ObjectListQuery, UploadListQuery
from s3api.schemas.operations import OperationQuerySchema
from s3api.schemas.orders import TenantDeleteSchema
from s3api.schemas.tenants import ORDERS as TENANT_ORDERS
from s3api.schemas.tenants import STATUSES as TENANT_STATUSES
from s3api.schemas.tenants import (
    STORAGE_TYPES,
    TenantCreateSchema,
    TenantKeyStatusSchema,
    TenantPatchSchema,
    TenantQuerySchema,
    TenantRotateSchema,
)
from s3api.schemas.usage import HistoryQuery, TenantHistoryQuery
from s3api.schemas.users import KeyStatusSchema, RotateQuerySchema, UserCreateSchema
from s3api.schemas.websites import InvalidationRequestSchema, WebsiteCreateSchema
from s3api.views.operations import starter

#: seconds an upload or download link made by the console lives
LINK_SECONDS = 300
PAGE_SIZE = 50
#: a whole number as typed in a form (:func:`integer`)
INTEGER = re.compile(r"[+-]?[0-9]{1,30}")


# --- helpers ----------------------------------------------------------------------------------------------------


def load(schema: ma.Schema, data: Any) -> Any:
    """``schema.load(data)``, a refusal as our 400 naming the fields (the API's rules, the API's messages)."""
    try:
        return schema.load(data)
    except ma.ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"form": exc.messages}
        first = _first_message(messages)
        raise BadRequest(first or "invalid input", errors={"form": messages}) from None


def _first_message(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        for v in value:
            if (m := _first_message(v)) is not None:
                return m
    if isinstance(value, dict):
        for k, v in value.items():
            if (m := _first_message(v)) is not None:
                return f"{k}: {m}" if not m.startswith(str(k)) else m
    return None


def path_value(name: str, value: str) -> str:
    """A path value checked as the API's converter checks it (400 with its message)."""
    try:
        PATH_VALUES.fields[name].deserialize(value)
    except ma.ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, list) else [str(exc.messages)]
        raise BadRequest(f"{name}: {messages[0]}", errors={"path": {name: messages}}) from None
    return value


def form(name: str, *, required: bool = True, default: str = "") -> str:
    value = request.form.get(name, default)
    if required and not value.strip():
        raise BadRequest(f"{name} is required", errors={"form": {name: ["required"]}})
    return value.strip()


def show(template: str, http_status: int = 200, **context: Any) -> Response:
    caller = g.get("caller")
    accounts = isolation.account_names(runtime.current(), caller)
    html = render_template(
        f"console/{template}", caller=caller, accounts=accounts, account=context.pop("account", None),
        notice=request.args.get("notice"), **context,
    )  # fmt: skip
    return Response(html, status=http_status, mimetype="text/html")


def see(endpoint: str, notice: str | None = None, **values: Any) -> Response:
    """303 to a page (Post/Redirect/Get), with a short notice (never a secret)."""
    if notice:
        values["notice"] = notice
    return redirect(url_for(endpoint, **values), 303)  # type: ignore[return-value]


def aws_of(account: str) -> Any:
    return runtime.aws(path_value("account", account))


def default_account() -> str:
    """The first account the caller sees (a tenant key: its own)."""
    accounts = isolation.account_names(runtime.current(), g.get("caller"))
    if not accounts:
        raise NotFound("no account to show")
    return accounts[0]


def _safe_next(target: str | None) -> str:
    """Only a path of the console: never an absolute URL (open redirect)."""
    if not target:
        return url_for("console.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console") or target.startswith("//"):
        return url_for("console.home")
    return target


# --- sign in / out ----------------------------------------------------------------------------------------------


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Response:
    """Sign in with an API key or a configured token; the form has a double-submit CSRF token of its own."""
    pre = request.cookies.get(sessions.PRE_COOKIE) or ""
    if request.method == "POST":
        if not pre or not sessions.csrf_ok(pre):
            raise Forbidden("the sign-in form expired (CSRF token missing or wrong): reload the page and try again")
        credential = request.form.get("credential", "").strip()
        if not credential or len(credential) > sessions.MAX_CREDENTIAL:
            return _sign_in_page(pre, "Enter an API key or a token.", 400)
        caller = runtime.current().checker.caller(credential)
        if caller is None:
            return _sign_in_page(pre, "That key or token is not valid (wrong, expired or revoked).", 403)
        value, _ = sessions.new_cookie(current_app, credential)
        g.caller = caller
        response = redirect(_safe_next(request.form.get("next")), 303)
        sessions.set_cookie(response, value)
        response.delete_cookie(sessions.PRE_COOKIE, path=sessions.PATH)
        return response  # type: ignore[return-value]
    fresh = secrets.token_urlsafe(32)
    response = _sign_in_page(fresh, None, 200)
    sessions.set_cookie(response, fresh, max_age=sessions.PRE_LIFETIME, name=sessions.PRE_COOKIE)
    return response


def _sign_in_page(csrf: str, error: str | None, status: int) -> Response:
    html = render_template(
        "console/sign_in.html", pre_csrf=csrf, error=error, next=request.values.get("next", ""),
        caller=None, accounts=[], account=None, notice=None, request_id=g.get("request_id"),
    )  # fmt: skip
    return Response(html, status=status, mimetype="text/html")


@page("/sign-out", "keys.Whoami", methods=("POST",), api_method="GET")
def sign_out() -> Response:
    response = redirect(url_for("console.sign_in"), 303)
    sessions.clear_cookie(response)  # type: ignore[arg-type]
    return response  # type: ignore[return-value]


@page("/", "keys.Whoami")
def home() -> Response:
    """The buckets; a tenant key whose tenant is not active (suspended, awaiting payment...) reaches only its
    tenant's page, so it lands there."""
    caller = g.get("caller")
    tenant = isolation.tenant_of(caller)
    if tenant is not None and getattr(caller, "status", None) not in auth.ACTIVE_STATUSES:
        return see("console.tenant", tenant=tenant)
    return see("console.buckets", account=default_account())


# --- buckets ----------------------------------------------------------------------------------------------------


@page("/<account>/buckets", "buckets.Buckets", endpoint="buckets")
def buckets_page(account: str) -> Response:
    """The account's buckets (one ListBuckets); each row's usage loads after the page (htmx), one bucket at a time,
    so a long list answers at once."""
    names = isolation.bucket_names(runtime.current(), g.get("caller"), path_value("account", account))
    return show("buckets.html", account=account, names=names, lifecycles=_lifecycles())


@page("/<account>/buckets/<bucket>/usage", "objects.Usage")
def bucket_usage(account: str, bucket: str) -> Response:
    """One row's usage cells (a fragment), with a quota bar when the bucket has a quota of its own (measured
    against this count; one database read); a bucket that is not ours (the access-log bucket) says so."""
    aws = aws_of(account)
    path_value("bucket", bucket)
    try:
        usage = objects.usage(aws, bucket)
    except (NotFound, Forbidden) as exc:
        return show("usage_cells.html", account=account, bucket=bucket, usage=None, why=exc.message)
    quota = quotas.bucket_quota_bytes(quotas.env(runtime.current()), account, bucket)
    return show("usage_cells.html", account=account, bucket=bucket, usage=usage, why=None, quota_bytes=quota)


@page("/<account>/buckets/<bucket>/usage/history", "objects.UsageHistory")
def bucket_history(account: str, bucket: str) -> Response:
    """The bucket's usage over time (:func:`usage.history`, default the last 30 days) as an inline SVG chart, with
    its quota bar and standing alerts when it has a quota (:func:`quotas.bucket_status`; 404 there: no bar). A
    fragment for htmx (the bucket page loads it), a page of its own otherwise."""
    rt = runtime.current()
    aws = aws_of(account)
    path_value("bucket", bucket)
    query = load(HistoryQuery(), _range())
    fragment = bool(request.headers.get("HX-Request"))
    try:
        found = usage.history(aws, rt.usage, bucket, query["start"], query["end"])
    except (NotFound, Forbidden) as exc:
        if not fragment:
            raise
        return show("usage_none.html", account=account, bucket=bucket, why=exc.message)  # the page stands
    try:
        quota: dict[str, Any] | None = quotas.bucket_status(aws, quotas.env(rt), bucket)
    except NotFound:
        quota = None
    return show(
        "usage_panel.html" if fragment else "usage_page.html", account=account, bucket=bucket, history=found,
        chart=charts.usage_chart(found["Samples"], "Day"), label="Day", quota=quota, range=_range(),
    )  # fmt: skip


def _range() -> dict[str, str]:
    return {k: request.args[k] for k in ("from", "to") if request.args.get(k)}


def _lifecycles() -> list[str]:
    from s3api.schemas.buckets import LIFECYCLES

    return sorted(LIFECYCLES)


@page("/<account>/buckets", "buckets.Buckets", methods=("POST",))
def bucket_create(account: str) -> Response:
    path_value("account", account)
    data: dict[str, Any] = {"BucketInput": {"Bucket": form("bucket")}}
    if request.form.get("lifecycle"):
        data["Lifecycle"] = request.form["lifecycle"]
    body = load(BucketCreateSchema(), data)
    name = body["BucketInput"]["Bucket"]
    isolation.create_bucket(runtime.current(), g.get("caller"), account, body)
    return see("console.bucket", account=account, bucket=name, notice=f"Bucket {name} created.")


@page("/<account>/buckets/<bucket>/delete", "buckets.Bucket", methods=("POST",), api_method="DELETE")
def bucket_delete(account: str, bucket: str) -> Response:
    aws = aws_of(account)
    path_value("bucket", bucket)
    if request.form.get("confirm") != bucket:
        raise BadRequest("type the bucket's name to confirm", errors={"form": {"confirm": ["must be the bucket name"]}})
    if checked("force"):
        op, _ = start(runtime.current(), "bucket.delete", aws, {"Bucket": bucket}, starter(), if_busy="queue")
        return see("console.operation", operation_id=op.id, notice=f"Deleting {bucket} and all it holds.")
    links.delete_bucket(runtime.current().db, aws, bucket)  # as the API: the bucket, then its share-link signers
    return see("console.buckets", account=account, notice=f"Bucket {bucket} deleted.")


# --- objects ----------------------------------------------------------------------------------------------------


@page("/<account>/buckets/<bucket>", "objects.Objects")
def bucket(account: str, bucket: str) -> Response:
    aws = aws_of(account)
    path_value("bucket", bucket)
    query: dict[str, Any] = {"prefix": request.args.get("prefix", ""), "delimiter": "/", "max_keys": PAGE_SIZE}
    if request.args.get("search"):  # a search looks at every key under the prefix, not one folder level
        query["search"] = request.args["search"]
        del query["delimiter"]
    if request.args.get("token"):
        query["continuation_token"] = request.args["token"]
    q = load(ObjectListQuery(), query)
    listing = objects.list_objects(
        aws, bucket, prefix=q["prefix"], delimiter=q["delimiter"], max_keys=q["max_keys"],
        token=q["continuation_token"], search=q["search"],
    )  # fmt: skip
    template = "objects_table.html" if request.headers.get("HX-Request") else "bucket.html"
    prefix = q["prefix"]
    crumbs = []
    if prefix:
        parts = prefix.rstrip("/").split("/")
        for i in range(len(parts)):
            crumbs.append({"Name": parts[i], "Prefix": "/".join(parts[: i + 1]) + "/"})
    return show(
        template, account=account, bucket=bucket, listing=listing, prefix=prefix, search=q["search"] or "",
        crumbs=crumbs,
    )  # fmt: skip


@page("/<account>/buckets/<bucket>/upload-link", "objects.Presign", methods=("POST",))
def upload_link(account: str, bucket: str) -> Response:
    """A presigned PUT for the browser to upload one file straight to S3 (JSON: ``Url``)."""
    aws = aws_of(account)
    path_value("bucket", bucket)
    key = form("key")
    link = objects.presign(aws, bucket, key, "PUT", LINK_SECONDS)
    return jsonify({"Url": link["Url"], "Key": key})


@page("/<account>/buckets/<bucket>/download", "objects.Presign", methods=("POST",))
def download(account: str, bucket: str) -> Response:
    """303 to a presigned GET of the object (the link is made for this click and lives a few minutes)."""
    aws = aws_of(account)
    path_value("bucket", bucket)
    link = objects.presign(aws, bucket, form("key"), "GET", LINK_SECONDS)
    return redirect(link["Url"], 303)  # type: ignore[return-value]


@page("/<account>/buckets/<bucket>/objects/delete", "objects.ObjectsDelete", methods=("POST",))
def objects_delete(account: str, bucket: str) -> Response:
    aws = aws_of(account)
    path_value("bucket", bucket)
    keys = request.form.getlist("keys")
    if not keys:
        raise BadRequest("choose at least one object to delete", errors={"form": {"keys": ["none chosen"]}})
    body = load(BatchDeleteSchema(), {"Keys": keys})
    result = objects.delete_keys(aws, bucket, body["Keys"])
    notice = f"Deleted {len(result['Deleted'])} object(s)."
    if result["Errors"]:
        notice += f" {len(result['Errors'])} could not be deleted: {result['Errors'][0]['Message']}"
    return see("console.bucket", account=account, bucket=bucket, prefix=request.form.get("prefix", ""), notice=notice)


# --- incomplete uploads -----------------------------------------------------------------------------------------


@page("/<account>/buckets/<bucket>/uploads", "objects.Uploads")
def uploads(account: str, bucket: str) -> Response:
    aws = aws_of(account)
    path_value("bucket", bucket)
    q = load(UploadListQuery(), {"continuation_token": request.args["token"]} if request.args.get("token") else {})
    listing = objects.list_uploads(aws, bucket, prefix="", max_uploads=50, token=q["continuation_token"])
    return show("uploads.html", account=account, bucket=bucket, listing=listing)


@page("/<account>/buckets/<bucket>/uploads/abort", "objects.Upload", methods=("POST",), api_method="DELETE")
def upload_abort(account: str, bucket: str) -> Response:
    aws = aws_of(account)
    path_value("bucket", bucket)
    objects.abort_upload(aws, bucket, form("key"), form("upload_id"))
    return see("console.uploads", account=account, bucket=bucket, notice="Upload aborted.")


# --- bucket users and their keys ----------------------------------------------------------------------------------


@page("/<account>/buckets/<bucket>/users", "users.BucketUsers")
def bucket_users(account: str, bucket: str) -> Response:
    aws = aws_of(account)
    path_value("bucket", bucket)
    found = users.list_bucket_users(aws, bucket)
    return show("users.html", account=account, bucket=bucket, users=found, kinds=GROUP_KINDS)


@page("/<account>/buckets/<bucket>/users", "users.BucketUsers", methods=("POST",))
def user_create(account: str, bucket: str) -> Response:
    """Create a user; the answer is the page showing its secret once (with a copy button)."""
    aws = aws_of(account)
    path_value("bucket", bucket)
    groups = request.form.getlist("groups") or ["BktAdmGrp"]
    body = load(UserCreateSchema(), {"User": {"UserName": form("user_name")}, "Groups": groups})
    user = body["User"]
    new = users.NewUser(name=user["UserName"], path=user["Path"], tags=user["Tags"])
    created = users.create_bucket_user(aws, bucket, new, body["Groups"])
    response = show("secret.html", account=account, bucket=bucket, user=user["UserName"], key=created["AccessKey"])
    response.headers["Cache-Control"] = "no-store"
    return response


@page("/<account>/buckets/<bucket>/users/<user>", "users.BucketUser")
def bucket_user(account: str, bucket: str, user: str) -> Response:
    aws = aws_of(account)
    path_value("bucket", bucket)
    path_value("user", user)
    detail = users.show_bucket_user(aws, bucket, user)
    return show("user.html", account=account, bucket=bucket, user=user, detail=detail)


@page("/<account>/buckets/<bucket>/users/<user>/rotate", "users.BucketUser", methods=("POST",), api_method="PUT")
def user_rotate(account: str, bucket: str, user: str) -> Response:
    aws = aws_of(account)
    path_value("bucket", bucket)
    path_value("user", user)
    query = load(RotateQuerySchema(), {"grace_seconds": request.form.get("grace_seconds") or "0"})
    rotated = users.rotate_bucket_user_keys(aws, bucket, user, grace_seconds=query["grace_seconds"])
    response = show("secret.html", account=account, bucket=bucket, user=user, key=rotated["AccessKey"], rotated=rotated)
    response.headers["Cache-Control"] = "no-store"
    return response


@page(
    "/<account>/buckets/<bucket>/users/<user>/keys/<key_id>", "users.BucketUserKey", methods=("POST",),
    api_method="PATCH",
)  # fmt: skip
def user_key_status(account: str, bucket: str, user: str, key_id: str) -> Response:
    aws = aws_of(account)
    path_value("bucket", bucket)
    path_value("user", user)
    body = load(KeyStatusSchema(), {"Status": request.form.get("status", "")})
    users.set_bucket_user_key_status(aws, bucket, user, key_id, body["Status"])
    return see("console.bucket_user", account=account, bucket=bucket, user=user, notice=f"Key {body['Status']}.")


@page("/<account>/buckets/<bucket>/users/<user>/delete", "users.BucketUser", methods=("POST",), api_method="DELETE")
def user_delete(account: str, bucket: str, user: str) -> Response:
    aws = aws_of(account)
    path_value("bucket", bucket)
    path_value("user", user)
    users.delete_bucket_user(aws, bucket, user)
    return see("console.bucket_users", account=account, bucket=bucket, notice=f"User {user} deleted.")


# --- tenants, plans, orders (admin; readers see) ---------------------------------------------------------------

TENANT_FILTERS = (
    "tenant", "email", "client_id", "billing", "plan", "status", "storage_type", "location", "account", "bucket",
    "order_by",
)  # fmt: skip


@page("/tenants", "tenants.Tenants", endpoint="tenants")
def tenants_page() -> Response:
    """``GET /v1/s3/tenants`` with its filters and ``order_by`` (creation date or this period's metering); for an
    admin the "New tenant" form (the free plans it may use, the configured locations)."""
    rt = runtime.current()
    given = {k: request.args[k] for k in TENANT_FILTERS if request.args.get(k)}
    query = load(TenantQuerySchema(), {**given, "page_size": PAGE_SIZE, **_token()})
    found = tenants.list_tenants(rt, query)
    caller = g.get("caller")
    free = [p for p in plans.visible(rt, caller) if p.active and p.is_free] if is_admin() else []
    return show(
        "tenants.html", page=found, filters=given, statuses=TENANT_STATUSES, storage_types=STORAGE_TYPES,
        orders=TENANT_ORDERS, order_by=query["order_by"], free_plans=free,
        locations=sorted(plans.locations(rt.settings)), default_location=default_location(),
    )  # fmt: skip


def is_admin() -> bool:
    return getattr(g.get("caller"), "role", None) == "admin"


def checked(name: str) -> bool:
    """A form's checkbox (browsers send ``on``)."""
    return request.form.get(name) == "on"


def default_location() -> str:
    """The location of the first configured account by name (the embedded default's: ``local``)."""
    accounts = sorted(runtime.current().settings.accounts.values(), key=lambda a: a.name)
    return accounts[0].location_code if accounts else ""


@page("/tenants", "tenants.Tenants", methods=("POST",))
def tenant_create() -> Response:
    """``POST /v1/s3/tenants``: a tenant on a free plan, made by the operation ``tenant.create``; 303 to that
    operation's page, which hands over its secrets once (never in this answer or its URL)."""
    data: dict[str, Any] = {
        "Plan": form("plan"), "Location": form("location"), "Email": form("email"),
        "Bucket": form("first_bucket"), "Tester": checked("tester"),
    }  # fmt: skip
    for field, name in (("ClientId", "client_id"), ("Billing", "billing")):
        if value := form(name, required=False):
            data[field] = value
    body = load(TenantCreateSchema(), data)
    op = tenants.create(runtime.current(), starter(), body)
    notice = f"Creating the tenant with bucket {body['Bucket']}: its secrets are shown here once, when it is done."
    return see("console.operation", operation_id=op.id, notice=notice)


@page("/tenants/<tenant>", "tenants.Tenant")
def tenant(tenant: str) -> Response:
    """One tenant as ``GET /v1/s3/tenants/{id}``: plan, status, service dates, buckets, its access keys, quota and
    alerts; the admin's forms (edit, credentials: rotate, reveal, keys on/off; suspend/resume, schedule deletion
    with a reason, cancel it)."""
    rt = runtime.current()
    caller = g.get("caller")
    shown = tenants.get(rt, caller, tenant)
    choices = _plan_choices(shown) if is_admin() else []
    return show("tenant.html", tenant=tenant, t=shown, quota=shown.get("Usage"), plan_choices=choices)


def _plan_choices(shown: dict[str, Any]) -> list[str]:
    """The plans the edit form offers: active ones sold in the tenant's location (test plans for a tester), and
    its own. The service checks the choice again (:func:`s3api.control.tenants.patch`)."""
    offered = {
        p.name
        for p in plans.visible(runtime.current(), g.get("caller"))
        if p.active and p.sold_in(shown["Location"]) and (shown["Tester"] or not p.test_only)
    }
    return sorted(offered | {shown["Plan"]})


@page("/tenants/<tenant>/edit", "tenants.Tenant", methods=("POST",), api_method="PATCH")
def tenant_edit(tenant: str) -> Response:
    """``PATCH /v1/s3/tenants/{id}`` with the fields the form changed (plan, email, client id, billing; an emptied
    client id or billing is cleared); nothing changed: nothing is sent."""
    rt = runtime.current()
    row = tenants.get_row(rt, g.get("caller"), tenant)  # what the form changes is decided against the row
    data: dict[str, Any] = {}
    if (plan_name := form("plan", required=False)) and plan_name != row.plan:
        data["Plan"] = plan_name
    if "email" in request.form and form("email", required=False) != row.email:
        data["Email"] = form("email", required=False)
    for field, name, current in (("ClientId", "client_id", row.client_id), ("Billing", "billing", row.billing)):
        if name in request.form and (form(name, required=False) or None) != current:
            data[field] = form(name, required=False) or None
    if not data:
        return see("console.tenant", tenant=tenant, notice="Nothing changed.")
    body = load(TenantPatchSchema(), data)
    tenants.patch(rt, g.get("caller"), tenant, body)
    return see("console.tenant", tenant=tenant, notice=f"Tenant changed: {', '.join(body)}.")


@page("/tenants/<tenant>/credentials/rotate", "tenants.TenantRotate", methods=("POST",))
def tenant_rotate(tenant: str) -> Response:
    """A new S3 access key for the tenant; the answer is the page showing its secret once. The old key works
    ``grace_seconds`` more (0: deleted at once)."""
    body = load(TenantRotateSchema(), {"GraceSeconds": integer(request.form.get("grace_seconds", "").strip() or "0")})
    rotated = tenants.rotate(runtime.current(), tenant, body["GraceSeconds"])
    return _secret_page(tenant, rotated, rotated=True)


@page("/tenants/<tenant>/credentials/reveal", "tenants.TenantReveal", methods=("POST",))
def tenant_reveal(tenant: str) -> Response:
    """The tenant's current S3 secret again (kept sealed only with ``secret_keys`` configured; else the service's
    409, shown as our error); the answer is the page showing it, audited as a secret read."""
    return _secret_page(tenant, tenants.reveal(runtime.current(), tenant), rotated=False)


def _secret_page(tenant: str, key: dict[str, Any], *, rotated: bool) -> Response:
    response = show("tenant_secret.html", tenant=tenant, key=key, rotated=rotated)
    response.headers["Cache-Control"] = "no-store"
    return response


def integer(text: str) -> Any:
    """A form's whole number as an int for a strict schema field; other text as typed (the schema refuses it with
    its own message, and checks the range)."""
    text = text.strip()
    return int(text) if INTEGER.fullmatch(text) else text


@page(
    "/tenants/<tenant>/credentials/<key_id>", "tenants.TenantKey", methods=("POST",), api_method="PATCH",
    endpoint="tenant_key_status",
)  # fmt: skip
def tenant_key_status(tenant: str, key_id: str) -> Response:
    """Switch one of the tenant's S3 access keys off (Inactive) or on (Active); the key is kept."""
    body = load(TenantKeyStatusSchema(), {"Status": request.form.get("status", "")})
    tenants.set_key_status(runtime.current(), tenant, key_id, body["Status"])
    done = "switched on" if body["Status"] == "Active" else "switched off"
    return see("console.tenant", tenant=tenant, notice=f"Access key {key_id} {done}.")


@page("/tenants/<tenant>/suspend", "tenants.TenantSuspend", methods=("POST",))
def tenant_suspend(tenant: str) -> Response:
    tenants.suspend(runtime.current(), tenant)
    return see("console.tenant", tenant=tenant, notice="Tenant suspended: its data is kept, access denied.")


@page("/tenants/<tenant>/resume", "tenants.TenantResume", methods=("POST",))
def tenant_resume(tenant: str) -> Response:
    tenants.resume(runtime.current(), tenant)
    return see("console.tenant", tenant=tenant, notice="Tenant resumed.")


@page("/tenants/<tenant>/delete", "orders.TenantDeletion", methods=("POST",), api_method="DELETE")
def tenant_delete(tenant: str) -> Response:
    """The DELETE tenant route with a Reason: a paid tenant's deletion is scheduled for the end of its paid period
    (unless Immediate), a free one is terminated now (its operation's page)."""
    data: dict[str, Any] = {"Reason": form("reason")}
    if checked("immediate"):
        data["Immediate"] = True
    body = load(TenantDeleteSchema(), data)
    if request.form.get("confirm") != tenant:
        raise BadRequest("type the tenant's id to confirm", errors={"form": {"confirm": ["must be the tenant id"]}})
    shown, op = lifecycle.delete(runtime.current(), starter(), tenant, body["Reason"], immediate=body["Immediate"])
    if op is not None:
        return see("console.operation", operation_id=op.id, notice=f"Terminating tenant {tenant}.")
    when = shown.get("CancelAt") or ""
    return see("console.tenant", tenant=tenant, notice=f"Deletion scheduled for {when}.".replace(" for .", "."))


@page("/tenants/<tenant>/cancel-deletion", "orders.TenantCancelDeletion", methods=("POST",))
def tenant_cancel_deletion(tenant: str) -> Response:
    event = audit.in_transaction(303)
    lifecycle.cancel_deletion(runtime.current(), tenant, [lambda s, _row: event(s, "cancel-deletion")])
    return see("console.tenant", tenant=tenant, notice="Deletion canceled.")


# --- a tenant's usage ---------------------------------------------------------------------------------------------


@page("/usage", "keys.Whoami", endpoint="my_usage")
def my_usage() -> Response:
    """A tenant key's own usage page (its navigation entry); no tenant: nothing to show."""
    tenant = isolation.tenant_of(g.get("caller"))
    if tenant is None:
        raise NotFound("only a tenant key has a usage page of its own: see Tenants")
    return see("console.tenant_usage", tenant=tenant)


@page("/tenants/<tenant>/usage", "tenants.TenantUsage")
def tenant_usage(tenant: str) -> Response:
    """A tenant's usage over time (:func:`usage.tenant_history` per day or month) as an inline SVG chart, its
    quota bar and standing alerts (:func:`quotas.tenant_status`, from the tenant's answer)."""
    rt = runtime.current()
    caller = g.get("caller")
    query = load(TenantHistoryQuery(), {**_range(), **_granularity()})
    found = tenants.usage_history(rt, caller, tenant, query)
    row = tenants.get_row(rt, caller, tenant)
    plan_quota = tenants.shape(rt, row, detail=False)["Quota"]["QuotaBytes"]  # the row's fields: no AWS call
    quota = quotas.tenant_status(quotas.env(rt), row.id, plan_quota)
    return show(
        "tenant_usage.html", tenant=tenant, row=row, history=found, quota=quota, range=_range(),
        granularity=query["granularity"], chart=charts.usage_chart(found["Series"], "Period"), label="Period",
    )  # fmt: skip


def _granularity() -> dict[str, str]:
    return {"granularity": request.args["granularity"]} if request.args.get("granularity") else {}


# --- share links --------------------------------------------------------------------------------------------------

LINK_FILTERS = ("active", "share", "key_prefix")


@page("/<account>/buckets/<bucket>/links", "links.Links")
def share_links(account: str, bucket: str) -> Response:
    """The bucket's presigned links, newest first, with the API's filters (active, share, key prefix) and pages."""
    aws = aws_of(account)
    path_value("bucket", bucket)
    given = {k: request.args[k] for k in LINK_FILTERS if request.args.get(k)}
    query = load(LinkQuerySchema(), {**given, "page_size": PAGE_SIZE, **_token()})
    found = links.list_links(runtime.current().db, aws, bucket, **query)
    return show("links.html", account=account, bucket=bucket, page=found, filters=given)


def _token() -> dict[str, str]:
    return {"page_token": request.args["token"]} if request.args.get("token") else {}


def _revoked_note(answer: dict[str, Any]) -> str:
    audit.note({"Revoked": [link["Id"] for link in answer["Revoked"]][:200], "Count": answer["Count"]})
    return f"{answer['Count']} link(s) stopped working." if answer["Count"] else "Nothing more stopped working."


@page(
    "/<account>/buckets/<bucket>/links/<link_id>/revoke", "links.LinkRevoke", methods=("POST",),
    endpoint="link_revoke",
)  # fmt: skip
def link_revoke(account: str, bucket: str, link_id: str) -> Response:
    """Revoke a link: its signer key goes, so every link that key signed stops (the notice says how many)."""
    aws = aws_of(account)
    path_value("bucket", bucket)
    answer = links.revoke_link(runtime.current().db, aws, bucket, link_id)
    return see("console.share_links", account=account, bucket=bucket, notice=f"Link revoked. {_revoked_note(answer)}")


@page("/<account>/buckets/<bucket>/shares/<share>/revoke", "links.ShareRevoke", methods=("POST",))
def share_revoke(account: str, bucket: str, share: str) -> Response:
    aws = aws_of(account)
    path_value("bucket", bucket)
    load(LinkQuerySchema(), {"share": share})  # the share's name rule (400 with its message)
    answer = links.revoke_share(runtime.current().db, aws, bucket, share)
    notice = f"Share {share} revoked. {_revoked_note(answer)}"
    return see("console.share_links", account=account, bucket=bucket, notice=notice)


# --- websites ---------------------------------------------------------------------------------------------------


@page("/<account>/websites", "buckets.Buckets", endpoint="websites")
def websites_page(account: str) -> Response:
    """Websites are the buckets with a distribution; the list is the account's buckets whose website shows."""
    aws = aws_of(account)
    sites = []
    for name in isolation.bucket_names(runtime.current(), g.get("caller"), account):
        if "." not in name:
            continue
        try:
            shown = websites.show(aws, name)
        except ApiError:  # not a website of ours
            continue
        sites.append({"Name": name, "Status": shown.get("Status")})
    return show("websites.html", account=account, sites=sites)


@page("/<account>/websites", "websites.Websites", methods=("POST",))
def website_create(account: str) -> Response:
    aws = aws_of(account)
    data: dict[str, Any] = {"BucketInput": {"Bucket": form("host_name")}}
    index = request.form.get("index_document", "").strip()
    if index:
        data["WebsiteConfiguration"] = {"IndexDocument": {"Suffix": index}}
    body = load(WebsiteCreateSchema(), data)
    name = body["BucketInput"]["Bucket"]
    websites.create(aws, name, body["Tags"], body["WebsiteConfiguration"])
    return see("console.website", account=account, website=name, notice=f"Website {name} created.")


@page("/<account>/websites/<website>", "websites.Website")
def website(account: str, website: str) -> Response:
    aws = aws_of(account)
    path_value("website", website)
    shown = websites.show(aws, website)
    template = "website_status.html" if request.headers.get("HX-Request") else "website.html"
    return show(template, account=account, website=website, site=shown)


@page("/<account>/websites/<website>/invalidate", "websites.Website", methods=("POST",), api_method="PATCH")
def website_invalidate(account: str, website: str) -> Response:
    aws = aws_of(account)
    path_value("website", website)
    paths = [p.strip() for p in form("paths").split() if p.strip()]
    body = load(InvalidationRequestSchema(), {"CacheInvalidation": paths})
    websites.invalidate(aws, website, body["CacheInvalidation"])
    return see("console.website", account=account, website=website, notice="Invalidation requested.")


@page("/<account>/websites/<website>/delete", "websites.Website", methods=("POST",), api_method="DELETE")
def website_delete(account: str, website: str) -> Response:
    aws = aws_of(account)
    path_value("website", website)
    if request.form.get("confirm") != website:
        raise BadRequest("type the website's name to confirm", errors={"form": {"confirm": ["must be the name"]}})
    op, _ = start(runtime.current(), "website.delete", aws, {"Website": website}, starter(), if_busy="queue")
    return see("console.operation", operation_id=op.id, notice=f"Deleting website {website}.")


# --- operations -------------------------------------------------------------------------------------------------


@page("/operations", "operations.Operations")
def operations() -> Response:
    status = request.args.get("status") or None
    if status is not None:
        load(OperationQuerySchema(), {"status": status})
    token = request.args.get("token") or None
    found = isolation.list_operations(
        runtime.current(), g.get("caller"), {"status": status, "page_size": PAGE_SIZE, "page_token": token}
    )
    return show("operations.html", page=found, status=status or "", statuses=STATUSES)


@page("/operations/<operation_id>", "operations.OperationView")
def operation(operation_id: str) -> Response:
    """An operation's status (the htmx fragment polls it every second until Done). A succeeded ``tenant.create``
    seen by an admin hands over the new tenant's secrets once, as the API's GET does
    (:func:`s3api.control.tenants.take_handover`): in this answer only, page or fragment, whichever takes them."""
    rt = runtime.current()
    op = rt.operations.get(operation_id)
    shown = tenants.take_handover(rt, op, g.get("caller"), record(op))
    template = "operation_status.html" if request.headers.get("HX-Request") else "operation.html"
    response = show(template, op=shown)
    response.headers["Cache-Control"] = "no-store"
    return response


@page("/operations/<operation_id>/cancel", "operations.OperationCancel", methods=("POST",))
def operation_cancel(operation_id: str) -> Response:
    runtime.current().operations.request_cancel(operation_id)
    return see("console.operation", operation_id=operation_id, notice="Cancel requested.")


# --- API keys (admin) ---------------------------------------------------------------------------------------------


@page("/keys", "keys.Keys")
def keys() -> Response:
    found = runtime.keys().list(page_size=PAGE_SIZE, page_token=request.args.get("token") or None)
    return show("keys.html", page=found)


@page("/keys", "keys.Keys", methods=("POST",))
def key_create() -> Response:
    data: dict[str, Any] = {"Name": form("name"), "Role": form("role")}
    if request.form.get("expires_at"):
        data["ExpiresAt"] = request.form["expires_at"]
    body = load(KeyCreateSchema(), data)
    created = runtime.keys().create(
        body["Name"], body["Role"], body["Tenant"], body["ExpiresAt"], audit=audit.in_transaction(200)
    )
    response = show("key_created.html", created=created)
    response.headers["Cache-Control"] = "no-store"
    return response


@page("/keys/<key_id>/revoke", "keys.Key", methods=("POST",), api_method="DELETE")
def key_revoke(key_id: str) -> Response:
    runtime.keys().revoke(key_id, audit=audit.in_transaction(303))
    return see("console.keys", notice=f"Key {key_id} revoked.")


# --- audit trail --------------------------------------------------------------------------------------------------

AUDIT_FILTERS = ("caller", "tenant", "action", "resource", "outcome", "since", "until")


@page("/audit", "audit.Audit", endpoint="audit")
def audit_page() -> Response:
    given = {k: request.args[k] for k in AUDIT_FILTERS if request.args.get(k)}
    filters = load(AuditQuerySchema(), given)
    page_size, token = filters.pop("page_size", PAGE_SIZE), filters.pop("page_token", None)
    found = audit.trail().page(audit.Filters(**filters), min(page_size, PAGE_SIZE), request.args.get("token") or token)
    return show("audit.html", page=found, filters=given, fields=AUDIT_FILTERS)


@page("/<path:rest>", "keys.Whoami")
def not_found(rest: str) -> Response:
    """Any other path under /console: our 404 page (after sign-in, like every page)."""
    raise NotFound(f"no console page at /console/{rest}")
