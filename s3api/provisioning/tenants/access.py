"""What a tenant key may reach: the hooks the bucket workflows call so that a tenant's credentials follow its
buckets.

INTERFACE (filled in by the isolation work):

- ``after_bucket_created(aws, tenant_id, bucket)``: the tenant's credentials now reach ``bucket`` too
  (``credentials.sync``).
- ``after_bucket_deleted(aws, tenant_id, bucket)``: they no longer do; share links of the bucket go.
"""

from __future__ import annotations
