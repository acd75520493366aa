"""Issue 11 point #10: user deletion that cannot finish.

AWS refuses DeleteUser (DeleteConflict) while the user has a login profile, an MFA device, an SSH public key, a
signing certificate or a service-specific credential; moto deletes it anyway, so these tests assert that we
look first: the user routes answer 409 naming them before anything changes (the keys of a person's IAM user
are not deleted only for DeleteUser to fail on every retry), and bucket and website delete keep such a member
(with its keys), taking it out of their groups only. A user also in another bucket's or site's groups is only
removed from this scope's groups by ``DELETE .../users/<u>``.

moto 5.2.5 lacks ListServiceSpecificCredentials: ``tests/conftest.py`` answers it as AWS does for a user without
any; the test of a user *with* one answers it from the app's before-call hook.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from s3api.provisioning import policies
from tests.api.test_users import Calls, create, hooked, make_bucket, snapshot

BUCKET = "team-data"
OTHER = "other-data"
SITE = "www.example.test"
BUCKETS = "/v1/s3/local/buckets"
WEBSITES = "/v1/s3/local/websites"
USERS = f"{BUCKETS}/{BUCKET}/users"
SITE_USERS = f"{WEBSITES}/{SITE}/users"
CREDENTIAL_READS = [
    "GetLoginProfile",
    "ListMFADevices",
    "ListSSHPublicKeys",
    "ListSigningCertificates",
    "ListServiceSpecificCredentials",
]
# A self-signed certificate body that IAM (and moto) accepts for UploadSigningCertificate.
CERT = """-----BEGIN CERTIFICATE-----
MIIBpzCCARACCQCY5yOdxCTrGjANBgkqhkiG9w0BAQsFADAXMRUwEwYDVQQKDAxt
b3RvIHRlc3RpbmcwIBcNMTgxMTA1MTkwNTIwWhgPMjI5MjA4MTkxOTA1MjBaMBcx
FTATBgNVBAoMDG1vdG8gdGVzdGluZzCBnzANBgkqhkiG9w0BAQEFAAOBjQAwgYkC
gYEA1Jn3g2h7LD3FLqdpcYNbFXCS4V4eDpuTCje9vKFcC3pi/01147X3zdfPy8Mt
ZhKxcREOwm4NXykh23P9KW7fBovpNwnbYsbPqj8Hf1ZaClrgku1arTVhEnKjx8zO
vaR/bVLCss4uE0E0VM1tJn/QGQsfthFsjuHtwx8uIWz35tUCAwEAATANBgkqhkiG
9w0BAQsFAAOBgQBWdOQ7bDc2nWkUhFjZoNIZrqjyNdjlMUndpwREVD7FQ/DuxJMj
FyDHrtlrS80dPUQWNYHw++oACDpWO01LGLPPrGmuO/7cOdojPEd852q5gd+7W9xt
8vUH+pBa6IBLbvBp+szli51V3TLSWcoyy4ceJNQU2vCkTLoFdS0RLd/7tQ==
-----END CERTIFICATE-----"""
SSH_KEY = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDAc0xUgWo8nI/gEkTTlAIoGE3AhfRqDKLdPLLqO5mtvjHn8yN4DGeawK3GoL3DZCJB"
    "RUtxyU7hGa7ONnkP0y+qwnEVqnxCUxK06tb1YJo5ZR4mmLQZzDyfFWy5AOckvr8CkqkOF39aO5cK2TRbfLJdnXNcmGqkpRcRQJq8Xl0u"
    "nixTdP8UPLWkZaTzG4lmh5kfU5yCjzHHFmq6oJnfNqTTMhxiOENPnSLwKnzVvFUKlzVY+IAuwh6UX9gRuCIbWWAgjGKzC2y5k6k4XaO2"
    "xz9xxUm2mdVUxkQ7YR9kL8vFK5sG/ClMDX3C6oYgwOpfhX0I1N/dJ4P2b2pE/4k/aCr5 test@example"
)


def give(iam: Any, user: str, kind: str) -> str:
    """Give ``user`` one credential of ``kind`` (what a person's IAM user has); answers the word the 409 names."""
    if kind == "login":
        iam.create_login_profile(UserName=user, Password="Aa1!aaaaaaaaaaaa")
        return "login profile"
    if kind == "mfa":
        serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"{user}-mfa")["VirtualMFADevice"]["SerialNumber"]
        iam.enable_mfa_device(
            UserName=user, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
        )
        return f"MFA device {serial}"
    if kind == "ssh":
        key_id = iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=SSH_KEY)["SSHPublicKey"]["SSHPublicKeyId"]
        return f"SSH public key {key_id}"
    assert kind == "cert"
    cert_id = iam.upload_signing_certificate(UserName=user, CertificateBody=CERT)["Certificate"]["CertificateId"]
    return f"signing certificate {cert_id}"


def take(iam: Any, user: str, kind: str) -> None:
    if kind == "login":
        iam.delete_login_profile(UserName=user)
    elif kind == "mfa":
        serial = iam.list_mfa_devices(UserName=user)["MFADevices"][0]["SerialNumber"]
        iam.deactivate_mfa_device(UserName=user, SerialNumber=serial)
    elif kind == "ssh":
        key_id = iam.list_ssh_public_keys(UserName=user)["SSHPublicKeys"][0]["SSHPublicKeyId"]
        iam.delete_ssh_public_key(UserName=user, SSHPublicKeyId=key_id)
    else:
        cert_id = iam.list_signing_certificates(UserName=user)["Certificates"][0]["CertificateId"]
        iam.delete_signing_certificate(UserName=user, CertificateId=cert_id)


def keys(iam: Any, user: str) -> list[str]:
    return [k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]]


def groups_of(iam: Any, user: str) -> list[str]:
    return sorted(g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"])


def users(iam: Any) -> list[str]:
    return [u["UserName"] for u in iam.list_users()["Users"]]


def make_site(client: Any) -> None:
    r = client.post(WEBSITES, json={"BucketInput": {"Bucket": SITE}})
    assert r.status_code == 200, r.json


def add_site_user(client: Any, name: str) -> None:
    r = client.post(SITE_USERS, json={"User": {"UserName": name}})
    assert r.status_code == 200, r.json


class ServiceCredential:
    """A before-call hook answering ListServiceSpecificCredentials with one credential (moto lacks the call);
    returning a response from before-call makes botocore skip the request."""

    def __call__(self, model: Any, **_: Any) -> Any:
        if model.name != "ListServiceSpecificCredentials":
            return None
        credential = {
            "UserName": "alice",
            "ServiceUserName": "alice-at-1",
            "ServiceName": "codecommit.amazonaws.com",
            "ServiceSpecificCredentialId": "ACCAEXAMPLE1234567890",
            "Status": "Active",
            "CreateDate": "2026-01-01T00:00:00Z",
        }
        return AWSResponse("https://iam.amazonaws.com/", 200, {}, None), {"ServiceSpecificCredentials": [credential]}


# --- DELETE .../users/<u>: 409 before anything changes --------------------------------------------------------


@pytest.mark.parametrize("kind", ["login", "mfa", "ssh", "cert"])
def test_bucket_user_delete_refuses_a_user_with_sign_in_credentials(client, iam, kind):
    make_bucket(client, BUCKET)
    assert create(client, "alice", ["BktAdmGrp", "BktRWGrp"]).status_code == 200
    named = give(iam, "alice", kind)
    before = snapshot(iam)
    r = client.delete(f"{USERS}/alice")
    assert r.status_code == 409, r.json
    assert named in r.json["message"] and r.json["code"] == "Conflict"
    assert snapshot(iam) == before  # the key, the memberships and the user are all still there
    take(iam, "alice", kind)
    assert client.delete(f"{USERS}/alice").status_code == 200
    assert "alice" not in users(iam)


def test_every_credential_is_named_at_once(client, iam):
    make_bucket(client, BUCKET)
    create(client, "alice")
    named = [give(iam, "alice", kind) for kind in ("login", "mfa", "ssh", "cert")]
    r = client.delete(f"{USERS}/alice")
    assert r.status_code == 409 and all(n in r.json["message"] for n in named)


def test_a_service_specific_credential_is_refused(client, app, iam):
    make_bucket(client, BUCKET)
    create(client, "alice")
    before = snapshot(iam)
    with hooked(app, ServiceCredential()):  # type: ignore[arg-type]
        r = client.delete(f"{USERS}/alice")
    assert r.status_code == 409
    assert "service-specific credential ACCAEXAMPLE1234567890 (codecommit.amazonaws.com)" in r.json["message"]
    assert snapshot(iam) == before


def test_website_user_delete_refuses_a_user_with_sign_in_credentials(client, iam):
    make_site(client)
    add_site_user(client, "web")
    named = give(iam, "web", "login")
    before = snapshot(iam)
    r = client.delete(f"{SITE_USERS}/web")
    assert r.status_code == 409 and named in r.json["message"]
    assert snapshot(iam) == before
    take(iam, "web", "login")
    assert client.delete(f"{SITE_USERS}/web").status_code == 200
    assert "web" not in users(iam)


def test_the_credential_reads_run_once_per_delete(client, app, iam):
    make_bucket(client, BUCKET)
    create(client, "alice", ["BktAdmGrp", "BktRWGrp"])
    with hooked(app, Calls()) as calls:
        assert client.delete(f"{USERS}/alice").status_code == 200
    assert [n for n in calls.names if n in CREDENTIAL_READS] == CREDENTIAL_READS
    first_change = min(calls.names.index(n) for n in ("DeleteAccessKey", "RemoveUserFromGroup", "DeleteUser"))
    assert max(calls.names.index(n) for n in CREDENTIAL_READS) < first_change


# --- bucket and website delete: such a member is kept, with its keys ------------------------------------------


def test_bucket_delete_keeps_a_member_with_sign_in_credentials(client, iam):
    make_bucket(client, BUCKET)
    create(client, "alice", ["BktAdmGrp", "BktRWGrp"])
    create(client, "bob")
    give(iam, "alice", "mfa")
    alice_keys = keys(iam, "alice")
    assert client.delete(f"{BUCKETS}/{BUCKET}").status_code == 200
    assert "bob" not in users(iam)  # only ours: goes with the bucket
    assert "alice" in users(iam) and keys(iam, "alice") == alice_keys
    assert groups_of(iam, "alice") == []
    assert iam.list_mfa_devices(UserName="alice")["MFADevices"]
    assert not [g for g in iam.list_groups()["Groups"] if g["GroupName"].startswith(BUCKET)]


def test_website_delete_keeps_a_member_with_sign_in_credentials(client, iam):
    make_site(client)
    add_site_user(client, "web")
    add_site_user(client, "other")
    give(iam, "web", "ssh")
    web_keys = keys(iam, "web")
    r = client.delete(f"{WEBSITES}/{SITE}")
    assert r.status_code == 200, r.json
    assert "other" not in users(iam)
    assert "web" in users(iam) and keys(iam, "web") == web_keys and groups_of(iam, "web") == []


# --- a user of another bucket or site only leaves this scope --------------------------------------------------


def test_bucket_user_of_another_bucket_only_leaves_this_buckets_groups(client, iam):
    make_bucket(client, BUCKET)
    make_bucket(client, OTHER)
    create(client, "alice", ["BktAdmGrp", "BktRWGrp"])
    iam.add_user_to_group(GroupName=policies.group_name(OTHER, "BktAdmGrp"), UserName="alice")
    arn = iam.create_policy(
        PolicyName=f"{BUCKET}-legacy", PolicyDocument=json.dumps(policies.bucket_policy_for("BktROGrp", BUCKET))
    )
    iam.attach_user_policy(UserName="alice", PolicyArn=arn["Policy"]["Arn"])  # the scope's: detached
    alice_keys = keys(iam, "alice")
    r = client.delete(f"{USERS}/alice")
    assert r.status_code == 200, r.json
    assert "alice" in users(iam) and keys(iam, "alice") == alice_keys
    assert groups_of(iam, "alice") == [policies.group_name(OTHER, "BktAdmGrp")]
    assert iam.list_attached_user_policies(UserName="alice")["AttachedPolicies"] == []
    assert client.get(USERS).json == []
    assert [u["UserName"] for u in client.get(f"{BUCKETS}/{OTHER}/users").json] == ["alice"]
    assert client.delete(f"{USERS}/alice").status_code == 404


def test_website_user_who_is_also_a_bucket_user_only_leaves_the_sites_groups(client, iam):
    make_site(client)
    make_bucket(client, BUCKET)
    add_site_user(client, "web")
    iam.add_user_to_group(GroupName=policies.group_name(BUCKET, "BktAdmGrp"), UserName="web")
    web_keys = keys(iam, "web")
    assert client.delete(f"{SITE_USERS}/web").status_code == 200
    assert "web" in users(iam) and keys(iam, "web") == web_keys
    assert groups_of(iam, "web") == [policies.group_name(BUCKET, "BktAdmGrp")]
    assert client.delete(f"{SITE_USERS}/web").status_code == 404
    # and the other way round: the bucket's delete of a user of the site too keeps it for the site
    add_site_user(client, "both")
    iam.add_user_to_group(GroupName=policies.group_name(BUCKET, "BktAdmGrp"), UserName="both")
    assert client.delete(f"{USERS}/both").status_code == 200
    assert "both" in users(iam) and not any(g.startswith(BUCKET) for g in groups_of(iam, "both"))
    assert groups_of(iam, "both")
