"""Website create: checks first, then the steps, each undone in reverse when a later one fails.

Checks, no AWS change: names, tags, certificate (ISSUED, covers the site, us-east-1), HeadBucket (409 when
taken), the DNS name (409 when an A/AAAA/CNAME record exists), the bucket's IAM names free. Then:

1. CreatePolicy ``<site>-BktAdmPlc``: the claim, as for buckets (two racing creates: one gets
   EntityAlreadyExists → 409 with nothing to undo, and never deletes the other's bucket), tagged with
   :data:`groups.GROUPS_MARKER`. Undo: delete it.
2. CreateBucket. Undo: delete the default pages, DeleteBucket. 3. wait until HeadBucket sees it.
4. tags (caller + org), 5. SSE-S3, 6. BucketOwnerEnforced, 7. access logging (when configured),
8. website configuration (``index.html`` when no IndexDocument), 9. origin access. Steps 4-9 are undone by
   the bucket's deletion.
10. CreateGroup ``<site>-BktAdmGrp`` (undo: delete it), 11. attach (undo: detach).
12. CreateDistributionWithTags (alias = site, certificate sni-only, TLSv1.2_2021, redirect-to-https,
    http2and3, compression, IPv6, caller tags + org). Undo: **disable** it; the sweeper deletes it once
    deployed (never waited for inside a request).
13. bucket tag ``s3api:distribution=<id>``; 14. (private) the bucket policy naming the distribution.
15. CreatePolicy ``<site>-WebAdmPlc`` (configured CloudFront actions on the distribution ARN), 16. CreateGroup
    ``<site>-WebAdmGrp``, 17. attach; undone in reverse like 1, 10, 11.
18. Route53 CREATE of the A and AAAA aliases (never UPSERT). Undo: DELETE of exactly those records.
19. the default page ``index.html`` (key without a leading slash), tagged as a default page.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any

from s3api.aws import acm, cloudfront, iam, route53, s3
from s3api.aws.clients import AccountAws
from s3api.errors import Conflict, Forbidden, InternalError, NotFound
from s3api.provisioning import buckets, policies
from s3api.provisioning.steps import Transaction
from s3api.provisioning.tenants import access, ownership
from s3api.provisioning.websites.distribution import (
    CREATED_COMMENT,
    DELETED_COMMENT,
    distribution_config,
    origin_access,
    policy_json,
    website_configuration,
)
from s3api.provisioning.websites.groups import GROUPS_MARKER
from s3api.provisioning.websites.naming import ADMIN, INDEX, WEB_ADMIN, Site, caller_tags, resolve
from s3api.provisioning.websites.pages import content_check, delete_pages, ensure_page, page_body, undo_page

log = logging.getLogger("s3api.websites")


def _check_certificate(aws: AccountAws, site: Site) -> None:
    """The domain's certificate must be ISSUED, in us-east-1 and cover the site; AccessDenied → not checked."""
    problem = None
    try:
        cert = acm.describe_certificate(aws, site.certificate_arn)
    except Forbidden:
        log.info("certificate not checked: access denied", extra={"domain": site.domain})
        return
    except NotFound:
        problem = "does not exist"
    else:
        if acm.arn_region(site.certificate_arn) != "us-east-1":
            problem = "is not in us-east-1 (CloudFront uses only us-east-1 certificates)"
        elif cert.get("Status") != "ISSUED":
            problem = f"is not issued (status {cert.get('Status')})"
        elif not acm.covers(cert, site.name):
            problem = f"does not cover {site.name}"
    if problem:
        log.error("website domain misconfigured", extra={"domain": site.domain, "problem": problem})
        raise InternalError(f"the certificate configured for {site.domain} {problem}; ask an administrator")


def _check_free(aws: AccountAws, site: Site) -> None:
    """409 when the bucket name is taken (ours or someone else's) or the DNS name already has a record."""
    try:
        taken = s3.head_bucket(aws, site.name) is not None
    except Forbidden:
        taken = True
    if taken:
        raise Conflict(f"bucket '{site.name}' already exists")
    existing = [r["Type"] for r in route53.records_at(aws, site.zone_id, site.name)]
    if any(t in route53.CONFLICTING_TYPES for t in existing):
        raise Conflict(f"a DNS record for {site.name} already exists ({', '.join(existing)}); it is never overwritten")


def _undo_bucket(aws: AccountAws, site: str) -> None:
    try:
        empty, pages = content_check(aws, site)
    except NotFound:
        return
    if empty:
        delete_pages(aws, site, pages)
    s3.delete_bucket(aws, site, missing_ok=True)


def _undo_distribution(aws: AccountAws, distribution: Mapping[str, Any]) -> None:
    cloudfront.disable_distribution(aws, distribution["Id"])


def check(
    aws: AccountAws,
    site_name: str,
    tags: list[Any] | None = None,
    configuration: Mapping[str, Any] | None = None,
) -> tuple[Site, list[dict[str, str]], dict[str, Any]]:
    """The checks of a create, changing nothing (see the module docstring): the site name under a configured
    domain (400), tags and website configuration (400), the certificate (500 naming the misconfiguration), the
    bucket and DNS names free (409), the IAM names free (409). ``(site, bucket tags, website configuration)``.
    :func:`create` runs them first; an async create (``Prefer: respond-async``) also runs them in the request,
    so that a bad request is refused at once and no operation is made."""
    site = resolve(aws, site_name, "BucketInput.Bucket")
    bucket_tags = caller_tags(aws, tags)
    config = website_configuration(configuration)
    name = site.name
    _check_certificate(aws, site)
    try:
        _check_free(aws, site)
    except Conflict as exc:
        if buckets.own_claim(aws, policies.policy_name(name, ADMIN)) is None:
            raise
        raise Conflict(
            f"website '{name}' already exists, or an earlier create of it was interrupted: GET /websites/{name} "
            f"shows what there is; DELETE /websites/{name} removes it, then it can be created again"
        ) from exc
    buckets.check_names_free(aws, name)  # leftover or another scope's groups and policies are never adopted
    return site, bucket_tags, config


def create(
    aws: AccountAws,
    site_name: str,
    tags: list[Any] | None = None,
    configuration: Mapping[str, Any] | None = None,
    *,
    owner: str | None = None,
) -> dict[str, Any]:
    """Create a website; answers Yale's ``{"Bucket", "Policies", "Groups", "Distribution", "DnsChange"}``.
    See the module docstring for the checks, the steps and their undo.

    A retried create (the client timed out, or the server died half-way): when only the claim
    ``<site>-BktAdmPlc`` is left (no bucket yet), an abandoned claim of ours is taken over as for buckets
    (:func:`s3api.provisioning.buckets.claim`) and the create runs. Once the bucket exists the retry is a
    409 that touches nothing and, when the claim is ours, says how to recover (GET shows the site, DELETE
    removes it — it finishes a half-made site too — then POST again). A complete site is not answered again:
    the Distribution and DnsChange of the first answer cannot be reproduced by reads.
    """
    site, bucket_tags, config = check(aws, site_name, tags, configuration)
    if owner is not None:  # a tenant's website: its bucket carries the tenant tag, its credentials reach it
        bucket_tags = [*bucket_tags, {"Key": ownership.TAG_KEY, "Value": owner}]
    root_object = (config.get("IndexDocument") or {}).get("Suffix") or INDEX
    name = site.name
    adm_policy, adm_group = policies.policy_name(name, ADMIN), policies.group_name(name, ADMIN)
    web_policy, web_group = policies.policy_name(name, WEB_ADMIN), policies.group_name(name, WEB_ADMIN)
    settings = aws.settings
    admin_doc = policies.default_bucket_admin(
        name, settings.bucket_actions, settings.object_actions, settings.protected_actions
    )
    org = [aws.settings.org_tag]

    with Transaction("website_create") as tx:
        admin_policy = buckets.build(
            tx,
            aws,
            name,
            bucket_tags,
            lambda: buckets.claim(
                aws, adm_policy, admin_doc, policies.policy_description(name, ADMIN, website=True), [GROUPS_MARKER]
            ),
            block_public_access=False,  # private: new buckets block public access; public-website: opened below
            undo_bucket=functools.partial(_undo_bucket, aws, name),
        )
        tx.step("website", lambda: s3.put_website(aws, name, config))
        oac_id = tx.step("origin_access", lambda: origin_access(aws, name))
        admin_group = buckets.admin_group(tx, aws, adm_group, admin_policy["Arn"])
        distribution: dict[str, Any] = tx.step(
            "distribution",
            lambda: cloudfront.create_distribution(
                aws, distribution_config(aws, site, oac_id, root_object), bucket_tags
            ),
            functools.partial(_undo_distribution, aws),
        )
        dist_tag = {"Key": s3.DISTRIBUTION_TAG, "Value": distribution["Id"]}
        tx.step("tag_distribution_id", lambda: s3.put_tags(aws, name, [*bucket_tags, dist_tag]))
        if aws.account.origin_access == "private":
            read = policy_json(policies.website_oac_read(name, distribution["ARN"]))
            tx.step("bucket_policy", lambda: s3.put_bucket_policy(aws, name, read))
        web_document = policies.web_admin(distribution["ARN"], settings.website_actions, settings.protected_actions)
        web_admin_policy = tx.step(
            "create_web_policy",
            lambda: iam.create_policy(aws, web_policy, web_document, policies.policy_description(name, WEB_ADMIN), org),
            lambda p: _discard(iam.delete_policy(aws, p["Arn"])),
        )
        web_admin_group = buckets.admin_group(tx, aws, web_group, web_admin_policy["Arn"], step="web_group")
        records = route53.alias_records(name, distribution["DomainName"])
        dns = tx.step(
            "dns",
            lambda: route53.create_records(aws, site.zone_id, records, CREATED_COMMENT),
            lambda _: _discard(route53.delete_records(aws, site.zone_id, records, DELETED_COMMENT)),
        )
        tx.step(
            "index_page",
            lambda: ensure_page(aws, name, INDEX, page_body(name, "/")),
            functools.partial(undo_page, aws, name, INDEX),
        )
        if owner is not None:  # the undo first: a sync failing half-way is narrowed again too
            tx.on_undo("tenant_access", lambda: access.after_bucket_deleted(aws, owner, name))
            access.after_bucket_created(aws, owner, name)
    return {
        "Bucket": f"/{name}",
        "Policies": [admin_policy, web_admin_policy],
        "Groups": [admin_group, web_admin_group],
        "Distribution": distribution,
        "DnsChange": dns,
    }


def _discard(_: Any) -> None:
    """Undos answer nothing; gateway deletes answer whether something was deleted."""
