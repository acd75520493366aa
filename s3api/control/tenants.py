"""Tenants: a customer's S3 account — the row (:mod:`s3api.db.tenants`) and its AWS side
(:mod:`s3api.provisioning.tenants`) together. The kind ``tenant.create`` lives here.

INTERFACE (orders, lifecycle and isolation call only these):

- ``validate_new(rt, body) -> NewTenant``: the checks of a new tenant (plan exists, active or the caller may use a
  test plan, sold in the location, location is a configured account's, e-mail valid, first bucket name valid and
  free) — 400/404/409 with nothing created. ``body`` is the POST /v1/s3/tenants JSON (Plan, Location, Email,
  ClientId, Billing, Bucket, Tester).
- ``start_create(rt, caller, tenant_id) -> Operation``: start the operation ``tenant.create`` for a tenant row in
  ``provisioning`` (a free plan: at once; a paid one: when its order is paid). The operation makes the first
  bucket, the credentials and the tenant's API key; its result holds the secret and the key once.
- ``shape(rt, row, *, usage=False) -> dict``: the API shape of a tenant (never a secret).

``rt`` is the process's runtime (``settings``, ``db``, ``keys``, ``operations``, ``aws(account)``); ``caller`` the
request's caller (``id``, ``name``, ``role``, ``tenant``) or a :class:`~s3api.jobs.operations.Starter`.

**The secrets, once.** ``tenant.create`` runs in a worker, so its secrets (the S3 secret access key and the API
key) reach the caller through the operation row: its ``Result`` holds them sealed (:func:`s3api.sealing.internal`,
bound to the operation's id) under :data:`HANDOVER`, never in clear, and the operation's public shape never shows
that field. The first ``GET /v1/s3/operations/{id}`` by an admin after success takes them out of the row in one
conditional write and shows them in ``Result.Credentials.SecretAccessKey`` and ``Result.ApiKey.Key`` — that answer
only (:func:`take_handover`, audited as ``tenant.secrets_shown``); later reads say ``SecretsShown: true``. Neither
reaches a log, an audit event or a webhook. Without any sealing key (PostgreSQL without ``secret_keys``) a tenant
cannot be created: 503 naming the setting, before anything is made.

**Plans.** :func:`usable_plan` is the one plan check of this module (404 unknown, 400 inactive, 400 a test plan
for a non-tester, 400 not sold in the location). It reads :class:`~s3api.db.plans.PlanStore` itself; the
integrator switches it to ``control.plans.usable`` (the plans work) once both are on one branch.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from s3api import validation, webhooks
from s3api.aws import s3
from s3api.aws.clients import AccountAws
from s3api.config import Account, Settings
from s3api.control import plans, quotas, usage
from s3api.db import tenants as tenant_rows
from s3api.db import usage as usage_rows
from s3api.db.audit import new_event
from s3api.db.keys import KeyStore
from s3api.db.models import ApiKey, Operation, Tenant
from s3api.db.operations import CANCELED, FAILED, SEALED_RESULT_FIELD, SUCCEEDED
from s3api.db.plans import PlanStore, PlanView
from s3api.db.tenants import NewTenant, TenantStore
from s3api.errors import ApiError, BadRequest, Conflict, Forbidden, NotFound, ServiceUnavailable
from s3api.jobs import operations
from s3api.jobs.kinds import Context, Stopping, kind
from s3api.provisioning import buckets as bucket_workflow
from s3api.provisioning import objects
from s3api.provisioning.progress import Canceled
from s3api.provisioning.steps import Transaction
from s3api.provisioning.tenants import credentials, ownership
from s3api.sealing import SealError, SealingUnavailable, configured, internal

log = logging.getLogger("s3api.tenants")

#: the Result field that holds the sealed secrets of ``tenant.create`` until the first admin read
HANDOVER = SEALED_RESULT_FIELD
EMAIL = re.compile(
    r"[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
REFERENCE = re.compile(r"[\x20-\x7e]{1,128}")
#: statuses whose IAM user exists (the credentials routes work on them)
WITH_CREDENTIALS = ("active", "suspended", "cancelling")
#: statuses that hold a first-bucket name (two tenants being made never claim one bucket)
HOLDING = ("provisioning", "pending_payment")


def _bad(field: str, message: str) -> BadRequest:
    return BadRequest(message, errors={"json": {field: [message]}})


# --- plans ----------------------------------------------------------------------------------------------------


def usable_plan(rt: Any, name: str, *, tester: bool, location: str | None = None) -> PlanView:
    """The plan a (new or changing) tenant may have (:func:`s3api.control.plans.usable`): 404 unknown or deleted,
    400 inactive, 400 a test plan for a tenant that is not a tester, 400 not sold in ``location``."""
    return plans.usable(rt, None, name, tester=tester, location=location)


# --- new tenants --------------------------------------------------------------------------------------------


def account_for(settings: Settings, location: str) -> Account:
    """The configured account a tenant of ``location`` lives in (the first by name when several share it)."""
    found = sorted((a for a in settings.accounts.values() if a.location_code == location), key=lambda a: a.name)
    if not found:
        raise _bad("Location", f"no configured account has location '{location}'")
    return found[0]


def _text(body: Mapping[str, Any], field: str, pattern: re.Pattern[str], required: bool = False) -> str | None:
    value = body.get(field)
    if value is None:
        if required:
            raise _bad(field, f"{field} is required")
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _bad(field, f"{field} is not valid")
    return value


def _sealing_ready(settings: Settings) -> None:
    try:
        internal(settings)
    except SealingUnavailable:
        raise ServiceUnavailable(
            "a tenant's secrets are handed over sealed: configure secret_keys (S3API_SECRET_KEYS) first"
        ) from None


def validate_new(rt: Any, body: Mapping[str, Any]) -> NewTenant:
    """See the module docstring. Calls: HeadBucket of the first bucket, GetGroup ×3 and GetPolicy ×2 (its IAM names
    free), one read of the plan, one of the tenant rows holding that bucket name."""
    settings: Settings = rt.settings
    email = _text(body, "Email", EMAIL, required=True)
    if email is not None and len(email) > 254:
        raise _bad("Email", "Email is at most 254 characters")
    location = _text(body, "Location", re.compile(r"[a-z0-9][a-z0-9_-]{0,62}"), required=True)
    plan_name = _text(body, "Plan", re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"), required=True)
    client_id = _text(body, "ClientId", REFERENCE)
    billing = _text(body, "Billing", REFERENCE)
    tester = body.get("Tester", False)
    if not isinstance(tester, bool):
        raise _bad("Tester", "Tester must be true or false")
    bucket = body.get("Bucket")
    if not isinstance(bucket, str):
        raise _bad("Bucket", "Bucket (the tenant's first bucket) is required")
    validation.validate_bucket_name(bucket, "Bucket")
    assert email is not None and location is not None and plan_name is not None
    account = account_for(settings, location)
    plan = usable_plan(rt, plan_name, tester=tester, location=location)
    if plan.max_buckets is not None and plan.max_buckets < 1:
        raise _bad("Plan", f"plan '{plan_name}' allows no bucket")
    _sealing_ready(settings)
    with rt.db.read() as session:
        holders = list(session.scalars(select(Tenant).where(Tenant.first_bucket == bucket, Tenant.status.in_(HOLDING))))
    held = next((row.id for row in holders if settle(rt, row).status in HOLDING), None)
    if held is not None:
        raise Conflict(f"bucket '{bucket}' is already the first bucket of tenant {held}, being created")
    aws = rt.aws(account.name)
    try:
        taken = s3.head_bucket(aws, bucket) is not None
    except Forbidden:
        taken = True
    if taken:
        raise Conflict(f"bucket '{bucket}' already exists")
    bucket_workflow.check_names_free(aws, bucket)
    return NewTenant(
        account=account.name,
        location=location,
        plan=plan.name,
        email=email,
        status="provisioning",
        client_id=client_id,
        billing=billing,
        tester=tester,
        first_bucket=bucket,
        id=tenant_rows.new_id(),
    )


def _starter(caller: Any) -> operations.Starter:
    if isinstance(caller, operations.Starter):
        return caller
    return operations.Starter(
        caller_id=getattr(caller, "id", None),
        caller_name=getattr(caller, "name", None),
        tenant=getattr(caller, "tenant", None),
        request_id=getattr(caller, "request_id", None),
    )


def create(rt: Any, caller: Any, body: Mapping[str, Any]) -> Operation:
    """POST /v1/s3/tenants: a free plan's tenant, made by the operation ``tenant.create``; a paid plan → 400 (its
    tenant comes from an order)."""
    new = validate_new(rt, body)
    plan = PlanStore(rt.db).get(new.plan)
    if not plan.is_free:
        raise _bad("Plan", f"plan '{plan.name}' is paid: order it with POST /v1/s3/orders")
    row = TenantStore(rt.db).create(new)
    try:
        return start_create(rt, caller, row.id)
    except Exception:
        TenantStore(rt.db).update(row.id, status="failed")
        raise


def start_create(rt: Any, caller: Any, tenant_id: str) -> Operation:
    """See the module docstring; 409 unless the tenant is in ``provisioning``."""
    store = TenantStore(rt.db)
    row = store.get(tenant_id)
    if row.status != "provisioning":
        raise Conflict(f"tenant {tenant_id} is {row.status}, not provisioning")
    _sealing_ready(rt.settings)
    aws = rt.aws(row.account)
    op, _ = operations.start(rt, "tenant.create", aws, {"Tenant": tenant_id}, _starter(caller))
    store.update(tenant_id, operation_id=op.id)
    return op


def tenant_target(account: str, params: Mapping[str, Any]) -> str:
    return f"tenant:{account}/{params['Tenant']}"


@kind("tenant.create", target=tenant_target)
def run_create(ctx: Context) -> dict[str, Any]:
    """Params ``{"Tenant"}``. One :class:`Transaction`: the first bucket (tagged ``s3api:tenant``), the credentials
    (:func:`credentials.create`), the tenant's API key (role ``tenant``), then the row ``active`` with the
    ``tenant.created`` webhook in one database transaction. Any failure undoes every step (nothing is left in AWS
    or the database); a final failure (ours, below 500; or the last attempt) marks the tenant ``failed``. A new
    attempt first removes what a dead earlier one may have left (its credentials, its API keys; the bucket is taken
    over by the bucket create when it is provably ours). Result: ``{Tenant, Bucket, Credentials: {AccessKeyId},
    ApiKey: {Id}}`` plus the sealed :data:`HANDOVER`."""
    aws, db, settings = ctx.aws, ctx.store.db, ctx.aws.settings
    tenant_id = str(ctx.params["Tenant"])
    store = TenantStore(db)
    row = store.get(tenant_id)
    if row.status != "provisioning":
        raise Conflict(f"tenant {tenant_id} is {row.status}, not provisioning")
    keys = KeyStore(db)
    bucket = str(row.first_bucket)
    plan = PlanStore(db).get(row.plan)
    try:
        _clean_leftovers(aws, keys, tenant_id)
        ctx.checkpoint()  # canceled before it started: nothing is made (never inside the transaction)
        with Transaction("tenant_create") as tx:
            tx.step(
                "first_bucket",
                lambda: bucket_workflow.create(
                    aws, bucket, owner=tenant_id, storage_class=plan.storage_class, grant=False
                ),
                lambda _: _drop(aws, bucket),
            )
            if plan.request_metrics:  # best effort: its traffic stays unknown when it cannot be switched on
                usage.switch_on_request_metrics(aws, bucket)
            key_id, secret = credentials.create(aws, tenant_id, [bucket], tx)
            api = tx.step(
                "api_key",
                lambda: keys.create(f"tenant {tenant_id}", "tenant", tenant_id),
                lambda made: _forget_key(db, made["Id"]),
            )
            tx.step("activate", lambda: _activate(db, settings, tenant_id, key_id, secret, api["Id"]))
    except Canceled:
        store.update(tenant_id, status="failed")
        raise
    except Stopping:
        raise  # the worker stops: the operation goes back to the queue
    except Exception as exc:
        if _final(ctx, exc):
            store.update(tenant_id, status="failed")
        raise
    sealed = internal(settings).seal(
        json.dumps({"Credentials": {"SecretAccessKey": secret}, "ApiKey": {"Key": api["Key"]}}),
        f"operation:{ctx.op_id}",
    )
    return {
        "Tenant": tenant_id,
        "Bucket": bucket,
        "Credentials": {"AccessKeyId": key_id},
        "ApiKey": {"Id": api["Id"]},
        "SecretsShown": False,
        HANDOVER: sealed,
    }


def _drop(aws: AccountAws, bucket: str) -> None:
    """The undo of the first bucket: it is new and empty."""
    bucket_workflow.delete(aws, bucket)


def _final(ctx: Context, exc: BaseException) -> bool:
    if isinstance(exc, ApiError) and exc.status < 500 and exc.status != 429:
        return True
    try:
        op = ctx.store.get(ctx.op_id)
    except Exception:
        return False
    return bool(op.attempts >= ctx.aws.settings.operation_attempts)


def _clean_leftovers(aws: AccountAws, keys: KeyStore, tenant_id: str) -> None:
    """What a dead earlier attempt may have left: its IAM user and policies, its unrevoked API keys."""
    credentials.delete(aws, tenant_id)
    for key in keys.list(tenant=tenant_id, revoked=False, page_size=100)["Keys"]:
        keys.revoke(key["Id"])


def _forget_key(db: Any, key_id: str) -> None:
    """The undo of the tenant's API key: the row goes (it was never shown to anyone), and this process forgets it."""
    with db.write() as session:
        found = session.get(ApiKey, key_id)
        if found is not None:
            session.delete(found)


def _activate(db: Any, settings: Settings, tenant_id: str, key_id: str, secret: str, api_key_id: str) -> None:
    sealer = configured(settings)
    when = tenant_rows.now()
    with db.write() as session:
        row = session.get(Tenant, tenant_id)
        if row is None or row.status != "provisioning":
            raise Conflict(f"tenant {tenant_id} is no longer provisioning")
        row.status = "active"
        row.iam_user = credentials.user_name(tenant_id)
        row.access_key_id = key_id
        row.sealed_secret = sealer.seal(secret, f"tenant:{tenant_id}") if sealer else None
        row.api_key_id = api_key_id
        row.activated_at = row.updated_at = when
        webhooks.emit(session, settings, "tenant.created", _event(row))


def _event(row: Tenant) -> dict[str, Any]:
    """A webhook's ``Data``: names and ids, never a secret."""
    return {
        "Tenant": row.id,
        "Account": row.account,
        "Location": row.location,
        "Plan": row.plan,
        "Status": row.status,
        "ClientId": row.client_id,
        "Billing": row.billing,
    }


# --- the secrets, once ----------------------------------------------------------------------------------------


def take_handover(rt: Any, op: Operation, caller: Any, shown: dict[str, Any]) -> dict[str, Any]:
    """``shown`` (the operation's public shape) with the secrets of a succeeded ``tenant.create`` merged into its
    Result, when ``caller`` is an admin and they were not taken yet; they leave the row in the same conditional
    write (two readers at once: one gets them). Anything else: ``shown`` unchanged."""
    if (
        op.kind != "tenant.create"
        or op.status != SUCCEEDED
        or not op.result
        or getattr(caller, "role", None) != "admin"
    ):
        return shown
    result = json.loads(op.result)
    sealed = result.pop(HANDOVER, None)
    if not isinstance(sealed, str):
        return shown
    result["SecretsShown"] = True
    with rt.db.write() as session:
        taken = session.execute(
            update(Operation)
            .where(Operation.id == op.id, Operation.result == op.result)
            .values(result=json.dumps(result))
        ).rowcount
        if taken != 1:
            return shown
        session.add(_secret_event(op, caller, result.get("Tenant")))
    try:
        secrets = json.loads(internal(rt.settings).open(sealed, f"operation:{op.id}"))
    except (SealError, SealingUnavailable, ValueError):
        log.error("tenant secrets could not be opened", extra={"operation": op.id})
        return shown
    merged = dict(shown.get("Result") or {})
    merged["Credentials"] = {**merged.get("Credentials", {}), **secrets["Credentials"]}
    merged["ApiKey"] = {**merged.get("ApiKey", {}), **secrets["ApiKey"]}
    merged["SecretsShown"] = True
    return {**shown, "Result": merged}


def _secret_event(op: Operation, caller: Any, tenant_id: Any, action: str = "tenant.secrets_shown") -> Any:
    return new_event(
        caller_id=getattr(caller, "id", None),
        caller_name=getattr(caller, "name", None),
        role=getattr(caller, "role", None),
        tenant=str(tenant_id) if tenant_id else None,
        action=action,
        resource=f"tenants/{tenant_id}",
        status=200,
        outcome="ok",
        operation_id=op.id,
    )


# --- reads --------------------------------------------------------------------------------------------------


def _visible(row: Tenant, caller: Any) -> Tenant:
    """A tenant key sees only its own tenant: any other is 404 (never 403)."""
    if getattr(caller, "role", None) == "tenant" and getattr(caller, "tenant", None) != row.id:
        raise NotFound(f"tenant '{row.id}' not found")
    return row


def get_row(rt: Any, caller: Any, tenant_id: str) -> Tenant:
    if getattr(caller, "role", None) == "tenant" and getattr(caller, "tenant", None) != tenant_id:
        raise NotFound(f"tenant '{tenant_id}' not found")
    return settle(rt, _visible(TenantStore(rt.db).get(tenant_id), caller))


def settle(rt: Any, row: Tenant) -> Tenant:
    """A tenant still ``provisioning`` whose operation ended without success (canceled before it started: the
    task never ran) is ``failed``: one read of the operation, one write the first time."""
    if row.status != "provisioning" or not row.operation_id:
        return row
    try:
        op = rt.operations.get(row.operation_id)
    except NotFound:
        return row
    if op.status in (FAILED, CANCELED):
        return TenantStore(rt.db).update(row.id, status="failed")
    return row


def shape(rt: Any, row: Tenant, *, usage: bool = False, detail: bool = True) -> dict[str, Any]:
    """See the module docstring. ``detail`` (GET one tenant): its buckets read back from AWS (ListBuckets and one
    GetBucketTagging per bucket of the account) and its access keys (ListAccessKeys); ``usage`` adds each bucket's
    usage (a bounded listing per bucket). A list gives the row's fields only."""
    account = rt.settings.account(row.account)
    plan = _plan_or_none(rt, row.plan)
    body: dict[str, Any] = {
        "Id": row.id,
        "Account": row.account,
        "Location": row.location,
        "Plan": row.plan,
        "Status": row.status,
        "Email": row.email,
        "ClientId": row.client_id,
        "Billing": row.billing,
        "Tester": bool(row.tester),
        "FirstBucket": row.first_bucket,
        "StorageType": plan.storage_type if plan else None,
        "Quota": {
            "QuotaBytes": plan.quota_bytes if plan else None,
            "MaxBuckets": plan.max_buckets if plan else None,
            "BandwidthBytesPerMonth": plan.bandwidth_bytes_per_month if plan else None,
        },
        "Endpoint": account.s3_endpoint if account else None,
        "Region": account.region if account else None,
        "Credentials": {"AccessKeyId": row.access_key_id, "UserName": row.iam_user},
        "ApiKeyId": row.api_key_id,
        "OperationId": row.operation_id,
        "CreatedAt": tenant_rows.iso(row.created_at),
        "UpdatedAt": tenant_rows.iso(row.updated_at),
        "ActivatedAt": tenant_rows.iso(row.activated_at),
        "NextChargeAt": tenant_rows.iso(row.next_charge_at),
        "CancelAt": tenant_rows.iso(row.cancel_at),
        "TerminateAt": tenant_rows.iso(row.terminate_at),
        "TerminatedAt": tenant_rows.iso(row.terminated_at),
    }
    if detail:
        env = quotas.env(rt)
        status = quotas.tenant_status(env, row.id, plan.quota_bytes if plan else None)
        body["Metering"] = status.pop("Metering")
        body["Usage"] = status  # QuotaBytes, UsedBytes (newest finished day), Percent, AsOf, Alerts, Projection
        body["Alerts"] = status["Alerts"]
    if detail and account is not None and row.status in WITH_CREDENTIALS:
        aws = rt.aws(row.account)
        names = ownership.buckets(aws, row.id)
        body["Buckets"] = [{"Name": name, **({"Usage": _usage(aws, name)} if usage else {})} for name in names]
        try:
            body["Credentials"]["Keys"] = [
                {**k, "CreateDate": _when(k.get("CreateDate"))} for k in credentials.keys(aws, row.id)
            ]
        except NotFound:
            body["Credentials"]["Keys"] = []
    return body


def _when(value: Any) -> Any:
    return tenant_rows.iso(value) if hasattr(value, "astimezone") else value


def _usage(aws: AccountAws, bucket: str) -> dict[str, Any]:
    found = objects.usage(aws, bucket)
    return {k: (_when(v) if k == "AsOf" else v) for k, v in found.items()}


def _plan_or_none(rt: Any, name: str) -> PlanView | None:
    try:
        return PlanStore(rt.db).get(name)
    except NotFound:
        return None


def get(rt: Any, caller: Any, tenant_id: str, *, usage: bool = False) -> dict[str, Any]:
    return shape(rt, get_row(rt, caller, tenant_id), usage=usage)


def usage_history(rt: Any, caller: Any, tenant_id: str, query: Mapping[str, Any]) -> dict[str, Any]:
    """GET .../tenants/{id}/usage: the tenant's series (:func:`s3api.control.usage.tenant_history`; no AWS call)."""
    row = get_row(rt, caller, tenant_id)
    return usage.tenant_history(rt.usage, row.id, query.get("start"), query.get("end"), query["granularity"])


def owner_anywhere(rt: Any, bucket: str) -> str | None:
    """The tenant owning ``bucket`` in any configured account (GetBucketTagging per account until found)."""
    for name in sorted(rt.settings.accounts):
        try:
            found = ownership.owner(rt.aws(name), bucket)
        except (NotFound, Forbidden):
            continue
        if found:
            return found
    return None


def list_tenants(rt: Any, query: Mapping[str, Any]) -> dict[str, Any]:
    """GET /v1/s3/tenants: filters (``bucket``: the tenant owning it, read from its tag), ``order_by``
    ``CreatedAt`` / ``-CreatedAt`` (default: newest first), cursor pages."""
    filters = {k: v for k, v in query.items() if k in tenant_rows.FILTERS and v is not None}
    bucket = query.get("bucket")
    if bucket is not None:
        owner = owner_anywhere(rt, bucket)
        if owner is None or filters.get("tenant", owner) != owner:
            return {"Tenants": [], "NextPageToken": None}
        filters["tenant"] = owner
    order = str(query.get("order_by", "-CreatedAt"))
    field = order.lstrip("-")
    month = usage.month_start()
    rows, token = TenantStore(rt.db).list(
        filters=filters,
        newest_first=order.startswith("-"),
        page_size=int(query.get("page_size", 50)),
        page_token=query.get("page_token"),
        metric=METRICS.get(field),
        month_start=month,
    )
    metering = usage_rows.metering_of(rt.db, [r.id for r in rows], month)  # one query for the page
    return {
        "Tenants": [{**shape(rt, r, detail=False), "Metering": metering[r.id]} for r in rows],
        "NextPageToken": token,
    }


#: ``order_by`` fields of the list that are metering: the column of :func:`s3api.db.usage.metering_table`
METRICS = {"StoragePeakBytesThisPeriod": "peak", "TrafficBytesThisPeriod": "traffic"}


# --- changes ----------------------------------------------------------------------------------------------


def patch(rt: Any, caller: Any, tenant_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """PATCH: ``Plan`` (a usable plan sold in the tenant's location whose MaxBuckets holds the tenant's buckets;
    webhook ``tenant.plan_changed``), ``Email``, ``ClientId``, ``Billing``. Terminated tenants: 409."""
    changes: dict[str, Any] = {}
    if "Email" in body:
        changes["email"] = _text(body, "Email", EMAIL, required=True)
    for field, column in (("ClientId", "client_id"), ("Billing", "billing")):
        if field in body:
            changes[column] = _text(body, field, REFERENCE)
    store = TenantStore(rt.db)
    row = store.get(tenant_id)
    if row.status in ("terminated", "terminating", "failed"):
        raise Conflict(f"tenant {tenant_id} is {row.status}")
    new_plan = body.get("Plan")
    if new_plan is not None and new_plan != row.plan:
        if not isinstance(new_plan, str):
            raise _bad("Plan", "Plan must be a plan's name")
        if row.status in HOLDING:
            raise Conflict(f"tenant {tenant_id} is {row.status}: its plan changes once it is provisioned")
        plan = usable_plan(rt, new_plan, tester=bool(row.tester), location=row.location)
        if row.status in WITH_CREDENTIALS and plan.max_buckets is not None:
            held = len(ownership.buckets(rt.aws(row.account), tenant_id))
            if held > plan.max_buckets:
                raise Conflict(
                    f"plan '{new_plan}' allows {plan.max_buckets} buckets; tenant {tenant_id} has {held}: "
                    "delete some first"
                )
        changes["plan"] = plan.name
    old_plan = row.plan

    def change(session: Session, locked: Tenant) -> None:
        for column, value in changes.items():
            setattr(locked, column, value)
        if "plan" in changes:
            webhooks.emit(session, rt.settings, "tenant.plan_changed", {**_event(locked), "OldPlan": old_plan})

    return shape(rt, store.change(tenant_id, change), detail=False)


def _with_credentials(rt: Any, tenant_id: str, allowed: tuple[str, ...] = WITH_CREDENTIALS) -> Tenant:
    row = TenantStore(rt.db).get(tenant_id)
    if row.status not in allowed:
        raise Conflict(f"tenant {tenant_id} is {row.status}: its credentials cannot be changed")
    return row


def rotate(rt: Any, tenant_id: str, grace_seconds: int) -> dict[str, Any]:
    """A new S3 access key (shown in this answer only); the old one retires after ``grace_seconds`` (0: at once).
    With ``secret_keys`` configured the new secret is kept sealed for :func:`reveal`."""
    row = _with_credentials(rt, tenant_id)
    key_id, secret = credentials.rotate(rt.aws(row.account), tenant_id, grace_seconds)
    sealer = configured(rt.settings)
    TenantStore(rt.db).update(
        tenant_id, access_key_id=key_id, sealed_secret=sealer.seal(secret, f"tenant:{tenant_id}") if sealer else None
    )
    return {"Tenant": tenant_id, "AccessKeyId": key_id, "SecretAccessKey": secret, "GraceSeconds": grace_seconds}


def set_key_status(rt: Any, tenant_id: str, key_id: str, status: str) -> dict[str, Any]:
    row = _with_credentials(rt, tenant_id)
    aws = rt.aws(row.account)
    credentials.set_key_status(aws, tenant_id, key_id, status)
    return {"Tenant": tenant_id, "AccessKeyId": key_id, "Status": status}


def suspend(rt: Any, tenant_id: str) -> dict[str, Any]:
    """Data access denied (a Deny policy on the tenant's user), data kept; status ``suspended``. Idempotent."""
    row = _with_credentials(rt, tenant_id, ("active", "suspended"))
    credentials.suspend(rt.aws(row.account), tenant_id)
    return _set_status(rt, tenant_id, "suspended", "tenant.suspended", row.status)


def resume(rt: Any, tenant_id: str) -> dict[str, Any]:
    row = _with_credentials(rt, tenant_id, ("active", "suspended"))
    credentials.resume(rt.aws(row.account), tenant_id)
    return _set_status(rt, tenant_id, "active", "tenant.resumed", row.status)


def _set_status(rt: Any, tenant_id: str, status: str, event: str, was: str) -> dict[str, Any]:
    def change(session: Session, locked: Tenant) -> None:
        if locked.status not in ("active", "suspended"):
            raise Conflict(f"tenant {tenant_id} is {locked.status}")
        locked.status = status
        if was != status:
            webhooks.emit(session, rt.settings, event, _event(locked))

    return shape(rt, TenantStore(rt.db).change(tenant_id, change), detail=False)


def reveal(rt: Any, tenant_id: str) -> dict[str, Any]:
    """The current S3 secret again — only when the operator configured ``secret_keys`` (409 otherwise, and for a
    secret made before they were: rotate instead). Audited as a secret read (the route's audit action)."""
    sealer = configured(rt.settings)
    row = _with_credentials(rt, tenant_id)
    rotate_instead = f"rotate the credentials instead (POST /v1/s3/tenants/{tenant_id}/credentials/rotate)"
    if sealer is None:
        raise Conflict(f"secrets are not kept: the operator has not configured secret_keys; {rotate_instead}")
    if not row.sealed_secret:
        raise Conflict(f"the current secret was made before secret_keys were configured; {rotate_instead}")
    try:
        secret = sealer.open(row.sealed_secret, f"tenant:{tenant_id}")
    except SealError:
        raise Conflict(f"the kept secret does not open with the configured secret_keys; {rotate_instead}") from None
    return {"Tenant": tenant_id, "AccessKeyId": row.access_key_id, "SecretAccessKey": secret}
