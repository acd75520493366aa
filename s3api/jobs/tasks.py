"""The operation kinds this service runs. Each block registers one kind with :func:`s3api.jobs.kinds.kind`: its
task function (idempotent, resuming from its saved progress), its target and lock, its preflight.

- ``bucket.recount`` — an exact usage count of a bucket (a listing of all of it, with progress), de-duplicated:
  a second request while one runs gets the running one.
- ``website.create``, ``website.delete`` — a website's create or delete (``Prefer: respond-async``), waiting for
  CloudFront in the task.
- ``bucket.delete`` — the forced delete of a bucket with everything in it (``DELETE .../buckets/{b}?force=true``):
  the preflight refuses a live website and counts a first page of what will go; the task empties the bucket in
  batches of 1,000 (versions, delete markers, incomplete uploads), then deletes its IAM family and the bucket
  (:mod:`s3api.provisioning.emptying`). Canceled, it leaves the bucket half-emptied and says so. De-duplicated:
  a repeated forced delete while one is unfinished answers that one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from s3api.aws.clients import AccountAws
from s3api.db.links import LinkStore
from s3api.db.session import Database
from s3api.jobs.kinds import Context, kind
from s3api.provisioning import boundary, emptying, objects, signers
from s3api.provisioning.websites import deploy
from s3api.provisioning.websites.create import check as check_create
from s3api.provisioning.websites.delete import check as check_delete
from s3api.schemas.websites import WebsiteCreatedSchema, WebsiteDeletedSchema

# --- bucket.recount -------------------------------------------------------------------------------------------


def _recount_preflight(aws: AccountAws, params: Mapping[str, Any]) -> None:
    """The managed-bucket boundary in the request: 404 when the bucket is missing, 403 when it is not ours."""
    boundary.require_managed(aws, params["Bucket"])


@kind("bucket.recount", preflight=_recount_preflight, dedupe=True)
def recount(ctx: Context) -> dict[str, Any]:
    """Params ``{"Bucket"}``. An exact count of every key (:func:`s3api.provisioning.objects.recount`: no
    budget, a checkpoint per page of 1,000 keys; progress ``Objects``, ``Bytes``, ``Pages``). Resumed after a
    stop, it counts again from zero (a continuation token does not fit the counters). Cancel: the count stops,
    nothing was changed. Result ``{Bucket, Objects, Bytes, ByStorageClass, AsOf, Source: "listing",
    Complete: true}``."""
    return objects.recount(ctx.aws, ctx.params["Bucket"], ctx)


# --- website.create, website.delete ---------------------------------------------------------------------------


def website_target(account: str, params: Mapping[str, Any]) -> str:
    return f"website:{account}/{params['Website']}"


def website_lock(account: str, params: Mapping[str, Any]) -> str:
    """A website's bucket is named after the site: its operations share the bucket's lock, so a forced bucket
    delete and a website operation on the same bucket never run at once."""
    return f"bucket:{account}/{params['Website']}"


def _as_answered(schema: Any, answer: Mapping[str, Any]) -> dict[str, Any]:
    """The workflow's answer as the synchronous route renders it (its response schema: datetimes as ISO 8601
    text), with what the task adds (``Deployed``, ``Note``, ``Resumed`` ...) kept as they are."""
    shown: dict[str, Any] = schema.dump(answer)
    shown.update({key: value for key, value in answer.items() if key not in schema.fields})
    return shown


def _wait(ctx: Context) -> deploy.Wait:
    return deploy.Wait(max_seconds=ctx.aws.settings.website_deploy_wait_seconds, sleep=deploy.sleep)


def _create_preflight(aws: AccountAws, params: Mapping[str, Any]) -> None:
    """The create's checks that change nothing (400, 409; 500 for a misconfigured certificate), in the request."""
    check_create(aws, params["Website"], params.get("Tags"), params.get("WebsiteConfiguration"))


@kind("website.create", target=website_target, lock=website_lock, preflight=_create_preflight)
def create_website(ctx: Context) -> dict[str, Any]:
    """Params ``{"Website", "Tags", "WebsiteConfiguration", "Owner"?}`` (``Owner``: the tenant whose website it is).
    The synchronous create (checks again, steps,
    rollback on failure: a failed create leaves nothing behind), then a wait for CloudFront ``Deployed``
    (:mod:`s3api.provisioning.websites.deploy`: polls with a checkpoint between them, at most
    ``website_deploy_wait_seconds``). Result: the synchronous route's body plus ``Deployed`` and
    ``DistributionStatus``; a wait that reaches its bound still succeeds, with ``Deployed: false`` and a
    ``Note``. Cancel: a created website stays created, the cancel only stops the wait (the Canceled result
    says so); cancel never interrupts the create's own steps."""
    params = ctx.params
    answer = deploy.create_deployed(
        ctx.aws,
        params["Website"],
        params.get("Tags"),
        params.get("WebsiteConfiguration"),
        ctx,
        _wait(ctx),
        owner=params.get("Owner"),
    )
    return _as_answered(WebsiteCreatedSchema(), answer)


def _delete_preflight(aws: AccountAws, params: Mapping[str, Any]) -> None:
    """The delete's cheap checks, in the request: the name (400), a bucket with content (409)."""
    check_delete(aws, params["Website"])


@kind("website.delete", target=website_target, lock=website_lock, preflight=_delete_preflight)
def delete_website(ctx: Context) -> dict[str, Any]:
    """Params ``{"Website"}``. The synchronous delete (DNS records, disable, IAM, default pages, bucket), then a
    wait for the disable to deploy and DeleteDistribution by the task itself (``DistributionDeleted: true``);
    at the bound, it is left to the periodic task (``DistributionDeleted: false`` and a ``Note``). Cancel: what
    was deleted stays deleted; the disabled distribution is left to the periodic task."""
    answer = deploy.delete_deployed(ctx.aws, ctx.params["Website"], ctx, _wait(ctx))
    return _as_answered(WebsiteDeletedSchema(), answer)


# --- bucket.delete (forced) -----------------------------------------------------------------------------------


def _force_delete_preflight(aws: AccountAws, params: Mapping[str, Any]) -> dict[str, int]:
    return emptying.preflight_force_delete(aws, params["Bucket"])


@kind("bucket.delete", preflight=_force_delete_preflight, dedupe=True)
def force_delete(ctx: Context) -> dict[str, Any]:
    answer = emptying.empty_and_delete(ctx.aws, ctx.params["Bucket"], ctx)
    forget_signers(ctx.store.db, ctx.aws, ctx.params["Bucket"])
    return answer


def forget_signers(db: Database, aws: AccountAws, bucket: str) -> int:
    """A deleted bucket's share-link signers (IAM users) removed, their rows and links forgotten; the links
    forgotten. The one implementation: :func:`s3api.control.links.forget_bucket` calls it (the job engine may not
    import the control layer, the control layer may import the engine)."""
    store = LinkStore(db)
    for signer in store.signers_of(aws.account.name, bucket):
        signers.remove(aws, signer.iam_user)
    return store.forget_bucket(aws.account.name, bucket)
