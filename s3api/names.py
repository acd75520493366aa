"""Names, limits and defaults that several layers share: the bottom of the import graph.

Pure data, no I/O, and no import from ``s3api``: configuration, schemas, gateways and workflows all import
from here, so nothing here may import them back (``tests/unit/test_layers.py`` checks it). A value lives here
when more than one layer needs it (a schema's validator and the workflow that enforces the same rule, a
configuration default and the policy document that uses it); a value only one module needs stays there.
"""

from __future__ import annotations

import re
from typing import Any

#: An AWS tag as the S3, IAM and CloudFront APIs spell it: ``{"Key": ..., "Value": ...}``.
Tag = dict[str, str]

# --- IAM actions granted by default (configuration ``policy_actions``) ------------------------------------

#: Used when the configuration gives no action list (copy before mutating).
DEFAULT_BUCKET_ACTIONS: list[str] = ["s3:*"]
DEFAULT_OBJECT_ACTIONS: list[str] = ["s3:*"]
DEFAULT_WEBSITE_ACTIONS: list[str] = [
    "cloudfront:CreateInvalidation",
    "cloudfront:GetInvalidation",
    "cloudfront:ListInvalidations",
]
#: Actions denied explicitly in every identity policy we issue (setting ``policy_actions.protected``): they
#: would break what the service relies on. ``s3:`` and other actions are denied on the bucket in the bucket
#: documents (delete: a live distribution would point at a name anyone can register; tagging: the org and
#: distribution tags; policy, public access block, ownership, logging, encryption, object lock: the access
#: model and the service's ability to empty and delete the bucket); ``cloudfront:`` actions are denied on
#: the site's distribution in the web admin document (aliases, origin and the org tag the sweeper trusts).
#: An explicit Deny wins over any Allow, including a configured ``s3:*``.
DEFAULT_PROTECTED_ACTIONS: list[str] = [
    "s3:DeleteBucket",
    "s3:PutBucketTagging",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketLogging",
    "s3:PutEncryptionConfiguration",
    "s3:PutBucketObjectLockConfiguration",
    "cloudfront:UpdateDistribution",
    "cloudfront:DeleteDistribution",
    "cloudfront:TagResource",
    "cloudfront:UntagResource",
]

# --- groups, users ----------------------------------------------------------------------------------------

#: The bucket group kinds, in the order of their names ``<bucket>-<kind>`` (the Go service's names).
GROUP_KINDS = ("BktAdmGrp", "BktRWGrp", "BktROGrp")
#: The website's own admin group kind (``<site>-WebAdmGrp``).
WEB_ADMIN_KIND = "WebAdmGrp"

#: IAM user names: 1-64 of letters, digits and ``_+=,.@-``.
#: A configured account name (the ``{account}`` of every route).
ACCOUNT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
USER_NAME_PATTERN = "[A-Za-z0-9_+=,.@-]{1,64}"  # an IAM user name
USER_NAME = re.compile(USER_NAME_PATTERN)
#: IAM paths: ``/``, or printable ASCII starting and ending with ``/`` (at most 512 characters).
IAM_PATH = re.compile(r"/|/[\x21-\x7e]{1,510}/")
#: The longest grace period an access key rotation may keep the old key alive: 7 days.
MAX_GRACE_SECONDS = 7 * 24 * 3600

# --- callers: API keys -------------------------------------------------------------------------------------

#: Roles an API key can have (``tenant`` keys belong to one tenant and see only its resources).
KEY_ROLES = ("admin", "reader", "tenant")
#: roles POST /v1/s3/keys may give (a tenant key is made with its tenant: POST /v1/s3/tenants)
OPEN_KEY_ROLES = ("admin", "reader")
#: An API key's id: 16 hex digits (opaque to clients).
KEY_ID = re.compile(r"[0-9a-f]{16}")
#: an operation id: ``op-`` and 24 hex digits
OPERATION_ID = re.compile(r"op-[0-9a-f]{24}")
#: An API key as sent in ``X-Auth-Token``: ``s3k_<id>_<secret>``, the secret 43 URL-safe characters (32 bytes).
API_KEY = re.compile(r"s3k_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")

#: The header that makes a creating or changing request idempotent (:mod:`s3api.idempotency`): 1 to 255
#: printable ASCII characters; and the one a replayed answer carries.
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY = re.compile(r"[\x20-\x7e]{1,255}")
REPLAYED_HEADER = "Idempotent-Replayed"

# --- buckets ----------------------------------------------------------------------------------------------

#: Named lifecycle rules a bucket can be given (``Lifecycle`` on create); any other name is a 400.
LIFECYCLES: dict[str, dict[str, Any]] = {
    "deep-archive": {
        "ID": "deep-archive-rule",
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "Transitions": [{"Days": 1, "StorageClass": "DEEP_ARCHIVE"}],
    },
}

#: ``?include=`` names → the field each adds to GET bucket (each costs exactly its own AWS call).
OPTIONAL_FIELDS: dict[str, str] = {
    "region": "Region",
    "encryption": "Encryption",
    "versioning": "Versioning",
    "public_access_block": "PublicAccessBlock",
    "lifecycle": "Lifecycle",
    "website": "Website",
}

# --- tenants (their S3 credentials: s3api/provisioning/tenants/credentials.py) ------------------------------

#: A tenant id: ``t-`` and 16 hex digits.
TENANT_ID = re.compile(r"t-[0-9a-f]{16}")
#: IAM's size limit of one customer-managed policy (characters, whitespace not counted) and of all inline
#: policies of one user together; managed policies attached to one user (IAM's default quota) and the
#: versions one managed policy may have.
IAM_MANAGED_POLICY_CHARS = 6144
IAM_INLINE_USER_POLICY_CHARS = 2048
IAM_MANAGED_POLICIES_PER_USER = 10
IAM_POLICY_VERSIONS = 5
#: The most buckets one tenant may have. A tenant's credentials are one IAM user with up to
#: IAM_MANAGED_POLICIES_PER_USER managed policies of its own (no group: 10 groups per user would be the tighter
#: limit); each bucket costs two ARNs (``arn:aws:s3:::<b>`` and ``…/<b>/*``): 160 characters for a 63-character
#: name, so one 6,144-character policy holds 37 such buckets with the default action lists (``s3:*``), ten of
#: them 370. 300 leaves room for longer configured action lists; tests/unit/test_tenant_policies.py proves 300
#: buckets of 63 characters fit.
MAX_TENANT_BUCKETS = 300
# --- share links (presigned links we issued) ----------------------------------------------------------------

#: a share's name (``"Share": "newsletter-2026-12"``): a letter or digit, then letters, digits, ``.``, ``_``, ``-``
SHARE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: a link's id: ``lnk-`` and 24 hex digits
LINK_ID = re.compile(r"lnk-[0-9a-f]{24}")
#: live signers (shares with an IAM user) a bucket may have, the bucket's default signer not counted: each is one
#: IAM user, and IAM's default quota is 5,000 users per account (shared with bucket users, website users, tenants)
MAX_SHARES_PER_BUCKET = 100
#: a signer key signs new links while it is younger than this; older, a fresh key is made (IAM allows two keys
#: per user: the old one stays until its last link expires, at most ``max_link_seconds`` later)
SIGNER_KEY_MAX_AGE_SECONDS = 30 * 24 * 3600
#: links are purged from the inventory this long after they expired or were revoked
LINK_PURGE_AFTER_SECONDS = 7 * 24 * 3600
#: the IAM path of every signer user: ``/s3api-signers/<bucket>/``
SIGNER_PATH = "/s3api-signers/"


# --- plans: what going over a limit does ----------------------------------------------------------------------

#: over ``BandwidthBytesPerMonth``: nothing, alerts only (the default), or a website's reads denied until the month
#: ends (s3api/provisioning/quota_guard.py)
BANDWIDTH_ACTIONS = ("none", "alert", "block")
