"""Path values are checked once, at the edge: the path converters of ``s3api.api`` (one field of
``s3api.schemas.fields.PathValues`` each) answer before any view, workflow or AWS call.

- every route with a path value answers the same 400 JSON envelope for a bad value (the URL map is walked, so a
  new route is covered by construction); an account that can never exist is 404, as an unknown one;
- a legacy bucket name (upper case, underscores: buckets from before March 2018) is reachable on the users
  routes exactly as on the bucket route (it was refused there with a 400: the drift of issue 13);
- a website-user name is checked once per request, by the edge.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from flask import Flask
from werkzeug.routing import Rule

from s3api import names, validation
from s3api.api import PATH_VALUES, PathValueConverter
from s3api.provisioning import users, websites
from tests import faults
from tests.conftest import Client

GOOD = {
    "account": "local",
    "bucket": "team-data",
    "website": "www.example.test",
    "user": "alice",
    "key": "dir/file.txt",
    "invalidation": "I2J0I21PCUYOIK",
    "upload_id": "upload-1",
    "key_id": "AKIAIOSFODNN7EXAMPLE",
    "tenant_id": "t-0123456789abcdef",
    "link_id": "lnk-" + "0" * 24,
    "share": "newsletter-2026-12",
    "order_id": "ord-" + "0" * 24,
    "plan": "basic",
}
BAD = {
    "bucket": "bad:name",  # outside even the legacy rule
    "website": "Bad_Name",  # a legacy bucket name, never a website (created by us, current rules)
    "user": "bad!name",
    "key": "k" * 1025,  # 1,025 bytes: over S3's 1,024
}
MESSAGES = {  # what the workflows answered when they checked these values
    "bucket": "invalid bucket name 'bad:name': 3-255 letters, digits, '.', '_' and '-'",
    "website": "invalid bucket name 'Bad_Name': 3-63 characters of lowercase letters, digits, '.' and '-', "
    "beginning and ending with a letter or digit",
    "user": "invalid user name 'bad!name': 1-64 letters, digits and _+=,.@-",
    "key": "object key is 1025 bytes of UTF-8; the limit is 1024",
}
LEGACY = "Legacy_Bucket"
RULE_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _path_rules(app: Flask) -> list[Rule]:
    rules = [
        r for r in app.url_map.iter_rules() if any(isinstance(c, PathValueConverter) for c in r._converters.values())
    ]
    assert len(rules) >= 15, [r.rule for r in rules]  # every account route: a walk that found nothing proves nothing
    return rules


def _url(rule: Rule, **values: str) -> str:
    """The rule's path with ``GOOD`` values, ``values`` overriding (percent-encoded; a key keeps its slashes)."""
    chosen = {**GOOD, **values}

    def value(m: re.Match[str]) -> str:
        return quote(chosen[m.group(1)], safe="/" if m.group(1) == "key" else "")

    return RULE_ARG.sub(value, rule.rule)


def _methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"OPTIONS"})


def test_every_path_value_has_one_checked_field() -> None:
    assert set(PATH_VALUES.fields) == {"account", "bucket", "website", "user", "key"}


def test_a_bad_path_value_is_the_same_400_envelope_on_every_route(app: Flask, client: Client) -> None:
    seen: set[str] = set()
    with faults.aws_calls(app) as hook:
        for rule in _path_rules(app):
            for name, converter in rule._converters.items():
                if not isinstance(converter, PathValueConverter) or name == "account":
                    continue
                seen.add(name)
                url = _url(rule, **{name: BAD[name]})
                for method in _methods(rule):
                    r = client.open(method, url, json={} if method in ("POST", "PUT", "PATCH") else None)
                    assert r.status_code == 400, (method, url, r.status_code, r.json)
                    if method == "HEAD":
                        continue
                    message = r.json["message"]
                    assert r.json == {
                        "code": "BadRequest",
                        "message": message,
                        "status": 400,
                        "request_id": r.headers["X-Request-Id"],
                        "errors": {name: [message]},
                    }, (method, url)
                    assert message == MESSAGES[name], (method, url, message)
    assert seen == set(BAD)
    assert hook.calls == []  # refused before any workflow ran


def test_an_account_that_cannot_exist_is_404_like_an_unknown_one(app: Flask, client: Client) -> None:
    with faults.aws_calls(app) as hook:
        for rule in _path_rules(app):
            for account in ("Bad!", "nope"):
                url = _url(rule, account=account, **BAD)  # the account answers first, whatever follows
                for method in _methods(rule):
                    r = client.open(method, url, json={} if method in ("POST", "PUT", "PATCH") else None)
                    assert r.status_code == 404, (method, url, r.json)
                    if method != "HEAD":
                        assert r.json["code"] == "NotFound", (method, url)
                        assert r.json["message"] == f"account '{account}' is not configured"
    assert hook.calls == []


def test_authentication_still_answers_before_a_bad_path_value(client: Client) -> None:
    r = client.get(f"/v1/s3/local/buckets/{BAD['bucket']}/users/{BAD['user']}", auth=False)
    assert r.status_code == 403 and r.json["code"] == "Forbidden"
    r = client.get("/v1/s3/Bad!/buckets", auth=False)
    assert r.status_code == 403 and r.json["code"] == "Forbidden"


def test_a_wrong_method_is_still_405(client: Client) -> None:
    assert client.open("PATCH", f"/v1/s3/local/buckets/{BAD['bucket']}").status_code == 405


# --- one rule for a bucket name in a URL ---------------------------------------------------------------------


@pytest.fixture
def legacy(aws: None) -> str:
    """A bucket from before March 2018 (moto creates such names, as us-east-1 once did)."""
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=LEGACY)
    return LEGACY


def test_a_missing_legacy_bucket_is_404_on_the_users_routes_as_on_the_bucket_route(client: Client) -> None:
    assert client.head(f"/v1/s3/local/buckets/{LEGACY}").status_code == 404
    r = client.get(f"/v1/s3/local/buckets/{LEGACY}/users")
    assert r.status_code == 404 and r.json["code"] == "NotFound", r.json
    r = client.post(f"/v1/s3/local/buckets/{LEGACY}/users", json={"User": {"UserName": "alice"}})
    assert r.status_code == 404 and r.json["code"] == "NotFound", r.json
    r = client.get(f"/v1/s3/local/buckets/{LEGACY}/users/alice")
    assert r.status_code == 404 and r.json["code"] == "NotFound", r.json


def test_a_legacy_bucket_has_users_like_any_bucket(client: Client, legacy: str) -> None:
    assert client.head(f"/v1/s3/local/buckets/{legacy}").status_code == 200  # the bucket route reaches it
    assert client.get(f"/v1/s3/local/buckets/{legacy}/users").json == []
    body = {"User": {"UserName": "alice"}, "Groups": ["BktROGrp"]}
    r = client.post(f"/v1/s3/local/buckets/{legacy}/users", json=body)
    assert r.status_code == 200, r.json
    assert [u["UserName"] for u in client.get(f"/v1/s3/local/buckets/{legacy}/users").json] == ["alice"]
    r = client.get(f"/v1/s3/local/buckets/{legacy}/users/alice")
    assert r.status_code == 200, r.json
    assert any(g["GroupName"] == f"{legacy}-BktROGrp" for g in r.json["Groups"]), r.json
    assert client.put(f"/v1/s3/local/buckets/{legacy}/users/alice").status_code == 200
    assert client.delete(f"/v1/s3/local/buckets/{legacy}/users/alice").status_code == 200
    assert client.get(f"/v1/s3/local/buckets/{legacy}/users").json == []


def test_creating_a_bucket_keeps_the_strict_rule(client: Client) -> None:
    r = client.post("/v1/s3/local/buckets", json={"BucketInput": {"Bucket": LEGACY}})
    assert r.status_code == 400 and "BucketInput" in r.json["errors"]["json"], r.json


# --- a website-user name is checked once ---------------------------------------------------------------------


class CountingValidator:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0

    def __call__(self, value: Any) -> Any:
        self.calls += 1
        return self.inner(value)


@pytest.fixture
def user_checks(monkeypatch: pytest.MonkeyPatch) -> CountingValidator:
    """Counts the edge's checks of a user name; the rule's compiled pattern, wherever a workflow could reach it,
    counts into the same tally (no inner re-check may remain)."""
    field = PATH_VALUES.fields["user"]
    (validator,) = field.validators
    counting = CountingValidator(validator)
    monkeypatch.setattr(field, "validators", [counting])

    class Pattern:
        pattern = names.USER_NAME.pattern

        def fullmatch(self, value: str) -> Any:
            counting.calls += 1
            return names.USER_NAME.fullmatch(value)

    for module in (names, validation, users, websites):
        monkeypatch.setattr(module, "USER_NAME", Pattern(), raising=False)
    return counting


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_bad_website_user_name_is_refused_once_by_the_edge(
    app: Flask, client: Client, user_checks: CountingValidator, method: str
) -> None:
    with faults.aws_calls(app) as hook:
        r = client.open(method, f"/v1/s3/local/websites/www.example.test/users/{BAD['user']}")
    assert r.status_code == 400 and r.json["message"] == MESSAGES["user"], r.json
    assert r.json["errors"] == {"user": [MESSAGES["user"]]}
    assert user_checks.calls == 1
    assert hook.calls == []


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_good_website_user_name_is_checked_once(
    app: Flask, client: Client, user_checks: CountingValidator, method: str
) -> None:
    r = client.open(method, "/v1/s3/local/websites/www.example.test/users/alice")
    assert r.status_code == 404, r.json  # not a user of the site: the workflow ran, without checking again
    assert user_checks.calls == 1
