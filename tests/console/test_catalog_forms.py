"""The console's plan and order forms (:mod:`s3api.console.catalog`): a plan created, changed (only what changed,
from the prefilled form) and deleted; a paid plan ordered, the order marked paid (its tenant.create operation runs
to an active tenant) or failed. Each effect checked through the API; bad input, a missing CSRF token and a reader
refused with nothing changed; each form's audit action."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from flask import Flask

from s3api.jobs import local
from tests.api.tenancy_made import make_tenant
from tests.conftest import Client
from tests.console.conftest import Browser
from tests.console.test_console import assert_error, html
from tests.console.test_pages import assert_page, paid_plan

PLAN_FORM: dict[str, Any] = {
    "name": "gold",
    "storage_type": "StandardIA",
    "locations": "local",
    "quota_bytes": "5000",
    "max_buckets": "3",
    "bandwidth_bytes": "",
    "bandwidth_action": "block",
    "max_link_seconds": "3600",
    "alert_thresholds": "50, 80",
    "prices": "local 12.50 EUR\r\n",
    "active": ["off", "on"],  # the hidden twin and the checked box, as a browser sends them
    "test_only": "off",
    "request_metrics": ["off", "on"],
}
ORDER_FORM = {
    "plan": "pro", "location": "local", "email": "buyer@example.test", "first_bucket": "order-data",
    "client_id": "crm-1", "billing": "", "amount": "9.90", "currency": "EUR",
}  # fmt: skip


class _Form(HTMLParser):
    """The values a browser would send for one form of a page (inputs, checked boxes, selected options, text)."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.values = form_id, False, []  # type: list[tuple[str, str]]
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") != "checkbox" or "checked" in a:
                self.values.append((a["name"], a.get("value", "on" if a.get("type") == "checkbox" else "")))
        elif tag == "select":
            self._select, self._options = a.get("name"), []
        elif tag == "option" and self._select:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.values.append((a["name"], ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            chosen = [v for v, selected in self._options if selected] or [v for v, _ in self._options[:1]]
            self.values.extend((self._select, v) for v in chosen)  # none selected: the first, as a browser does
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            name, text = self.values.pop()
            self.values.append((name, text + data))


def form_values(body: str, form_id: str) -> dict[str, Any]:
    parser = _Form(form_id)
    parser.feed(body)
    out: dict[str, Any] = {}
    for name, value in parser.values:
        if name not in out:
            out[name] = value
        elif isinstance(out[name], list):
            out[name].append(value)
        else:
            out[name] = [out[name], value]
    out.pop("csrf", None)
    return out


def events(client: Client, action: str) -> list[dict[str, Any]]:
    return list(client.get(f"/v1/s3/audit?action={action}").json["Events"])


def make_plan(browser: Browser, **changes: Any) -> Any:
    return browser.post("/console/plans", {**PLAN_FORM, **changes})


def drain(app: Flask) -> int:
    return local.drain(app.extensions["s3api"])


# --- plans ----------------------------------------------------------------------------------------------------------


def test_the_catalog_routes_match_before_the_catch_all(app: Flask) -> None:
    urls = app.url_map.bind("localhost")
    for path, method, endpoint in (
        ("/console/plans", "POST", "console.plan_create"),
        ("/console/plans/gold", "GET", "console.plan"),
        ("/console/plans/gold/edit", "POST", "console.plan_edit"),
        ("/console/plans/gold/delete", "POST", "console.plan_delete"),
        ("/console/orders", "POST", "console.order_create"),
        ("/console/orders/ord-1", "GET", "console.order"),
        ("/console/orders/ord-1/paid", "POST", "console.order_paid"),
        ("/console/orders/ord-1/failed", "POST", "console.order_failed"),
        ("/console/plans/gold/nothing", "GET", "console.not_found"),
    ):
        assert urls.match(path, method)[0] == endpoint, path


def test_a_plan_created_in_the_console_is_the_apis(browser: Browser, client: Client) -> None:
    form = form_values(assert_page(browser.get("/console/plans"), 'id="plan-create"', "Create plan"), "plan-create")
    assert form["locations"] == "local" and form["active"] == ["off", "on"] and form["test_only"] == "off"
    r = make_plan(browser)
    assert r.status_code == 303, html(r)[:2000]
    assert r.headers["Location"].startswith("/console/plans/gold?notice=Plan+gold+created")
    shown = client.get("/v1/s3/plans/gold").json
    limits = ("StorageType", "Locations", "QuotaBytes", "MaxBuckets", "BandwidthBytesPerMonth")
    assert {k: shown[k] for k in limits} == {
        "StorageType": "StandardIA", "Locations": ["local"], "QuotaBytes": 5000, "MaxBuckets": 3,
        "BandwidthBytesPerMonth": None,
    }  # fmt: skip
    assert (shown["BandwidthAction"], shown["MaxLinkSeconds"], shown["AlertThresholds"]) == ("block", 3600, [50, 80])
    assert (shown["Active"], shown["TestOnly"], shown["RequestMetrics"], shown["Revision"]) == (True, False, True, 1)
    assert shown["Prices"] == [
        {"Location": "local", "Currency": "EUR", "Monthly": "12.50", "StorageOverPerGb": "0", "TrafficOverPerGb": "0"}
    ]
    assert shown["Free"] is False
    body = assert_page(browser.get("/console/plans/gold"), 'id="plan-edit"', "local 12.50 EUR", 'value="5000"')
    assert 'href="/console/plans/gold"' in html(browser.get("/console/plans"))
    assert form_values(body, "plan-edit")["storage_type"] == "StandardIA"
    (event,) = events(client, "console.plan.create")
    assert (event["Outcome"], event["Status"], event["Resource"], event["CallerName"]) == (
        "ok", 303, "plans/gold", "test",
    )  # fmt: skip
    free = make_plan(browser, name="basic", prices="", alert_thresholds="", quota_bytes="", active="off")
    assert free.status_code == 303, html(free)[:2000]
    basic = client.get("/v1/s3/plans/basic").json
    assert (basic["Free"], basic["Prices"], basic["AlertThresholds"], basic["QuotaBytes"]) == (True, [], None, None)
    assert basic["Active"] is False  # the box unchecked: its hidden twin alone
    left_out = {k: v for k, v in PLAN_FORM.items() if k not in ("active", "test_only", "request_metrics")}
    assert browser.post("/console/plans", {**left_out, "name": "plain"}).status_code == 303
    plain = client.get("/v1/s3/plans/plain").json
    assert (plain["Active"], plain["TestOnly"], plain["RequestMetrics"]) == (True, False, False)  # the defaults


def test_a_plan_edited_sends_only_what_changed(browser: Browser, client: Client) -> None:
    assert make_plan(browser).status_code == 303
    form = form_values(html(browser.get("/console/plans/gold")), "plan-edit")
    assert form["quota_bytes"] == "5000" and form["alert_thresholds"] == "50, 80" and form["bandwidth_bytes"] == ""
    r = browser.post("/console/plans/gold/edit", form)  # the prefilled form as it is: nothing to change
    assert r.status_code == 303 and "Nothing+to+change" in r.headers["Location"], html(r)[:2000]
    assert client.get("/v1/s3/plans/gold").json["Revision"] == 1
    changed = {**form, "quota_bytes": "8000", "alert_thresholds": "", "prices": "local 15 EUR 0.02 0.01"}
    r = browser.post("/console/plans/gold/edit", changed)
    assert r.status_code == 303 and "revision+2" in r.headers["Location"], html(r)[:2000]
    shown = client.get("/v1/s3/plans/gold").json
    assert (shown["Revision"], shown["QuotaBytes"], shown["AlertThresholds"], shown["MaxBuckets"]) == (2, 8000, None, 3)
    overage = {"StorageOverPerGb": "0.02", "TrafficOverPerGb": "0.01"}
    assert shown["Prices"] == [{"Location": "local", "Currency": "EUR", "Monthly": "15", **overage}]
    history = client.get("/v1/s3/plans/gold/history").json["Revisions"]
    assert [h["Revision"] for h in history] == [1, 2]
    assert set(history[1]["Changes"]) == {"QuotaBytes", "AlertThresholds", "Prices"}
    body = assert_page(browser.get("/console/plans/gold"), "revision 2", "local 15 EUR 0.02 0.01")
    again = browser.post("/console/plans/gold/edit", form_values(body, "plan-edit"))  # the overages round-trip
    assert "Nothing+to+change" in again.headers["Location"]
    off = {**form_values(body, "plan-edit"), "active": "off"}  # the box unchecked: only the hidden twin
    assert browser.post("/console/plans/gold/edit", off).status_code == 303
    shown = client.get("/v1/s3/plans/gold").json
    assert (shown["Active"], shown["Revision"], shown["QuotaBytes"]) == (False, 3, 8000)
    assert {e["Resource"] for e in events(client, "console.plan.update")} == {"plans/gold/edit"}


def test_bad_plan_input_is_refused_and_changes_nothing(browser: Browser, client: Client) -> None:
    for changes, part in (
        ({"name": "Bad Name"}, "Name: 1-64 lowercase letters"),
        ({"quota_bytes": "lots"}, "QuotaBytes: Not a valid integer"),
        ({"max_buckets": "0"}, "MaxBuckets"),
        ({"alert_thresholds": "50, 200"}, "AlertThresholds"),
        ({"prices": "local 9.90"}, "prices line 1"),
        ({"prices": "local nine EUR"}, "decimal string"),
        ({"prices": "local 9.90 euro"}, "<li>Prices.0.Currency: a 3-letter currency code"),  # a nested field's path
        ({"locations": "mars"}, "no configured account"),
        ({"locations": ""}, "Locations"),
        ({"storage_type": "Tape"}, "StorageType"),
    ):
        assert_error(make_plan(browser, **changes), 400, part)
    assert client.get("/v1/s3/plans").json["Plans"] == []
    assert make_plan(browser).status_code == 303
    assert_error(make_plan(browser), 409, "exists")
    form = form_values(html(browser.get("/console/plans/gold")), "plan-edit")
    for changes, part in (
        ({"quota_bytes": "1.5"}, "QuotaBytes: Not a valid integer"),
        ({"prices": "local 9.90 EUR extra"}, "prices line 1"),
        ({"max_link_seconds": "9999999"}, "MaxLinkSeconds"),
        ({"prices": "elsewhere 9.90 EUR"}, "is not one of the plan"),
    ):
        assert_error(browser.post("/console/plans/gold/edit", {**form, **changes}), 400, part)
    assert client.get("/v1/s3/plans/gold").json["Revision"] == 1
    assert_error(browser.post("/console/plans/none/edit", form), 404, "not found")
    refused = events(client, "console.plan.")
    assert refused and all(e["Outcome"] in ("refused", "ok") for e in refused)


def test_plan_forms_refuse_a_missing_csrf_token_and_a_reader(
    browser: Browser, anonymous: Browser, client: Client
) -> None:
    assert make_plan(browser).status_code == 303
    form = form_values(html(browser.get("/console/plans/gold")), "plan-edit")
    posts = (
        ("/console/plans", {**PLAN_FORM, "name": "silver"}),
        ("/console/plans/gold/edit", {**form, "quota_bytes": "1"}),
        ("/console/plans/gold/delete", {"confirm": "gold"}),
    )
    for path, data in posts:
        for token in (None, "wrong"):
            r = browser.client.post(path, data=data if token is None else {**data, "csrf": token})
            assert_error(r, 403, "CSRF token is missing or wrong")
    reader = client.post("/v1/s3/keys", json={"Name": "reader", "Role": "reader"}).json["Key"]
    assert anonymous.sign_in(reader).status_code == 303
    assert "plan-create" not in assert_page(anonymous.get("/console/plans"), "gold")
    assert "plan-edit" not in assert_page(anonymous.get("/console/plans/gold"), "gold")
    for path, data in posts:
        assert_error(anonymous.post(path, data), 403, "the reader role may not")
    shown = client.get("/v1/s3/plans/gold").json
    assert (shown["Revision"], shown["QuotaBytes"]) == (1, 5000)
    assert client.get("/v1/s3/plans/silver").status_code == 404


def test_a_plan_is_deleted_when_no_tenant_uses_it(app: Flask, browser: Browser, client: Client) -> None:
    assert make_plan(browser).status_code == 303
    assert make_plan(browser, name="spare").status_code == 303
    make_tenant(app, buckets=["gold-data"], plan="gold")
    assert_error(browser.post("/console/plans/gold/delete", {"confirm": "nope"}), 400, "type the plan")
    assert_error(browser.post("/console/plans/gold/delete", {"confirm": "gold"}), 409, "is used by 1 tenant(s)")
    assert client.get("/v1/s3/plans/gold").json["Revision"] == 1
    r = browser.post("/console/plans/spare/delete", {"confirm": "spare"})
    assert r.status_code == 303 and r.headers["Location"].startswith("/console/plans?notice=Plan+spare+deleted")
    assert client.get("/v1/s3/plans/spare").status_code == 404
    assert client.get("/v1/s3/plans/spare/history").json["Revisions"][-1]["Changes"]["Deleted"]["New"] is True
    assert [(e["Outcome"], e["Status"], e["Resource"]) for e in events(client, "console.plan.delete")] == [
        ("ok", 303, "plans/spare/delete"),
        ("refused", 409, "plans/gold/delete"),
        ("refused", 400, "plans/gold/delete"),
    ]


# --- orders ---------------------------------------------------------------------------------------------------------


def order(browser: Browser, **changes: Any) -> str:
    r = browser.post("/console/orders", {**ORDER_FORM, **changes})
    assert r.status_code == 303, html(r)[:2000]
    location = r.headers["Location"]
    assert location.startswith("/console/orders/ord-"), location
    return location.split("?")[0].rsplit("/", 1)[1]


def test_an_order_paid_in_the_console_makes_an_active_tenant(app: Flask, browser: Browser, client: Client) -> None:
    paid_plan(client, "pro")
    body = assert_page(browser.get("/console/orders"), 'id="order-create"', "Create order", "9.90 EUR")
    prefilled = form_values(body, "order-create")
    assert (prefilled["plan"], prefilled["location"], prefilled["amount"], prefilled["currency"]) == (
        "pro", "local", "9.90", "EUR",
    )  # fmt: skip
    order_id = order(browser)
    shown = client.get(f"/v1/s3/orders/{order_id}").json
    assert (shown["Status"], shown["Plan"], shown["Amount"], shown["Currency"]) == ("pending", "pro", "9.90", "EUR")
    tenant = shown["Tenant"]
    assert client.get(f"/v1/s3/tenants/{tenant}").json["Status"] == "pending_payment"
    page = assert_page(browser.get(f"/console/orders/{order_id}"), "pending", "Mark paid", "Mark failed", tenant)
    assert f'href="/console/tenants/{tenant}"' in page
    assert f'href="/console/orders/{order_id}"' in html(browser.get("/console/orders"))
    r = browser.post(f"/console/orders/{order_id}/paid", {"reference": "pay-42"})
    assert r.status_code == 303, html(r)[:2000]
    assert r.headers["Location"].startswith("/console/operations/op-")
    op_id = r.headers["Location"].split("?")[0].rsplit("/", 1)[1]
    assert drain(app) >= 1
    op = client.get(f"/v1/s3/operations/{op_id}").json
    assert (op["Kind"], op["Status"], op["Result"]["Tenant"]) == ("tenant.create", "Succeeded", tenant)
    assert browser.get(r.headers["Location"]).status_code == 200  # the operation's page
    assert client.get(f"/v1/s3/tenants/{tenant}").json["Status"] == "active"
    shown = client.get(f"/v1/s3/orders/{order_id}").json
    assert (shown["Status"], shown["Reference"]) == ("paid", "pay-42") and shown["PaidAt"]
    page = assert_page(browser.get(f"/console/orders/{order_id}"), "paid", "pay-42")
    assert "Mark paid" not in page
    assert_error(browser.post(f"/console/orders/{order_id}/failed"), 409, "only a pending order can fail")
    (event,) = events(client, "console.order.paid")
    assert (event["Outcome"], event["Status"], event["Resource"]) == ("ok", 303, f"orders/{order_id}/paid")
    (event,) = events(client, "console.order.create")
    assert (event["Outcome"], event["Status"], event["Resource"]) == ("ok", 303, f"orders/{order_id}")


def test_an_order_marked_failed(browser: Browser, client: Client) -> None:
    paid_plan(client, "pro")
    order_id = order(browser, bucket="failing-data")
    tenant = client.get(f"/v1/s3/orders/{order_id}").json["Tenant"]
    r = browser.post(f"/console/orders/{order_id}/failed")
    assert r.status_code == 303 and r.headers["Location"].startswith(f"/console/orders/{order_id}?notice="), html(r)
    assert client.get(f"/v1/s3/orders/{order_id}").json["Status"] == "failed"
    assert client.get(f"/v1/s3/tenants/{tenant}").json["Status"] == "failed"
    assert "Mark paid" not in assert_page(browser.get(f"/console/orders/{order_id}"), "failed")
    assert_error(browser.post(f"/console/orders/{order_id}/paid"), 409, "it cannot be paid")
    (event,) = events(client, "console.order.failed")
    assert (event["Outcome"], event["Status"], event["Resource"]) == ("ok", 303, f"orders/{order_id}/failed")


def test_bad_order_input_is_refused_and_creates_nothing(
    app: Flask, browser: Browser, anonymous: Browser, client: Client
) -> None:
    paid_plan(client, "pro")
    make_tenant(app, buckets=["taken-data"])  # a free plan (starter) and a bucket name in use
    tenants = len(client.get("/v1/s3/tenants").json["Tenants"])
    for changes, status, part in (
        ({"email": "not-an-email"}, 400, "Email"),
        ({"email": ""}, 400, "Email: Missing data"),
        ({"amount": "1.00"}, 400, "is not the price of plan"),
        ({"amount": "nine"}, 400, "Amount"),
        ({"currency": "USD"}, 400, "has no price in USD"),
        ({"plan": "starter"}, 400, "is free"),
        ({"plan": "nothing"}, 404, "not found"),
        ({"location": "mars"}, 400, "Location"),
        ({"client_id": "\u00e9" * 3}, 400, "ClientId"),
        ({"first_bucket": "taken-data"}, 409, "taken-data"),
    ):
        assert_error(browser.post("/console/orders", {**ORDER_FORM, **changes}), status, part)
    for token in (None, "wrong"):
        data = ORDER_FORM if token is None else {**ORDER_FORM, "csrf": token}
        assert_error(browser.client.post("/console/orders", data=data), 403, "CSRF token is missing or wrong")
    assert client.get("/v1/s3/orders").json["Orders"] == []
    assert len(client.get("/v1/s3/tenants").json["Tenants"]) == tenants
    assert_error(browser.get("/console/orders/ord-000000000000000000000000"), 404, "not found")
    order_id = order(browser)
    for form in ("paid", "failed"):
        for token in (None, "wrong"):
            r = browser.client.post(f"/console/orders/{order_id}/{form}", data={} if token is None else {"csrf": token})
            assert_error(r, 403, "CSRF token is missing or wrong")
    assert_error(browser.post(f"/console/orders/{order_id}/paid", {"reference": "\u00e9"}), 400, "Reference")
    reader = client.post("/v1/s3/keys", json={"Name": "reader", "Role": "reader"}).json["Key"]
    assert anonymous.sign_in(reader).status_code == 303
    assert "order-create" not in assert_page(anonymous.get("/console/orders"), order_id)
    assert "Mark paid" not in assert_page(anonymous.get(f"/console/orders/{order_id}"), "pending")
    refused = anonymous.post("/console/orders", {**ORDER_FORM, "first_bucket": "reader-data"})
    assert_error(refused, 403, "the reader role")
    for form in ("paid", "failed"):
        assert_error(anonymous.post(f"/console/orders/{order_id}/{form}"), 403, "the reader role may not")
    assert [o["Status"] for o in client.get("/v1/s3/orders").json["Orders"]] == ["pending"]


def test_a_database_state_form_writes_one_event_not_a_stray_started_one(
    app: Flask, browser: Browser, client: Client
) -> None:
    """A console form whose change is database state (``audit.in_transaction``) is in DATABASE_STATE: no
    ``started`` event is claimed before it (it would stay ``started``: the hook stops at the pending event)."""
    from datetime import UTC, datetime, timedelta

    from s3api.db.tenants import TenantStore

    tenant_id, _, _ = make_tenant(app, buckets=["paid-data"], plan=paid_plan(client))
    TenantStore(app.extensions["s3api"].db).update(tenant_id, next_charge_at=datetime.now(UTC) + timedelta(days=9))
    path = f"/console/tenants/{tenant_id}"
    assert browser.post(f"{path}/delete", {"reason": "customer asked", "confirm": tenant_id}).status_code == 303
    assert browser.post(f"{path}/cancel-deletion").status_code == 303
    found = events(client, "console.tenant.cancel_deletion")
    assert [(e["Outcome"], e["Status"]) for e in found] == [("ok", 303)]
    assert make_plan(browser).status_code == 303
    assert [e["Outcome"] for e in events(client, "console.plan.")] == ["ok"]
