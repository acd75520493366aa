"""The console through the Flask test client: a signed-in browser-like client (cookies kept, CSRF read from
each page)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import SECRETS_SEEN, TOKEN

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Browser:
    """A test client that signs in and sends each form's CSRF token, as a browser would."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.csrf = ""

    def sign_in(self, credential: str = TOKEN) -> Any:
        page = self.client.get("/console/sign-in")
        pre = CSRF.search(page.get_data(as_text=True))
        assert pre is not None
        r = self.client.post("/console/sign-in", data={"credential": credential, "csrf": pre.group(1)})
        if r.status_code == 303:
            self.refresh()
        return r

    def refresh(self) -> None:
        page = self.client.get("/console/operations")
        found = CSRF.search(page.get_data(as_text=True))
        assert found is not None, page.get_data(as_text=True)[:500]
        self.csrf = found.group(1)

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kw: Any) -> Any:
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf", self.csrf)
        r = self.client.post(path, data=data, **kw)
        for secret in re.findall(r'id="(?:secret-access-key|api-key)">([^<]+)<', r.get_data(as_text=True)):
            SECRETS_SEEN.add(secret)  # the log check looks for every secret a page showed
        return r


@pytest.fixture
def browser(app: Flask) -> Browser:
    b = Browser(app.test_client())
    assert b.sign_in().status_code == 303
    return b


@pytest.fixture
def anonymous(app: Flask) -> Browser:
    return Browser(app.test_client())
