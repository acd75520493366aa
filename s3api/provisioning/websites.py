"""Static websites: an S3 bucket named after the site, served by CloudFront under the site's name with the
domain's ACM certificate, an A and AAAA alias in the domain's Route53 zone, and IAM groups for its users.

**Site names.** Exactly one label under one of the account's configured domains (the domain's wildcard
certificate covers one level): ``www.example.org`` for domain ``example.org``. Anything else → 400 naming the
allowed domains.

**Origin access** (``account.origin_access``):
- ``private`` (default): S3 REST origin signed by the account's Origin Access Control; the bucket policy lets
  exactly this distribution read objects; Block Public Access stays fully on. The bucket's website
  configuration is stored but CloudFront does not use the S3 website endpoint (only ``DefaultRootObject``).
- ``public-website`` (Yale's model): the S3 website endpoint as an http-only custom origin, dash or dot style
  by region (:func:`website_endpoint`), a public-read bucket policy, BlockPublicPolicy off.

**Create**, in order (each undo registered once its step succeeded; the failing step's undo never runs):
checks first, no AWS change: names, tags, certificate (ISSUED, covers the site, us-east-1), HeadBucket
(409 when taken), the DNS name (409 when an A/AAAA/CNAME record exists). Then:

1. CreatePolicy ``<site>-BktAdmPlc``: the claim, as for buckets (two racing creates: one gets
   EntityAlreadyExists → 409 with nothing to undo, and never deletes the other's bucket). Undo: delete it.
2. CreateBucket. Undo: delete the default pages, DeleteBucket. 3. wait until HeadBucket sees it.
4. tags (caller + org), 5. SSE-S3, 6. BucketOwnerEnforced, 7. access logging (when configured),
8. website configuration (``index.html`` when no IndexDocument), 9. origin access (above). Steps 4-9 are
   undone by the bucket's deletion.
10. CreateGroup ``<site>-BktAdmGrp`` (undo: delete it), 11. attach (undo: detach).
12. CreateDistributionWithTags (alias = site, certificate sni-only, TLSv1.2_2021, redirect-to-https,
    http2and3, compression, IPv6, caller tags + org). Undo: **disable** it; the sweeper deletes it once
    deployed (never waited for inside a request).
13. bucket tag ``s3api:distribution=<id>``; 14. (private) the bucket policy naming the distribution.
15. CreatePolicy ``<site>-WebAdmPlc`` (configured CloudFront actions on the distribution ARN), 16. CreateGroup
    ``<site>-WebAdmGrp``, 17. attach; undone in reverse like 1, 10, 11.
18. Route53 CREATE of the A and AAAA aliases (never UPSERT). Undo: DELETE of exactly those records.
19. the default page ``index.html`` (key without a leading slash), tagged as a default page.

**Which distribution.** The bucket's ``s3api:distribution`` tag only names a candidate: every route acts on
a distribution only after checking that its aliases are exactly the site and its origins are the site's
bucket (:func:`find_distribution`); a tag that fails this is logged and ignored, and a paginated search by
alias (verified the same way) is the fallback.

**Delete** (retry-safe: every piece already gone is skipped, the bucket goes last): 400 for a name outside
the domains; when the bucket is already gone, the verified distribution found by alias is finished (DNS
records, disable, IAM; 404 when nothing is left); 409 when the bucket holds anything besides default pages,
or when no verified distribution exists but an enabled one still has the bucket as origin (checked before
anything changes). Then: the DNS records pointing at the distribution → disable the
distribution → IAM: every group of the site by exact name pattern (policies deleted, then the group; users
left without any access deleted, keys first) → the default pages → the bucket. The live name never points at
a missing bucket (Yale deleted the bucket first and could stop before the DNS record, §9.4).

**Users** of a website: the users workflow (:mod:`s3api.provisioning.users`) with this site's groups. A
``Path`` scopes a user to a prefix: groups ``<site>-<x_y>-<Kind>`` and prefix-restricted policies, both created
with IAM path = the scoping path (Yale gave only the policies that path; its groups are recognised by their
policy), a default ``x/y/index.html``. Root admins also join ``<site>-WebAdmGrp``.

**Sweeper** tasks: ``delete_dns_records`` removes records still pointing at this organisation's disabled
distributions whose bucket is gone; ``delete_distributions`` deletes those distributions once Deployed
(GetDistributionConfig → DeleteDistribution with ``IfMatch``). One failure never stops a pass.
"""

from __future__ import annotations

import copy
import functools
import html
import json
import logging
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from s3api import concurrency, duck, metrics, validation
from s3api.aws import acm, cloudfront, iam, route53, s3
from s3api.aws.clients import AccountAws
from s3api.errors import ApiError, BadRequest, Conflict, Forbidden, InternalError, NotFound
from s3api.provisioning import buckets, policies, sweeper, users
from s3api.provisioning.steps import Step, Transaction, run

log = logging.getLogger("s3api.websites")

Tag = dict[str, str]

ADMIN = "BktAdmGrp"
WEB_ADMIN = policies.WEB_ADMIN_KIND
SITE_KINDS = (*policies.GROUP_KINDS, WEB_ADMIN)
INDEX = "index.html"
#: Object tags marking a default page (ours, and the Yale service's for its root index.html).
DEFAULT_PAGE_TAG: Tag = {"Key": "s3api:default-page", "Value": "true"}
YALE_PAGE_TAG: Tag = {"Key": "yale:spinup", "Value": "true"}
#: The account's one Origin Access Control for private website buckets.
OAC_NAME = "s3api-website-buckets"
#: Regions whose S3 website endpoint is ``<b>.s3-website-<region>.amazonaws.com``; the others use a dot.
DASH_REGIONS = frozenset(
    {
        "us-east-1",
        "us-west-1",
        "us-west-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-northeast-1",
        "eu-west-1",
        "sa-east-1",
        "us-gov-west-1",
    }
)
MIN_TLS = "TLSv1.2_2021"  # Yale: TLSv1.1_2016 (§9.7)
CREATED_COMMENT = "Created by s3api"
DELETED_COMMENT = "Deleted by s3api"
SWEPT_COMMENT = "Deleted by the s3api sweeper"
#: Caller tags on a website: 50 - the org tag - the distribution tag.
MAX_WEBSITE_CALLER_TAGS = validation.MAX_TAGS - 2
MAX_INVALIDATION_PATHS = 3000  # CloudFront's limit per invalidation
PAGE_SCAN_SIZE = 100

_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_INVALIDATION_ID = re.compile(r"[A-Za-z0-9]{1,64}")


# --- names ----------------------------------------------------------------------------------------------------


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


def _check_name(site: str) -> str:
    return validation.validate_bucket_name(site, "website")


def website_endpoint(bucket: str, region: str) -> str:
    """The S3 website endpoint host of ``bucket`` in ``region`` (dash style in the older regions)."""
    separator = "-" if region in DASH_REGIONS else "."
    return f"{bucket}.s3-website{separator}{region}.amazonaws.com"


def s3_rest_endpoint(bucket: str, region: str) -> str:
    return f"{bucket}.s3.{region}.amazonaws.com"


def _org_tag(aws: AccountAws) -> Tag:
    return {"Key": aws.settings.org_tag_key, "Value": aws.settings.org}


def _caller_tags(aws: AccountAws, tags: Any) -> list[Tag]:
    """Caller tags checked as for buckets, at most :data:`MAX_WEBSITE_CALLER_TAGS`, not the distribution tag."""
    checked = validation.validate_tags(tags, aws.settings.org_tag_key, "Tags")
    problem = None
    if len(checked) > MAX_WEBSITE_CALLER_TAGS:
        problem = f"at most {MAX_WEBSITE_CALLER_TAGS} tags are allowed on a website (the rest are reserved)"
    elif any(t["Key"].lower() == s3.DISTRIBUTION_TAG for t in checked):
        problem = f"the tag {s3.DISTRIBUTION_TAG!r} is set by the server and may not be given"
    if problem:
        raise BadRequest(problem, errors={"Tags": [problem]})
    return validation.with_org_tag(checked, aws.settings.org_tag_key, aws.settings.org)


def website_configuration(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """S3's WebsiteConfiguration with ``index.html`` as the index document when none is given (not with
    ``RedirectAllRequestsTo``, which S3 allows only alone)."""
    result = copy.deepcopy(dict(config or {}))
    if "RedirectAllRequestsTo" in result:
        if any(k in result for k in ("IndexDocument", "ErrorDocument", "RoutingRules")):
            message = "RedirectAllRequestsTo cannot be combined with IndexDocument, ErrorDocument or RoutingRules"
            raise BadRequest(message, errors={"WebsiteConfiguration": [message]})
        return result
    if not (result.get("IndexDocument") or {}).get("Suffix"):
        result["IndexDocument"] = {"Suffix": INDEX}
    return result


def distribution_config(aws: AccountAws, site: Site, oac_id: str | None, root_object: str = INDEX) -> dict[str, Any]:
    """The DistributionConfig of a website (Yale §6.2, with the fixes of §9.7)."""
    region = aws.account.region
    origin: dict[str, Any] = {"Id": site.name}
    if oac_id is not None:
        origin.update(
            DomainName=s3_rest_endpoint(site.name, region),
            S3OriginConfig={"OriginAccessIdentity": ""},
            OriginAccessControlId=oac_id,
        )
    else:
        origin.update(
            DomainName=website_endpoint(site.name, region),
            CustomOriginConfig={"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "http-only"},
        )
    methods = {"Quantity": 2, "Items": ["GET", "HEAD"]}
    return {
        "CallerReference": str(uuid.uuid4()),
        "Aliases": {"Quantity": 1, "Items": [site.name]},
        "DefaultRootObject": root_object,
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {
            "TargetOriginId": site.name,
            "ViewerProtocolPolicy": "redirect-to-https",
            "AllowedMethods": {**methods, "CachedMethods": dict(methods)},
            "Compress": True,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            "TrustedSigners": {"Enabled": False, "Quantity": 0},
            "MinTTL": 0,
            "DefaultTTL": 3600,
        },
        "Comment": site.name,
        "PriceClass": "PriceClass_100",
        "Enabled": True,
        "ViewerCertificate": {
            "ACMCertificateArn": site.certificate_arn,
            "SSLSupportMethod": "sni-only",
            "MinimumProtocolVersion": MIN_TLS,
        },
        "HttpVersion": "http2and3",
        "IsIPV6Enabled": True,
    }


# --- default pages and emptiness ------------------------------------------------------------------------------


def _page_body(site: str, path: str) -> bytes:
    where = html.escape(site + (path if path != "/" else ""))
    return f"<!doctype html>\n<title>{where}</title>\n<p>Hello, {where}!</p>\n".encode()


def page_key(path: str) -> str:
    """The default page of a scoping path: ``index.html`` or ``x/y/index.html`` (never a leading slash)."""
    prefix = policies.path_prefix(path)
    return f"{prefix}/{INDEX}" if prefix else INDEX


def _default_page_candidate(key: str) -> bool:
    if key == INDEX:
        return True
    prefix, _, name = key.rpartition("/")
    return name == INDEX and all(_SEGMENT.fullmatch(seg) and seg not in (".", "..") for seg in prefix.split("/"))


def _is_default_page(tags: Sequence[Mapping[str, str]]) -> bool:
    return any(dict(t) in (DEFAULT_PAGE_TAG, YALE_PAGE_TAG) for t in tags)


def content_check(aws: AccountAws, site: str) -> tuple[bool, list[tuple[str, str | None]]]:
    """``(True, default pages as (key, version id))`` when the bucket holds nothing but default pages;
    ``(False, [])`` at the first other thing (pages of :data:`PAGE_SCAN_SIZE`, so a full bucket costs one call).

    A default page is ``index.html`` or ``<path>/index.html`` with exactly one version, no delete marker, and
    the default-page tag (ours or Yale's). A replaced or re-uploaded page is content. Versions count: a
    versioned bucket's history would make DeleteBucket fail.
    """
    versions: dict[str, list[str | None]] = {}
    key_marker = version_marker = None
    while True:
        page = s3.list_versions_page(aws, site, PAGE_SCAN_SIZE, key_marker, version_marker)
        for entry in page["Entries"]:
            if entry["DeleteMarker"] or not _default_page_candidate(entry["Key"]):
                return False, []
            versions.setdefault(entry["Key"], []).append(entry["VersionId"])
        if not page["IsTruncated"] or not page["NextKeyMarker"]:
            break
        key_marker, version_marker = page["NextKeyMarker"], page["NextVersionIdMarker"]
    pages: list[tuple[str, str | None]] = []
    for key, found in versions.items():
        if len(found) != 1:
            return False, []
        version = found[0] if found[0] not in (None, "null") else None
        if not _is_default_page(s3.object_version_tags(aws, site, key, version)):
            return False, []
        pages.append((key, found[0]))
    return True, pages


def _delete_pages(aws: AccountAws, site: str, pages: Sequence[tuple[str, str | None]]) -> None:
    for key, version in pages:
        s3.delete_object_version(aws, site, key, version)


def _ensure_page(aws: AccountAws, site: str, key: str, body: bytes) -> tuple[bool, str | None]:
    """Write a default page unless ``key`` exists: (created, version id)."""
    if s3.object_exists(aws, site, key):
        return False, None
    version = s3.put_tagged_object(aws, site, key, body, "text/html; charset=utf-8", [DEFAULT_PAGE_TAG])
    return True, version


def _undo_page(aws: AccountAws, site: str, key: str, made: tuple[bool, str | None]) -> None:
    created, version = made
    if created:
        s3.delete_object_version(aws, site, key, version)


# --- finding the pieces ---------------------------------------------------------------------------------------


def _require_bucket(aws: AccountAws, site: str) -> None:
    if s3.head_bucket(aws, site) is None:
        raise NotFound(f"website '{site}' does not exist")


def _summary(distribution: Mapping[str, Any]) -> dict[str, Any]:
    """A GetDistribution answer shaped like a ListDistributions summary (what Yale's GET answers)."""
    if "DistributionConfig" not in distribution:
        return dict(distribution)
    config = {k: v for k, v in distribution["DistributionConfig"].items() if k != "CallerReference"}
    top = ("Id", "ARN", "Status", "LastModifiedTime", "DomainName")
    return {**{k: distribution[k] for k in top if k in distribution}, **config}


def find_distribution(
    aws: AccountAws, site: str, bucket_tags: Sequence[Mapping[str, str]]
) -> tuple[dict[str, Any] | None, str | None]:
    """The site's distribution as a summary, and why it is missing when it is.

    Only a distribution that serves exactly this site counts (:func:`cloudfront.serves_site`: aliases exactly
    the site, every origin its bucket, either origin kind). The bucket's ``s3api:distribution`` tag is a
    hint, not proof (the site's admin keys may have been able to write it): the distribution it names is
    read (one GetDistribution) and verified. Only when the bucket has no such tag (a site made by the Yale
    service), or the tagged distribution is gone or does not serve the site (logged as a warning), does a
    paginated search by alias run, with the same verification.
    """
    dist_id = next((t.get("Value", "") for t in bucket_tags if t["Key"] == s3.DISTRIBUTION_TAG), "")
    why = f"no CloudFront distribution serves {site}"
    if dist_id:
        found = cloudfront.get_distribution(aws, dist_id)
        if found is not None and cloudfront.serves_site(found, site):
            return _summary(found), None
        if found is None:
            why = f"CloudFront distribution {dist_id} named by the bucket no longer exists"
        else:
            log.warning("bucket tag names a distribution that does not serve the site", extra=_tagged(site, dist_id))
            why = f"CloudFront distribution {dist_id} named by the bucket does not serve {site}"
    summary = _find_by_alias(aws, site)
    if summary is None:
        return None, why
    return summary, None


def _tagged(site: str, dist_id: str) -> dict[str, str]:
    return {"website": site, "distribution": dist_id}


def _find_by_alias(aws: AccountAws, site: str) -> dict[str, Any] | None:
    """The paginated fallback: the first distribution with the site as an alias that serves exactly the site
    (one with the alias that fails verification is skipped and logged)."""

    def verified(summary: Mapping[str, Any]) -> bool:
        if cloudfront.serves_site(summary, site):
            return True
        log.warning("distribution with the site's alias does not serve the site", extra=_tagged(site, summary["Id"]))
        return False

    return cloudfront.find_by_alias(aws, site, accept=verified)


def _distribution_or_404(aws: AccountAws, site: str) -> dict[str, Any]:
    _check_name(site)
    _require_bucket(aws, site)
    found, why = find_distribution(aws, site, s3.get_tags(aws, site))
    if found is None:
        raise NotFound(why)
    return found


@dataclass(frozen=True)
class SiteGroup:
    """An IAM group belonging to a site: its kind and the scoping path (``/`` for the site's root groups)."""

    name: str
    kind: str
    path: str
    group: Mapping[str, Any] = field(default_factory=dict, compare=False)


def _group_pattern(site: str) -> re.Pattern[str]:
    kinds = "|".join(SITE_KINDS)
    return re.compile(rf"{re.escape(site)}-(?:(?P<path>[A-Za-z0-9._-]+)-)?(?P<kind>{kinds})")


def _path_of(aws: AccountAws, site: str, group: Mapping[str, Any], kind: str, flat: str) -> str | None:
    """The scoping path of a group named ``<site>-<flat>-<kind>``, or None when it is not provably this site's.

    The name alone is ambiguous: ``site.x.org-docs-BktAdmGrp`` is also the admin group of a *bucket* named
    ``site.x.org-docs``. The candidate paths are the group's IAM path (ours) and its attached policies' IAM
    paths (Yale gave only the policy the scoping path); one of them must flatten to ``flat`` and pass
    :meth:`users.GroupSpec.owns` for that path (group path, policy name and policy path exactly the scope's).
    """
    try:
        attached = iam.attached_group_policies(aws, group["GroupName"])
    except NotFound:
        return None  # deleted meanwhile
    candidates = [str(group.get("Path", "/")), *(users.arn_path(p["PolicyArn"]) for p in attached)]
    for path in dict.fromkeys(candidates):
        if path == "/" or path.strip("/").replace("/", "_").lower() != flat.lower():
            continue
        try:
            spec = _spec(aws, site, kind, path)
        except BadRequest:
            continue  # not a path this service could have scoped
        if spec.owns(group, attached):
            return path
    return None


def site_group(aws: AccountAws, site: str, group: Mapping[str, Any]) -> SiteGroup | None:
    """``group`` as a :class:`SiteGroup` of ``site`` when its name matches exactly (never a substring: the
    groups of ``mysite.x.org`` are not ``site.x.org``'s), else None."""
    match = _group_pattern(site).fullmatch(group["GroupName"])
    if match is None:
        return None
    kind, flat = match["kind"], match["path"]
    if flat is None:
        return SiteGroup(group["GroupName"], kind, "/", group)
    if kind == WEB_ADMIN:
        return None  # web admins are never path-scoped
    path = _path_of(aws, site, group, kind, flat)
    return SiteGroup(group["GroupName"], kind, path, group) if path else None


def site_groups(aws: AccountAws, site: str) -> list[SiteGroup]:
    """Every IAM group of the site: ListGroups (all pages) filtered by the exact name pattern
    ``<site>-(<path>-)?(BktAdmGrp|BktRWGrp|BktROGrp|WebAdmGrp)``, path groups proven the site's by
    :func:`_path_of`. Root groups are taken by name: ``<site>-BktAdmGrp`` is the site bucket's own name."""
    pattern = _group_pattern(site)
    found = []
    for group in iam.list_groups(aws):
        if pattern.fullmatch(group["GroupName"]):
            sg = site_group(aws, site, group)
            if sg is not None:
                found.append(sg)
    return found


# --- create ---------------------------------------------------------------------------------------------------


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
        _delete_pages(aws, site, pages)
    s3.delete_bucket(aws, site, missing_ok=True)


def _detach(aws: AccountAws, group: str, arn: str) -> None:
    iam.detach_group_policy(aws, group, arn)


def _undo_distribution(aws: AccountAws, distribution: Mapping[str, Any]) -> None:
    cloudfront.disable_distribution(aws, distribution["Id"])


def _origin_access(aws: AccountAws, site: str) -> str | None:
    """Step 9: the private model's OAC id, or the public model's bucket policy (None)."""
    if aws.account.origin_access == "private":
        s3.block_public_access(aws, site)
        return cloudfront.ensure_origin_access_control(aws, OAC_NAME)
    s3.put_public_access_block(
        aws,
        site,
        {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False, "RestrictPublicBuckets": False},
    )
    s3.put_bucket_policy(aws, site, _json(policies.website_public_read(site)))
    return None


def _json(document: Mapping[str, Any]) -> str:
    return json.dumps(document)


def create(
    aws: AccountAws,
    site_name: str,
    tags: list[Any] | None = None,
    configuration: Mapping[str, Any] | None = None,
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
    site = resolve(aws, site_name, "BucketInput.Bucket")
    bucket_tags = _caller_tags(aws, tags)
    config = website_configuration(configuration)
    root_object = (config.get("IndexDocument") or {}).get("Suffix") or INDEX
    name = site.name
    adm_policy, adm_group = policies.policy_name(name, ADMIN), policies.group_name(name, ADMIN)
    web_policy, web_group = policies.policy_name(name, WEB_ADMIN), policies.group_name(name, WEB_ADMIN)
    settings = aws.settings
    admin_doc = policies.default_bucket_admin(
        name, settings.bucket_actions, settings.object_actions, settings.protected_actions
    )
    org = [_org_tag(aws)]
    _check_certificate(aws, site)
    try:
        _check_free(aws, site)
    except Conflict as exc:
        if buckets.own_claim(aws, adm_policy) is None:
            raise
        raise Conflict(
            f"website '{name}' already exists, or an earlier create of it was interrupted: GET /websites/{name} "
            f"shows what there is; DELETE /websites/{name} removes it, then it can be created again"
        ) from exc
    buckets.check_names_free(aws, name)  # leftover or another scope's groups and policies are never adopted

    def distribution_step(r: dict[str, Any]) -> dict[str, Any]:
        dist_config = distribution_config(aws, site, r["origin_access"], root_object)
        return cloudfront.create_distribution(aws, dist_config, bucket_tags)

    def dist(r: dict[str, Any]) -> dict[str, Any]:
        distribution: dict[str, Any] = r["distribution"]
        return distribution

    records: list[route53.Record] = []

    def dns_step(r: dict[str, Any]) -> dict[str, Any]:
        records[:] = route53.alias_records(name, dist(r)["DomainName"])
        return route53.create_records(aws, site.zone_id, records, CREATED_COMMENT)

    steps = [
        Step(
            "create_admin_policy",
            lambda r: buckets.claim(aws, adm_policy, admin_doc, policies.policy_description(name, ADMIN, website=True)),
            lambda p: _discard(iam.delete_policy(aws, p["Arn"])),
        ),
        Step("create_bucket", lambda r: s3.create_bucket(aws, name), lambda _: _undo_bucket(aws, name)),
        Step("wait_bucket", lambda r: s3.wait_bucket_exists(aws, name)),
        Step("tags", lambda r: s3.put_tags(aws, name, bucket_tags)),
        Step("encryption", lambda r: s3.put_default_encryption(aws, name)),
        Step("ownership", lambda r: s3.enforce_bucket_owner(aws, name)),
    ]
    log_bucket = aws.account.log_bucket
    if log_bucket:
        prefix = aws.account.log_prefix(name)
        steps.append(Step("logging", lambda r: s3.put_logging(aws, name, log_bucket, prefix)))
    steps += [
        Step("website", lambda r: s3.put_website(aws, name, config)),
        Step("origin_access", lambda r: _origin_access(aws, name)),
        Step("create_admin_group", lambda r: iam.create_group(aws, adm_group), lambda _: _undo_group(aws, adm_group)),
        Step(
            "attach_admin_policy",
            lambda r: iam.attach_group_policy(aws, adm_group, r["create_admin_policy"]["Arn"]),
            lambda _: _detach(aws, adm_group, iam.policy_arn(aws, adm_policy)),
        ),
        Step("distribution", distribution_step, functools.partial(_undo_distribution, aws)),
        Step(
            "tag_distribution_id",
            lambda r: s3.put_tags(aws, name, [*bucket_tags, {"Key": s3.DISTRIBUTION_TAG, "Value": dist(r)["Id"]}]),
        ),
    ]
    if aws.account.origin_access == "private":
        steps.append(
            Step(
                "bucket_policy",
                lambda r: s3.put_bucket_policy(aws, name, _json(policies.website_oac_read(name, dist(r)["ARN"]))),
            )
        )
    steps += [
        Step(
            "create_web_policy",
            lambda r: iam.create_policy(
                aws,
                web_policy,
                policies.web_admin(dist(r)["ARN"], settings.website_actions, settings.protected_actions),
                policies.policy_description(name, WEB_ADMIN),
                org,
            ),
            lambda p: _discard(iam.delete_policy(aws, p["Arn"])),
        ),
        Step("create_web_group", lambda r: iam.create_group(aws, web_group), lambda _: _undo_group(aws, web_group)),
        Step(
            "attach_web_policy",
            lambda r: iam.attach_group_policy(aws, web_group, r["create_web_policy"]["Arn"]),
            lambda _: _detach(aws, web_group, iam.policy_arn(aws, web_policy)),
        ),
        Step("dns", dns_step, lambda _: _discard(route53.delete_records(aws, site.zone_id, records, DELETED_COMMENT))),
        Step(
            "index_page",
            lambda r: _ensure_page(aws, name, INDEX, _page_body(name, "/")),
            functools.partial(_undo_page, aws, name, INDEX),
        ),
    ]
    results = run("website_create", steps)
    return {
        "Bucket": f"/{name}",
        "Policies": [results["create_admin_policy"], results["create_web_policy"]],
        "Groups": [results["create_admin_group"], results["create_web_group"]],
        "Distribution": results["distribution"],
        "DnsChange": results["dns"],
    }


def _undo_group(aws: AccountAws, group: str) -> None:
    iam.delete_group(aws, group)


def _discard(_: Any) -> None:
    """Undos answer nothing; gateway deletes answer whether something was deleted."""


# --- head, show, update, invalidate, duck ---------------------------------------------------------------------


def head(aws: AccountAws, site: str) -> None:
    """Nothing when the site's bucket exists and is ours; 404 when missing; 403 when it is not ours."""
    _require_bucket(aws, _check_name(site))


def _dns_record(aws: AccountAws, site: Site | None) -> dict[str, Any] | None:
    if site is None:
        return None
    records = route53.records_at(aws, site.zone_id, site.name, first_type="A", max_items=2)
    return next((r for r in records if r.get("Type") == "A"), None)


def _status(
    site: str, where: Site | None, distribution: Mapping[str, Any] | None, missing: str | None, dns: Any
) -> tuple[str, str | None]:
    if where is None:
        return "Broken", f"{site} is not under a domain configured for this account"
    if distribution is None:
        return "Broken", missing
    if not distribution.get("Enabled"):
        return "Disabled", None
    if dns is None:
        return "Broken", f"no DNS A record for {site} in the zone of {where.domain}"
    if not route53.same_target(dns, distribution.get("DomainName", "")):
        target = (dns.get("AliasTarget") or {}).get("DNSName") or "something else"
        return "Broken", f"the DNS record of {site} points at {target}, not at distribution {distribution.get('Id')}"
    if distribution.get("Status") != "Deployed":
        return "Deploying", None
    return "Deployed", None


def show(aws: AccountAws, site: str) -> dict[str, Any]:
    """Yale's ``{"Tags", "Logging", "Empty", "DNSRecord", "Distribution"}`` plus ``"Status"`` (Deploying,
    Deployed, Disabled or Broken, with ``"StatusReason"`` when broken). A missing piece of a website is
    reported, not 404; a bucket that is no website (no ``s3api:distribution`` tag and no distribution serving
    its name, e.g. a plain bucket) is 404.

    Calls: HeadBucket; then together GetBucketTagging, GetBucketLogging, ListObjectVersions (+ tags of default
    pages), ListResourceRecordSets (from the name, 2 items); then GetDistribution by the tagged id.
    """
    _require_bucket(aws, _check_name(site))
    try:
        where: Site | None = resolve(aws, site)
    except BadRequest:
        where = None
    reads: dict[str, Any] = {
        "Tags": functools.partial(s3.get_tags, aws, site),
        "Logging": functools.partial(s3.get_logging, aws, site),
        "Empty": lambda: content_check(aws, site)[0],
        "DNSRecord": functools.partial(_dns_record, aws, where),
    }
    found = concurrency.gather(reads)
    distribution, missing = find_distribution(aws, site, found["Tags"])
    if distribution is None and not any(t["Key"] == s3.DISTRIBUTION_TAG for t in found["Tags"]):
        # Neither our distribution tag nor a distribution serving the name: a plain bucket, not a website.
        raise NotFound(f"website '{site}' does not exist: {missing}")
    status, reason = _status(site, where, distribution, missing, found["DNSRecord"])
    result = {**found, "Distribution": distribution, "Status": status}
    if reason:
        result["StatusReason"] = reason
    return result


def update_tags(aws: AccountAws, site: str, tags: list[Any] | None) -> None:
    """Make ``tags`` (plus the org tag) the tag set of both the bucket and the distribution: tags left out
    are removed from both; the bucket keeps its distribution tag (set to the verified distribution's id when it
    named one that does not serve the site). If tagging the distribution fails, the
    bucket's previous tags are put back (Yale left the two different)."""
    _check_name(site)
    new_tags = _caller_tags(aws, tags or [])
    _require_bucket(aws, site)
    old = s3.get_tags(aws, site)
    distribution, _ = find_distribution(aws, site, old)
    keep = [t for t in old if t["Key"] == s3.DISTRIBUTION_TAG]
    if keep and distribution is not None:  # a tag that failed verification is repaired to the verified id
        keep = [{"Key": s3.DISTRIBUTION_TAG, "Value": distribution["Id"]}]
    with Transaction("website_update_tags") as tx:
        tx.step(
            "bucket_tags",
            lambda: s3.put_tags(aws, site, [*new_tags, *keep]),
            lambda _: s3.put_tags(aws, site, old) if old else None,
        )
        if distribution is not None:
            tx.step("distribution_tags", lambda: cloudfront.replace_tags(aws, distribution["ARN"], new_tags))


def invalidate(aws: AccountAws, site: str, paths: Sequence[str]) -> dict[str, Any]:
    """CreateInvalidation for ``paths`` on the site's distribution: ``{"Invalidation", "Location"}``."""
    checked = _check_paths(paths)
    distribution = _distribution_or_404(aws, site)
    return cloudfront.create_invalidation(aws, distribution["Id"], checked)


def _check_paths(paths: Sequence[str]) -> list[str]:
    problem = None
    if not isinstance(paths, (list, tuple)) or not paths:
        problem = "CacheInvalidation must be a non-empty list of paths such as /*"
    elif len(paths) > MAX_INVALIDATION_PATHS:
        problem = f"at most {MAX_INVALIDATION_PATHS} paths per invalidation"
    else:
        bad = [p for p in paths if not isinstance(p, str) or not p.startswith("/") or not p.isprintable()]
        if bad:
            problem = f"every path must be printable and begin with '/': {bad[0]!r}"
    if problem:
        raise BadRequest(problem, errors={"CacheInvalidation": [problem]})
    return list(paths)


def invalidation(aws: AccountAws, site: str, invalidation_id: str) -> dict[str, Any]:
    """``{"Invalidation": {...}}`` with ``Status`` InProgress or Completed (any backend spelling)."""
    if not isinstance(invalidation_id, str) or not _INVALIDATION_ID.fullmatch(invalidation_id):
        message = f"invalid invalidation id {invalidation_id!r}"
        raise BadRequest(message, errors={"invalidation": [message]})
    distribution = _distribution_or_404(aws, site)
    return {"Invalidation": cloudfront.get_invalidation(aws, distribution["Id"], invalidation_id)}


def bookmark(aws: AccountAws, site: str, path: str) -> tuple[bytes, str]:
    """The Cyberduck bookmark for the site's bucket at ``path`` and its file name (no AWS call)."""
    _check_name(site)
    return duck.duck_bookmark(site, path, endpoint=aws.account.s3_endpoint), duck.filename(site, path)


# --- delete ---------------------------------------------------------------------------------------------------


@dataclass
class IamRemoval:
    users: list[dict[str, Any]] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)


def delete(aws: AccountAws, site_name: str) -> dict[str, Any]:
    """Delete a website (see the module docstring for the order); answers Yale's ``{"Website", "Users",
    "Policies", "Groups", "Distribution", "DnsChange"}``: the users deleted (those left without any other
    access), the policies and groups deleted, the distribution as disabled, the DNS change (null when no
    record was left). Every failure is an error status; nothing is ever reported inside a 200."""
    site = resolve(aws, site_name)
    if s3.head_bucket(aws, site.name) is None:
        return _delete_without_bucket(aws, site)
    empty, pages = content_check(aws, site.name)
    if not empty:
        raise Conflict(f"website '{site.name}' is not empty: only its default index pages may remain")
    distribution, _ = find_distribution(aws, site.name, s3.get_tags(aws, site.name))
    if distribution is None:
        _refuse_unverified_origin(aws, site.name)
    dns_change = _delete_dns(aws, site, distribution)
    disabled = cloudfront.disable_distribution(aws, distribution["Id"]) if distribution else None
    removed = _delete_iam(aws, site.name)
    _delete_pages(aws, site.name, pages)
    s3.delete_bucket(aws, site.name, missing_ok=True)
    log.info("website deleted", extra={"website": site.name, "distribution": (distribution or {}).get("Id")})
    return _deleted(site.name, removed, disabled, dns_change)


def _refuse_unverified_origin(aws: AccountAws, site: str) -> None:
    """409 when an enabled distribution that is not verifiably the site's (other aliases, other origins too)
    still has the site's bucket as an origin: deleting the bucket would leave it serving a name anyone can
    register, and it is not ours to disable. Runs only when no verified distribution was found."""
    other = cloudfront.find_first(aws, lambda d: bool(d.get("Enabled")) and cloudfront.has_bucket_origin(d, site))
    if other is not None:
        log.warning("website bucket is the origin of another distribution", extra=_tagged(site, other["Id"]))
        raise Conflict(
            f"website '{site}' bucket is an origin of CloudFront distribution {other['Id']}, which does not serve "
            "exactly this site; it must be disabled or changed first"
        )


def _delete_without_bucket(aws: AccountAws, site: Site) -> dict[str, Any]:
    """Finish a website whose bucket is already gone (deleted by a tenant key, or by the Yale service): its
    live distribution would keep serving a bucket name anyone can register. The distribution is found by
    alias and verified (:func:`_find_by_alias`), then as in :func:`delete`: DNS records pointing at it,
    disable, IAM. Retry-safe like :func:`delete`: a retry after a failure in the IAM part finds the
    disabled distribution and the groups left. 404 only when nothing is left: no verified distribution that
    is enabled or has a record pointing at it, and no IAM group of the site (a finished delete: the sweeper
    deletes the disabled distribution)."""
    distribution = _find_by_alias(aws, site.name)
    stale = _stale_records(aws, site, distribution) if distribution is not None else []
    live = distribution is not None and (bool(distribution.get("Enabled")) or bool(stale))
    if not live and not site_groups(aws, site.name):
        raise NotFound(f"website '{site.name}' does not exist")
    log.warning(
        "website bucket already gone: removing what is left of the site",
        extra=_tagged(site.name, (distribution or {}).get("Id", "")),
    )
    dns_change = route53.delete_records(aws, site.zone_id, stale, DELETED_COMMENT)
    disabled = cloudfront.disable_distribution(aws, distribution["Id"]) if distribution else None
    removed = _delete_iam(aws, site.name)
    return _deleted(site.name, removed, disabled, dns_change)


def _deleted(site: str, removed: IamRemoval, disabled: Any, dns_change: Any) -> dict[str, Any]:
    """The answer of a website delete: what was removed, whether the bucket was still there or not."""
    return {
        "Website": site,
        "Users": removed.users,
        "Policies": removed.policies,
        "Groups": removed.groups,
        "Distribution": disabled,
        "DnsChange": dns_change,
    }

def _stale_records(aws: AccountAws, site: Site, distribution: Mapping[str, Any] | None) -> list[route53.Record]:
    """The A/AAAA aliases at the site pointing at its distribution (at any CloudFront distribution when the
    site has none any more); records pointing elsewhere are someone else's and stay."""
    records = route53.records_at(aws, site.zone_id, site.name)
    if distribution is not None:
        return [
            r for r in records if r["Type"] in ("A", "AAAA") and route53.same_target(r, distribution["DomainName"])
        ]
    return [r for r in records if r["Type"] in ("A", "AAAA") and route53.is_cloudfront_alias(r)]


def _delete_dns(aws: AccountAws, site: Site, distribution: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """DELETE the records of :func:`_stale_records`; the ChangeInfo, or None when there were none."""
    return route53.delete_records(aws, site.zone_id, _stale_records(aws, site, distribution), DELETED_COMMENT)


def _delete_iam(aws: AccountAws, site: str) -> IamRemoval:
    """The site's IAM pieces, found by exact name (never a substring: Yale §9.5):

    1. members whose every group and attached policy is this site's (and no inline policy, no login profile, MFA
       device, SSH key, signing certificate or service-specific credential): deleted by the
       users workflow (keys, memberships, policy attachments, user); the others only lose this site's groups
       in step 2. Users go first, while their membership still makes them findable by a retry.
    2. each group in turn: its site policy deleted (detached everywhere, old versions deleted), then the group
       (remaining members removed, other policies detached).
    3. the root policies whose group was already gone (a retry).
    """
    removal = IamRemoval()
    groups = site_groups(aws, site)
    names = [sg.name for sg in groups]
    expected = {sg.name: policies.policy_name(site, sg.kind, sg.path) for sg in groups}
    ours = set(expected.values()) | {policies.policy_name(site, kind) for kind in SITE_KINDS}
    members: dict[str, dict[str, Any]] = {}
    for name in names:
        for user in iam.group_users(aws, name) or []:
            members.setdefault(user["UserName"], user)
    for user_name, user in members.items():
        access = _only_site_access(aws, user_name, set(names), ours)
        if access is not None:
            _delete_site_user(aws, user_name, *access)
            removal.users.append(user)
    handled: set[str] = set()
    for sg in groups:
        wanted = expected[sg.name]
        arns = {p["PolicyArn"] for p in iam.attached_group_policies(aws, sg.name) if p["PolicyName"] == wanted}
        arns.add(iam.policy_arn(aws, wanted, sg.path))
        for arn in sorted(arns - handled):
            if iam.delete_policy(aws, arn):
                removal.policies.append(wanted)
        handled |= arns
        if iam.delete_group(aws, sg.name) is not None:
            removal.groups.append(sg.name)
    for kind in SITE_KINDS:
        name = policies.policy_name(site, kind)
        arn = iam.policy_arn(aws, name)
        if arn not in handled and iam.delete_policy(aws, arn):
            removal.policies.append(name)
    return removal


def _only_site_access(
    aws: AccountAws, user: str, groups: set[str], policy_names: set[str]
) -> tuple[list[str], list[str]] | None:
    """``(groups, attached policy ARNs)`` when all of ``user``'s access is the site's (its groups, policies of its
    names, no inline policy, none of the sign-in credentials AWS refuses DeleteUser for: login profile, MFA device,
    SSH key, signing certificate, service-specific credential): the user goes with the site. None when it has other
    access or such a credential (it then only loses the site's groups, with them, and keeps its keys:
    ``buckets._access_if_only_ours`` says why) or is gone."""
    try:
        member_of = iam.user_groups(aws, user)
        if any(g not in groups and g != users.RETIRING_GROUP for g in member_of):  # the marker grants nothing
            return None
        attached = iam.user_attached_policies(aws, user)
        if any(p["PolicyName"] not in policy_names for p in attached) or iam.user_inline_policies(aws, user):
            return None
        if iam.sign_in_credentials(aws, user):  # a person's user (AWS refuses DeleteUser): kept, as in buckets
            return None
    except NotFound:
        return None
    return member_of, [p["PolicyArn"] for p in attached]


def _delete_site_user(aws: AccountAws, user: str, groups: list[str], policy_arns: list[str]) -> None:
    """Keys, attached policies, memberships, then DeleteUser (AWS's order). The memberships are what lets a retry
    find the user, so they are put back if DeleteUser fails (the users workflow's delete has no such undo)."""
    for key in iam.list_access_keys(aws, user):
        iam.delete_access_key(aws, user, key["AccessKeyId"])
    for arn in policy_arns:
        iam.detach_user_policy(aws, user, arn)
    with Transaction("website_delete_user") as tx:
        for group in groups:
            tx.step(
                f"leave:{group}",
                functools.partial(iam.remove_user_from_group, aws, group, user),
                functools.partial(_rejoin, aws, group, user),
            )
        iam.delete_user(aws, user)


def _rejoin(aws: AccountAws, group: str, user: str, _: Any) -> None:
    iam.add_user_to_group(aws, group, user)


# --- website users --------------------------------------------------------------------------------------------


def _web_admin_document(aws: AccountAws, site: str) -> policies.Policy:
    distribution = _distribution_or_404(aws, site)
    return policies.web_admin(distribution["ARN"], aws.settings.website_actions, aws.settings.protected_actions)


def _spec(aws: AccountAws, site: str, kind: str, path: str) -> users.GroupSpec:
    """What joining ``kind`` at ``path`` means, and the policy to create when the group is missing."""
    settings = aws.settings
    if kind == WEB_ADMIN:
        document = functools.partial(_web_admin_document, aws, site)
        description = policies.policy_description(site, WEB_ADMIN)
    elif kind == ADMIN and path == "/":
        document = functools.partial(
            policies.default_bucket_admin,
            site,
            settings.bucket_actions,
            settings.object_actions,
            settings.protected_actions,
        )
        description = policies.policy_description(site, ADMIN, website=True)
    else:
        document = functools.partial(
            policies.bucket_policy_for, kind, site, path, protected=settings.protected_actions
        )
        description = policies.policy_description(site, kind, path=path)
    return users.GroupSpec(
        group=policies.group_name(site, kind, path),
        policy=policies.policy_name(site, kind, path),
        description=description,
        document=document,
        policy_path=path,
        group_path=path,
    )


def _root_group_names(site: str) -> tuple[str, ...]:
    return tuple(policies.group_name(site, kind) for kind in SITE_KINDS)


def user_scope(aws: AccountAws, site: str, path: str = "/", members_of: Sequence[str] = ()) -> users.UserScope:
    """The website's user scope for creating users at ``path`` (root admins also join WebAdmGrp), checking
    membership in ``members_of`` (default: the site's root groups)."""
    grants = {}
    for kind in policies.GROUP_KINDS:
        specs = [_spec(aws, site, kind, path)]
        if kind == ADMIN and path == "/":
            specs.append(_spec(aws, site, WEB_ADMIN, path))
        grants[kind] = tuple(specs)
    return users.UserScope(
        kind="website",
        name=site,
        members_of=tuple(members_of) or _root_group_names(site),
        grants=grants,
        members_proven=True,  # root names are the site bucket's own; others come from site_group
    )


def _user_site_groups(aws: AccountAws, site: str, user: str) -> list[SiteGroup]:
    """The site's groups ``user`` belongs to (ListGroupsForUser + exact pattern); 404 when none."""
    missing = NotFound(f"user '{user}' is not a user of website '{site}'")
    try:
        groups = iam.user_group_details(aws, user)
    except NotFound:
        raise missing from None
    found = [sg for g in groups if (sg := site_group(aws, site, g)) is not None]
    if not found:
        raise missing
    return found


def _member_scope(aws: AccountAws, site: str, user: str) -> tuple[users.UserScope, list[SiteGroup]]:
    found = _user_site_groups(aws, site, user)
    return user_scope(aws, site, members_of=[sg.name for sg in found]), found


def create_user(aws: AccountAws, site: str, new: users.NewUser, kinds: Sequence[str] | None = None) -> dict[str, Any]:
    """POST .../websites/<site>/users: ``{"User", "AccessKey"}`` (the secret shown once).

    ``new.path`` is the scoping path (normalised; also the user's IAM path, as in Yale). Order, all in the
    users workflow: CreateUser (the claim on the name) → the default page of a path (when missing; undo:
    delete it) → lazily created groups and policies, memberships, key. Any failure leaves nothing behind
    (Yale §9.9), and a request that lost the race for the name never touches the page.
    """
    _check_name(site)
    try:
        path = policies.normalize_path(new.path)
    except BadRequest as exc:
        raise BadRequest(exc.message, errors={"User.Path": [exc.message]}) from None
    scope = user_scope(aws, site, path)
    scope.specs(kinds)  # 400 for unknown kinds before any AWS call
    _require_bucket(aws, site)
    _check_path_names(aws, site, path)
    key = page_key(path)

    def index_page(tx: Transaction) -> None:  # after CreateUser: a request that lost the race never touches it
        tx.step(
            "index_page",
            lambda: _ensure_page(aws, site, key, _page_body(site, path)),
            functools.partial(_undo_page, aws, site, key),
        )

    result = users.create_user(aws, scope, replace(new, path=path), kinds, index_page if path != "/" else None)
    result["Path"] = path
    return result


def _check_path_names(aws: AccountAws, site: str, path: str) -> None:
    """409 when the IAM names of scoping ``path`` are a bucket's: ``<site>-<x_y>-…`` for ``/x/y/`` are also
    the names of bucket ``<site>-<x_y>`` (compared case-insensitively, as IAM does: ``/Docs/`` collides with
    bucket ``<site>-docs``). One HeadBucket; nothing to check at the root or when no bucket can have the name.
    A bucket of another account (403) has no IAM names here."""
    if path == "/":
        return
    bucket = f"{site}-{policies.path_prefix(path).replace('/', '_')}".lower()
    if validation.bucket_name_error(bucket):
        return
    try:
        taken = s3.head_bucket(aws, bucket) is not None
    except Forbidden:
        return
    if taken:
        message = f"the IAM names of path {path} collide with bucket '{bucket}''s; use another path"
        raise Conflict(message)


def list_users(aws: AccountAws, site: str) -> list[dict[str, Any]]:
    """GET .../websites/<site>/users: the members of every group of the site (all paths), ``[]`` when none."""
    _check_name(site)
    _require_bucket(aws, site)
    names = [sg.name for sg in site_groups(aws, site)]
    if not names:
        return []
    return users.list_users(aws, user_scope(aws, site, members_of=names))


def show_user(aws: AccountAws, site: str, user: str) -> dict[str, Any]:
    """The users workflow's show, plus ``"Path"``: the scoping path read from the user's groups (the policy's
    IAM path), never guessed from the user name (Yale §9.16)."""
    _check_name(site)
    scope, found = _member_scope(aws, site, user)
    result = users.show_user(aws, scope, user)
    result["Path"] = min((sg.path for sg in found), key=len)
    return result


def rotate_user_keys(aws: AccountAws, site: str, user: str, grace_seconds: int = 0) -> dict[str, Any]:
    """PUT .../websites/<site>/users/<user>: 404 unless the user is in one of the site's groups."""
    _check_name(site)
    scope, _ = _member_scope(aws, site, user)
    return users.rotate_keys(aws, scope, user, grace_seconds=grace_seconds)


def delete_user(aws: AccountAws, site: str, user: str) -> None:
    """DELETE .../websites/<site>/users/<user>: 404 unless the user is in one of the site's groups."""
    _check_name(site)
    scope, _ = _member_scope(aws, site, user)
    users.delete_user(aws, scope, user)


# --- sweeper --------------------------------------------------------------------------------------------------


def _failed(task: str, summary: Mapping[str, Any], exc: ApiError) -> None:
    metrics.SWEEPER.labels(task, "failed").inc()
    log.warning(
        "sweeper: distribution skipped", extra={"task": task, "distribution": summary.get("Id"), "error": exc.code}
    )


def _orphans(aws: AccountAws, task: str) -> Iterator[dict[str, Any]]:
    """Disabled distributions tagged with this deployment's organisation whose bucket (the default cache
    behaviour's origin id, as Yale's cleaner) is gone. A bucket that answers 403 is skipped, not aborted on."""
    org = _org_tag(aws)
    for summary in cloudfront.list_distributions(aws):
        if summary.get("Enabled"):
            continue
        try:
            if org not in cloudfront.get_tags(aws, summary["ARN"]):
                continue
            bucket = summary.get("DefaultCacheBehavior", {}).get("TargetOriginId", "")
            if not bucket or s3.head_bucket(aws, bucket) is not None:
                continue
        except ApiError as exc:
            _failed(task, summary, exc)
            continue
        yield summary


def _remove_dns(aws: AccountAws, summary: Mapping[str, Any]) -> int:
    """Delete the A/AAAA aliases still pointing at the distribution, under each of its aliases whose parent
    is a configured domain (one ListResourceRecordSets from the name per alias, never a zone scan)."""
    removed = 0
    for alias in summary.get("Aliases", {}).get("Items", []):
        domain = aws.account.domains.get(alias.lower().partition(".")[2])
        if domain is None:
            continue
        records = route53.records_at(aws, domain.hosted_zone_id, alias)
        stale = [r for r in records if r["Type"] in ("A", "AAAA") and route53.same_target(r, summary["DomainName"])]
        route53.delete_records(aws, domain.hosted_zone_id, stale, SWEPT_COMMENT)
        removed += len(stale)
    return removed


@sweeper.task("delete_dns_records")
def sweep_dns_records(aws: AccountAws) -> int:
    """Remove DNS records pointing at orphaned distributions (deploying or not); answers how many."""
    removed = 0
    for summary in _orphans(aws, "delete_dns_records"):
        try:
            removed += _remove_dns(aws, summary)
        except ApiError as exc:
            _failed("delete_dns_records", summary, exc)
    return removed


@sweeper.task("delete_distributions")
def sweep_distributions(aws: AccountAws) -> int:
    """Delete orphaned distributions whose disable is deployed (their DNS records first); answers how many."""
    deleted = 0
    for summary in _orphans(aws, "delete_distributions"):
        if summary.get("Status") != "Deployed":
            continue
        try:
            _remove_dns(aws, summary)
            if cloudfront.delete_distribution(aws, summary["Id"]):
                deleted += 1
                log.info("sweeper: distribution deleted", extra={"distribution": summary["Id"]})
        except ApiError as exc:
            _failed("delete_distributions", summary, exc)
    return deleted
