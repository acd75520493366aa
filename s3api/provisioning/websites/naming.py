"""Site names: what a website may be called, and the names and tags every part of a site shares.

Exactly one label under one of the account's configured domains (the domain's wildcard certificate covers
one level): ``www.example.org`` for domain ``example.org``. Anything else → 400 naming the allowed domains.
The site's bucket is named after the site.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from s3api import validation
from s3api.aws import s3
from s3api.aws.clients import AccountAws
from s3api.errors import BadRequest
from s3api.provisioning import policies
from s3api.provisioning.tenants import ownership

Tag = dict[str, str]


ADMIN = "BktAdmGrp"


WEB_ADMIN = policies.WEB_ADMIN_KIND


SITE_KINDS = (*policies.GROUP_KINDS, WEB_ADMIN)


INDEX = "index.html"


#: Caller tags on a website: 50 - the org tag - the distribution tag.
MAX_WEBSITE_CALLER_TAGS = validation.MAX_TAGS - 2


_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


@dataclass(frozen=True)
class Site:
    """A website name resolved against the account's domains."""

    name: str
    domain: str
    zone_id: str
    certificate_arn: str


def resolve(aws: AccountAws, site: str, field_name: str = "website") -> Site:
    """``site`` as a :class:`Site`, or 400 naming the domains a site may be created under."""
    label, _, parent = site.partition(".") if isinstance(site, str) else ("", "", "")
    domain = aws.account.domains.get(parent)
    if domain is None or not _LABEL.fullmatch(label) or validation.bucket_name_error(site):
        allowed = ", ".join(sorted(aws.account.domains)) or "none are configured for this account"
        message = f"website {site!r} must be one label under one of the account's domains: {allowed}"
        raise BadRequest(message, errors={field_name: [message]})
    return Site(site, parent, domain.hosted_zone_id, domain.certificate_arn)


def caller_tags(aws: AccountAws, tags: Any) -> list[Tag]:
    """Caller tags checked as for buckets, at most :data:`MAX_WEBSITE_CALLER_TAGS`, not the distribution tag."""
    checked = validation.validate_tags(tags, aws.settings.org_tag_key, "Tags")
    problem = None
    if len(checked) > MAX_WEBSITE_CALLER_TAGS:
        problem = f"at most {MAX_WEBSITE_CALLER_TAGS} tags are allowed on a website (the rest are reserved)"
    elif reserved := [t["Key"] for t in checked if t["Key"].lower() in (s3.DISTRIBUTION_TAG, ownership.TAG_KEY)]:
        problem = f"the tag {reserved[0]!r} is set by the server and may not be given"
    if problem:
        raise BadRequest(problem, errors={"Tags": [problem]})
    return validation.with_org_tag(checked, aws.settings.org_tag_key, aws.settings.org)
