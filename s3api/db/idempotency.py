"""``Idempotency-Key`` records: claim a key for a request, store its answer, forget it, purge what expired.

A record is scoped by the caller (``key:<id>`` or ``token:<name>``) and the key. :meth:`IdempotencyStore.claim`
inserts an ``in_flight`` row in a transaction of its own: the primary key (caller, key) decides a race, on SQLite
(``BEGIN IMMEDIATE``) and PostgreSQL alike. The loser's ``IntegrityError`` is read as "someone has it": the
existing row is returned for the web layer to compare (:mod:`s3api.idempotency`). An expired row (the purge has
not run yet) or an ``in_flight`` row older than :data:`STALE_AFTER` (its request died: a worker is killed after
120 s) is deleted and the claim tried again, so a key never stays wedged.

The answer stored by :meth:`finish` is what the web layer gives: a status, the headers it replays and the body
as text (sealed by the web layer; this module never sees a request or a secret). :meth:`forget` deletes the
claim (an answer that is not stored: a 5xx, so a retry may run). Every change names the claim it belongs to
(its ``created_at``): a request whose stale claim was taken over changes nothing of its successor's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from s3api.db.models import IdempotencyRecord
from s3api.db.session import Database

#: how long a key and its answer are kept (design note control-plane.md, "API conventions")
KEEP = timedelta(hours=24)
#: an ``in_flight`` claim older than this belongs to a request that died (gunicorn kills a worker after 120 s)
STALE_AFTER = timedelta(minutes=10)
IN_FLIGHT, DONE = "in_flight", "done"
_ATTEMPTS = 4


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Claim:
    """What a request holds after a successful claim; it names the row in :meth:`IdempotencyStore.finish` and
    :meth:`IdempotencyStore.forget`."""

    caller: str
    key: str
    fingerprint: str
    created_at: datetime


@dataclass(frozen=True)
class Seen:
    """An existing record, as the web layer compares and replays it."""

    method: str
    path: str
    fingerprint: str
    state: str
    status: int | None
    headers: dict[str, str]
    body: str | None
    created_at: datetime
    expires_at: datetime

    @property
    def done(self) -> bool:
        return self.state == DONE

    @classmethod
    def of(cls, row: IdempotencyRecord) -> Seen:
        headers = json.loads(row.headers) if row.headers else {}
        return cls(
            row.method, row.path, row.fingerprint, row.state, row.status, headers, row.body, row.created_at,
            row.expires_at,
        )  # fmt: skip


class IdempotencyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def claim(
        self, caller: str, key: str, method: str, path: str, fingerprint: str, when: datetime | None = None
    ) -> Claim | Seen:
        """A :class:`Claim` when this request may run (the row is now ``in_flight`` and ours), else the
        :class:`Seen` record another request made (same or other fingerprint: the caller compares). Raises
        ServiceUnavailable when the database cannot be written."""
        for _ in range(_ATTEMPTS):
            stamp = when or now()
            row = IdempotencyRecord(
                caller=caller,
                key=key,
                method=method[:8],
                path=path[:2048],
                fingerprint=fingerprint,
                state=IN_FLIGHT,
                status=None,
                headers=None,
                body=None,
                created_at=stamp,
                expires_at=stamp + KEEP,
            )
            try:
                with self.db.write() as session:
                    session.add(row)
                return Claim(caller, key, fingerprint, stamp)
            except IntegrityError:
                pass  # the primary key is taken: read what is there
            seen = self.get(caller, key)
            if seen is None:
                continue  # forgotten or purged meanwhile: try again
            if seen.expires_at <= stamp or (not seen.done and seen.created_at <= stamp - STALE_AFTER):
                self._drop(caller, key, seen.created_at)
                continue
            return seen
        seen = self.get(caller, key)
        if seen is None:  # pragma: no cover - four lost races in a row
            raise RuntimeError("idempotency key claim kept racing")
        return seen

    def get(self, caller: str, key: str) -> Seen | None:
        with self.db.read() as session:
            row = session.get(IdempotencyRecord, (caller, key))
            return Seen.of(row) if row is not None else None

    def finish(self, claim: Claim, status: int, headers: dict[str, str], body: str) -> bool:
        """Store the answer of the claim's request; False when the claim was no longer ours (taken over)."""
        stamp = now()
        with self.db.write() as session:
            result = session.execute(
                update(IdempotencyRecord)
                .where(*self._mine(claim), IdempotencyRecord.state == IN_FLIGHT)
                .values(
                    state=DONE,
                    status=status,
                    headers=json.dumps(headers, separators=(",", ":")),
                    body=body,
                    expires_at=stamp + KEEP,
                )
            )
        return bool(getattr(result, "rowcount", 0))

    def forget(self, claim: Claim) -> None:
        """Delete the claim (its answer is not kept: a retry with the key runs again)."""
        self._drop(claim.caller, claim.key, claim.created_at, IN_FLIGHT)

    def purge(self, when: datetime | None = None) -> int:
        """Delete the records whose time is up; the number deleted."""
        with self.db.write() as session:
            result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= (when or now())))
        return int(getattr(result, "rowcount", 0) or 0)

    @staticmethod
    def _mine(claim: Claim) -> tuple[ColumnElement[bool], ...]:
        return (
            IdempotencyRecord.caller == claim.caller,
            IdempotencyRecord.key == claim.key,
            IdempotencyRecord.created_at == claim.created_at,
        )

    def _drop(self, caller: str, key: str, created_at: datetime, state: str | None = None) -> None:
        query = delete(IdempotencyRecord).where(
            IdempotencyRecord.caller == caller, IdempotencyRecord.key == key, IdempotencyRecord.created_at == created_at
        )
        if state is not None:
            query = query.where(IdempotencyRecord.state == state)
        with self.db.write() as session:
            session.execute(query)

    def count(self) -> int:
        """How many records there are (tests, diagnostics)."""
        with self.db.read() as session:
            return int(session.scalar(select(func.count()).select_from(IdempotencyRecord)) or 0)
