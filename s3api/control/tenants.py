"""Tenants: a customer's S3 account — the row (:mod:`s3api.db.tenants`) and its AWS side
(:mod:`s3api.provisioning.tenants`) together. The kind ``tenant.create`` lives here.

INTERFACE (filled in by the tenancy work; orders, lifecycle and isolation call only these):

- ``validate_new(rt, body) -> NewTenant``: the checks of a new tenant (plan exists, active or the caller may use a
  test plan, sold in the location, location is a configured account's, e-mail valid, first bucket name valid and
  free) — 400/404/409 with nothing created. ``body`` is the POST /v1/s3/tenants JSON (Plan, Location, Email,
  ClientId, Billing, Bucket, Tester).
- ``start_create(rt, caller, tenant_id) -> Operation``: start the operation ``tenant.create`` for a tenant row in
  ``provisioning`` (a free plan: at once; a paid one: when its order is paid). The operation makes the first
  bucket, the credentials and the tenant's API key; its result holds the secret and the key once.
- ``shape(rt, row, *, usage=False) -> dict``: the API shape of a tenant (never a secret).
"""

from __future__ import annotations
