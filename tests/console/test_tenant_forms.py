"""The admin's tenant forms in the console: a new tenant (its operation page hands the secrets over once, page or
htmx fragment), edit, credentials (rotate, reveal, a key off and on). Effects are checked through the API; bad
input, a missing CSRF token and a reader change nothing; no secret reaches a redirect, a later page or the audit
trail."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from flask import Flask

from s3api import create_app
from s3api.config import Settings
from s3api.control import tenants as control_tenants
from s3api.jobs import local
from tests.api.tenancy_made import S3_KEYS, make_plan, make_tenant
from tests.conftest import SECRETS_SEEN, Client
from tests.console.conftest import Browser
from tests.console.test_console import assert_error, html, s3
from tests.console.test_pages import assert_page, paid_plan

SECRET_IDS = ("secret-access-key", "api-key")


def shown(body: str, element: str) -> str | None:
    found = re.search(rf'id="{element}">([^<]*)<', body)
    return found.group(1) if found else None


def secrets_of(body: str) -> dict[str, str]:
    """The values a page shows under the secret ids (remembered for the conftest's log and audit scan)."""
    found = {e: v for e in ("tenant-id", "access-key-id", *SECRET_IDS) if (v := shown(body, e))}
    SECRETS_SEEN.update(v for e, v in found.items() if e in SECRET_IDS)
    return found


def assert_no_secret_in(text: str) -> None:
    assert not [s for s in SECRETS_SEEN if s in text]
    assert 'id="secret-access-key"' not in text and 'id="api-key"' not in text


def drain(app: Flask) -> int:
    return local.drain(app.extensions["s3api"])


def reader_browser(app: Flask, client: Client) -> Browser:
    key = client.post("/v1/s3/keys", json={"Name": "reader", "Role": "reader"}).json["Key"]
    reader = Browser(app.test_client())
    assert reader.sign_in(key).status_code == 303
    return reader


NEW = {
    "plan": "starter", "location": "local", "email": "ops@acme.example", "first_bucket": "acme-data",
    "client_id": "c-1",
}  # fmt: skip


def create(browser: Browser, **change: str) -> Any:
    return browser.post("/console/tenants", {**NEW, **change})


def operation_id(r: Any) -> str:
    assert r.status_code == 303, (r.status_code, html(r)[:2000])
    location = r.headers["Location"]
    found = re.fullmatch(r"/console/operations/(op-[0-9a-f]+)(\?.*)?", location)
    assert found, location
    return found.group(1)


# --- a new tenant ---------------------------------------------------------------------------------------------


def test_the_new_tenant_form_offers_the_free_plans_and_the_location(
    app: Flask, browser: Browser, client: Client
) -> None:
    make_plan(app, "starter")
    paid_plan(client, "pro")
    body = assert_page(browser.get("/console/tenants"), 'id="tenant-create"', "Create tenant", 'id="tenant-plan"')
    form = body[body.index('id="tenant-create"') : body.index("</form>", body.index('id="tenant-create"'))]
    assert '<option value="starter">' in form and 'value="pro"' not in form  # a paid plan comes from an order
    assert 'id="tenant-location" name="location" value="local"' in form
    for field in ("tenant-email", "tenant-bucket", "tenant-client-id", "tenant-billing"):
        assert f'id="{field}"' in form
    assert 'name="tester"' in form and 'action="/console/tenants"' in form and 'name="csrf"' in form


def test_a_new_tenant_is_made_and_the_poll_that_sees_it_done_hands_over_the_secrets_once(
    app: Flask, browser: Browser, client: Client
) -> None:
    make_plan(app, "starter")
    r = create(browser, billing="b-7")
    op_id = operation_id(r)
    page = assert_page(browser.get(r.headers["Location"]), "tenant.create", "NotStarted", "every 1s")
    assert 'id="secret-access-key"' not in page and f'hx-get="/console/operations/{op_id}"' in page
    assert drain(app) >= 1
    fragment = browser.get(f"/console/operations/{op_id}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and fragment.headers["Cache-Control"] == "no-store"
    body = html(fragment)
    assert "<html" not in body and body.startswith('<div id="operation-status"')
    assert "hx-get" not in body and "hx-trigger" not in body  # Done: the poll stops with this fragment
    made = secrets_of(body)
    assert set(made) == {"tenant-id", "access-key-id", "secret-access-key", "api-key"}, body
    assert body.count('class="copy"') == 4 and "shown only now" in body
    tenant_id = made["tenant-id"]
    assert f'href="/console/tenants/{tenant_id}"' in body
    # the secrets are the tenant's: the API key is its tenant key, the S3 key its current one
    who = client.get("/v1/s3/whoami", auth=False, headers={"X-Auth-Token": made["api-key"]}).json
    assert who["Role"] == "tenant" and who["Tenant"] == tenant_id
    t = client.get(f"/v1/s3/tenants/{tenant_id}").json
    assert t["Status"] == "active" and t["Plan"] == "starter" and t["Email"] == NEW["email"]
    assert (t["ClientId"], t["Billing"], t["Tester"]) == ("c-1", "b-7", False)
    assert t["Credentials"]["AccessKeyId"] == made["access-key-id"]
    assert [b["Name"] for b in t["Buckets"]] == ["acme-data"]
    # once: neither a later page, nor its fragment, nor the API shows them again
    again = assert_page(browser.get(f"/console/operations/{op_id}"), "were shown already", tenant_id)
    assert_no_secret_in(again)
    assert_no_secret_in(html(browser.get(f"/console/operations/{op_id}", headers={"HX-Request": "true"})))
    api = client.get(f"/v1/s3/operations/{op_id}").json["Result"]
    assert api["SecretsShown"] is True and "SecretAccessKey" not in api["Credentials"] and "Key" not in api["ApiKey"]
    assert_no_secret_in(r.headers["Location"])
    # audited: the form (with its operation) and the one secret read
    events = client.get("/v1/s3/audit?action=console.tenant.create").json["Events"]
    assert [(e["Outcome"], e["Status"], e["Resource"], e["OperationId"]) for e in events] == [
        ("ok", 303, "tenants", op_id)
    ]
    taken = client.get("/v1/s3/audit?action=tenant.secrets_shown").json["Events"]
    assert [(e["CallerName"], e["OperationId"], e["Resource"]) for e in taken] == [
        ("test", op_id, f"tenants/{tenant_id}")
    ]


def test_the_page_itself_takes_the_secrets_when_the_tenant_is_done_first(app: Flask, browser: Browser) -> None:
    make_plan(app, "starter")
    op_id = operation_id(create(browser, tester="on"))
    drain(app)
    page = browser.get(f"/console/operations/{op_id}")
    body = assert_page(page, "Succeeded", "Copy the secret access key", "Copy the API key")
    assert page.headers["Cache-Control"] == "no-store" and "hx-trigger" not in body
    made = secrets_of(body)
    assert "secret-access-key" in made and "api-key" in made
    assert_no_secret_in(html(browser.get(f"/console/operations/{op_id}", headers={"HX-Request": "true"})))
    assert_no_secret_in(html(browser.get(f"/console/operations/{op_id}")))


def test_a_reader_sees_the_operation_without_taking_the_secrets(app: Flask, browser: Browser, client: Client) -> None:
    make_plan(app, "starter")
    op_id = operation_id(create(browser))
    drain(app)
    reader = reader_browser(app, client)
    seen = assert_page(reader.get(f"/console/operations/{op_id}"), "Succeeded", "first admin")
    assert_no_secret_in(seen)
    assert 'id="tenant-create"' not in html(reader.get("/console/tenants"))  # no form for a reader
    made = secrets_of(html(browser.get(f"/console/operations/{op_id}")))
    assert "secret-access-key" in made and "api-key" in made  # still there for the admin


BAD = [
    ({"email": ""}, 400, "email is required"),
    ({"email": "not-an-email"}, 400, "Email"),
    ({"plan": "nope"}, 404, "plan &#39;nope&#39; not found"),
    ({"plan": "pro"}, 400, "is paid"),
    ({"location": "mars"}, 400, "location"),
    ({"location": "Not Valid"}, 400, "Location"),
    ({"first_bucket": "Bad_Name"}, 400, "Bucket"),
    ({"client_id": "\x01"}, 400, "ClientId"),
    ({"first_bucket": "taken-bucket"}, 409, "already exists"),
]


@pytest.mark.parametrize(("change", "status", "says"), BAD, ids=[str(b[0]) for b in BAD])
def test_bad_input_creates_no_tenant(
    app: Flask, browser: Browser, client: Client, change: dict[str, str], status: int, says: str
) -> None:
    make_plan(app, "starter")
    paid_plan(client, "pro")
    s3().create_bucket(Bucket="taken-bucket")
    buckets = sorted(b["Name"] for b in s3().list_buckets()["Buckets"])
    assert_error(create(browser, **change), status, says)
    assert client.get("/v1/s3/tenants").json["Tenants"] == []
    assert client.get("/v1/s3/operations").json["Operations"] == []
    assert sorted(b["Name"] for b in s3().list_buckets()["Buckets"]) == buckets


# --- refusals: CSRF, a reader ---------------------------------------------------------------------------------


def forms(tenant_id: str, key_id: str) -> dict[str, dict[str, str]]:
    path = f"/console/tenants/{tenant_id}"
    return {
        "/console/tenants": {**NEW, "first_bucket": "refused-data"},
        f"{path}/edit": {"plan": "starter", "email": "changed@example.test"},
        f"{path}/credentials/rotate": {"grace_seconds": "0"},
        f"{path}/credentials/reveal": {},
        f"{path}/credentials/{key_id}": {"status": "Inactive"},
    }


def assert_unchanged(client: Client, tenant_id: str, key_id: str) -> None:
    listed = client.get("/v1/s3/tenants").json["Tenants"]
    assert [t["Id"] for t in listed] == [tenant_id]
    t = client.get(f"/v1/s3/tenants/{tenant_id}").json
    assert t["Email"] == "owner@example.test" and t["Credentials"]["AccessKeyId"] == key_id
    assert [(k["AccessKeyId"], k["Status"]) for k in t["Credentials"]["Keys"]] == [(key_id, "Active")]


def test_every_tenant_form_refuses_a_missing_or_wrong_csrf_token(app: Flask, browser: Browser, client: Client) -> None:
    tenant_id, _, _ = make_tenant(app, buckets=["acme-data"], plan="starter")
    key_id = S3_KEYS[tenant_id][0]
    for path, data in forms(tenant_id, key_id).items():
        for token in (None, "wrong"):
            sent = dict(data) if token is None else {**data, "csrf": token}
            assert_error(browser.client.post(path, data=sent), 403, "CSRF token is missing or wrong")
    assert_unchanged(client, tenant_id, key_id)
    assert "refused-data" not in [b["Name"] for b in s3().list_buckets()["Buckets"]]


def test_a_reader_is_refused_every_tenant_form_and_sees_none(app: Flask, client: Client) -> None:
    tenant_id, _, _ = make_tenant(app, buckets=["acme-data"], plan="starter")
    key_id = S3_KEYS[tenant_id][0]
    reader = reader_browser(app, client)
    for path, data in forms(tenant_id, key_id).items():
        assert_error(reader.post(path, data), 403, "the reader role may not")
    assert_unchanged(client, tenant_id, key_id)
    page = assert_page(reader.get(f"/console/tenants/{tenant_id}"), key_id, "Active")
    for form in ("tenant-edit", "tenant-rotate", "tenant-reveal", "Switch off"):
        assert form not in page


# --- edit -----------------------------------------------------------------------------------------------------


def test_edit_sends_only_what_changed(
    app: Flask, browser: Browser, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant_id, _, _ = make_tenant(app, buckets=["acme-data"], plan="starter")
    make_plan(app, "bigger", max_buckets=10)
    make_plan(app, "elsewhere", locations=("mars",))
    path = f"/console/tenants/{tenant_id}"
    page = assert_page(browser.get(path), 'id="tenant-edit"', 'id="edit-plan"', "Save changes")
    assert '<option value="bigger"' in page and '<option value="starter" selected>' in page
    assert 'value="elsewhere"' not in page  # not sold in the tenant's location
    sent: list[dict[str, Any]] = []
    real = control_tenants.patch
    monkeypatch.setattr(
        control_tenants, "patch", lambda rt, c, t, body: (sent.append(dict(body)), real(rt, c, t, body))[1]
    )
    r = browser.post(
        f"{path}/edit", {"plan": "bigger", "email": "owner@example.test", "client_id": "c-9", "billing": ""}
    )
    assert r.status_code == 303 and r.headers["Location"].startswith(path)
    assert "Plan" in r.headers["Location"] and "ClientId" in r.headers["Location"]
    assert sent == [{"Plan": "bigger", "ClientId": "c-9"}]
    t = client.get(f"/v1/s3/tenants/{tenant_id}").json
    assert (t["Plan"], t["Email"], t["ClientId"], t["Billing"]) == ("bigger", "owner@example.test", "c-9", None)
    # an emptied field is cleared; an unchanged form sends nothing
    assert browser.post(f"{path}/edit", {"plan": "bigger", "client_id": "", "billing": "b-1"}).status_code == 303
    assert sent[-1] == {"ClientId": None, "Billing": "b-1"}
    assert client.get(f"/v1/s3/tenants/{tenant_id}").json["ClientId"] is None
    r = browser.post(
        f"{path}/edit", {"plan": "bigger", "email": "owner@example.test", "client_id": "", "billing": "b-1"}
    )
    assert r.status_code == 303 and "Nothing+changed" in r.headers["Location"] and len(sent) == 2
    events = client.get("/v1/s3/audit?action=console.tenant.update").json["Events"]
    assert [(e["Outcome"], e["Status"], e["Resource"]) for e in events][-1] == ("ok", 303, f"tenants/{tenant_id}/edit")


@pytest.mark.parametrize(
    ("data", "status", "says"),
    [
        ({"email": "not-an-email"}, 400, "Email"),
        ({"email": ""}, 400, "Email"),
        ({"plan": "nope"}, 404, "not found"),
        ({"plan": "bad plan!"}, 400, "Plan"),
        ({"billing": "\x01"}, 400, "Billing"),
        ({"client_id": "x" * 129}, 400, "ClientId"),
    ],
)
def test_edit_refuses_bad_input_and_changes_nothing(
    app: Flask, browser: Browser, client: Client, data: dict[str, str], status: int, says: str
) -> None:
    tenant_id, _, _ = make_tenant(app, buckets=["acme-data"], plan="starter")
    before = client.get(f"/v1/s3/tenants/{tenant_id}").json
    assert_error(browser.post(f"/console/tenants/{tenant_id}/edit", {"client_id": "c-2", **data}), status, says)
    after = client.get(f"/v1/s3/tenants/{tenant_id}").json
    assert {k: after[k] for k in ("Plan", "Email", "ClientId", "Billing", "UpdatedAt")} == {
        k: before[k] for k in ("Plan", "Email", "ClientId", "Billing", "UpdatedAt")
    }


def test_edit_of_an_unknown_tenant_is_404(browser: Browser) -> None:
    assert_error(browser.post("/console/tenants/t-0000000000000000/edit", {"email": "a@b.example"}), 404, "not found")


# --- credentials ----------------------------------------------------------------------------------------------


def test_rotate_shows_the_new_secret_once(app: Flask, browser: Browser, client: Client) -> None:
    tenant_id, _, _ = make_tenant(app, buckets=["acme-data"], plan="starter")
    old = S3_KEYS[tenant_id][0]
    path = f"/console/tenants/{tenant_id}"
    assert_page(browser.get(path), 'id="tenant-rotate"', 'id="rotate-grace"', "Rotate credentials", old)
    r = browser.post(f"{path}/credentials/rotate", {"grace_seconds": "60"})
    body = assert_page(r, "shown only now", "60 seconds", "Copy the secret access key")
    assert r.headers["Cache-Control"] == "no-store"
    made = secrets_of(body)
    new = made["access-key-id"]
    assert new != old and len(made["secret-access-key"]) >= 20
    t = client.get(f"/v1/s3/tenants/{tenant_id}").json
    assert t["Credentials"]["AccessKeyId"] == new
    assert sorted(k["AccessKeyId"] for k in t["Credentials"]["Keys"]) == sorted([old, new])  # the old one's grace
    page = assert_page(browser.get(path), new, old)
    assert_no_secret_in(page)
    r = browser.post(f"{path}/credentials/rotate", {"grace_seconds": ""})  # empty: 0, the old keys go at once
    latest = secrets_of(assert_page(r, "previous key was deleted"))["access-key-id"]
    keys = client.get(f"/v1/s3/tenants/{tenant_id}").json["Credentials"]["Keys"]
    assert [k["AccessKeyId"] for k in keys] == [latest]
    events = client.get("/v1/s3/audit?action=console.tenant.credentials_rotate").json["Events"]
    assert [(e["Outcome"], e["Status"]) for e in events] == [("ok", 200), ("ok", 200)]


@pytest.mark.parametrize("grace", ["-1", "abc", "604801", "1.5", "99999999999999"])
def test_rotate_refuses_a_bad_grace_and_changes_nothing(
    app: Flask, browser: Browser, client: Client, grace: str
) -> None:
    tenant_id, _, _ = make_tenant(app, buckets=["acme-data"], plan="starter")
    key_id = S3_KEYS[tenant_id][0]
    r = browser.post(f"/console/tenants/{tenant_id}/credentials/rotate", {"grace_seconds": grace})
    assert_error(r, 400, "GraceSeconds")
    assert_no_secret_in(html(r))
    assert_unchanged(client, tenant_id, key_id)


def test_reveal_without_secret_keys_is_our_409(app: Flask, browser: Browser, client: Client) -> None:
    tenant_id, _, _ = make_tenant(app, buckets=["acme-data"], plan="starter")
    assert_page(browser.get(f"/console/tenants/{tenant_id}"), 'id="tenant-reveal"')
    r = browser.post(f"/console/tenants/{tenant_id}/credentials/reveal")
    assert_error(r, 409, "secret_keys")
    assert_no_secret_in(html(r))
    events = client.get("/v1/s3/audit?action=console.tenant.secret_reveal").json["Events"]
    assert [(e["Outcome"], e["Status"], e["Resource"]) for e in events] == [
        ("refused", 409, f"tenants/{tenant_id}/credentials/reveal")
    ]


@pytest.fixture
def kept_app(settings: Settings) -> Flask:
    """An app whose operator configured secret_keys: a tenant's current secret is kept sealed for reveal."""
    return create_app(settings.with_overrides(secret_keys=(os.urandom(32),)))


def test_reveal_with_secret_keys_shows_the_current_secret_audited_as_the_api_does(kept_app: Flask) -> None:
    browser = Browser(kept_app.test_client())
    assert browser.sign_in().status_code == 303
    client = Client(kept_app.test_client())
    tenant_id, _, _ = make_tenant(kept_app, buckets=["acme-data"], plan="starter")
    path = f"/console/tenants/{tenant_id}/credentials"
    assert_error(browser.post(f"{path}/reveal"), 409, "made before secret_keys")  # made without the service
    rotated = secrets_of(html(browser.post(f"{path}/rotate", {"grace_seconds": "0"})))
    r = browser.post(f"{path}/reveal")
    body = assert_page(r, "reading is audited", "Copy the secret access key")
    assert r.headers["Cache-Control"] == "no-store"
    revealed = secrets_of(body)
    assert revealed["secret-access-key"] == rotated["secret-access-key"]
    assert revealed["access-key-id"] == rotated["access-key-id"]
    api = client.post(f"/v1/s3/tenants/{tenant_id}/credentials/reveal").json  # the API route: the same answer
    assert api["SecretAccessKey"] == revealed["secret-access-key"]
    console = client.get("/v1/s3/audit?action=console.tenant.secret_reveal").json["Events"]
    assert [(e["Outcome"], e["Status"], e["CallerName"]) for e in console] == [
        ("ok", 200, "test"),
        ("refused", 409, "test"),
    ]
    via_api = client.get("/v1/s3/audit?action=tenant.secret_reveal").json["Events"]
    assert [(e["Outcome"], e["Status"]) for e in via_api] == [("ok", 200)]
    kept_app.extensions["s3api"].db.dispose()


def test_a_key_is_switched_off_and_on(app: Flask, browser: Browser, client: Client) -> None:
    tenant_id, _, _ = make_tenant(app, buckets=["acme-data"], plan="starter")
    key_id = S3_KEYS[tenant_id][0]
    path = f"/console/tenants/{tenant_id}"
    page = assert_page(browser.get(path), key_id, "Active", "Switch off")
    assert f'action="{path}/credentials/{key_id}"' in page and "Switch on" not in page

    def status() -> list[tuple[str, str]]:
        keys = client.get(f"/v1/s3/tenants/{tenant_id}").json["Credentials"]["Keys"]
        return [(k["AccessKeyId"], k["Status"]) for k in keys]

    r = browser.post(f"{path}/credentials/{key_id}", {"status": "Inactive"})
    assert r.status_code == 303 and "switched+off" in r.headers["Location"]
    assert status() == [(key_id, "Inactive")]
    assert_page(browser.get(path), "Inactive", "Switch on")
    assert browser.post(f"{path}/credentials/{key_id}", {"status": "Active"}).status_code == 303
    assert status() == [(key_id, "Active")]
    assert_error(browser.post(f"{path}/credentials/{key_id}", {"status": "Off"}), 400, "Status")
    assert_error(browser.post(f"{path}/credentials/{key_id}", {}), 400, "Status")
    assert_error(browser.post(f"{path}/credentials/AKIA0000000000000000", {"status": "Inactive"}), 404, "not a key")
    assert_error(browser.post(f"{path}/credentials/bad-id", {"status": "Inactive"}), 400, "access key id")
    assert status() == [(key_id, "Active")]
    events = client.get("/v1/s3/audit?action=console.tenant.key_status").json["Events"]
    assert [(e["Outcome"], e["Status"]) for e in events][-2:] == [("ok", 303), ("ok", 303)]


def test_a_tenant_key_sees_its_keys_but_no_admin_form(app: Flask, anonymous: Browser) -> None:
    tenant_id, key, _ = make_tenant(app, buckets=["acme-data"], plan="starter")
    assert anonymous.sign_in(key).status_code == 303
    page = assert_page(anonymous.get(f"/console/tenants/{tenant_id}"), S3_KEYS[tenant_id][0])
    for form in ("tenant-edit", "tenant-rotate", "tenant-reveal", "Switch off"):
        assert form not in page
    assert_error(anonymous.post(f"/console/tenants/{tenant_id}/credentials/rotate"), 403, "the tenant role may not")


def test_a_canceled_deletion_from_the_console_is_one_event_written_with_its_change(
    app: Flask, browser: Browser, client: Client
) -> None:
    """Database state: the event commits with the change (``audit.in_transaction``), no ``started`` event is left."""
    from datetime import UTC, datetime, timedelta

    from s3api.db.tenants import TenantStore

    tenant_id, _, _ = make_tenant(app, buckets=["paid-data"], plan=paid_plan(client))
    TenantStore(app.extensions["s3api"].db).update(tenant_id, next_charge_at=datetime.now(UTC) + timedelta(days=9))
    path = f"/console/tenants/{tenant_id}"
    assert browser.post(f"{path}/delete", {"reason": "customer asked", "confirm": tenant_id}).status_code == 303
    assert_error(browser.post(f"/console/tenants/{make_tenant(app)[0]}/cancel-deletion"), 409, "no deletion")
    assert browser.post(f"{path}/cancel-deletion").status_code == 303
    events = client.get("/v1/s3/audit?action=console.tenant.cancel_deletion").json["Events"]
    assert [(e["Outcome"], e["Status"]) for e in events] == [("ok", 303), ("refused", 409)]
