"""The site's CloudFront distribution: its configuration, and finding it again.

**Origin access** (``account.origin_access``):
- ``private`` (default): S3 REST origin signed by the account's Origin Access Control; the bucket policy lets
  exactly this distribution read objects; Block Public Access stays fully on. The bucket's website
  configuration is stored but CloudFront does not use the S3 website endpoint (only ``DefaultRootObject``).
- ``public-website`` (Yale's model): the S3 website endpoint as an http-only custom origin, dash or dot style
  by region (:func:`website_endpoint`), a public-read bucket policy, BlockPublicPolicy off.

**Which distribution.** The bucket's ``s3api:distribution`` tag only names a candidate: every route acts on
a distribution only after checking that its aliases are exactly the site and its origins are the site's
bucket (:func:`find_distribution`); a tag that fails this is logged and ignored, and a paginated search by
alias (verified the same way) is the fallback.
"""

from __future__ import annotations

import copy
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from s3api.aws import cloudfront, s3
from s3api.aws.clients import AccountAws
from s3api.errors import BadRequest, NotFound
from s3api.provisioning import policies
from s3api.provisioning.websites.naming import INDEX, Site

log = logging.getLogger("s3api.websites")


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


MIN_TLS = "TLSv1.2_2021"  # Yale: TLSv1.1_2016, which AWS no longer recommends


CREATED_COMMENT = "Created by s3api"


DELETED_COMMENT = "Deleted by s3api"


SWEPT_COMMENT = "Deleted by the s3api sweeper"


def website_endpoint(bucket: str, region: str) -> str:
    """The S3 website endpoint host of ``bucket`` in ``region`` (dash style in the older regions)."""
    separator = "-" if region in DASH_REGIONS else "."
    return f"{bucket}.s3-website{separator}{region}.amazonaws.com"


def s3_rest_endpoint(bucket: str, region: str) -> str:
    return f"{bucket}.s3.{region}.amazonaws.com"


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
    """The DistributionConfig of a website (Yale's, with a current TLS policy, HTTP/2 and 3 and IPv6)."""
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
            log.warning("bucket tag names a distribution that does not serve the site", extra=tagged(site, dist_id))
            why = f"CloudFront distribution {dist_id} named by the bucket does not serve {site}"
    summary = find_by_alias(aws, site)
    if summary is None:
        return None, why
    return summary, None


def tagged(site: str, dist_id: str) -> dict[str, str]:
    return {"website": site, "distribution": dist_id}


def find_by_alias(aws: AccountAws, site: str) -> dict[str, Any] | None:
    """The paginated fallback: the first distribution with the site as an alias that serves exactly the site
    (one with the alias that fails verification is skipped and logged)."""

    def verified(summary: Mapping[str, Any]) -> bool:
        if cloudfront.serves_site(summary, site):
            return True
        log.warning("distribution with the site's alias does not serve the site", extra=tagged(site, summary["Id"]))
        return False

    return cloudfront.find_by_alias(aws, site, accept=verified)


def distribution_or_404(aws: AccountAws, site: str) -> dict[str, Any]:
    s3.require_bucket(aws, site, "website")
    found, why = find_distribution(aws, site, s3.get_tags(aws, site))
    if found is None:
        raise NotFound(why)
    return found


def origin_access(aws: AccountAws, site: str) -> str | None:
    """Step 9: the private model's OAC id, or the public model's bucket policy (None)."""
    if aws.account.origin_access == "private":
        s3.block_public_access(aws, site)
        return cloudfront.ensure_origin_access_control(aws, OAC_NAME)
    s3.put_public_access_block(
        aws,
        site,
        {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False, "RestrictPublicBuckets": False},
    )
    s3.put_bucket_policy(aws, site, policy_json(policies.website_public_read(site)))
    return None


def policy_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document)
