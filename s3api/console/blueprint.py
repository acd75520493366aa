"""The console's blueprint: the web console under ``/console``, server-rendered pages (Jinja) over the same
service layer as the API.

No build step and nothing from the internet: the templates are in ``templates/console``, htmx (2.x, BSD-0
licence beside it) and the stylesheet and script in ``static``. Pages call the same provisioning/control functions
the API views call (never the HTTP API), and every page and form is authorized by :func:`s3api.auth.authorize`
as the API route it stands for (:data:`API`): a role the API refuses a route is refused the page doing it.

Who is asking: the session cookie (:mod:`s3api.console.session`), not ``X-Auth-Token``: :func:`gate` is the
console's entry in :data:`s3api.auth.SESSION_GATES`, the one place the token check is replaced. Audit and
idempotency hooks apply as to any route: every console form has its own audit action (``console.*`` in
:data:`s3api.audit.ACTIONS`).

Extension points: :data:`NAV` (the navigation, with the roles each entry is for) and :func:`page` (a new
page or form with the API route whose authorization it takes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, g, jsonify, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from s3api import auth
from s3api.auth import Scoper, TokenChecker
from s3api.console import session as sessions
from s3api.control import isolation
from s3api.errors import ApiError, Forbidden, database_unavailable

log = logging.getLogger("s3api.console")

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates", static_folder="static")

#: (console endpoint, method) -> (API endpoint, API method) whose authorization the console route takes
API: dict[tuple[str, str], tuple[str, str]] = {}
#: console endpoints reachable without a session
PUBLIC = frozenset({"console.static", "console.sign_in"})
READS = frozenset({"GET", "HEAD"})
SIGN_IN_FIRST = "sign in first: there is no console session (or it ended)"
#: Tenant keys sign in: the gate scopes them with the API edge's own decision (:func:`s3api.auth.admit` with the
#: app's :class:`s3api.control.isolation.Edge`: its account only, another tenant's bucket, website or operation
#: 404) and the pages list and create through :mod:`s3api.control.isolation`, so the console never shows a tenant
#: more than the API does. False refuses every tenant key (fail closed).
TENANT_KEYS_SCOPED = True
TENANT_REFUSED = "the console does not serve tenant keys yet: use the API"
CSRF_REFUSED = "the form's CSRF token is missing or wrong: reload the page and try again"


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    roles: frozenset[str]
    needs_account: bool = False


ALL_ROLES = frozenset({"admin", "reader", "tenant"})
ADMIN = frozenset({"admin"})
#: the navigation, in order; later pieces append (tenants, plans, orders, share links)
NAV: list[NavItem] = [
    NavItem("Buckets", "console.buckets", ALL_ROLES, needs_account=True),
    NavItem("Websites", "console.websites", ALL_ROLES, needs_account=True),
    NavItem("Usage", "console.my_usage", frozenset({"tenant"})),
    NavItem("Operations", "console.operations", ALL_ROLES),
    NavItem("Tenants", "console.tenants", frozenset({"admin", "reader"})),
    NavItem("Plans", "console.plans_page", frozenset({"admin", "reader"})),
    NavItem("Orders", "console.orders_page", frozenset({"admin", "reader"})),
    NavItem("API keys", "console.keys", frozenset({"admin", "reader"})),
    NavItem("Audit trail", "console.audit", frozenset({"admin", "reader"})),
]


def page(
    rule: str,
    api: str,
    *,
    methods: tuple[str, ...] = ("GET",),
    api_method: str | None = None,
    endpoint: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a console route standing for the API route ``api`` (its endpoint) with ``api_method`` (the
    route's own method by default): the gate authorizes it as that."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        name = endpoint or fn.__name__
        bp.add_url_rule(rule, name, fn, methods=list(methods))
        for method in methods:
            API[(f"console.{name}", method)] = (api, api_method or method)
            if method == "GET":
                API[(f"console.{name}", "HEAD")] = (api, "HEAD" if api_method is None else api_method)
        return fn

    return decorate


def gate(checker: TokenChecker, scoper: Scoper | None = None) -> Response | None:
    """Authentication of a console request (from :func:`s3api.auth.init_app`): the session cookie's caller, the
    CSRF token of a POST, then :func:`s3api.auth.admit` as the API route the page stands for (the API edge's
    decision with its scoper: a tenant key's account, its buckets, websites and operations only)."""
    g.caller = None
    g.token_name = None
    g.console = None
    endpoint = request.endpoint or ""
    if endpoint in PUBLIC:
        return None
    found = sessions.open_session(current_app, checker, request.cookies.get(sessions.COOKIE))
    if found is None:
        if request.method in READS:
            target = url_for("console.sign_in", next=request.full_path.rstrip("?"))
            if request.headers.get("HX-Request"):
                return Response(status=204, headers={"HX-Redirect": target})
            return Response(status=303, headers={"Location": target})
        raise Forbidden(SIGN_IN_FIRST)
    g.console = found
    g.caller = found.caller
    g.token_name = found.caller.log_name
    if found.caller.role == "tenant" and not TENANT_KEYS_SCOPED:
        raise Forbidden(TENANT_REFUSED)
    if request.method not in READS and not sessions.csrf_ok(found.csrf):
        raise Forbidden(CSRF_REFUSED)
    stands_for = API.get((endpoint, request.method))
    if stands_for is None:  # a console route registered without page(): refused, never allowed by default
        raise Forbidden(f"the console route {endpoint} names no API route to authorize it as")
    scoped = auth.admit(found.caller, stands_for[1], stands_for[0], request.view_args, scoper)
    g.console = sessions.Session(scoped, found.csrf, found.expires)
    return None


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes["application/json"] > 0


def render_error(status: int, code: str, message: str, errors: Any = None, headers: Any = None) -> Response:
    """Our message and the request id, never a trace: an HTML page (or an htmx fragment), JSON when asked."""
    request_id = g.get("request_id")
    if _wants_json():
        body = {"code": code, "message": message, "status": status, "request_id": request_id}
        if errors:
            body["errors"] = errors
        response = jsonify(body)
    else:
        fragment = bool(request.headers.get("HX-Request"))
        caller = g.get("caller")
        html = render_template(
            "console/error_fragment.html" if fragment else "console/error.html", status=status, code=code,
            message=message, errors=errors, request_id=request_id, caller=caller, account=None, notice=None,
            accounts=isolation.account_names(current_app.extensions["s3api"], caller),
        )  # fmt: skip
        response = Response(html, mimetype="text/html")
        if fragment:
            response.headers["HX-Retarget"] = "#notices"
            response.headers["HX-Reswap"] = "innerHTML"
    response.status_code = status
    for k, v in dict(headers or {}).items():
        if k.lower() != "content-type":
            response.headers[k] = v
    return response


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    return render_error(exc.status, exc.code, exc.message, exc.errors, exc.headers)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    name = "".join(w.capitalize() for w in (exc.name or "Error").replace("-", " ").split())
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    return render_error(
        status, "BadRequest" if status == 400 else name, str(exc.description or exc.name), None, headers
    )


def routing_error(exc: HTTPException) -> Response:
    """A console URL asked with a method it does not have (no blueprint took the request): our page, not JSON."""
    return _headers(_http_error(exc))


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    database = database_unavailable(exc)
    if database is not None:
        return _api_error(database)
    log.exception("unhandled error in the console")
    return render_error(500, "InternalError", "internal error")


@bp.app_template_global()
def csrf_token() -> str:
    found = g.get("console")
    return found.csrf if found is not None else ""


@bp.app_template_global()
def nav_items() -> list[NavItem]:
    caller = g.get("caller")
    role = caller.role if caller is not None else None
    return [item for item in NAV if role in item.roles]


@bp.app_template_global()
def quota_percent(used: Any, quota: Any) -> float | None:
    from s3api.console import charts

    return charts.quota_percent(used, quota)


@bp.app_template_filter("field_messages")
def field_messages(errors: Any) -> list[str]:
    """A refusal's per-field messages as lines, nested fields joined with dots (``Prices.0.Currency: ...``); the
    outer level (``form``, ``json``, ``path``) is where, not what, and is left out."""
    lines: list[str] = []

    def walk(name: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{name}.{key}" if name else str(key), inner)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            lines.append(f"{name}: {'; '.join(value)}" if name else "; ".join(value))
        elif isinstance(value, list):
            for i, inner in enumerate(value):
                walk(f"{name}.{i}" if name else str(i), inner)
        else:
            lines.append(f"{name}: {value}" if name else str(value))

    for where in (errors or {}).values() if isinstance(errors, dict) else ():
        walk("", where)
    return lines[:50]


@bp.app_template_filter("filesize")
def filesize(value: Any) -> str:
    if not isinstance(value, int | float):
        return ""
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(value)


@bp.app_template_filter("when")
def when(value: Any) -> str:
    """A time as ``YYYY-MM-DD HH:MM:SSZ`` (strings pass through)."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%SZ")
    return "" if value is None else str(value)


def content_security_policy(settings: Any) -> str:
    """Scripts, styles and everything else from the console itself only (no inline script, no eval: htmx's eval
    and indicator styles are off in base.html); the browser may talk (upload ``fetch``) and be sent (download's
    303 after a form) only to the console and the accounts' S3 endpoints, where presigned links point."""
    s3 = set()
    for account in settings.accounts.values():
        if account.endpoint_url:
            parts = urlsplit(account.endpoint_url)
            s3.update({f"{parts.scheme}://{parts.netloc}", f"{parts.scheme}://*.{parts.netloc}"})
        else:
            s3.add("https://*.amazonaws.com")
    targets = " ".join(["'self'", *sorted(s3)])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {targets}; form-action {targets}; frame-ancestors 'none'; base-uri 'none'"
    )


@bp.after_request
def _headers(response: Response) -> Response:
    """No framing, no referrer (a presigned link must not leak to another site), no caching of signed-in pages,
    and a content security policy (:func:`content_security_policy`, computed once per app)."""
    rt = current_app.extensions["s3api"]
    policy = current_app.extensions.get("s3api.console.csp")
    if policy is None:
        policy = current_app.extensions["s3api.console.csp"] = content_security_policy(rt.settings)
    response.headers.setdefault("Content-Security-Policy", policy)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.endpoint != "console.static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response
