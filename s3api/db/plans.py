"""Plans: what a tenant buys (:class:`PlanView`, read and written through :class:`PlanStore`).

A plan's ``StorageType`` names an S3 storage class (:data:`STORAGE_CLASSES`); its limits are NULL for
unlimited; ``Prices`` are per location and currency, money as decimal strings. A plan is *free* when no price
has a non-zero ``Monthly``: free tenants are provisioned at once, paid ones through an order.

Every change is a :class:`~s3api.db.models.PlanRevision` written in the change's own transaction: revision 1 is
the creation (every field, old values null), each later one names only the fields that changed with their old
and new values, and a deletion is the revision ``{"Deleted": {"Old": false, "New": true}}``. Revisions are never
updated or deleted. A deleted plan keeps its row (tenants and orders of the past name it) and its name (never
reused); it is in no list and nobody can use it.

The store takes and gives plain values; who may see what (:func:`visibility`) and the rules a plan's fields
follow are the control plane's (:mod:`s3api.control.plans`). ``extra(session, view)`` callbacks run inside the
write, so the audit event and the webhook commit with the change.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from s3api import names
from s3api.db.models import Plan, PlanRevision, Tenant
from s3api.db.session import Database
from s3api.errors import BadRequest, Conflict, NotFound

#: our StorageType -> the S3 storage class objects of the plan's buckets are written with
STORAGE_CLASSES = {
    "Standard": "STANDARD",
    "StandardIA": "STANDARD_IA",
    "OneZoneIA": "ONEZONE_IA",
    "IntelligentTiering": "INTELLIGENT_TIERING",
    "GlacierInstantRetrieval": "GLACIER_IR",
    "Glacier": "GLACIER",
    "DeepArchive": "DEEP_ARCHIVE",
}
#: A plan's name: lowercase letters, digits, ``.``, ``_`` and ``-``, 1 to 64, starting with a letter or digit.
PLAN_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
#: The fields a plan has besides its name, in the order answers and revisions list them.
FIELDS = ("Active", "TestOnly", "StorageType", "Locations", "QuotaBytes", "MaxBuckets", "BandwidthBytesPerMonth",
          "AlertThresholds", "BandwidthAction", "MaxLinkSeconds", "RequestMetrics", "Prices")  # fmt: skip
BANDWIDTH_ACTIONS = names.BANDWIDTH_ACTIONS
#: fields added after the first plans (migration 0008): what a plan made without them has
LATER_DEFAULTS: dict[str, Any] = {
    "AlertThresholds": None,
    "BandwidthAction": "alert",
    "MaxLinkSeconds": None,
    "RequestMetrics": False,
}
#: tenants in these statuses no longer use their plan (a plan only they name may be deleted)
GONE_STATUSES = ("terminated", "failed")
Extra = Callable[[Session, "PlanView"], None]


def now() -> datetime:
    return datetime.now(UTC)


def _decimal(text: Any) -> Decimal:
    try:
        return Decimal(str(text))
    except (InvalidOperation, ValueError):
        return Decimal(0)


@dataclass(frozen=True)
class PlanView:
    name: str
    active: bool
    test_only: bool
    storage_type: str
    locations: list[str]
    quota_bytes: int | None
    max_buckets: int | None
    bandwidth_bytes_per_month: int | None
    prices: list[dict[str, str]] = field(default_factory=list)
    alert_thresholds: list[int] | None = None
    bandwidth_action: str = "alert"
    max_link_seconds: int | None = None
    request_metrics: bool = False
    revision: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted: bool = False

    @classmethod
    def of(cls, row: Plan) -> PlanView:
        return cls(
            name=row.name,
            active=row.active,
            test_only=row.test_only,
            storage_type=row.storage_type,
            locations=json.loads(row.locations),
            quota_bytes=row.quota_bytes,
            max_buckets=row.max_buckets,
            bandwidth_bytes_per_month=row.bandwidth_bytes_per_month,
            prices=json.loads(row.prices),
            alert_thresholds=json.loads(row.alert_thresholds) if row.alert_thresholds else None,
            bandwidth_action=row.bandwidth_action or "alert",
            max_link_seconds=row.max_link_seconds,
            request_metrics=bool(row.request_metrics),
            revision=row.revision,
            created_at=row.created_at,
            updated_at=row.updated_at,
            deleted=row.deleted_at is not None,
        )

    @property
    def storage_class(self) -> str:
        return STORAGE_CLASSES[self.storage_type]

    @property
    def is_free(self) -> bool:
        return all(_decimal(p.get("Monthly", "0")) == 0 for p in self.prices)

    def price(self, location: str, currency: str | None = None) -> dict[str, str] | None:
        """The price of this plan in ``location`` (and ``currency``, when given), or None: not sold there."""
        for p in self.prices:
            if p.get("Location") == location and (currency is None or p.get("Currency") == currency):
                return p
        return None

    def sold_in(self, location: str) -> bool:
        return location in self.locations

    def fields(self) -> dict[str, Any]:
        """The plan's fields (:data:`FIELDS`) as the API names them."""
        return {
            "Active": self.active,
            "TestOnly": self.test_only,
            "StorageType": self.storage_type,
            "Locations": list(self.locations),
            "QuotaBytes": self.quota_bytes,
            "MaxBuckets": self.max_buckets,
            "BandwidthBytesPerMonth": self.bandwidth_bytes_per_month,
            "AlertThresholds": list(self.alert_thresholds) if self.alert_thresholds is not None else None,
            "BandwidthAction": self.bandwidth_action,
            "MaxLinkSeconds": self.max_link_seconds,
            "RequestMetrics": self.request_metrics,
            "Prices": [dict(p) for p in self.prices],
        }

    def record(self) -> dict[str, Any]:
        """The plan as the API shows it."""
        return {
            "Name": self.name,
            **self.fields(),
            "StorageClass": self.storage_class,
            "Free": self.is_free,
            "Revision": self.revision,
            "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at,
        }


def _apply(row: Plan, values: Mapping[str, Any]) -> None:
    columns = {
        "Active": ("active", lambda v: bool(v)),
        "TestOnly": ("test_only", lambda v: bool(v)),
        "StorageType": ("storage_type", lambda v: v),
        "Locations": ("locations", lambda v: json.dumps(list(v))),
        "QuotaBytes": ("quota_bytes", lambda v: v),
        "MaxBuckets": ("max_buckets", lambda v: v),
        "BandwidthBytesPerMonth": ("bandwidth_bytes_per_month", lambda v: v),
        "AlertThresholds": ("alert_thresholds", lambda v: None if v is None else json.dumps(sorted(set(v)))),
        "BandwidthAction": ("bandwidth_action", lambda v: v),
        "MaxLinkSeconds": ("max_link_seconds", lambda v: v),
        "RequestMetrics": ("request_metrics", lambda v: bool(v)),
        "Prices": ("prices", lambda v: json.dumps([dict(p) for p in v], sort_keys=True)),
    }
    for name, value in values.items():
        column, convert = columns[name]
        setattr(row, column, convert(value))


@dataclass(frozen=True)
class Filters:
    """List filters; ``visible_to`` limits the list to what a tenant may see (:func:`visibility`)."""

    active: bool | None = None
    test_only: bool | None = None
    location: str | None = None
    storage_type: str | None = None
    visible_to: tuple[bool, str | None] | None = None  # (the tenant is a tester, the tenant's own plan)


def visibility(tester: bool, own_plan: str | None) -> ColumnElement[bool]:
    """What a tenant sees: active plans, test plans only when it is a tester, and always its own plan."""
    shown = and_(Plan.active.is_(True), or_(Plan.test_only.is_(False), true() if tester else false()))
    return or_(shown, Plan.name == own_plan) if own_plan else shown


def _token(value: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([value]).encode()).decode().rstrip("=")


def _untoken(token: str, pattern: re.Pattern[str]) -> str:
    try:
        (value,) = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ValueError(token)
        return value
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        errors = {"query": {"page_token": ["not a token this API gave"]}}
        raise BadRequest("page_token is not a token this API gave", errors=errors) from None


_REVISION = re.compile(r"[1-9][0-9]{0,9}")
_ANY_NAME = re.compile(r"[^\x00]{1,64}")  # rows made by other means than the API may have other names


def _lookable(name: str) -> bool:
    """A name a lookup may send to the database (PostgreSQL refuses NUL in text): anything else is no plan."""
    return 0 < len(name) <= 64 and "\x00" not in name


class PlanStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, name: str) -> PlanView:
        """The plan (a deleted one too: ``deleted`` says so); 404 for a name that is not one."""
        with self.db.read() as session:
            row = session.get(Plan, name) if _lookable(name) else None
            if row is None:
                raise NotFound(f"plan '{name}' not found")
            return PlanView.of(row)

    def find(self, name: str, filters: Filters | None = None) -> PlanView | None:
        """The plan if it exists, is not deleted and passes ``filters`` (visibility above all), else None."""
        if not _lookable(name):
            return None
        query = self._query(filters or Filters()).where(Plan.name == name)
        with self.db.read() as session:
            row = session.scalars(query).first()
            return PlanView.of(row) if row is not None else None

    @staticmethod
    def _query(filters: Filters) -> Any:
        query = select(Plan).where(Plan.deleted_at.is_(None))
        if filters.active is not None:
            query = query.where(Plan.active.is_(filters.active))
        if filters.test_only is not None:
            query = query.where(Plan.test_only.is_(filters.test_only))
        if filters.storage_type is not None:
            query = query.where(Plan.storage_type == filters.storage_type)
        if filters.location is not None:  # codes hold no quote: '"code"' matches one whole element of the list
            query = query.where(Plan.locations.contains(json.dumps(filters.location), autoescape=True))
        if filters.visible_to is not None:
            query = query.where(visibility(*filters.visible_to))
        return query

    def page(self, filters: Filters, page_size: int, page_token: str | None = None) -> dict[str, Any]:
        """Plans by name: ``{"Plans": [PlanView...], "NextPageToken": token or None}`` (deleted ones never)."""
        query = self._query(filters)
        if page_token:
            query = query.where(Plan.name > _untoken(page_token, _ANY_NAME))
        query = query.order_by(Plan.name).limit(page_size + 1)
        with self.db.read() as session:
            rows = list(session.scalars(query))
        more = len(rows) > page_size
        views = [PlanView.of(r) for r in rows[:page_size]]
        return {"Plans": views, "NextPageToken": _token(views[-1].name) if more and views else None}

    def create(
        self,
        name: str,
        values: Mapping[str, Any],
        *,
        caller_id: str | None,
        caller_name: str | None,
        extra: Extra | None = None,
    ) -> PlanView:
        """A new plan with every field of :data:`FIELDS` in ``values`` and its revision 1; 409 when the name is
        taken (by a deleted plan too: names are never reused)."""
        when = now()
        row = Plan(name=name, revision=1, created_at=when, updated_at=when)
        _apply(row, {f: values[f] if f in values else LATER_DEFAULTS[f] for f in FIELDS})
        try:
            with self.db.write() as session:
                if session.get(Plan, name) is not None:
                    raise Conflict(f"plan '{name}' exists (names of deleted plans are not reused)")
                session.add(row)
                session.flush()
                view = PlanView.of(row)
                changes = {f: {"Old": None, "New": v} for f, v in view.fields().items()}
                self._revise(session, view, changes, when, caller_id, caller_name)
                if extra is not None:
                    extra(session, view)
        except IntegrityError:  # a concurrent create of the same name won
            raise Conflict(f"plan '{name}' exists (names of deleted plans are not reused)") from None
        return view

    def update(
        self,
        name: str,
        decide: Callable[[PlanView], Mapping[str, Any]],
        *,
        caller_id: str | None,
        caller_name: str | None,
        extra: Callable[[Session, PlanView, dict[str, Any]], None] | None = None,
    ) -> tuple[PlanView, dict[str, Any]]:
        """Change a plan: ``decide(current)`` (run inside the write, on the row locked for it) gives the new values
        of the fields that change (or raises: nothing is written). Only fields whose value differs are revised;
        no difference, no revision (and ``extra`` does not run). Returns the plan and ``{Field: {Old, New}}``."""
        if not _lookable(name):
            raise NotFound(f"plan '{name}' not found")
        try:
            with self.db.write() as session:
                row = session.scalars(
                    select(Plan).where(Plan.name == name, Plan.deleted_at.is_(None)).with_for_update()
                ).first()
                if row is None:
                    raise NotFound(f"plan '{name}' not found")
                before = PlanView.of(row)
                old = before.fields()
                wanted = decide(before)
                changes = {f: {"Old": old[f], "New": v} for f, v in wanted.items() if old[f] != _normal(f, v)}
                if not changes:
                    return before, {}
                when = now()
                _apply(row, {f: c["New"] for f, c in changes.items()})
                row.revision += 1
                row.updated_at = when
                session.flush()
                view = PlanView.of(row)
                changes = {f: {"Old": old[f], "New": view.fields()[f]} for f in changes}
                self._revise(session, view, changes, when, caller_id, caller_name)
                if extra is not None:
                    extra(session, view, changes)
        except IntegrityError:  # two changes took one revision number (PostgreSQL without the row lock)
            raise Conflict(f"plan '{name}' was changed at the same time: retry") from None
        return view, changes

    def delete(
        self,
        name: str,
        *,
        caller_id: str | None,
        caller_name: str | None,
        extra: Extra | None = None,
    ) -> PlanView:
        """Delete a plan no live tenant uses (409 names how many do: deactivate it instead). The row and its
        history stay; a last revision records the deletion."""
        if not _lookable(name):
            raise NotFound(f"plan '{name}' not found")
        with self.db.write() as session:
            row = session.scalars(
                select(Plan).where(Plan.name == name, Plan.deleted_at.is_(None)).with_for_update()
            ).first()
            if row is None:
                raise NotFound(f"plan '{name}' not found")
            users = self.users(session, name)
            if users:
                raise Conflict(
                    f"plan '{name}' is used by {users} tenant(s) that are not terminated: it can only be deactivated "
                    '(PATCH {"Active": false})',
                    errors={"json": {"Plan": [f"in use by {users} tenant(s)"]}},
                )
            when = now()
            row.deleted_at = when
            row.active = False
            row.revision += 1
            row.updated_at = when
            session.flush()
            view = PlanView.of(row)
            self._revise(session, view, {"Deleted": {"Old": False, "New": True}}, when, caller_id, caller_name)
            if extra is not None:
                extra(session, view)
        return view

    @staticmethod
    def users(session: Session, name: str) -> int:
        """How many tenants that are not terminated (or failed) are on the plan."""
        query = select(func.count()).select_from(Tenant).where(Tenant.plan == name, Tenant.status.not_in(GONE_STATUSES))
        return int(session.scalar(query) or 0)

    @staticmethod
    def locked(session: Session, name: str) -> PlanView | None:
        """The plan read with its row locked in the caller's transaction (PostgreSQL ``FOR UPDATE``; SQLite's
        writes are serialised anyway), or None when there is none or it is deleted. A tenant written in the same
        transaction cannot race a delete of its plan."""
        if not _lookable(name):
            return None
        query = select(Plan).where(Plan.name == name, Plan.deleted_at.is_(None)).with_for_update()
        row = session.scalars(query).first()
        return PlanView.of(row) if row is not None else None

    @staticmethod
    def _revise(
        session: Session,
        view: PlanView,
        changes: dict[str, Any],
        when: datetime,
        caller_id: str | None,
        caller_name: str | None,
    ) -> None:
        session.add(
            PlanRevision(
                plan=view.name,
                revision=view.revision,
                time=when,
                caller_id=caller_id,
                caller_name=caller_name,
                changes=json.dumps(changes, sort_keys=True),
            )
        )

    def history(self, name: str, page_size: int, page_token: str | None = None) -> dict[str, Any]:
        """The plan's revisions, oldest first (a deleted plan's too): ``{"Plan", "Revisions": [...],
        "NextPageToken"}``; 404 for a name that never was a plan."""
        after = int(_untoken(page_token, _REVISION)) if page_token else 0
        with self.db.read() as session:
            if not _lookable(name) or session.get(Plan, name) is None:
                raise NotFound(f"plan '{name}' not found")
            rows = list(
                session.scalars(
                    select(PlanRevision)
                    .where(PlanRevision.plan == name, PlanRevision.revision > after)
                    .order_by(PlanRevision.revision)
                    .limit(page_size + 1)
                )
            )
        more = len(rows) > page_size
        rows = rows[:page_size]
        revisions = [
            {
                "Revision": r.revision,
                "Time": r.time,
                "CallerId": r.caller_id,
                "CallerName": r.caller_name,
                "Changes": json.loads(r.changes),
            }
            for r in rows
        ]
        token = _token(str(rows[-1].revision)) if more and rows else None
        return {"Plan": name, "Revisions": revisions, "NextPageToken": token}

    def seed(self, plans: Mapping[str, Mapping[str, Any]], caller_name: str = "seed") -> list[str]:
        """Create each plan of ``plans`` (name → fields) that does not exist yet (a deleted one is left deleted);
        the names created. For the embedded default's start."""
        made = []
        for name, values in plans.items():
            with self.db.read() as session:
                if session.get(Plan, name) is not None:
                    continue
            try:
                self.create(name, values, caller_id=None, caller_name=caller_name)
            except Conflict:  # another process seeded it meanwhile
                continue
            made.append(name)
        return made


def _normal(name: str, value: Any) -> Any:
    """A new value as :meth:`PlanView.fields` would give it back (to compare with the old one)."""
    if name == "Locations":
        return list(value)
    if name == "Prices":
        return [json.loads(json.dumps(dict(p), sort_keys=True)) for p in value]
    return value
