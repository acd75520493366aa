"""The audit trail's one writer: every mutating request (and so every secret shown and presigned link issued)
writes exactly one event, from here.

:data:`ACTIONS` maps each mutating (endpoint, method) of the URL map to its action; a test walks the URL map
and proves every mutating rule has one. The ``after_request`` hook runs for answers and for errors alike
(Flask finalises an error handler's response the same way), so refusals (403 before any view, 400 bad input,
404) are events too, with the caller when authentication got that far.

- Database state (API keys): the view passes :func:`in_transaction` to the key store, which adds the event in
  the same transaction as the change; the hook then knows it was written and adds nothing. Such a route
  whose database is down answers 503 (its own state could not be written either).
- AWS workflows: the event is written **before** the work, once authentication and authorization passed, with
  outcome ``started`` (status 0); the same row takes the final status, outcome and detail when the request ends
  (:meth:`AuditLog.finish`). So a database that is down when the request arrives answers 503 before anything
  changes in AWS, and one that fails at the end leaves the event saying ``started``: it still records who
  began what, when, with which request id (the failure is logged and counted,
  ``s3api_audit_events_total{result="failed"}``); the request's answer stands. Refusals before a view runs
  (403) are written once, at the end. :func:`s3api.provisioning.steps.start_journal` collects the rollbacks of
  the request; the event says ``rolled_back`` and names the steps undone (and any undo that failed).
- A replayed answer (:mod:`s3api.idempotency`: the same ``Idempotency-Key`` and request again) is one event too,
  with outcome ``replayed`` and the replayed status: it may show a secret again, so it is audited like the first.
- The input summary keeps :data:`SAFE_FIELDS` only (names and sizes, never a secret, token, key or policy
  text); headers never. The reason comes from ``X-Reason``, a ``Reason`` field of the body (any mutating method), or a
  DELETE's ``?reason=``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from flask import Flask, Response, current_app, g, request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from s3api import metrics
from s3api.db.audit import AuditLog, Filters, new_event
from s3api.db.models import AuditEvent
from s3api.db.session import Database
from s3api.errors import DATABASE_RETRY_AFTER, ServiceUnavailable
from s3api.provisioning import periodic, steps

log = logging.getLogger("s3api.audit")

#: (endpoint, method) → action. Every mutating rule of the URL map is here (tests/api/test_audit.py).
ACTIONS: Mapping[tuple[str, str], str] = {
    ("keys.Keys", "POST"): "key.create",
    ("keys.Key", "DELETE"): "key.revoke",
    ("buckets.Buckets", "POST"): "bucket.create",
    ("buckets.Bucket", "PUT"): "bucket.update",
    ("buckets.Bucket", "DELETE"): "bucket.delete",
    ("users.BucketUsers", "POST"): "user.create",
    ("users.BucketUser", "PUT"): "user.rotate_keys",
    ("users.BucketUser", "DELETE"): "user.delete",
    ("users.BucketUserKey", "PATCH"): "user.key_status",
    ("objects.ObjectsDelete", "POST"): "objects.delete",
    ("objects.Object", "DELETE"): "object.delete",
    ("objects.UploadsAbort", "POST"): "uploads.abort",
    ("objects.Upload", "DELETE"): "upload.abort",
    ("objects.Presign", "POST"): "link.presign",
    ("objects.UsageRecount", "POST"): "bucket.recount",
    ("objects.BucketQuota", "PUT"): "bucket.quota.set",
    ("objects.BucketQuota", "DELETE"): "bucket.quota.delete",
    ("websites.Websites", "POST"): "website.create",
    ("websites.Website", "PUT"): "website.update",
    ("websites.Website", "PATCH"): "website.invalidate",
    ("websites.Website", "DELETE"): "website.delete",
    ("websites.WebsiteUsers", "POST"): "website_user.create",
    ("websites.WebsiteUser", "PUT"): "website_user.rotate_keys",
    ("websites.WebsiteUser", "DELETE"): "website_user.delete",
    ("websites.WebsiteUserKey", "PATCH"): "website_user.key_status",
    ("operations.OperationCancel", "POST"): "operation.cancel",
    # the console's forms (s3api/console/views.py): the same work, audited as coming from the console
    ("console.sign_in", "POST"): "console.sign_in",
    ("console.sign_out", "POST"): "console.sign_out",
    ("console.bucket_create", "POST"): "console.bucket.create",
    ("console.bucket_delete", "POST"): "console.bucket.delete",
    ("console.upload_link", "POST"): "console.link.upload",
    ("console.download", "POST"): "console.link.download",
    ("console.objects_delete", "POST"): "console.objects.delete",
    ("console.upload_abort", "POST"): "console.upload.abort",
    ("console.user_create", "POST"): "console.user.create",
    ("console.user_rotate", "POST"): "console.user.rotate_keys",
    ("console.user_key_status", "POST"): "console.user.key_status",
    ("console.user_delete", "POST"): "console.user.delete",
    ("console.website_create", "POST"): "console.website.create",
    ("console.website_invalidate", "POST"): "console.website.invalidate",
    ("console.website_delete", "POST"): "console.website.delete",
    ("console.operation_cancel", "POST"): "console.operation.cancel",
    ("console.key_create", "POST"): "console.key.create",
    ("console.key_revoke", "POST"): "console.key.revoke",
    ("console.link_revoke", "POST"): "console.link.revoke",
    ("console.share_revoke", "POST"): "console.share.revoke",
    ("console.tenant_suspend", "POST"): "console.tenant.suspend",
    ("console.tenant_resume", "POST"): "console.tenant.resume",
    ("console.tenant_delete", "POST"): "console.tenant.delete",
    ("console.tenant_cancel_deletion", "POST"): "console.tenant.cancel_deletion",
    ("console.tenant_create", "POST"): "console.tenant.create",
    ("console.tenant_edit", "POST"): "console.tenant.update",
    ("console.tenant_rotate", "POST"): "console.tenant.credentials_rotate",
    ("console.tenant_reveal", "POST"): "console.tenant.secret_reveal",
    ("console.tenant_key_status", "POST"): "console.tenant.key_status",
    # plans and orders (s3api/console/catalog.py)
    ("console.plan_create", "POST"): "console.plan.create",
    ("console.plan_edit", "POST"): "console.plan.update",
    ("console.plan_delete", "POST"): "console.plan.delete",
    ("console.order_create", "POST"): "console.order.create",
    ("console.order_paid", "POST"): "console.order.paid",
    ("console.order_failed", "POST"): "console.order.failed",
    ("plans.Plans", "POST"): "plan.create",
    ("plans.Plan", "PATCH"): "plan.update",
    ("plans.Plan", "DELETE"): "plan.delete",
    ("tenants.Tenants", "POST"): "tenant.create",
    ("tenants.Tenant", "PATCH"): "tenant.update",
    ("tenants.TenantRotate", "POST"): "tenant.credentials_rotate",
    ("tenants.TenantKey", "PATCH"): "tenant.key_status",
    ("tenants.TenantReveal", "POST"): "tenant.secret_reveal",
    ("tenants.TenantSuspend", "POST"): "tenant.suspend",
    ("tenants.TenantResume", "POST"): "tenant.resume",
    ("orders.Orders", "POST"): "order.create",
    ("orders.OrderPaid", "POST"): "order.paid",
    ("orders.OrderFailed", "POST"): "order.failed",
    ("orders.TenantDeletion", "DELETE"): "tenant.delete",
    ("orders.TenantCancelDeletion", "POST"): "tenant.cancel_deletion",
    ("links.LinkRevoke", "POST"): "link.revoke",
    ("links.LinkReissue", "POST"): "link.reissue",
    ("links.ShareRevoke", "POST"): "share.revoke",
}
#: where a route that starts an operation points its ``Location``: the event carries the operation's id
OPERATIONS_PATH = "/v1/s3/operations/"
#: the same for a console form: its 303 to the operation's page (a notice may follow in the query)
CONSOLE_OPERATIONS_PATH = "/console/operations/"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: The action of a mutating request refused before it reached a route: a path value the converters refused
#: (400), or a path no rule matches (404, 405). Its resource is the path as sent.
UNROUTED = "request.refused"

#: input fields kept in the summary (at any depth); everything else is left out. Lists become their length.
SAFE_FIELDS = frozenset(
    {
        "BucketInput", "Bucket", "Tags", "Lifecycle", "User", "UserName", "Path", "Groups", "Keys",
        "OlderThanSeconds", "Key", "key", "Method", "ExpiresIn", "Name", "Role", "Tenant", "ExpiresAt",
        "WebsiteConfiguration", "IndexDocument", "ErrorDocument", "Suffix", "RedirectAllRequestsTo", "HostName",
        "Protocol", "RoutingRules", "CacheInvalidation", "grace_seconds", "UploadId", "Status",
        "Active", "TestOnly", "StorageType", "Locations", "QuotaBytes", "MaxBuckets", "BandwidthBytesPerMonth",
        "Plan", "Location", "Tester", "GraceSeconds", "Amount", "Currency", "Immediate",
        "Share",
    }
)  # fmt: skip
#: fields whose value is kept only as "set" (present), never its text: a policy document may carry anything
PRESENCE_ONLY = frozenset({"BucketPolicy"})
MAX_TEXT = 256
MAX_BODY = 1024 * 1024  # larger bodies (a 10,000-key batch delete) are not re-read for the summary
MAX_REASON = 512
_RULE_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_PRINTABLE = re.compile(r"[^\x20-\x7e]")


def summarise(value: Any, depth: int = 0) -> Any:
    """The safe part of an input: whitelisted fields of dicts (recursively), list lengths, short scalars."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k in SAFE_FIELDS and depth < 4:
                out[k] = summarise(v, depth + 1)
            elif k in PRESENCE_ONLY:
                out[k] = "set" if v else None
        return out
    if isinstance(value, list):
        return {"Count": len(value)}
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if isinstance(value, bool | int | float) or value is None:
        return value
    return None


def _body() -> Any:
    """The JSON body (Flask caches what the view parsed), or None: not JSON, too large, unreadable."""
    if request.content_length and request.content_length > MAX_BODY:
        return None
    try:
        return request.get_json(silent=True)
    except Exception:  # e.g. 413: the body was never read
        return None


def reason(body: Any) -> str | None:
    text = request.headers.get("X-Reason")
    if text is None and request.method in MUTATING and isinstance(body, dict) and isinstance(body.get("Reason"), str):
        text = body["Reason"]
    if text is None and request.method == "DELETE":
        text = request.args.get("reason")
    if not text:
        return None
    return _PRINTABLE.sub("?", text)[:MAX_REASON]


def resource() -> str:
    """The path under ``/v1/s3/`` with its values: ``local/buckets/alpha``; a create names what it creates."""
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    args = request.view_args or {}
    path = _RULE_ARG.sub(lambda m: str(args.get(m.group(1), m.group(1))), rule).removeprefix("/v1/s3/")
    return path.removeprefix("/console/")[:1400]  # a console form: its action says so (console.*)


#: the form fields naming what a console form creates (its JSON twin's BucketInput.Bucket, User.UserName, ...)
CONSOLE_CREATED = ("bucket", "host_name", "user_name")


def _created_name(body: Any) -> str | None:
    if not isinstance(body, dict):
        form = request.form if request.blueprint == "console" else {}
        return next((str(form[f])[:MAX_TEXT] for f in CONSOLE_CREATED if form.get(f)), None)
    for outer, inner in (("BucketInput", "Bucket"), ("User", "UserName")):
        value = body.get(outer)
        if isinstance(value, dict) and isinstance(value.get(inner), str):
            return str(value[inner])[:MAX_TEXT]
    return None


def _outcome(status: int, rollbacks: list[steps.Rollback]) -> str:
    if status < 400:
        return "ok"
    if rollbacks:
        return "rolled_back"
    return "refused" if status < 500 else "failed"


def _detail(rollbacks: list[steps.Rollback]) -> str | None:
    if not rollbacks:
        return None
    done = [
        {
            "Workflow": r.workflow,
            "Undone": [o.step for o in r.outcomes if o.ok],
            "UndoFailed": [{"Step": o.step, "Code": (o.error or "").split(":", 1)[0]} for o in r.outcomes if not o.ok],
        }
        for r in rollbacks
    ]
    return json.dumps({"RolledBack": done}, separators=(",", ":"))


def _action() -> str | None:
    """The current request's action: from :data:`ACTIONS`, :data:`UNROUTED` for a mutating request that no
    route took, None for a read."""
    action = ACTIONS.get((request.endpoint or "", request.method))
    if action is None and request.endpoint is None and request.method in MUTATING:
        return UNROUTED
    return action


def build(status: int, error_code: str | None, resource_name: str | None = None) -> AuditEvent:
    """The event of the current request (its action from :func:`_action`)."""
    action = _action() or ""
    caller = g.get("caller")
    body = _body()
    name = resource()
    if resource_name is not None and resource_name not in name.split("/")[1:]:  # named by its path already:
        name = f"{name}/{resource_name}"  # ``plans/pro``, a console form's ``plans/pro/edit``; a create: appended
    elif request.method == "POST" and (created := _created_name(body)) is not None:
        name = f"{name}/{created}"
    summary = {"Query": summarise(dict(request.args)) or None, "Body": summarise(body) if body is not None else None}
    rollbacks: list[steps.Rollback] = g.get("rollbacks") or []
    user_agent = request.headers.get("User-Agent")
    return new_event(
        caller_id=caller.id if caller else None,
        caller_name=caller.name if caller else None,
        role=caller.role if caller else None,
        tenant=caller.tenant if caller else None,
        source=(request.remote_addr or "")[:64] or None,
        user_agent=_PRINTABLE.sub("?", user_agent)[:256] if user_agent else None,
        action=action,
        resource=name[:1400],
        status=status,
        error_code=error_code,
        outcome="replayed" if g.get("idempotent_replay") else _outcome(status, rollbacks),
        request_id=g.get("request_id"),
        operation_id=None,
        reason=reason(body),
        input=json.dumps({k: v for k, v in summary.items() if v}, separators=(",", ":"), default=str),
        detail=_detail(rollbacks) or g.get("audit_detail"),
    )


def note(detail: Mapping[str, Any]) -> None:
    """What the current request did, kept in its event's detail (a link issued or revoked: ids, never a URL,
    signature or secret). The view calls it after its one call succeeded."""
    g.audit_detail = json.dumps(detail, separators=(",", ":"), default=str)[:8000]


def in_transaction(status: int) -> Callable[[Session, str], None]:
    """For a view whose change is database state: ``fn(session, resource_name)`` adds the event to the change's
    own transaction (the key store calls it inside its ``write()``); the hook then writes nothing more."""

    def add(session: Session, resource_name: str) -> None:
        event = build(status, None, resource_name)
        AuditLog.add(session, event)
        g.audit_pending = event

    return add


def init_start(app: Flask) -> None:
    """Register the hook that writes the ``started`` event of AWS work (see the module docstring). Call after
    ``auth.init_app``: it runs once the caller is authenticated and authorized. Routes whose own state is in the
    database (keys) write their event with that state instead (:func:`in_transaction`)."""
    trail: AuditLog = app.extensions["s3api.audit"]

    @app.before_request
    def _claim() -> None:
        g.audit_started = None
        action = ACTIONS.get((request.endpoint or "", request.method))
        if action is None or action.startswith(DATABASE_STATE):
            return
        event = build(0, None)
        event.outcome = "started"
        try:
            trail.write(event)
        except Exception as exc:
            _count(event, "failed")
            log.error("audit event not written: refused", extra={"action": action, "error": type(exc).__name__})
            raise ServiceUnavailable(
                "the audit trail cannot be written now; nothing was changed: retry later",
                retry_after=DATABASE_RETRY_AFTER,
            ) from exc
        g.audit_started = event


#: Actions whose change is database state: their event is written in the change's own transaction.
DATABASE_STATE = (
    "key.",
    "console.key.",
    "plan.",
    "console.plan.",
    "order.create",
    "order.failed",
    "console.order.create",
    "console.order.failed",
    "tenant.cancel_deletion",
    "console.tenant.cancel_deletion",
)


def _count(event: AuditEvent, result: str) -> None:
    metrics.AUDIT_EVENTS.labels(event.action, event.outcome, result).inc()


def init_app(app: Flask, db: Database) -> None:
    """Register the hooks. Call before ``auth.init_app``: the journal must start even for a request that
    authentication refuses."""
    trail = AuditLog(db)
    app.extensions["s3api.audit"] = trail

    @app.before_request
    def _start() -> None:
        g.rollbacks = steps.start_journal()
        g.audit_pending = None

    @app.after_request
    def _record(response: Response) -> Response:
        if _action() is None:
            return response
        pending: AuditEvent | None = g.get("audit_pending")
        if pending is not None and response.status_code < 400:
            _count(pending, "written")  # committed with the change it describes
            return response
        code = None
        if response.status_code >= 400 and response.is_json:
            payload = response.get_json(silent=True)
            code = payload.get("code") if isinstance(payload, dict) else None
        event = build(response.status_code, str(code)[:64] if code else None)
        location = response.headers.get("Location", "")
        for prefix in (OPERATIONS_PATH, CONSOLE_OPERATIONS_PATH):
            if location.startswith(prefix):  # the work goes on as this operation
                event.operation_id = location[len(prefix) :].split("?", 1)[0][:64]
        started: AuditEvent | None = g.get("audit_started")
        try:
            if started is not None:
                event.id, event.time = started.id, started.time
                trail.finish(event)
            else:
                trail.write(event)
        except Exception as exc:  # SQLAlchemyError above all; whatever it is, the answer stands
            _count(event, "failed")
            log.error(
                "audit event not written",
                extra={"action": event.action, "request_id": event.request_id, "error": type(exc).__name__},
            )
            return response
        _count(event, "written")
        return response


# --- reading ----------------------------------------------------------------------------------------------

__all__ = ["ACTIONS", "Filters", "in_transaction", "init_app", "note", "stream", "trail"]


def trail() -> AuditLog:
    """The app's audit trail."""
    found: AuditLog = current_app.extensions["s3api.audit"]
    return found


def stream(filters: Filters, page_token: str | None = None) -> Iterator[dict[str, Any]]:
    """The matching events for an NDJSON answer. The first batch is read before the answer starts (a database
    that is down is a 503, not an empty 200); a failure later ends the stream early, logged."""
    events = trail().stream(filters, page_token)
    try:
        first = next(events, None)
    except SQLAlchemyError:
        raise ServiceUnavailable("the database is unavailable, retry later") from None

    def rest() -> Iterator[dict[str, Any]]:
        if first is None:
            return
        yield first
        try:
            yield from events
        except SQLAlchemyError as exc:
            log.error("audit stream cut short", extra={"error": type(exc).__name__})

    return rest()


# --- retention: a sweeper task ------------------------------------------------------------------------------

_TRAILS: dict[str, AuditLog] = {}


@periodic.task("audit_purge")
def purge_old_events(aws: Any) -> int:
    """Delete events older than ``audit_retention_days``. The sweeper runs tasks per account: the first account
    of a pass deletes, the others find nothing left. A database error is the sweeper's to log and count."""
    settings = aws.settings
    trail = _TRAILS.get(settings.database.url)
    if trail is None:
        trail = _TRAILS.setdefault(settings.database.url, AuditLog(Database(settings.database)))
    return trail.purge(settings.audit_retention_days)
