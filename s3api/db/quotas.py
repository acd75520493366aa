"""Quota settings and alert state (:class:`QuotaStore`): bucket quotas an admin set, and each threshold crossing
(:class:`~s3api.db.models.QuotaAlert`). Whether writes are denied is the bucket policy's, read back from AWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from s3api.db.models import BucketQuota, QuotaAlert
from s3api.db.session import Database


def now() -> datetime:
    return datetime.now(UTC)


class QuotaStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def bucket(self, account: str, bucket: str) -> BucketQuota | None:
        with self.db.read() as session:
            return session.get(BucketQuota, (account, bucket))

    def set_bucket(self, account: str, bucket: str, quota_bytes: int, thresholds: list[int], by: str | None) -> None:
        with self.db.write() as session:
            row = session.get(BucketQuota, (account, bucket))
            when = now()
            if row is None:
                row = BucketQuota(account=account, bucket=bucket, created_at=when)
                session.add(row)
            row.quota_bytes = quota_bytes
            row.thresholds = json.dumps(sorted(set(thresholds)))
            row.set_by = by
            row.updated_at = when

    def delete_bucket(self, account: str, bucket: str) -> bool:
        with self.db.write() as session:
            row = session.get(BucketQuota, (account, bucket))
            if row is None:
                return False
            session.delete(row)
            for alert in self._open(session, f"bucket:{account}/{bucket}", "storage"):
                alert.cleared_at = now()
            return True

    def bucket_quotas(self, account: str) -> list[BucketQuota]:
        with self.db.read() as session:
            return list(
                session.scalars(
                    select(BucketQuota).where(BucketQuota.account == account).order_by(BucketQuota.bucket)
                ).all()
            )

    @staticmethod
    def _open(session: Session, subject: str, kind: str) -> list[QuotaAlert]:
        return list(
            session.scalars(
                select(QuotaAlert).where(
                    QuotaAlert.subject == subject, QuotaAlert.kind == kind, QuotaAlert.cleared_at.is_(None)
                )
            ).all()
        )

    def open_alerts(self, subject: str, kind: str = "storage") -> list[QuotaAlert]:
        with self.db.read() as session:
            return sorted(self._open(session, subject, kind), key=lambda a: a.threshold)

    def open_in(self, session: Session, subject: str, kind: str = "storage") -> list[QuotaAlert]:
        """The subject's uncleared alerts, read in the caller's write transaction."""
        return self._open(session, subject, kind)
