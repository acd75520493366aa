"""The operation kinds this service runs. Each block registers one kind with :func:`s3api.jobs.kinds.kind`: its
task function (idempotent, resuming from its saved progress), its target and lock, its preflight.

- ``bucket.recount`` — an exact usage count of a bucket (a listing of all of it, with progress), de-duplicated:
  a second request while one runs gets the running one.
- ``bucket.delete`` — the forced delete of a bucket with everything in it (``DELETE .../buckets/{b}?force=true``):
  the preflight refuses a live website and counts a first page of what will go; the task empties the bucket in
  batches of 1,000 (versions, delete markers, incomplete uploads), then deletes its IAM family and the bucket
  (:mod:`s3api.provisioning.emptying`). Canceled, it leaves the bucket half-emptied and says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from s3api.aws.clients import AccountAws
from s3api.jobs.kinds import Context, kind
from s3api.provisioning import emptying, objects


@kind("bucket.recount", dedupe=True)
def recount(ctx: Context) -> dict[str, Any]:
    found = objects.usage(ctx.aws, ctx.params["Bucket"])
    ctx.set(Objects=int(found.get("Objects", 0) or 0))
    ctx.checkpoint()
    return {key: (value.isoformat() if hasattr(value, "isoformat") else value) for key, value in found.items()}


def _force_delete_preflight(aws: AccountAws, params: Mapping[str, Any]) -> dict[str, int]:
    return emptying.preflight_force_delete(aws, params["Bucket"])


@kind("bucket.delete", preflight=_force_delete_preflight)
def force_delete(ctx: Context) -> dict[str, Any]:
    return emptying.empty_and_delete(ctx.aws, ctx.params["Bucket"], ctx)
