"""``X-Auth-Token`` check, public paths and CORS preflight.

Accepted forms of the header:
- the plain token, compared in constant time with each configured token (plain, or ``sha256:<hex>``);
- for the Yale service's clients, a bcrypt hash of a plain token. A cost above 12 is refused before any
  hashing (one cost-31 header ties the Yale server up for hours); verified hashes are cached, so a client
  pays bcrypt once, not per request. Tokens stored only as sha256 cannot be checked against bcrypt.

Failures answer 403 with the JSON error; the submitted header is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections import OrderedDict

import bcrypt
from flask import Flask, Response, g, request

from s3api.config import Token
from s3api.errors import Forbidden

PREFIX = "/v1/s3"
PUBLIC_PATHS = frozenset({f"{PREFIX}/ping", f"{PREFIX}/version", f"{PREFIX}/metrics", f"{PREFIX}/openapi.json"})
PUBLIC_PREFIXES = (f"{PREFIX}/docs",)
BCRYPT = re.compile(r"^\$2[abxy]?\$(\d\d)\$[./A-Za-z0-9]{53}$")
MAX_BCRYPT_COST = 12
CACHE_SIZE = 1024


class TokenChecker:
    """Answers which configured token (by name) a header value proves, or None."""

    def __init__(self, tokens: tuple[Token, ...]) -> None:
        self._tokens = tokens
        self._verified: OrderedDict[str, str] = OrderedDict()
        self._refused: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, header: str | None) -> str | None:
        if not header or len(header) > 512:
            return None
        match = BCRYPT.match(header)
        if match:
            return self._check_bcrypt(header, int(match.group(1)))
        return self._check_plain(header)

    def _check_plain(self, header: str) -> str | None:
        raw = header.encode()
        digest = hashlib.sha256(raw).hexdigest()
        name = None
        for token in self._tokens:  # compare with every token: timing does not tell which one matched
            if token.plain is not None:
                ok = hmac.compare_digest(raw, token.plain.encode())
            else:
                ok = hmac.compare_digest(digest, token.sha256 or "")
            if ok and name is None:
                name = token.name
        return name

    def _check_bcrypt(self, header: str, cost: int) -> str | None:
        if cost > MAX_BCRYPT_COST or cost < 4:
            return None
        with self._lock:
            if header in self._verified:
                self._verified.move_to_end(header)
                return self._verified[header]
            if header in self._refused:
                return None
        name = None
        for token in self._tokens:
            if token.plain is None:
                continue
            try:
                if bcrypt.checkpw(token.plain.encode(), header.encode()):
                    name = token.name
                    break
            except ValueError:
                continue
        with self._lock:
            cache: OrderedDict[str, str] | OrderedDict[str, None] = self._verified if name else self._refused
            cache[header] = name  # type: ignore[assignment]
            while len(cache) > CACHE_SIZE:
                cache.popitem(last=False)
        return name


def cors_preflight() -> Response:
    resp = Response(status=200)
    resp.headers["Access-Control-Allow-Origin"] = "*"
    resp.headers["Access-Control-Allow-Headers"] = "X-Auth-Token, Content-Type"
    resp.headers["Access-Control-Allow-Methods"] = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
    resp.headers["Access-Control-Max-Age"] = "600"
    return resp


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def init_app(app: Flask, checker: TokenChecker) -> None:
    @app.before_request
    def _authenticate() -> Response | None:
        if request.method == "OPTIONS":
            return cors_preflight()
        if is_public(request.path):
            g.token_name = None
            return None
        name = checker.check(request.headers.get("X-Auth-Token"))
        if name is None:
            raise Forbidden("missing or invalid X-Auth-Token")
        g.token_name = name
        return None

    @app.after_request
    def _cors(resp: Response) -> Response:
        if request.path in PUBLIC_PATHS or request.method == "OPTIONS":
            resp.headers["Access-Control-Allow-Origin"] = "*"
        return resp
