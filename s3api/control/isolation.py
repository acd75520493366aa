"""Tenant keys on the existing routes: the one place that scopes them.

:func:`s3api.auth.authorize` decides from its table (:data:`s3api.auth.TENANT_ROUTES`) whether a tenant key may
use a route at all (403 otherwise) and whether the path names its own account and tenant (404 otherwise).
:class:`Edge`, called by the same request hook right after, fills the caller's tenant (account, status) from
its row and proves what the path names is the tenant's: a bucket (its ``s3api:tenant`` tag), a website (its
bucket's tag), an operation (started by the tenant) — 404 otherwise, in the words of a name that does not
exist, so a tenant cannot tell another tenant's bucket from no bucket. Every path below ``.../buckets/{bucket}``
(objects, uploads, users, keys, presign, usage) is reached only through the bucket, so the bucket's proof
covers them.

The lists and creates that answer differently for a tenant are the functions below; their views call one of
them for every caller (an admin or reader gets what it got before):

- :func:`bucket_names`: only the tenant's buckets (:func:`ownership.buckets`: one ListBuckets, plus one
  GetBucketTagging per bucket new to the process);
- :func:`create_bucket`: tagged ``s3api:tenant``, at most the plan's ``MaxBuckets`` (409 beyond), with the
  plan's storage class as a lifecycle transition (:func:`access.storage_rule`), then the tenant's credentials
  reach it (:func:`access.after_bucket_created`, inside the create's rollback);
- :func:`account_names`, :func:`stats`, :func:`list_operations`: its own account, counts of its own resources,
  the operations it started.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Protocol

from s3api import names
from s3api.aws import s3
from s3api.aws.clients import AccountAws
from s3api.control import links, usage
from s3api.db.operations import OperationStore
from s3api.db.plans import PlanStore
from s3api.db.session import Database
from s3api.db.tenants import TenantStore
from s3api.errors import Conflict, Forbidden, NotFound
from s3api.provisioning import buckets
from s3api.provisioning.tenants import access, ownership

INVALID = "missing or invalid X-Auth-Token"  # the edge's words for a key that proves nothing


class Caller(Protocol):
    """The edge's caller (:class:`s3api.auth.Caller`), as far as scoping reads it."""

    @property
    def role(self) -> str: ...
    @property
    def tenant(self) -> str | None: ...
    @property
    def account(self) -> str | None: ...


class Runtime(Protocol):
    """What scoping needs of the process runtime (:class:`s3api.runtime.Runtime`)."""

    db: Database
    operations: OperationStore

    @property
    def settings(self) -> Any: ...
    def aws(self, account_name: str) -> AccountAws: ...


def tenant_of(caller: Caller | None) -> str | None:
    """The tenant a caller is scoped to: a tenant key's id, None for every other caller."""
    return caller.tenant if caller is not None and caller.role == "tenant" else None


class Edge:
    """The scoper :func:`s3api.auth.init_app` calls for tenant keys (see the module docstring)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def caller(self, caller: Any) -> Any:
        if caller.tenant is None:
            raise Forbidden(INVALID)
        try:
            row = TenantStore(self.rt.db).get(caller.tenant)
        except NotFound:
            raise Forbidden(INVALID) from None
        return replace(caller, account=row.account, status=row.status)

    def reach(self, caller: Any, reach: str, resource: Mapping[str, Any]) -> None:
        tenant = caller.tenant
        if reach == "bucket":
            access.require_owned(self.rt.aws(resource["account"]), tenant, resource["bucket"])
        elif reach == "website":
            access.require_owned(self.rt.aws(resource["account"]), tenant, resource["website"], "website")
        elif reach == "operation":
            op_id = next(v for k, v in resource.items() if k != "account")
            if self.rt.operations.get(op_id).tenant != tenant:
                raise NotFound(f"operation '{op_id}' not found")


def bucket_names(rt: Runtime, caller: Caller | None, account: str) -> list[str]:
    """``GET .../buckets``: every bucket of the account, or only the tenant's for a tenant key."""
    aws = rt.aws(account)
    tenant = tenant_of(caller)
    return s3.list_buckets(aws) if tenant is None else ownership.buckets(aws, tenant)


def create_bucket(rt: Runtime, caller: Caller | None, account: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """``POST .../buckets``: as before for admins; for a tenant key within its plan (see the module docstring)."""
    aws = rt.aws(account)
    name, tags, lifecycle = body["BucketInput"]["Bucket"], body["Tags"], body["Lifecycle"]
    tenant = tenant_of(caller)
    if tenant is None:
        return buckets.create(aws, name, tags, lifecycle)
    plan = _within_plan(rt, aws, tenant, name)
    made = buckets.create(aws, name, tags, lifecycle, owner=tenant, storage_class=plan.storage_class)
    if plan.request_metrics:
        usage.switch_on_request_metrics(aws, name)
    return made


def _within_plan(rt: Runtime, aws: AccountAws, tenant: str, name: str) -> Any:
    """The tenant's plan, when one more bucket ``name`` fits in it (``MaxBuckets``, and IAM's room for the
    tenant's credentials: ``names.MAX_TENANT_BUCKETS``); 409 otherwise, nothing made."""
    row = TenantStore(rt.db).get(tenant)
    plan = PlanStore(rt.db).get(row.plan)
    limit = min(plan.max_buckets or names.MAX_TENANT_BUCKETS, names.MAX_TENANT_BUCKETS)  # IAM's room (credentials)
    owned = ownership.buckets(aws, tenant)
    if len(owned) >= limit and name not in owned:  # a retried create of its own bucket passes
        raise Conflict(
            f"plan '{plan.name}' allows {limit} bucket(s); the tenant has {len(owned)}",
            errors={"Bucket": [f"at most {limit} bucket(s) on plan '{plan.name}'"]},
        )
    return plan


def website_owner(rt: Runtime, caller: Caller | None, account: str, site: str) -> str | None:
    """``POST .../websites``: None for admins; for a tenant key its id, once the site's bucket fits in its plan
    (409 otherwise). The website's bucket is then tagged for the tenant and its credentials reach it."""
    tenant = tenant_of(caller)
    if tenant is None:
        return None
    _within_plan(rt, rt.aws(account), tenant, site)
    return tenant


def account_names(rt: Runtime, caller: Caller | None) -> list[str]:
    """``GET /v1/s3/accounts``: the configured accounts, or the tenant's own."""
    names = sorted(rt.settings.accounts)
    if tenant_of(caller) is None:
        return names
    return [n for n in names if caller is not None and n == caller.account]


def stats(rt: Runtime, caller: Caller | None, account: str) -> dict[str, int]:
    """``GET .../stats``: the account's counts, or the tenant's (:func:`access.stats`)."""
    aws = rt.aws(account)
    tenant = tenant_of(caller)
    if tenant is None:
        return links.stats(rt.db, aws)
    owned = ownership.buckets(aws, tenant)
    return links.stats(rt.db, aws, tenant, counts=access.stats(aws, owned), owned=owned)


def list_operations(rt: Runtime, caller: Caller | None, query: Mapping[str, Any]) -> dict[str, Any]:
    """``GET /v1/s3/operations``: every operation, or those the tenant started."""
    tenant = tenant_of(caller)
    filters = dict(query)
    if tenant is not None:
        filters["tenant"] = tenant
    return rt.operations.list(**filters)
