"""Route53 gateway: read the records at one name, create and delete CloudFront alias records.

Reads never scan a zone: ListResourceRecordSets starts at the name (``StartRecordName``) and reads a few
items (Yale paged through the whole zone on every website GET). Record names come back lower-case with a
trailing dot; comparisons here normalise both sides.

AWS rules followed here that moto does not enforce:
- CREATE of an existing record is InvalidChangeBatch on AWS; moto creates a duplicate. Callers look first
  (:func:`records_at`) and still use CREATE, never UPSERT, so an existing record is never overwritten;
  an InvalidChangeBatch on CREATE whose name now holds a record becomes 409.
- DELETE must repeat the record exactly; :func:`delete_records` is given records as listed.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from s3api.aws.clients import AccountAws
from s3api.aws.cloudfront import CLOUDFRONT_ZONE_ID
from s3api.aws.translate import gateway, is_code
from s3api.errors import Conflict

Record = dict[str, Any]

#: Record types an alias A/AAAA pair cannot coexist with or would replace.
CONFLICTING_TYPES = ("A", "AAAA", "CNAME")


def fqdn(name: str) -> str:
    """``name`` lower-case with exactly one trailing dot (Route53's spelling)."""
    return name.lower().rstrip(".") + "."


def same_target(record: Record, dns_name: str) -> bool:
    """True when ``record`` is an alias to the CloudFront distribution whose domain is ``dns_name``."""
    target = record.get("AliasTarget") or {}
    return target.get("HostedZoneId") == CLOUDFRONT_ZONE_ID and fqdn(target.get("DNSName", "")) == fqdn(dns_name)


def is_cloudfront_alias(record: Record) -> bool:
    return (record.get("AliasTarget") or {}).get("HostedZoneId") == CLOUDFRONT_ZONE_ID


@gateway("route53", "ListResourceRecordSets")
def records_at(
    aws: AccountAws, zone_id: str, name: str, first_type: str | None = None, max_items: int = 10
) -> list[Record]:
    """The record sets named exactly ``name`` (starting at ``first_type`` if given), from ONE
    ListResourceRecordSets call of at most ``max_items`` items. NoSuchHostedZone → 404."""
    kwargs: dict[str, Any] = {"HostedZoneId": zone_id, "StartRecordName": fqdn(name), "MaxItems": str(max_items)}
    if first_type:
        kwargs["StartRecordType"] = first_type
    resp = aws.route53.list_resource_record_sets(**kwargs)
    return [r for r in resp.get("ResourceRecordSets", []) if fqdn(r.get("Name", "")) == fqdn(name)]


def _alias(name: str, rtype: str, dns_name: str) -> Record:
    return {
        "Name": fqdn(name),
        "Type": rtype,
        "AliasTarget": {"HostedZoneId": CLOUDFRONT_ZONE_ID, "DNSName": dns_name, "EvaluateTargetHealth": False},
    }


def alias_records(name: str, dns_name: str) -> list[Record]:
    """The A and AAAA alias records pointing ``name`` at a CloudFront domain."""
    return [_alias(name, "A", dns_name), _alias(name, "AAAA", dns_name)]


@gateway("route53", "ChangeResourceRecordSets")
def create_records(aws: AccountAws, zone_id: str, records: list[Record], comment: str) -> dict[str, Any]:
    """ChangeResourceRecordSets with CREATE for every record (one atomic batch); returns the ``ChangeInfo``.

    An existing record is never overwritten: AWS refuses the whole batch (InvalidChangeBatch), which becomes
    409 when a conflicting record is indeed there, 400 otherwise (e.g. a name outside the zone).
    """
    changes = [{"Action": "CREATE", "ResourceRecordSet": r} for r in records]
    try:
        resp = aws.route53.change_resource_record_sets(
            HostedZoneId=zone_id, ChangeBatch={"Comment": comment, "Changes": changes}
        )
    except ClientError as exc:
        if is_code(exc, "InvalidChangeBatch"):
            names = {r["Name"] for r in records}
            if any(r["Type"] in CONFLICTING_TYPES for name in names for r in records_at(aws, zone_id, name)):
                raise Conflict(f"a DNS record for {', '.join(sorted(names))} already exists") from exc
        raise
    info: dict[str, Any] = resp["ChangeInfo"]
    return info


@gateway("route53", "ChangeResourceRecordSets")
def delete_records(aws: AccountAws, zone_id: str, records: list[Record], comment: str) -> dict[str, Any] | None:
    """ChangeResourceRecordSets with DELETE for ``records`` exactly as listed (AWS requires an exact match);
    returns the ``ChangeInfo``, or None when there was nothing to delete."""
    if not records:
        return None
    changes = [{"Action": "DELETE", "ResourceRecordSet": r} for r in records]
    resp = aws.route53.change_resource_record_sets(
        HostedZoneId=zone_id, ChangeBatch={"Comment": comment, "Changes": changes}
    )
    info: dict[str, Any] = resp["ChangeInfo"]
    return info
