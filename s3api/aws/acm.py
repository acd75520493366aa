"""ACM gateway: read the certificate a website's CloudFront distribution will use.

CloudFront only takes certificates from us-east-1; the client's region is read from the ARN so that a
certificate configured in another region is reported as such instead of as a missing one.
"""

from __future__ import annotations

from typing import Any

from s3api.aws.clients import AccountAws
from s3api.aws.translate import gateway


def arn_region(arn: str) -> str:
    """The region field of an ARN (``arn:aws:acm:<region>:...``); us-east-1 when it has none."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else "us-east-1"


@gateway("acm", "DescribeCertificate")
def describe_certificate(aws: AccountAws, arn: str) -> dict[str, Any]:
    """DescribeCertificate: ``DomainName``, ``SubjectAlternativeNames``, ``Status`` ... ResourceNotFound → 404."""
    certificate: dict[str, Any] = aws.client("acm", arn_region(arn)).describe_certificate(CertificateArn=arn)[
        "Certificate"
    ]
    return certificate


def covers(certificate: dict[str, Any], host: str) -> bool:
    """True when one of the certificate's names matches ``host`` (a ``*.`` wildcard covers one label)."""
    host = host.lower().rstrip(".")
    names = {certificate.get("DomainName", ""), *certificate.get("SubjectAlternativeNames", [])}
    for name in (n.lower() for n in names if n):
        if name == host:
            return True
        if name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:]:
            return True
    return False
