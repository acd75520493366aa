"""The console's session: who is signed in, proven by a cookie, and the CSRF token of its forms.

- Sign-in takes an API key (``s3k_...``) or a configured token and proves it once with the app's own
  :class:`s3api.auth.TokenChecker`. The cookie holds the credential **sealed** (AES-256-GCM, so encrypted and
  authenticated at once), with the session's expiry and its CSRF token: ``v1.<key id>.<base64>`` from
  :class:`s3api.sealing.Sealer`, context ``console-session``. The key is :func:`s3api.sealing.internal`'s: the
  operator's ``secret_keys``, else on the embedded SQLite default the ``secret.key`` file in the data directory:
  no configuration needed. PostgreSQL without ``secret_keys`` falls back to a random key of this process
  (logged once): sessions then live only as long as the process and only on it: configure ``secret_keys``.
- Every request re-proves the sealed credential with the checker (cached 2 s for API keys): a revoked or
  expired key signs the session out at once. The caller is the same :class:`s3api.auth.Caller` the API sees.
- The cookie: ``HttpOnly``, ``SameSite=Strict``, ``Path=/console``, ``Secure`` when the request came over
  HTTPS, ``Max-Age`` = the session's life (:data:`LIFETIME`, absolute: no sliding renewal).
- CSRF: a random token per session, in every form (hidden ``csrf`` field) and in htmx requests (header
  ``X-CSRF-Token``, set once on ``<body hx-headers>``); every POST must carry it (constant-time compare), else
  403 before anything runs. The sign-in form (no session yet) uses a double-submit cookie
  (:data:`PRE_COOKIE`).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass

from flask import Flask, request
from werkzeug.wrappers import Response

from s3api import sealing
from s3api.auth import Caller, TokenChecker

log = logging.getLogger("s3api.console")

COOKIE = "s3api_console"
PRE_COOKIE = "s3api_console_pre"
PATH = "/console"
CONTEXT = "console-session"
LIFETIME = 8 * 3600  # seconds a session lasts from sign-in
PRE_LIFETIME = 3600
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
MAX_CREDENTIAL = 512

_fallback: list[sealing.Sealer] = []
_fallback_lock = threading.Lock()


@dataclass(frozen=True)
class Session:
    caller: Caller
    csrf: str
    expires: int


def sealer(app: Flask) -> sealing.Sealer:
    """The sealer of session cookies (see the module docstring)."""
    settings = app.extensions["s3api"].settings
    try:
        return sealing.internal(settings)
    except sealing.SealingUnavailable:
        with _fallback_lock:
            if not _fallback:
                log.warning("console sessions use a key of this process only: configure secret_keys")
                _fallback.append(sealing.Sealer((os.urandom(32),)))
            return _fallback[0]


def new_cookie(app: Flask, credential: str, now: float | None = None) -> tuple[str, str]:
    """``(cookie value, csrf token)`` of a new session for a proven credential."""
    csrf = secrets.token_urlsafe(32)
    expires = int((now or time.time()) + LIFETIME)
    payload = json.dumps({"c": credential, "e": expires, "x": csrf}, separators=(",", ":"))
    return sealer(app).seal(payload, CONTEXT), csrf


def open_session(app: Flask, checker: TokenChecker, value: str | None, now: float | None = None) -> Session | None:
    """The session a cookie value proves, or None: not ours, tampered, expired, or its key no longer valid."""
    if not value or len(value) > 4096:
        return None
    try:
        data = json.loads(sealer(app).open(value, CONTEXT))
        credential, expires, csrf = str(data["c"]), int(data["e"]), str(data["x"])
    except (sealing.SealError, ValueError, KeyError, TypeError):
        return None
    if expires <= (now or time.time()):
        return None
    caller = checker.caller(credential)
    if caller is None:
        return None
    return Session(caller, csrf, expires)


def set_cookie(response: Response, value: str, max_age: int = LIFETIME, name: str = COOKIE) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=PATH, secure=request.is_secure, httponly=True, samesite="Strict"
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH, secure=request.is_secure, httponly=True, samesite="Strict")


def submitted_csrf() -> str:
    return request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""


def csrf_ok(expected: str) -> bool:
    given = submitted_csrf()
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())
