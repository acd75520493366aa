"""Plans: the catalogue a provider sells (:mod:`s3api.db.plans` holds the rows and their revisions).

Who sees what: admins and readers every plan (active or not, test plans too); a tenant key active plans, test
plans only when its tenant is a tester, and always the plan it is on (even deactivated). A plan a caller may
not see answers 404, as one that does not exist. Deleted plans are nobody's to see (their history stays readable
by admins and readers).

The rules a plan follows, checked before anything is written (400 with every problem in ``errors``):
``StorageType`` one of :data:`s3api.db.plans.STORAGE_CLASSES`; ``Locations`` location codes of configured
accounts (``accounts.<name>.location``, default the account's name), no repeats; ``Prices`` decimal strings in
a 3-letter currency, each for a location of the plan, one per (location, currency), and when there are any,
every location has one (a plan without prices is free everywhere). A PATCH is checked as the whole plan it
would make (the locations against the configuration only when it sets ``Locations``). Every change is a
revision (who, when, old and new value of each changed field), written with the audit event and, for a PATCH,
the ``plan.changed`` webhook, in one transaction. A PATCH that changes nothing writes none of them.

Other services call :func:`usable` to check a plan for a new tenant or a plan change, and
:meth:`s3api.db.plans.PlanStore.locked` to hold the plan row while they write a tenant (no delete can race it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from sqlalchemy.orm import Session

from s3api import webhooks
from s3api.config import Settings
from s3api.db.models import Tenant
from s3api.db.plans import FIELDS, Filters, PlanStore, PlanView
from s3api.db.session import Database
from s3api.errors import BadRequest, NotFound

Audit = Callable[[Session, str], None]  # adds the request's audit event to the change's transaction


class Env(Protocol):
    settings: Settings
    db: Database


class CallerLike(Protocol):
    """What these functions need of :class:`s3api.auth.Caller`."""

    @property
    def role(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def id(self) -> str | None: ...

    @property
    def tenant(self) -> str | None: ...


DEFAULTS: Mapping[str, Any] = {
    "Active": True,
    "TestOnly": False,
    "QuotaBytes": None,
    "MaxBuckets": None,
    "BandwidthBytesPerMonth": None,
    "AlertThresholds": None,
    "BandwidthAction": "alert",
    "MaxLinkSeconds": None,
    "RequestMetrics": False,
    "Prices": [],
}


def locations(settings: Settings) -> set[str]:
    """The location codes plans may name: those of the configured accounts."""
    return {account.location_code for account in settings.accounts.values()}


def _tenant_scope(rt: Env, caller: CallerLike | None) -> tuple[bool, str | None] | None:
    """None for a caller who sees every plan; for a tenant key (tester?, its own plan)."""
    if caller is None or caller.role != "tenant":
        return None
    if not caller.tenant:
        return (False, None)
    with rt.db.read() as session:
        row = session.get(Tenant, caller.tenant)
        return (bool(row.tester), row.plan) if row is not None else (False, None)


def page(rt: Env, caller: CallerLike | None, query: Mapping[str, Any]) -> dict[str, Any]:
    """One page of the plans the caller may see, by name: filters ``active``, ``test_only``, ``location``,
    ``storage_type``; ``page_size``, ``page_token``."""
    filters = Filters(
        active=query.get("active"),
        test_only=query.get("test_only"),
        location=query.get("location"),
        storage_type=query.get("storage_type"),
        visible_to=_tenant_scope(rt, caller),
    )
    found = PlanStore(rt.db).page(filters, query.get("page_size", 50), query.get("page_token"))
    return {"Plans": [v.record() for v in found["Plans"]], "NextPageToken": found["NextPageToken"]}


def visible(rt: Env, caller: CallerLike | None) -> list[PlanView]:
    """Every plan the caller may see, by name."""
    store, scope = PlanStore(rt.db), _tenant_scope(rt, caller)
    out: list[PlanView] = []
    token: str | None = None
    while True:
        found = store.page(Filters(visible_to=scope), 1000, token)
        out.extend(found["Plans"])
        token = found["NextPageToken"]
        if not token:
            return out


def get(rt: Env, caller: CallerLike | None, name: str) -> PlanView:
    """The plan, if the caller may see it; else 404 (deleted plans too)."""
    view = PlanStore(rt.db).find(name, Filters(visible_to=_tenant_scope(rt, caller)))
    if view is None:
        raise NotFound(f"plan '{name}' not found")
    return view


def history(rt: Env, caller: CallerLike | None, name: str, page_size: int, page_token: str | None) -> dict[str, Any]:
    """The plan's revisions, oldest first. A tenant key sees the history of the plans it may see; admins and
    readers that of every plan, deleted ones included."""
    if _tenant_scope(rt, caller) is not None:
        get(rt, caller, name)
    return PlanStore(rt.db).history(name, page_size, page_token)


def usable(rt: Env, caller: CallerLike | None, name: str, *, tester: bool, location: str | None = None) -> PlanView:
    """The plan for a new tenant (or a tenant's plan change): 404 when there is none (or it is deleted, or the
    caller, a tenant key, may not see it); 400 when it is inactive, a test plan for a tenant that is no tester,
    or (``location`` given) not sold in that location."""
    store = PlanStore(rt.db)
    scope = _tenant_scope(rt, caller)
    view = store.find(name, Filters(visible_to=scope))
    if view is None:
        raise NotFound(f"plan '{name}' not found", errors={"json": {"Plan": ["no such plan"]}})
    if not view.active:
        raise BadRequest(f"plan '{name}' is not active", errors={"json": {"Plan": ["inactive"]}})
    if view.test_only and not tester:
        raise BadRequest(f"plan '{name}' is for testers only", errors={"json": {"Plan": ["test plan"]}})
    if location is not None and not view.sold_in(location):
        raise BadRequest(
            f"plan '{name}' is not sold in location '{location}'",
            errors={"json": {"Location": [f"plan '{name}' is sold in: {', '.join(view.locations)}"]}},
        )
    return view


# --- the rules of a plan's fields ------------------------------------------------------------------------


def problems(values: Mapping[str, Any], settings: Settings, *, configured: bool = True) -> dict[str, Any]:
    """Every rule ``values`` (a whole plan's fields) break, as marshmallow-style ``errors`` (empty: none).
    ``configured=False`` leaves out the check that each location is a configured account's (a PATCH that does not
    set ``Locations``: a plan still names a location whose account left the configuration, and can be
    deactivated)."""
    errors: dict[str, Any] = {}
    known = locations(settings)
    where: list[str] = list(values["Locations"])
    bad_locations: dict[str, list[str]] = {}
    for i, code in enumerate(where):
        if configured and code not in known:
            listed = ", ".join(sorted(known))
            bad_locations[str(i)] = [f"'{code}' is no configured account's location (known: {listed})"]
        elif code in where[:i]:
            bad_locations[str(i)] = [f"'{code}' is listed twice"]
    if bad_locations:
        errors["Locations"] = bad_locations
    bad_prices: dict[str, list[str]] = {}
    seen: set[tuple[str, str]] = set()
    for i, price in enumerate(values["Prices"]):
        pair = (price["Location"], price["Currency"])
        if price["Location"] not in where:
            bad_prices[str(i)] = [f"Location '{price['Location']}' is not one of the plan's Locations"]
        elif pair in seen:
            bad_prices[str(i)] = [f"a second price for {pair[0]} in {pair[1]}"]
        seen.add(pair)
    priced = {p["Location"] for p in values["Prices"]}
    if values["Prices"] and not bad_prices and (unpriced := [c for c in where if c not in priced]):
        bad_prices["_schema"] = [f"no price for location(s) {', '.join(unpriced)}: price every location, or none"]
    if bad_prices:
        errors["Prices"] = bad_prices
    return errors


def _check(values: Mapping[str, Any], settings: Settings, *, configured: bool = True) -> None:
    errors = problems(values, settings, configured=configured)
    if errors:
        fields = ", ".join(sorted(errors))
        raise BadRequest(f"the plan breaks the rules of {fields}", errors={"json": errors})


def _prices(prices: Any) -> list[dict[str, str]]:
    """Prices as stored: every amount present (overage defaults to "0")."""
    return [
        {
            "Location": p["Location"],
            "Currency": p["Currency"],
            "Monthly": p["Monthly"],
            "StorageOverPerGb": p.get("StorageOverPerGb", "0"),
            "TrafficOverPerGb": p.get("TrafficOverPerGb", "0"),
        }
        for p in prices
    ]


# --- changes -------------------------------------------------------------------------------------------------


def create(rt: Env, caller: CallerLike, body: Mapping[str, Any], audit: Audit | None = None) -> PlanView:
    """A new plan (revision 1). ``body`` is the validated POST body (``Name`` and the fields)."""
    values = {f: body.get(f, DEFAULTS.get(f)) for f in FIELDS}
    values["Prices"] = _prices(values["Prices"])
    _check(values, rt.settings)

    def extra(session: Session, view: PlanView) -> None:
        if audit is not None:
            audit(session, view.name)

    return PlanStore(rt.db).create(body["Name"], values, caller_id=caller.id, caller_name=caller.name, extra=extra)


def update(rt: Env, caller: CallerLike, name: str, body: Mapping[str, Any], audit: Audit | None = None) -> PlanView:
    """Change some fields (``Prices`` and ``Locations`` are replaced whole). The result is checked as a whole
    plan; a change writes a revision, the audit event and the ``plan.changed`` webhook in one transaction."""
    wanted = dict(body)
    if "Prices" in wanted:
        wanted["Prices"] = _prices(wanted["Prices"])

    def decide(current: PlanView) -> Mapping[str, Any]:
        _check({**current.fields(), **wanted}, rt.settings, configured="Locations" in wanted)
        return wanted

    def extra(session: Session, view: PlanView, changes: dict[str, Any]) -> None:
        webhooks.emit(
            session,
            rt.settings,
            "plan.changed",
            {"Plan": view.name, "Revision": view.revision, "Active": view.active, "Changes": changes},
        )
        if audit is not None:
            audit(session, view.name)

    view, changes = PlanStore(rt.db).update(name, decide, caller_id=caller.id, caller_name=caller.name, extra=extra)
    if audit is not None and not changes:  # nothing changed: no revision, no webhook; the event alone
        with rt.db.write() as session:
            audit(session, name)
    return view


def delete(rt: Env, caller: CallerLike, name: str, audit: Audit | None = None) -> PlanView:
    """Delete a plan no live tenant uses (409 otherwise: deactivate it). Its history stays."""

    def extra(session: Session, view: PlanView) -> None:
        if audit is not None:
            audit(session, view.name)

    return PlanStore(rt.db).delete(name, caller_id=caller.id, caller_name=caller.name, extra=extra)
