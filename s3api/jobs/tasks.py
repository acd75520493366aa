"""The operation kinds this service runs. Each block registers one kind with :func:`s3api.jobs.kinds.kind`: its
task function (idempotent, resuming from its saved progress), its target and lock, its preflight.

- ``bucket.recount`` — an exact usage count of a bucket (a listing of all of it, with progress), de-duplicated:
  a second request while one runs gets the running one.
"""

from __future__ import annotations

from typing import Any

from s3api.jobs.kinds import Context, kind
from s3api.provisioning import objects


@kind("bucket.recount", dedupe=True)
def recount(ctx: Context) -> dict[str, Any]:
    found = objects.usage(ctx.aws, ctx.params["Bucket"])
    ctx.set(Objects=int(found.get("Objects", 0) or 0))
    ctx.checkpoint()
    return {key: (value.isoformat() if hasattr(value, "isoformat") else value) for key, value in found.items()}
