"""A tenant's S3 credentials: one IAM user whose policy reaches exactly the tenant's buckets.

INTERFACE (filled in by the tenancy work; other modules call only these):

- ``buckets(aws, tenant_id) -> list[str]``: the tenant's buckets, read back from AWS (the ``s3api:tenant`` tag).
- ``create(aws, tenant_id, buckets, steps) -> tuple[str, str]``: the IAM user, its policy for ``buckets`` and an
  access key: ``(access_key_id, secret)``; each AWS step registered with its undo on ``steps``.
- ``sync(aws, tenant_id, buckets=None)``: make the policy name exactly ``buckets`` (None: read them back) — called
  after a tenant bucket is created or deleted.
- ``rotate(aws, tenant_id, grace_seconds) -> tuple[str, str]``, ``set_key_status(aws, tenant_id, key_id, status)``,
  ``suspend(aws, tenant_id)``, ``resume(aws, tenant_id)``, ``delete(aws, tenant_id)`` (idempotent).
"""
