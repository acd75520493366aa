"""The client cache: one client per (account, service, region), assumed-role credentials, call metrics."""

import contextlib

import boto3

from s3api import metrics
from s3api.aws.clients import Clients
from tests.conftest import make_settings


def test_clients_are_cached_per_account_service_region(aws, monkeypatch):
    made = []
    real = boto3.session.Session.client
    monkeypatch.setattr(boto3.session.Session, "client", lambda self, *a, **k: made.append(a[0]) or real(self, *a, **k))
    account = make_settings().accounts["local"]
    clients = Clients()
    s3 = clients.get(account, "s3")
    assert clients.get(account, "s3") is s3
    assert clients.get(account, "s3", "eu-west-1") is not s3
    assert clients.get(account, "iam") is clients.get(account, "iam", None)
    assert made == ["s3", "s3", "iam"]


def test_sessions_are_not_built_per_request(aws, monkeypatch):
    built = []
    real = boto3.session.Session.__init__
    monkeypatch.setattr(boto3.session.Session, "__init__", lambda self, *a, **k: built.append(1) or real(self, *a, **k))
    account = make_settings().accounts["local"]
    clients = Clients()
    for _ in range(20):
        clients.get(account, "s3").list_buckets()
        clients.get(account, "iam").list_users()
    assert len(built) == 1


def test_assumed_role_credentials(aws):
    iam = boto3.client("iam")
    iam.create_role(RoleName="s3api", AssumeRolePolicyDocument="{}")
    account = make_settings(None, role="s3api", external_id="ext-123").accounts["local"]
    clients = Clients()
    s3 = clients.get(account, "s3")
    creds = s3._request_signer._credentials
    assert creds.method == "sts-assume-role"
    assert creds.get_frozen_credentials().access_key.startswith("ASIA")
    s3.list_buckets()


def test_every_call_is_counted_and_tallied(aws):
    account = make_settings().accounts["local"]
    clients = Clients()
    tally = metrics.start_tally()
    before = metrics.AWS_CALLS.labels("s3", "ListBuckets", "ok")._value.get()
    clients.get(account, "s3").list_buckets()
    with contextlib.suppress(Exception):
        clients.get(account, "s3").head_bucket(Bucket="missing-bucket")
    assert metrics.AWS_CALLS.labels("s3", "ListBuckets", "ok")._value.get() == before + 1
    assert tally.operations == ["s3:ListBuckets", "s3:HeadBucket"]
