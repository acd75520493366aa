"""The end of a tenant: deletion (now or at the end of the paid period), its cancellation, and termination — the
kind ``tenant.terminate`` and the periodic task ``tenants_terminate`` that starts it for due tenants.

``DELETE /v1/s3/tenants/{id}`` with a ``Reason`` (:func:`delete`):

- a free tenant (and one whose order was never paid, or whose provisioning failed) is terminated now: status
  ``terminating`` and the operation ``tenant.terminate`` (202);
- a paid one (``active`` or ``suspended``) whose paid period (``NextChargeAt``) has not ended is scheduled:
  status ``cancelling``, ``CancelAt`` = ``NextChargeAt``; it keeps its service until then. ``Immediate: true``
  terminates it now instead. ``POST .../cancel-deletion`` (:func:`cancel_deletion`) takes the schedule back while
  it is pending: the status it had (``resume_status``: active or suspended) comes back;
- ``provisioning`` (its create runs) is 409; ``terminated`` is 409; ``terminating`` answers its termination
  (started again when its operation has ended unfinished).

Each change writes its webhook (``tenant.deletion_scheduled``, ``tenant.deletion_canceled``) in the transaction
of the change; the audit event carries the reason.

``tenant.terminate`` (params ``{"Tenant"}``; target and lock ``tenant:<account>/<id>``; de-duplicated: a second
start while one is unfinished answers that one), in this order so that the tenant loses access first:

1. the tenant's API keys revoked (database; refused within 2 s by every process, :mod:`s3api.db.keys`);
2. ``credentials.delete``: its IAM user, keys and policy (idempotent): no S3 access left;
3. each bucket tagged ``s3api:tenant=<id>`` (read back from AWS at every run: a bucket is deleted last, after
   its IAM family, so a bucket that is no longer listed is wholly gone) emptied and deleted by the forced delete
   (:func:`s3api.provisioning.emptying.empty_and_delete`), a checkpoint after each;
4. one transaction: status ``terminated``, ``terminated_at``, the webhook ``tenant.terminated`` and an audit
   event ``tenant.terminated`` with the deletion's reason. The row stays.

Idempotent and resumable: every step finds what is left and does only that; a failure anywhere is retried by the
engine (5xx) and, once the operation has given up (or was canceled), started again by the next
``tenants_terminate`` run: once a termination began the tenant cannot go back.
"""

from __future__ import annotations

import calendar
import logging
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from s3api import webhooks
from s3api.aws.clients import AccountAws
from s3api.control import links
from s3api.db.audit import AuditLog, new_event
from s3api.db.models import Operation, Tenant
from s3api.db.orders import Hook, LifecycleStore, now, tenant_record
from s3api.db.plans import PlanStore
from s3api.errors import ApiError, Conflict, NotFound
from s3api.jobs import kinds, operations
from s3api.jobs.kinds import Context, Env, kind
from s3api.jobs.operations import Starter
from s3api.provisioning import emptying
from s3api.provisioning.tenants import credentials

log = logging.getLogger("s3api.lifecycle")

KIND = "tenant.terminate"
#: the starter the periodic task names as the caller of the terminations it starts
PERIODIC_STARTER = Starter(caller_name="tenants_terminate")
#: statuses a deletion may come from, and what it does there
SCHEDULABLE = ("active", "suspended")
NOW_ONLY = ("pending_payment", "failed")


def add_month(when: datetime) -> datetime:
    """One calendar month later (the 31st becomes the month's last day): the end of a paid period."""
    year, month = (when.year + 1, 1) if when.month == 12 else (when.year, when.month + 1)
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


def _event_data(row: Tenant, **extra: Any) -> dict[str, Any]:
    shown = tenant_record(row)
    return {
        "Tenant": row.id,
        "ClientId": row.client_id,
        "Billing": row.billing,
        "Plan": row.plan,
        "Location": row.location,
        "Status": row.status,
        "CancelAt": shown["CancelAt"],
        "Reason": row.deletion_reason,
        **extra,
    }


def aws_of(env: Env, row: Tenant) -> AccountAws:
    account = env.settings.account(row.account)
    if account is None:
        raise NotFound(f"account '{row.account}' of tenant '{row.id}' is not configured")
    return AccountAws(account, env.clients, env.settings)


# --- deletion, cancellation -----------------------------------------------------------------------------------


def delete(
    env: Env, starter: Starter, tenant_id: str, reason: str, *, immediate: bool = False, hooks: list[Hook] | None = None
) -> tuple[dict[str, Any], Operation | None]:
    """Delete a tenant (see the module docstring): ``(tenant, operation)``, the operation None when the deletion
    was scheduled. ``hooks`` run in the change's transaction (none when nothing changed)."""
    store = LifecycleStore(env.db)
    row = store.get(tenant_id)
    plan = PlanStore(env.db).get(row.plan)
    settings = env.settings

    def decide(session: Session, t: Tenant) -> str:
        if t.status == "terminated":
            raise Conflict(f"tenant '{t.id}' is already terminated")
        if t.status == "provisioning":
            raise Conflict(f"tenant '{t.id}' is being provisioned: delete it when its operation has ended")
        if t.status == "terminating":
            return "terminate"  # its termination runs, or is started again
        when = now()
        if t.status == "cancelling" and not immediate:
            return "unchanged"  # already scheduled: the first reason and date stand
        paid_until = t.next_charge_at if not plan.is_free and t.status in (*SCHEDULABLE, "cancelling") else None
        if not immediate and paid_until is not None and paid_until > when:
            t.resume_status, t.status, t.cancel_at, t.deletion_reason = t.status, "cancelling", paid_until, reason
            webhooks.emit(session, settings, "tenant.deletion_scheduled", _event_data(t, Immediate=False))
            return "scheduled"
        if t.status not in (*SCHEDULABLE, *NOW_ONLY, "cancelling"):
            raise Conflict(f"tenant '{t.id}' is {t.status}: it cannot be deleted")
        t.status, t.cancel_at, t.terminate_at, t.deletion_reason = "terminating", when, when, reason
        store.cancel_pending_orders(session, t.id)
        webhooks.emit(session, settings, "tenant.deletion_scheduled", _event_data(t, Immediate=True))
        return "terminate"

    decision = store.change(tenant_id, decide, hooks or [])
    row = store.get(tenant_id)
    if decision != "terminate":
        return tenant_record(row), None
    op = start_terminate(env, starter, row)
    return tenant_record(store.get(tenant_id)), op


def start_terminate(env: Env, starter: Starter, row: Tenant) -> Operation:
    """Start (or find, de-duplicated) the termination of a ``terminating`` tenant; its id on the row."""
    op, _ = operations.start(env, KIND, aws_of(env, row), {"Tenant": row.id}, starter)
    _remember(env, row, op)
    return op


def _remember(env: Env, row: Tenant, op: Operation) -> None:
    """The tenant's latest operation on its row."""
    if row.operation_id == op.id:
        return

    def remember(session: Session, t: Tenant) -> None:
        t.operation_id = op.id

    LifecycleStore(env.db).change(row.id, remember)


def cancel_deletion(env: Env, tenant_id: str, hooks: list[Hook] | None = None) -> dict[str, Any]:
    """Take back a scheduled deletion: ``cancelling`` → the status it had; 409 otherwise (a termination that
    began cannot be taken back)."""
    store = LifecycleStore(env.db)
    settings = env.settings

    def decide(session: Session, t: Tenant) -> None:
        if t.status != "cancelling":
            why = "its termination has begun" if t.status in ("terminating", "terminated") else "none is scheduled"
            raise Conflict(f"tenant '{t.id}' is {t.status}: no deletion to cancel ({why})")
        reason = t.deletion_reason
        t.status, t.resume_status, t.cancel_at, t.deletion_reason = t.resume_status or "active", None, None, None
        webhooks.emit(session, settings, "tenant.deletion_canceled", _event_data(t, Reason=reason))

    store.change(tenant_id, decide, hooks or [])
    return tenant_record(store.get(tenant_id))


# --- the periodic task ----------------------------------------------------------------------------------------


@kinds.periodic("tenants_terminate")
def terminate_due(env: Env) -> int:
    """Start ``tenant.terminate`` for every tenant whose scheduled deletion is due (``cancelling``, ``CancelAt``
    reached: it becomes ``terminating`` in one transaction with an audit event carrying the reason) and for
    ``terminating`` ones without an unfinished operation. How many operations it started."""
    store = LifecycleStore(env.db)
    started = 0
    for account in env.settings.accounts.values():
        for tenant_id in store.due(account.name):
            try:
                row = _begin(env, tenant_id)
                if row is None:
                    continue
                op, created = operations.start(env, KIND, aws_of(env, row), {"Tenant": row.id}, PERIODIC_STARTER)
                if created:
                    started += 1
                    _remember(env, row, op)
            except ApiError as exc:  # one tenant's trouble never stops the others
                log.warning("termination not started", extra={"tenant": tenant_id, "error": exc.code})
    return started


def _begin(env: Env, tenant_id: str) -> Tenant | None:
    """A due ``cancelling`` tenant becomes ``terminating`` (with its audit event); a ``terminating`` one is
    returned as it is; anything else (taken back meanwhile) None."""
    store = LifecycleStore(env.db)

    def decide(session: Session, t: Tenant) -> bool:
        if t.status == "terminating":
            return True
        if t.status != "cancelling" or t.cancel_at is None or t.cancel_at > now():
            return False
        t.status, t.terminate_at = "terminating", now()
        AuditLog.add(session, _audit("tenant.terminate", t, 202, caller=PERIODIC_STARTER.caller_name))
        return True

    return store.get(tenant_id) if store.change(tenant_id, decide) else None


def _audit(action: str, row: Tenant, status: int, operation_id: str | None = None, caller: str | None = None) -> Any:
    """An event the engine writes itself (no request): the deletion's reason, the operation."""
    return new_event(
        caller_name=caller,
        tenant=row.id,
        action=action,
        resource=f"tenants/{row.id}",
        status=status,
        outcome="ok",
        operation_id=operation_id,
        reason=row.deletion_reason,
    )


# --- the kind -------------------------------------------------------------------------------------------------


def tenant_target(account: str, params: Any) -> str:
    return f"tenant:{account}/{params['Tenant']}"


@kind(KIND, target=tenant_target, dedupe=True)
def terminate(ctx: Context) -> dict[str, Any]:
    """Params ``{"Tenant"}``: terminate a ``terminating`` tenant (see the module docstring). Counters
    ``ApiKeysRevoked``, ``CredentialsDeleted``, ``BucketsDeleted`` and the forced delete's (summed over the
    buckets). Result ``{Tenant, Status: terminated, Buckets, AlreadyTerminated}``."""
    tenant_id = str(ctx.params["Tenant"])
    store = LifecycleStore(ctx.store.db)
    row = store.get(tenant_id)
    if row.status == "terminated":
        return {"Tenant": tenant_id, "Status": "terminated", "Buckets": [], "AlreadyTerminated": True}
    if row.status != "terminating":
        raise Conflict(f"tenant '{tenant_id}' is {row.status}, not terminating: nothing is done")
    ctx.add(ApiKeysRevoked=store.revoke_keys(tenant_id))
    ctx.checkpoint()
    credentials.delete(ctx.aws, tenant_id)
    ctx.set(CredentialsDeleted=1)
    ctx.checkpoint()
    deleted = []
    for bucket in credentials.buckets(ctx.aws, tenant_id):
        emptying.empty_and_delete(ctx.aws, bucket, ctx)
        links.forget_bucket(ctx.store.db, ctx.aws, bucket)  # its share-link signers and links
        deleted.append(bucket)
        ctx.add(BucketsDeleted=1)
        ctx.checkpoint()
    settings = ctx.aws.settings
    op_id = ctx.op_id

    def finish(session: Session, t: Tenant) -> bool:
        if t.status == "terminated":
            return False
        t.status, t.terminated_at, t.resume_status = "terminated", now(), None
        data = _event_data(t, TerminatedAt=tenant_record(t)["TerminatedAt"], OperationId=op_id)
        webhooks.emit(session, settings, "tenant.terminated", data)
        AuditLog.add(session, _audit("tenant.terminated", t, 200, op_id))
        return True

    store.change(tenant_id, finish)
    return {"Tenant": tenant_id, "Status": "terminated", "Buckets": deleted, "AlreadyTerminated": False}
