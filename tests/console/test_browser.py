"""The console in a real browser: headless Debian chromium driven by Selenium against ``s3api serve`` on
127.0.0.1 (the embedded emulator, SQLite, one web worker and its operations worker).

Signs in with the keyboard, creates a bucket, uploads a file through the page (a presigned PUT straight to the
emulator), sees it listed, creates a user and copies its key, makes a website and watches its status, deletes
it all (the forced bucket delete's operation page shows its progress), at 1280 px and 375 px (no sideways
scrolling). Screenshots of each page go to the test's output folder (``tmp_path``).

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
    """Fill and submit the form whose action contains ``action_part`` (fields by name)."""
    form = driver.find_element("css selector", f"form[action*='{action_part}']")
    for name, value in fields.items():
        field = form.find_element("name", name)
        field.clear()
        field.send_keys(value)
    form.find_element("css selector", "button[type=submit]").click()


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
    driver.set_window_size(375, 812)
    small = ["/console/local/buckets", f"/console/local/buckets/{BUCKET}", "/console/local/websites"]
    small += [f"/console/local/websites/{SITE}", "/console/operations", "/console/keys", "/console/audit"]
    small += [f"/console/local/buckets/{BUCKET}/links", f"/console/local/buckets/{BUCKET}/usage/history"]
    small += ["/console/tenants", "/console/plans", "/console/orders"]
    for path in small:
        driver.get(f"{base}{path}")
        wait_for(lambda: driver.find_element("id", "main"), f"{path} at 375 px")
        no_sideways_scroll(driver)
        shot("375" + path.replace("/", "-"))
    driver.set_window_size(1280, 900)

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
