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

from __future__ import annotations

from s3api.aws.clients import AccountAws
from s3api.provisioning.steps import Transaction
from s3api.provisioning.tenants import ownership


def buckets(aws: AccountAws, tenant_id: str) -> list[str]:
    return ownership.buckets(aws, tenant_id)


def create(aws: AccountAws, tenant_id: str, buckets: list[str], steps: Transaction) -> tuple[str, str]:
    raise NotImplementedError("tenant credentials: the tenancy work fills this in")


def sync(aws: AccountAws, tenant_id: str, buckets: list[str] | None = None) -> None:
    raise NotImplementedError("tenant credentials: the tenancy work fills this in")


def rotate(aws: AccountAws, tenant_id: str, grace_seconds: int) -> tuple[str, str]:
    raise NotImplementedError("tenant credentials: the tenancy work fills this in")


def set_key_status(aws: AccountAws, tenant_id: str, key_id: str, status: str) -> None:
    raise NotImplementedError("tenant credentials: the tenancy work fills this in")


def suspend(aws: AccountAws, tenant_id: str) -> None:
    raise NotImplementedError("tenant credentials: the tenancy work fills this in")


def resume(aws: AccountAws, tenant_id: str) -> None:
    raise NotImplementedError("tenant credentials: the tenancy work fills this in")


def delete(aws: AccountAws, tenant_id: str) -> None:
    raise NotImplementedError("tenant credentials: the tenancy work fills this in")
