"""``X-Auth-Token`` check, the one authorization decision, public endpoints and CORS preflight.

Accepted forms of the header:
- an API key ``s3k_<id>_<secret>`` (:mod:`s3api.db.keys`: one lookup by id at most, cached 2 s per process); a
  value of that prefix but not that shape is refused without touching the database;
- the plain token, compared in constant time with each configured token (plain, or ``sha256:<hex>``);
- for the Yale service's clients, a bcrypt hash of a plain token, and only for tokens configured with
  ``bcrypt: true`` (default off: with no such token a bcrypt-shaped header is refused without hashing).
  A cost above 12 is refused before any hashing (one cost-31 header ties the Yale server up for hours);
  verified hashes are cached, so a client pays bcrypt once, not per request. An uncached check must take
  one of ``BCRYPT_SLOTS`` process-wide slots without waiting: when all are busy (a flood of forged headers,
  each with a fresh salt that misses the cache) the request answers 429 at once instead of queueing, so
  forged headers cannot fill the request threads. Tokens stored only as sha256 cannot be checked against bcrypt.

"Public" is decided by the matched endpoint (Flask's ``request.endpoint``), never by a path prefix: a path
such as ``/v1/s3/docs-prod/...`` matches the account routes and needs a token like any other.

Every caller has a role: config-file tokens are ``admin`` (bootstrap), API keys carry theirs. :func:`authorize`
decides for the whole URL map, at the edge, before any view runs: ``admin`` may do everything, ``reader`` every
GET (and HEAD), nothing else; ``tenant`` only the routes of :data:`TENANT_ROUTES` (any other: 403), only in its
own account and for its own tenant id (otherwise 404, worded as for a name that does not exist). What a tenant
route reaches (a bucket, a website, an operation) is checked right after, in the same hook, by the scoper given
to :func:`init_app` (:mod:`s3api.control.isolation`: AWS tags and database rows). Views never check roles.

Failures answer 403 with the JSON error, the same for a wrong, expired or revoked key; the submitted header is
never logged. A key that cannot be checked because the database is down or locked answers 503 (``Retry-After``),
not 403: the key may be valid, and a client should retry rather than give up.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import bcrypt
from flask import Flask, Response, current_app, g, request

from s3api.config import Token
from s3api.db.keys import KeyStore
from s3api.errors import Forbidden, NotFound, TooManyRequests, routing_error_page

PREFIX = "/v1/s3"
# endpoints answered without a token; CORS "*" is added to the first group (not to the docs page)
PUBLIC_API_ENDPOINTS = frozenset(
    {"system.Ping", "system.Ready", "system.Version", "system.Metrics", "api-docs.openapi_json"}
)
PUBLIC_ENDPOINTS = PUBLIC_API_ENDPOINTS | {"api-docs.openapi_swagger_ui", "swagger_assets"}
BCRYPT = re.compile(r"^\$2[abxy]?\$(\d\d)\$[./A-Za-z0-9]{53}$")
MAX_BCRYPT_COST = 12
CACHE_SIZE = 1024
BCRYPT_SLOTS = 1  # per process: one core at most spent on uncached bcrypt checks
KEY_PREFIX = "s3k_"
READ_METHODS = frozenset({"GET", "HEAD"})
INVALID = "missing or invalid X-Auth-Token"
#: Blueprints whose callers prove who they are another way than ``X-Auth-Token``, by blueprint name: the one
#: exception to the token check. The console (:func:`s3api.console.blueprint.gate`: a session cookie) is the only
#: one; its gate sets ``g.token_name``, proves the caller its own way, then calls :func:`admit` (the same decision
#: as the token edge, with the same scoper), or answers (a redirect).
SESSION_GATES: dict[str, Callable[[TokenChecker, Scoper | None], Response | None]] = {}


@dataclass(frozen=True)
class Caller:
    """Who is asking: a config-file token (``kind="token"``, role admin) or an API key (``kind="key"``)."""

    kind: str
    name: str
    role: str
    id: str | None = None
    tenant: str | None = None
    #: a tenant key's: its tenant's account and status (filled at the edge from the tenant row)
    account: str | None = None
    status: str | None = None

    @property
    def log_name(self) -> str:
        """What the request log names: the token's name, or ``key:<id>`` (a key's name is the caller's choice)."""
        return self.name if self.id is None else f"key:{self.id}"


class TokenChecker:
    """Answers which configured token (by name) a header value proves, or None."""

    def __init__(self, tokens: tuple[Token, ...], keys: KeyStore | None = None) -> None:
        self._tokens = tokens
        self._keys = keys
        self._verified: OrderedDict[str, str] = OrderedDict()
        self._refused: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._bcrypt_tokens = tuple(t for t in tokens if t.bcrypt and t.plain is not None)
        self._slots = threading.BoundedSemaphore(BCRYPT_SLOTS)

    def caller(self, header: str | None) -> Caller | None:
        """The caller a header value proves, or None. API keys need the key store; raises TooManyRequests (bcrypt
        slots busy) or ServiceUnavailable (the database cannot be read)."""
        if header and header.startswith(KEY_PREFIX) and self._keys is not None:
            view = self._keys.verifier.verify(header)
            if view is None:
                return None
            return Caller(kind="key", name=view.name, role=view.role, id=view.id, tenant=view.tenant)
        name = self.check(header)
        return None if name is None else Caller(kind="token", name=name, role="admin")

    def check(self, header: str | None) -> str | None:
        """The token name, or None. Raises TooManyRequests when an uncached bcrypt check finds no free slot."""
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
        if not self._bcrypt_tokens or cost > MAX_BCRYPT_COST or cost < 4:
            return None
        with self._lock:
            if header in self._verified:
                self._verified.move_to_end(header)
                return self._verified[header]
            if header in self._refused:
                return None
        if not self._slots.acquire(blocking=False):
            raise TooManyRequests("too many bcrypt token checks in progress, retry later", retry_after=1)
        try:
            name = None
            for token in self._bcrypt_tokens:
                assert token.plain is not None
                try:
                    if bcrypt.checkpw(token.plain.encode(), header.encode()):
                        name = token.name
                        break
                except ValueError:
                    continue
        finally:
            self._slots.release()
        with self._lock:
            cache: OrderedDict[str, str] | OrderedDict[str, None] = self._verified if name else self._refused
            cache[header] = name  # type: ignore[assignment]
            while len(cache) > CACHE_SIZE:
                cache.popitem(last=False)
        return name


def cors_preflight() -> Response:
    resp = Response(status=200)
    resp.headers["Access-Control-Allow-Origin"] = "*"
    resp.headers["Access-Control-Allow-Headers"] = "X-Auth-Token, Content-Type, Idempotency-Key"
    resp.headers["Access-Control-Allow-Methods"] = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
    resp.headers["Access-Control-Max-Age"] = "600"
    return resp


def is_public(endpoint: str | None) -> bool:
    """True for the endpoints answered without a token. ``None`` (no rule matched) is not public."""
    return endpoint in PUBLIC_ENDPOINTS


# --- tenant keys ---------------------------------------------------------------------------------------------

#: What a tenant route reaches, checked after :func:`authorize` by the scoper (:mod:`s3api.control.isolation`):
#: ``open`` nothing of anyone's (plans, whoami); ``self`` its own tenant (the path's one value is its id);
#: ``account`` its account only (lists there show only its own resources); ``bucket`` a bucket tagged
#: ``s3api:tenant=<its id>``; ``website`` a website whose bucket is; ``operation`` an operation it started.
REACHES = ("open", "self", "account", "bucket", "website", "operation")
#: Tenant statuses whose key may reach its data; the others (suspended, pending_payment, provisioning...) reach
#: only the ``open`` and ``self`` routes; terminated, terminating and failed tenants nothing.
ACTIVE_STATUSES = frozenset({"active", "cancelling"})
GONE_STATUSES = frozenset({"terminated", "terminating", "failed"})

_A = "/v1/s3/{account}"
_B = f"{_A}/buckets/{{bucket}}"
_W = f"{_A}/websites/{{website}}"
#: The only routes a tenant key may use: (method, path template) → reach. Placeholder names do not matter
#: (``{}`` matches any), so the table reads as the README does. A route missing here answers 403 to a tenant
#: key; ``tests/api/test_isolation_routes.py`` fails for a new route that is in neither this table nor its
#: list of admin-only routes, so no route is left undecided. HEAD goes with GET.
TENANT_ROUTES: Mapping[tuple[str, str], str] = {
    ("GET", "/v1/s3/whoami"): "open",
    ("GET", "/v1/s3/plans"): "open",
    ("GET", "/v1/s3/plans/{plan}"): "open",
    ("GET", "/v1/s3/plans/{plan}/history"): "open",
    ("GET", "/v1/s3/tenants/{tenant}"): "self",
    ("GET", "/v1/s3/tenants/{tenant}/usage"): "self",
    ("GET", "/v1/s3/accounts"): "open",  # lists only its own account
    ("GET", _A): "account",
    ("GET", f"{_A}/stats"): "account",  # counts of its own resources
    ("GET", f"{_A}/buckets"): "account",  # its own buckets
    ("POST", f"{_A}/buckets"): "account",  # tagged with its tenant, within its plan
    ("GET", _B): "bucket",
    ("PUT", _B): "bucket",  # tags only (the tenant tag stays); a BucketPolicy is refused
    ("DELETE", _B): "bucket",
    ("GET", f"{_B}/duck"): "bucket",
    ("GET", f"{_B}/objects"): "bucket",
    ("POST", f"{_B}/objects/delete"): "bucket",
    ("GET", f"{_B}/objects/{{key}}"): "bucket",
    ("DELETE", f"{_B}/objects/{{key}}"): "bucket",
    ("GET", f"{_B}/uploads"): "bucket",
    ("POST", f"{_B}/uploads/abort"): "bucket",
    ("DELETE", f"{_B}/uploads/{{upload_id}}"): "bucket",
    ("POST", f"{_B}/presign"): "bucket",
    ("GET", f"{_B}/links"): "bucket",  # its bucket's links (the link id is looked up within the bucket)
    ("GET", f"{_B}/links/{{link_id}}"): "bucket",
    ("POST", f"{_B}/links/{{link_id}}/revoke"): "bucket",
    ("POST", f"{_B}/links/{{link_id}}/reissue"): "bucket",
    ("POST", f"{_B}/shares/{{share}}/revoke"): "bucket",
    ("POST", f"{_A}/websites"): "account",  # its website's bucket tagged for it, within its plan
    ("GET", f"{_B}/usage"): "bucket",
    ("GET", f"{_B}/usage/history"): "bucket",
    ("GET", f"{_B}/quota"): "bucket",  # its bucket's quota and alerts (setting one is the provider's)
    ("POST", f"{_B}/usage/recount"): "bucket",
    ("GET", f"{_B}/users"): "bucket",
    ("POST", f"{_B}/users"): "bucket",
    ("GET", f"{_B}/users/{{user}}"): "bucket",
    ("PUT", f"{_B}/users/{{user}}"): "bucket",
    ("DELETE", f"{_B}/users/{{user}}"): "bucket",
    ("PATCH", f"{_B}/users/{{user}}/keys/{{key_id}}"): "bucket",
    ("GET", _W): "website",
    ("PUT", _W): "website",
    ("PATCH", _W): "website",
    ("DELETE", _W): "website",
    ("GET", f"{_W}/duck"): "website",
    ("GET", f"{_W}/invalidations/{{invalidation}}"): "website",
    ("GET", f"{_W}/users"): "website",
    ("POST", f"{_W}/users"): "website",
    ("GET", f"{_W}/users/{{user}}"): "website",
    ("PUT", f"{_W}/users/{{user}}"): "website",
    ("DELETE", f"{_W}/users/{{user}}"): "website",
    ("PATCH", f"{_W}/users/{{user}}/keys/{{key_id}}"): "website",
    ("GET", "/v1/s3/operations"): "open",  # only the operations it started
    ("GET", "/v1/s3/operations/{operation}"): "operation",
}
#: Body fields a tenant key may not send on a route (refused with 403 before the view runs).
TENANT_REFUSED_FIELDS: Mapping[tuple[str, str], tuple[str, ...]] = {("PUT", _B): ("BucketPolicy",)}

_PLACEHOLDER = re.compile(r"<(?:[^:>]+:)?[^>]+>|\{[^}]*\}")


def template(rule: str) -> str:
    """A route's path with every placeholder as ``{}``: ``/v1/s3/<account:account>/stats`` → ``/v1/s3/{}/stats``."""
    return _PLACEHOLDER.sub("{}", rule)


_TENANT_TABLE = {(m, template(path)): reach for (m, path), reach in TENANT_ROUTES.items()}
_TENANT_REFUSED = {(m, template(path)): fields for (m, path), fields in TENANT_REFUSED_FIELDS.items()}


def tenant_route(method: str, rule: str) -> str | None:
    """The reach of ``method`` on the URL rule ``rule`` for a tenant key, or None: not a tenant route."""
    return _TENANT_TABLE.get(("GET" if method == "HEAD" else method, template(rule)))


def _rules(endpoint: str | None) -> list[str]:
    if endpoint is None:
        return []
    try:
        return [r.rule for r in current_app.url_map.iter_rules(endpoint)]
    except KeyError:
        return []


def _authorize_tenant(caller: Caller, method: str, endpoint: str | None, resource: Mapping[str, Any]) -> str:
    if caller.tenant is None or caller.status is None or caller.status in GONE_STATUSES:
        raise Forbidden(INVALID)
    if endpoint is None:
        return "open"  # no rule matched: the router's own 404 (an unknown account's too), as for any caller
    rules = _rules(endpoint)
    reach = next((r for r in (tenant_route(method, rule) for rule in rules) if r is not None), None)
    if reach is None:
        raise Forbidden(f"the tenant role may not {method} this route")
    if reach not in ("open", "self") and caller.status not in ACTIVE_STATUSES:
        raise Forbidden(f"the tenant is {caller.status}: only plans, whoami and its own tenant answer")
    account = resource.get("account")
    if account is not None and account != caller.account:
        raise NotFound(f"account '{account}' is not configured")  # the words of an account that is not there
    if reach == "self":
        values = [v for k, v in resource.items() if k != "account"]
        if values != [caller.tenant]:
            raise NotFound(f"tenant '{values[0] if values else ''}' not found")
    for rule in rules:
        refused = _TENANT_REFUSED.get((method, template(rule)), ())
        body = request.get_json(silent=True) if refused else None
        given = [f for f in refused if isinstance(body, Mapping) and body.get(f) is not None]
        if given:
            raise Forbidden(f"a tenant key may not set {', '.join(given)}")
    return reach


def authorize(
    caller: Caller, method: str, endpoint: str | None, resource: Mapping[str, Any] | None = None
) -> str | None:
    """The one authorization decision, for every route: may ``caller`` do ``method`` on ``endpoint`` (its path
    values in ``resource``)? Raises Forbidden (the route is not the role's) or NotFound (a tenant key naming
    another account or tenant). For a tenant key, answers the route's reach (:data:`REACHES`): what the scoper
    still has to prove is the tenant's (a bucket, a website, an operation); None for every other role. Needs an
    app context (the endpoint's rules come from the URL map)."""
    if caller.role == "admin":
        return None
    if caller.role == "reader" and method in READ_METHODS:
        return None
    if caller.role == "tenant":
        return _authorize_tenant(caller, method, endpoint, resource or {})
    raise Forbidden(f"the {caller.role} role may not {method} this route")


class Scoper(Protocol):
    """What the edge needs to scope a tenant key (:class:`s3api.control.isolation.Edge`)."""

    def caller(self, caller: Caller) -> Caller:
        """The tenant key's caller with its tenant's ``account`` and ``status``; Forbidden when there is none."""

    def reach(self, caller: Caller, reach: str, resource: Mapping[str, Any]) -> None:
        """NotFound unless what ``resource`` names (bucket, website, operation) is the caller's tenant's."""


def scoped_tenant() -> str | None:
    """The tenant id the current request is scoped to (a tenant key's), or None (admin, reader, public)."""
    caller = g.get("caller")
    return caller.tenant if caller is not None and caller.role == "tenant" else None


def admit(
    caller: Caller, method: str, endpoint: str | None, resource: Mapping[str, Any] | None, scoper: Scoper | None
) -> Caller:
    """The edge's decision on a proven caller, the one place for the token edge and the console's gate: a tenant
    key is scoped (its tenant's account and status, :meth:`Scoper.caller`), set as ``g.caller``, authorized as
    ``method`` on ``endpoint`` (:func:`authorize`), then what the route reaches is proven its tenant's
    (:meth:`Scoper.reach`: 404 otherwise). Answers the scoped caller."""
    if caller.role == "tenant":
        if scoper is None:
            raise Forbidden(INVALID)
        caller = scoper.caller(caller)
    g.caller = caller
    reach = authorize(caller, method, endpoint, resource)
    if reach is not None and scoper is not None:
        scoper.reach(caller, reach, resource or {})
    return caller


def init_app(app: Flask, checker: TokenChecker, scoper: Scoper | None = None) -> None:
    @app.before_request
    def _authenticate() -> Response | None:
        if request.method == "OPTIONS":
            return cors_preflight()
        if is_public(request.endpoint):
            g.token_name = None
            g.caller = None
            return None
        if request.routing_exception is not None and routing_error_page(request.path) is not None:
            raise request.routing_exception  # a console URL without the method asked: its own 405 page
        gate = SESSION_GATES.get(request.blueprint or "")
        if gate is not None:
            return gate(checker, scoper)
        caller = checker.caller(request.headers.get("X-Auth-Token"))
        if caller is None:
            raise Forbidden(INVALID)
        g.token_name = caller.log_name
        admit(caller, request.method, request.endpoint, request.view_args, scoper)
        return None

    @app.after_request
    def _cors(resp: Response) -> Response:
        if request.endpoint in PUBLIC_API_ENDPOINTS or request.method == "OPTIONS":
            resp.headers["Access-Control-Allow-Origin"] = "*"
        return resp
