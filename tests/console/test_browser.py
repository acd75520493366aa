"""The console in a real browser: headless Debian chromium driven by Selenium against ``s3api serve`` on
127.0.0.1 (the embedded emulator, SQLite, one web worker and its operations worker).

Signs in with the keyboard, creates a bucket, uploads a file through the page (a presigned PUT straight to the
emulator), sees it listed, creates a user and copies its key, makes a website and watches its status, deletes
it all (the forced bucket delete's operation page shows its progress), at 1280 px and 375 px (no sideways
scrolling). Then a tenant's whole life: an admin makes and edits a plan, creates a tenant (its secrets copied from
the operation's page once), moves it to the plan; the tenant signs in with its own key, makes a bucket and uploads;
the admin suspends, resumes, rotates its S3 key, sells a paid plan through an order, and deletes both tenants.
Screenshots of each page go to the test's output folder (``tmp_path``).

Without chromium/chromedriver (or selenium) the test is skipped with one line; under ``CI=true`` it fails
instead (``.ci/run`` installs them)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import TOKEN, Server, serve

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
MISSING = [
    what
    for what, there in (
        ("chromium", CHROMIUM),
        ("chromedriver", DRIVER),
        ("selenium", importlib.util.find_spec("selenium")),
    )
    if not there
]
WAIT = 30.0
SITE = "shop.example.test"
BUCKET = "console-e2e"


def _need_browser() -> None:
    if MISSING:
        message = f"browser test needs {', '.join(MISSING)} (apt-get install chromium chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    _need_browser()
    with serve(workers=1) as srv:
        yield srv


@pytest.fixture
def driver(server: Server) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(arg)
    options.binary_location = CHROMIUM or ""
    browser = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    browser.set_page_load_timeout(60)
    try:
        yield browser
    finally:
        browser.quit()


class Shots:
    def __init__(self, driver: Any, folder: Path) -> None:
        self.driver, self.folder, self.n = driver, folder, 0

    def __call__(self, name: str) -> Path:
        self.n += 1
        path = self.folder / f"{self.n:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        return path


def wait_for(predicate: Any, what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except Exception as exc:  # noqa: BLE001  (the element is not there yet)
            last = exc
        else:
            if last:
                return last
        time.sleep(0.2)
    raise AssertionError(f"waited {timeout:.0f} s for {what}; last: {last!r}")


def text(driver: Any) -> str:
    return str(driver.find_element("tag name", "body").text)


def no_sideways_scroll(driver: Any) -> None:
    width = driver.execute_script("return document.documentElement.scrollWidth")
    viewport = driver.execute_script("return window.innerWidth")
    assert width <= viewport + 1, f"{driver.current_url}: {width}px wide in a {viewport}px window"


def submit_form(driver: Any, action_part: str, fields: dict[str, str]) -> None:
    """Fill and submit the form whose action contains ``action_part`` (or the form ``#id``; fields by name)."""
    selector = f"form{action_part}" if action_part.startswith("#") else f"form[action*='{action_part}']"
    form = driver.find_element("css selector", selector)
    for name, value in fields.items():
        field = form.find_element("name", name)
        field.clear()
        field.send_keys(value)
    form.find_element("css selector", "button[type=submit]").click()


def fits_375(driver: Any, base: str, shot: Shots, paths: list[str]) -> None:
    """Each page at 375 px: no sideways scrolling; a screenshot of each."""
    driver.set_window_size(375, 812)
    for path in paths:
        driver.get(f"{base}{path}")
        wait_for(lambda: driver.find_element("id", "main"), f"{path} at 375 px")
        no_sideways_scroll(driver)
        shot("375" + path.replace("/", "-"))
    driver.set_window_size(1280, 900)


def test_the_whole_tenant_flow_in_a_browser(driver: Any, server: Server, tmp_path: Path) -> None:
    from selenium.webdriver.common.keys import Keys

    shot = Shots(driver, tmp_path)
    base = server.base.removesuffix("/v1/s3")
    s3 = server.boto3("s3")

    # sign in with the keyboard only: the credential field has focus; Enter submits
    driver.get(f"{base}/console/")
    wait_for(lambda: "/console/sign-in" in driver.current_url, "the sign-in page")
    shot("sign-in")
    active = driver.switch_to.active_element
    assert active.get_attribute("id") == "credential"
    active.send_keys(TOKEN, Keys.ENTER)
    wait_for(lambda: "/console/local/buckets" in driver.current_url, "the buckets page after sign-in")
    cookie = driver.get_cookie("s3api_console")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert TOKEN not in cookie["value"]
    shot("buckets-empty")

    # a bucket
    submit_form(driver, "/console/local/buckets", {"bucket": BUCKET})
    wait_for(lambda: f"/buckets/{BUCKET}" in driver.current_url, "the new bucket's page")
    assert f"Bucket {BUCKET} created." in text(driver)

    # upload a file through the page: a presigned PUT to the emulator, then the listing shows it
    upload = tmp_path / "hello.txt"
    upload.write_text("hello from the console\n")
    driver.find_element("id", "upload-file").send_keys(str(upload))
    driver.find_element("css selector", "#upload-form button[type=submit]").click()
    wait_for(lambda: "hello.txt" in driver.find_element("id", "objects").text, "the uploaded file in the listing")
    body = s3.get_object(Bucket=BUCKET, Key="hello.txt")["Body"].read()
    assert body == b"hello from the console\n"
    shot("bucket-objects")
    # download: the form's 303 goes to a presigned GET on the emulator (the content security policy admits it)
    driver.find_element("css selector", "button[aria-label='Download hello.txt']").click()
    wait_for(lambda: "hello from the console" in text(driver), "the downloaded file in the browser")
    assert "X-Amz-Signature=" in driver.current_url or "Signature=" in driver.current_url, driver.current_url
    driver.get(f"{base}/console/local/buckets")
    wait_for(
        lambda: "23 B" in driver.find_element("tag name", "tbody").text, "the bucket's usage loaded after the page"
    )
    shot("buckets-with-usage")
    driver.get(f"{base}/console/local/buckets/{BUCKET}")

    # a user, its secret shown once with a copy button
    driver.find_element("link text", "Users and keys").click()
    wait_for(lambda: "Create a user" in text(driver), "the users page")
    submit_form(driver, "/users", {"user_name": "console-user"})
    secret = wait_for(lambda: driver.find_element("id", "secret-access-key").text, "the secret shown once")
    key_id = driver.find_element("id", "access-key-id").text
    assert len(secret) >= 20 and key_id
    copy = driver.find_element("css selector", "button.copy")
    copy.click()
    wait_for(lambda: copy.text == "Copied", "the copy button to confirm")
    shot("user-secret-once")
    driver.find_element("link text", "Done").click()
    wait_for(lambda: key_id in text(driver), "the user's page listing its key")
    assert secret not in driver.page_source  # never again
    shot("user")

    # a website, and its status while CloudFront deploys
    driver.find_element("link text", "Websites").click()
    wait_for(lambda: "Create a website" in text(driver), "the websites page")
    submit_form(driver, "/console/local/websites", {"host_name": SITE})
    status = wait_for(
        lambda: driver.find_element("css selector", "[data-status]").get_attribute("data-status"), "the site's status"
    )
    assert status in {"Deploying", "Deployed"}, status
    shot(f"website-{status.lower()}")

    # the keyboard: the first Tab reaches the skip link, which moves focus to the content
    driver.get(f"{base}/console/local/buckets/{BUCKET}/uploads")
    driver.find_element("tag name", "body").send_keys(Keys.TAB)
    skip = driver.switch_to.active_element
    assert skip.text == "Skip to content"
    skip.send_keys(Keys.ENTER)
    assert driver.switch_to.active_element.get_attribute("id") == "main"
    shot("uploads")
    for path in ("/console/operations", "/console/keys"):
        driver.get(f"{base}{path}")
        shot(path.strip("/").replace("/", "-"))

    # the small screen: every page fits 375 px
    small = ["/console/local/buckets", f"/console/local/buckets/{BUCKET}", "/console/local/websites"]
    small += [f"/console/local/websites/{SITE}", "/console/operations", "/console/keys", "/console/audit"]
    small += [f"/console/local/buckets/{BUCKET}/links", f"/console/local/buckets/{BUCKET}/usage/history"]
    small += ["/console/tenants", "/console/plans", "/console/orders"]
    fits_375(driver, base, shot, small)

    # delete the website: its operation page follows the work
    driver.get(f"{base}/console/local/websites/{SITE}")
    submit_form(driver, "/delete", {"confirm": SITE})
    wait_for(lambda: "/console/operations/op-" in driver.current_url, "the website delete's operation page")
    wait_for(
        lambda: (
            driver.find_element("css selector", "#operation-status [data-status]").get_attribute("data-status")
            in {"Succeeded", "Failed"}
        ),
        "the website delete to finish",
        timeout=90,
    )
    shot("website-deleted")
    assert driver.find_element("css selector", "#operation-status [data-status]").get_attribute("data-status") == (
        "Succeeded"
    ), text(driver)

    # delete the user, then the bucket with all it holds (forced: an operation with its progress)
    driver.get(f"{base}/console/local/buckets/{BUCKET}/users/console-user")
    driver.find_element("css selector", "form[action$='/delete'] button").click()
    wait_for(lambda: "User console-user deleted." in text(driver), "the user deleted")
    driver.get(f"{base}/console/local/buckets/{BUCKET}")
    driver.find_element("id", "force-delete").click()
    submit_form(driver, f"/buckets/{BUCKET}/delete", {"confirm": BUCKET})
    wait_for(lambda: "/console/operations/op-" in driver.current_url, "the bucket delete's operation page")
    shot("bucket-deleting")
    wait_for(
        lambda: (
            driver.find_element("css selector", "#operation-status [data-status]").get_attribute("data-status")
            == "Succeeded"
        ),
        "the forced delete to succeed",
        timeout=90,
    )
    shot("bucket-deleted")
    assert BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    driver.get(f"{base}/console/audit")
    assert "console.bucket.delete" in text(driver)
    shot("audit")

    # sign out: the console asks to sign in again
    driver.find_element("css selector", "form[action$='/sign-out'] button").click()
    wait_for(lambda: "/console/sign-in" in driver.current_url, "the sign-in page after sign-out")
    driver.get(f"{base}/console/local/buckets")
    wait_for(lambda: "/console/sign-in" in driver.current_url, "a signed-out session to be refused")
    assert len(list(tmp_path.glob("*.png"))) >= 10


def sign_in(driver: Any, base: str, credential: str) -> None:
    from selenium.webdriver.common.keys import Keys

    driver.get(f"{base}/console/sign-in")
    field = wait_for(lambda: driver.find_element("id", "credential"), "the sign-in form")
    field.send_keys(credential, Keys.ENTER)
    wait_for(lambda: "/console/sign-in" not in driver.current_url, "the console after sign-in")


def sign_out(driver: Any) -> None:
    driver.find_element("css selector", "form[action$='/sign-out'] button").click()
    wait_for(lambda: "/console/sign-in" in driver.current_url, "the sign-in page after sign-out")


def operation_ends(driver: Any, what: str) -> str:
    """Wait on an operation's page (its status polls by itself) until it ends; its status."""
    wait_for(lambda: "/console/operations/op-" in driver.current_url, f"{what}: the operation page")
    status = wait_for(
        lambda: (
            driver.find_element("css selector", "#operation-status [data-status]").get_attribute("data-status")
            in {"Succeeded", "Failed", "Canceled"}
            and driver.find_element("css selector", "#operation-status [data-status]").get_attribute("data-status")
        ),
        f"{what} to finish",
        timeout=90,
    )
    return str(status)


def handed_over(driver: Any) -> dict[str, str]:
    """The new tenant's secrets, shown on its operation's page once."""
    found = {
        name: wait_for(lambda name=name: driver.find_element("id", name).text.strip(), f"the {name} shown once")
        for name in ("tenant-id", "access-key-id", "secret-access-key", "api-key")
    }
    return found


def tenant_s3(server: Server, key_id: str, secret: str) -> Any:
    import boto3

    return boto3.client(
        "s3", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )  # fmt: skip


def test_a_tenants_whole_life_in_a_browser(driver: Any, server: Server, tmp_path: Path) -> None:
    """An admin makes a plan and a tenant (the secrets shown once), the tenant signs in with its key and uses its
    bucket, the admin changes its plan, suspends, resumes, rotates its key, sells a paid plan through an order,
    and deletes both tenants (the free one now, the paid one scheduled, taken back, then now)."""
    import requests

    shot = Shots(driver, tmp_path)
    base = server.base.removesuffix("/v1/s3")
    api = {"X-Auth-Token": TOKEN}

    def tenant_api(tenant: str) -> dict[str, Any]:
        r = requests.get(f"{server.base}/tenants/{tenant}", headers=api, timeout=10)
        assert r.status_code == 200, r.text
        return dict(r.json())

    sign_in(driver, base, TOKEN)

    # a plan of our own
    driver.get(f"{base}/console/plans")
    submit_form(driver, "#plan-create", {"name": "e2e-small", "locations": "local", "quota_bytes": "1048576"})
    wait_for(lambda: "/console/plans/e2e-small" in driver.current_url, "the new plan's page")
    shot("plan-created")
    submit_form(driver, "#plan-edit", {"max_buckets": "2"})
    wait_for(lambda: "Revision 2" in text(driver) or "revision 2" in text(driver).lower(), "the plan's revision 2")
    plan = requests.get(f"{server.base}/plans/e2e-small", headers=api, timeout=10).json()
    assert plan["QuotaBytes"] == 1048576 and plan["MaxBuckets"] == 2 and plan["Revision"] == 2, plan
    shot("plan-edited")

    # a tenant on the free plan: its operation's page hands over the secrets once
    driver.get(f"{base}/console/tenants")
    form = driver.find_element("id", "tenant-create")
    from selenium.webdriver.support.ui import Select

    Select(form.find_element("id", "tenant-plan")).select_by_value("free")
    submit_form(driver, "#tenant-create", {"email": "ada@example.test", "first_bucket": "ada-first"})
    assert operation_ends(driver, "tenant.create") == "Succeeded", text(driver)
    secrets = handed_over(driver)
    tenant = secrets["tenant-id"]
    shot("tenant-created-secrets-once")
    copy = driver.find_element("css selector", "button.copy[data-copy='#api-key']")
    copy.click()
    wait_for(lambda: copy.text == "Copied", "the copy button to confirm")
    driver.refresh()
    wait_for(lambda: driver.find_element("css selector", "#operation-status [data-status]"), "the operation again")
    assert secrets["api-key"] not in driver.page_source and secrets["secret-access-key"] not in driver.page_source
    ada_s3 = tenant_s3(server, secrets["access-key-id"], secrets["secret-access-key"])
    assert ada_s3.list_objects_v2(Bucket="ada-first")["KeyCount"] == 0  # the handed-over S3 key works

    # the admin moves it to the new plan
    driver.get(f"{base}/console/tenants/{tenant}")
    Select(driver.find_element("css selector", "#tenant-edit select[name=plan]")).select_by_value("e2e-small")
    driver.find_element("css selector", "#tenant-edit button[type=submit]").click()
    wait_for(lambda: tenant_api(tenant)["Plan"] == "e2e-small", "the tenant on plan e2e-small")
    shot("tenant-plan-changed")
    sign_out(driver)

    # the tenant signs in with its API key: its buckets, a new one, a file through the page
    sign_in(driver, base, secrets["api-key"])
    wait_for(lambda: "/console/local/buckets" in driver.current_url, "the tenant's buckets")
    assert "ada-first" in text(driver) and BUCKET not in text(driver)
    shot("tenant-buckets")
    submit_form(driver, "/console/local/buckets", {"bucket": "ada-second"})
    wait_for(lambda: "/buckets/ada-second" in driver.current_url, "the tenant's new bucket")
    upload = tmp_path / "ada.txt"
    upload.write_text("ada's file\n")
    driver.find_element("id", "upload-file").send_keys(str(upload))
    driver.find_element("css selector", "#upload-form button[type=submit]").click()
    wait_for(lambda: "ada.txt" in driver.find_element("id", "objects").text, "the tenant's file listed")
    assert ada_s3.get_object(Bucket="ada-second", Key="ada.txt")["Body"].read() == b"ada's file\n"
    driver.get(f"{base}/console/tenants/{tenant}")
    assert "e2e-small" in text(driver) and "Suspend" not in text(driver)  # its own page, no admin forms
    shot("tenant-own-page")
    sign_out(driver)

    # the admin suspends (the tenant's key lands on its tenant page only), resumes, rotates the S3 key
    sign_in(driver, base, TOKEN)
    driver.get(f"{base}/console/tenants/{tenant}")
    driver.find_element("css selector", f"form[action$='/tenants/{tenant}/suspend'] button").click()
    wait_for(lambda: tenant_api(tenant)["Status"] == "suspended", "the tenant suspended")
    shot("tenant-suspended")
    driver.find_element("css selector", f"form[action$='/tenants/{tenant}/resume'] button").click()
    wait_for(lambda: tenant_api(tenant)["Status"] == "active", "the tenant resumed")
    submit_form(driver, f"/tenants/{tenant}/credentials/rotate", {"grace_seconds": "0"})
    new_secret = wait_for(lambda: driver.find_element("id", "secret-access-key").text.strip(), "the new secret once")
    new_key = driver.find_element("id", "access-key-id").text.strip()
    assert new_key != secrets["access-key-id"] and new_secret != secrets["secret-access-key"]
    shot("tenant-rotated")
    assert tenant_s3(server, new_key, new_secret).list_objects_v2(Bucket="ada-second")["KeyCount"] == 1

    # a paid plan through an order: placed, paid, provisioned (its secrets once)
    driver.get(f"{base}/console/orders")
    form = driver.find_element("id", "order-create")
    Select(form.find_element("css selector", "select[name=plan]")).select_by_value("standard")
    submit_form(
        driver, "#order-create",
        {"email": "bob@example.test", "first_bucket": "bob-first", "amount": "4.99", "currency": "EUR"},
    )  # fmt: skip
    wait_for(lambda: "/console/orders/" in driver.current_url, "the order's page")
    shot("order-placed")
    driver.find_element("css selector", "form[action$='/paid'] button").click()
    assert operation_ends(driver, "the paid order's tenant.create") == "Succeeded", text(driver)
    bob = handed_over(driver)["tenant-id"]
    assert tenant_api(bob)["Status"] == "active" and tenant_api(bob)["Plan"] == "standard"
    shot("order-paid-tenant-created")

    # the end: the free tenant now; the paid one scheduled, taken back, then now
    driver.get(f"{base}/console/tenants/{tenant}")
    submit_form(driver, f"/tenants/{tenant}/delete", {"reason": "e2e: done", "confirm": tenant})
    assert operation_ends(driver, "the free tenant's termination") == "Succeeded", text(driver)
    wait_for(lambda: tenant_api(tenant)["Status"] == "terminated", "the free tenant terminated")
    shot("tenant-terminated")
    driver.get(f"{base}/console/tenants/{bob}")
    submit_form(driver, f"/tenants/{bob}/delete", {"reason": "e2e: moving away", "confirm": bob})
    wait_for(lambda: tenant_api(bob)["Status"] == "cancelling", "the paid tenant's deletion scheduled")
    shot("tenant-deletion-scheduled")
    driver.find_element("css selector", f"form[action$='/tenants/{bob}/cancel-deletion'] button").click()
    wait_for(lambda: tenant_api(bob)["Status"] == "active", "the deletion taken back")
    driver.find_element("css selector", f"form[action$='/tenants/{bob}/delete'] input[name=immediate]").click()
    submit_form(driver, f"/tenants/{bob}/delete", {"reason": "e2e: now", "confirm": bob})
    assert operation_ends(driver, "the paid tenant's termination") == "Succeeded", text(driver)
    assert tenant_api(bob)["Status"] == "terminated"
    names = [b["Name"] for b in server.boto3("s3").list_buckets()["Buckets"]]
    assert not {"ada-first", "ada-second", "bob-first"} & set(names), names

    # the small screen: the admin's tenant pages fit 375 px
    fits_375(driver, base, shot, ["/console/tenants", f"/console/tenants/{tenant}", "/console/plans",
                                   "/console/plans/e2e-small", "/console/orders"])  # fmt: skip
    driver.get(f"{base}/console/audit")
    assert "console.tenant.create" in text(driver)
    shot("audit-after-tenants")
    sign_out(driver)
