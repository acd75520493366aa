"""Plans: what a tenant buys (:class:`PlanView`, read through :class:`PlanStore`).

A plan's ``StorageType`` names an S3 storage class (:data:`STORAGE_CLASSES`); its limits are NULL for
unlimited; ``Prices`` are per location and currency, money as decimal strings. A plan is *free* when no price
has a non-zero ``Monthly``: free tenants are provisioned at once, paid ones through an order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from s3api.db.models import Plan
from s3api.db.session import Database
from s3api.errors import NotFound

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
    revision: int = 1

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
            revision=row.revision,
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


class PlanStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, name: str) -> PlanView:
        """The plan; 404 for a name that is not one."""
        with self.db.read() as session:
            row = session.get(Plan, name)
            if row is None:
                raise NotFound(f"plan '{name}' not found")
            return PlanView.of(row)
