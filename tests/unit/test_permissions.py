"""`s3api permissions`: the service role's policy, built from the declarations beside the gateway functions."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path

import pytest

import s3api.aws
from s3api import cli
from s3api.aws import permissions, s3
from s3api.aws.clients import AccountAws, Clients
from s3api.aws.translate import gateway
from tests import conftest


def printed_policy(capsys: pytest.CaptureFixture[str]) -> dict:
    assert cli.main(["permissions"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_printed_policy_is_a_valid_identity_policy(capsys):
    policy = printed_policy(capsys)
    assert set(policy) == {"Version", "Statement"}
    assert policy["Version"] == "2012-10-17"
    sids = [st["Sid"] for st in policy["Statement"]]
    assert len(sids) == len(set(sids)) and all(re.fullmatch(r"[A-Za-z0-9]+", sid) for sid in sids)
    for st in policy["Statement"]:
        assert set(st) == {"Sid", "Effect", "Action", "Resource"}
        assert st["Effect"] == "Allow" and st["Resource"] == "*"
        assert st["Action"] == sorted(set(st["Action"])), "sorted, no duplicates"
        assert all(re.fullmatch(r"[a-z0-9-]+:[A-Z][A-Za-z0-9]+", a) for a in st["Action"])
        assert len({a.split(":")[0] for a in st["Action"]}) == 1, "one statement per service"


def test_the_policy_holds_exactly_the_declared_actions(capsys):
    printed = {a for st in printed_policy(capsys)["Statement"] for a in st["Action"]}
    declared = {a for d in permissions.declarations() for a in d.actions}
    assert printed == declared
    sources = [Path(importlib.import_module(m).__file__ or "").read_text() for m in permissions.GATEWAY_MODULES]
    assert len(permissions.declarations()) == sum(src.count("\n@gateway(") for src in sources)


def test_every_gateway_function_declares_what_it_needs():
    for d in permissions.declarations():
        assert d.operations or d.actions, f"{d.name} declares nothing"
        for op in d.operations:
            assert all(a.startswith(f"{d.service}:") for a in permissions.operation_actions(d.service, op))


def test_every_module_with_gateway_functions_is_listed():
    for info in pkgutil.iter_modules(s3api.aws.__path__, "s3api.aws."):
        importlib.import_module(info.name)
    modules = {name.rpartition(".")[0] for name in permissions.DECLARED if name.startswith("s3api.")}
    assert modules <= set(permissions.GATEWAY_MODULES)


def test_operations_map_to_the_actions_iam_authorises():
    by_name = {d.name: d for d in permissions.declarations()}
    assert by_name["s3api.aws.s3.head_bucket"].actions == ("s3:ListBucket",)
    assert by_name["s3api.aws.s3.list_buckets"].actions == ("s3:ListAllMyBuckets",)
    assert by_name["s3api.aws.s3.put_default_encryption"].actions == ("s3:PutEncryptionConfiguration",)
    assert by_name["s3api.aws.s3.presign"].actions == ("s3:GetObject", "s3:PutObject")
    assert by_name["s3api.aws.cloudfront.create_distribution"].actions == (
        "cloudfront:CreateDistribution",
        "cloudfront:TagResource",
    )
    assert by_name["s3api.aws.iam.get_group"].actions == ("iam:GetGroup",)


def test_a_bad_declaration_fails_at_import():
    with pytest.raises(ValueError, match="botocore operation"):
        gateway("s3", "head_bucket")(lambda aws: None)
    with pytest.raises(ValueError, match="IAM action"):
        gateway("s3", "HeadBucket", actions=("ListBucket",))(lambda aws: None)


@gateway("s3", "ListBuckets")
def _declares_too_little(aws: AccountAws, bucket: str) -> None:
    aws.s3.head_bucket(Bucket=bucket)


def test_the_suite_check_catches_an_undeclared_call(aws, settings):
    account_aws = AccountAws(settings.accounts["local"], Clients(), settings)
    s3.create_bucket(account_aws, "declared-bucket")  # declared: nothing recorded
    assert conftest.UNDECLARED == []
    _declares_too_little(account_aws, "declared-bucket")
    assert conftest.UNDECLARED == [
        "s3:HeadBucket by tests.unit.test_permissions._declares_too_little (declares ['ListBuckets'])"
    ]
    conftest.UNDECLARED.clear()
    account_aws.s3.list_buckets()  # a test's own call outside any gateway is not the service's
    assert conftest.UNDECLARED == []


def test_the_readme_points_at_the_command():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "s3api permissions" in readme


def test_an_account_narrows_zones_and_certificates_to_its_domains(tmp_path, capsys):
    cert = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    cfg = tmp_path / "c.json"
    cfg.write_text(
        json.dumps(
            {
                "tokens": {"t": "a-long-enough-token"},
                "accounts": {
                    "prod": {
                        "account_id": "123456789012",
                        "domains": {"example.org": {"certificate_arn": cert, "hosted_zone_id": "/hostedzone/Z123"}},
                    }
                },
            }
        )
    )
    assert cli.main(["permissions", "--config", str(cfg), "--account", "prod"]) == 0
    statements = {st["Sid"]: st for st in json.loads(capsys.readouterr().out)["Statement"]}
    assert statements["Route53Zones"]["Action"] == sorted(permissions.ZONE_ACTIONS)
    assert statements["Route53Zones"]["Resource"] == ["arn:aws:route53:::hostedzone/Z123"]
    assert statements["ACMCertificates"] == {
        "Sid": "ACMCertificates",
        "Effect": "Allow",
        "Action": ["acm:DescribeCertificate"],
        "Resource": [cert],
    }
    assert "Route53" not in statements and "ACM" not in statements  # nothing of theirs is left on "*"
    assert "CloudWatch" not in statements  # usage_source: listing
    printed = {a for st in statements.values() for a in st["Action"]}
    declared = {a for d in permissions.declarations() for a in d.actions}
    assert printed == {a for a in declared if not a.startswith("cloudwatch:")}
    assert cli.main(["permissions", "--config", str(cfg), "--account", "nope"]) == 2
    assert "no account 'nope'" in capsys.readouterr().err
