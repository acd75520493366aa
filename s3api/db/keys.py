"""API keys: create, list, show, revoke (:class:`KeyStore`) and verify (:class:`KeyVerifier`).

A key is ``s3k_<id>_<secret>`` (:data:`s3api.names.API_KEY`); the database keeps the id and the SHA-256 of the
secret, and the key is shown once, in the answer that creates it.

Verification costs at most one lookup by primary key, and none while the key is cached: a process keeps what it
read for :data:`CACHE_SECONDS` (2 s). So a revocation is refused at once by the process that revoked it and
within 2 s by every other worker and replica; the same bound applies to a key created elsewhere that was
tried (and missed) just before. Unknown, expired, revoked and wrong-secret keys take the same path (the digest
is always compared, against a dummy when there is no row) and give the same answer: None. ``LastUsedAt`` is
written at most once per :data:`LAST_USED_EVERY` (60 s) per key and process, not on every request; a failed
write of it is logged and the request goes on.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from s3api.db.models import ApiKey
from s3api.db.pages import decode_token, encode_token
from s3api.db.session import Database
from s3api.errors import BadRequest, NotFound, ServiceUnavailable
from s3api.names import API_KEY, KEY_ID, KEY_ROLES

log = logging.getLogger("s3api.keys")

CACHE_SECONDS = 2.0
CACHE_SIZE = 4096
LAST_USED_EVERY = 60.0
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
Audit = Callable[[Session, str], None]  # adds an audit event to the change's transaction
_DUMMY_DIGEST = hashlib.sha256(b"no such key").hexdigest()


def now() -> datetime:
    return datetime.now(UTC)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key() -> tuple[str, str, str]:
    """(id, secret, the key as the caller sends it)."""
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    return key_id, secret, f"s3k_{key_id}_{secret}"


@dataclass(frozen=True)
class KeyView:
    """What verification needs of a row, read once and cached."""

    id: str
    name: str
    role: str
    tenant: str | None
    secret_sha256: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, row: ApiKey) -> KeyView:
        return cls(
            row.id, row.name, row.role, row.tenant, row.secret_sha256, row.expires_at, row.revoked_at, row.last_used_at
        )


def record(row: ApiKey) -> dict[str, Any]:
    """A key as the API shows it: never the secret or its digest."""
    return {
        "Id": row.id,
        "Name": row.name,
        "Role": row.role,
        "Tenant": row.tenant,
        "ExpiresAt": row.expires_at,
        "CreatedAt": row.created_at,
        "LastUsedAt": row.last_used_at,
        "RevokedAt": row.revoked_at,
    }


def _unavailable(exc: SQLAlchemyError) -> ServiceUnavailable:
    log.warning("database error: %s", type(exc).__name__)
    return ServiceUnavailable("the database is unavailable, retry later")


class KeyVerifier:
    """Per-process verification of ``X-Auth-Token`` values shaped like API keys."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.monotonic) -> None:
        self._db = db
        self._clock = clock
        self._cache: OrderedDict[str, tuple[KeyView | None, float]] = OrderedDict()
        self._touched: dict[str, float] = {}
        self._lock = threading.Lock()

    def verify(self, header: str) -> KeyView | None:
        """The key's row when ``header`` is a valid, unexpired, unrevoked key; else None. A value not shaped like
        a key never reaches the database. Raises ServiceUnavailable when the database cannot be read."""
        match = API_KEY.fullmatch(header)
        if match is None:
            return None
        key_id, secret = match.groups()
        view = self._lookup(key_id)
        ok = hmac.compare_digest(digest(secret), view.secret_sha256 if view else _DUMMY_DIGEST)
        if view is None or not ok or view.revoked_at is not None:
            return None
        if view.expires_at is not None and view.expires_at <= now():
            return None
        self._touch(view)
        return view

    def forget(self, key_id: str) -> None:
        """Drop a cached row (revoked by this process: refused from the next request on)."""
        with self._lock:
            self._cache.pop(key_id, None)

    def _lookup(self, key_id: str) -> KeyView | None:
        stamp = self._clock()
        with self._lock:
            hit = self._cache.get(key_id)
            if hit is not None and stamp - hit[1] < CACHE_SECONDS:
                return hit[0]
        try:
            with self._db.read() as session:
                row = session.get(ApiKey, key_id)
                view = KeyView.of(row) if row is not None else None
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from None
        with self._lock:
            self._cache[key_id] = (view, stamp)
            self._cache.move_to_end(key_id)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return view

    def _touch(self, view: KeyView) -> None:
        stamp = self._clock()
        with self._lock:
            last = self._touched.get(view.id)
            if last is not None and stamp - last < LAST_USED_EVERY:
                return
            self._touched[view.id] = stamp
            if len(self._touched) > CACHE_SIZE:
                self._touched.clear()
        when = now()
        if view.last_used_at is not None and when - view.last_used_at < timedelta(seconds=LAST_USED_EVERY):
            return  # another process wrote it lately
        cutoff = when - timedelta(seconds=LAST_USED_EVERY)
        try:
            with self._db.write() as session:
                session.execute(
                    update(ApiKey)
                    .where(ApiKey.id == view.id, or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < cutoff))
                    .values(last_used_at=when)
                )
        except (SQLAlchemyError, ServiceUnavailable) as exc:  # locked or down: the request goes on
            log.warning("LastUsedAt of key %s not written: %s", view.id, type(exc).__name__)


class KeyStore:
    """The API keys of the database, and this process's verifier of them."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.verifier = KeyVerifier(db)

    def create(
        self,
        name: str,
        role: str,
        tenant: str | None = None,
        expires_at: datetime | None = None,
        audit: Audit | None = None,
    ) -> dict[str, Any]:
        """A new key: its record plus ``Key``, the secret, which is never shown again. ``audit(session, key_id)``
        adds the audit event to the same transaction."""
        if role not in KEY_ROLES:
            raise BadRequest(f"Role must be one of {', '.join(KEY_ROLES)}", errors={"json": {"Role": ["invalid"]}})
        created = now()
        if expires_at is not None and expires_at <= created:
            raise BadRequest("ExpiresAt must be in the future", errors={"json": {"ExpiresAt": ["in the past"]}})
        key_id, secret, key = new_key()
        row = ApiKey(
            id=key_id,
            name=name,
            role=role,
            tenant=tenant,
            secret_sha256=digest(secret),
            created_at=created,
            expires_at=expires_at,
        )
        try:
            with self.db.write() as session:
                session.add(row)
                if audit is not None:
                    audit(session, key_id)
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from None
        self.verifier.forget(key_id)
        return {**record(row), "Key": key}

    def get(self, key_id: str) -> dict[str, Any]:
        try:
            with self.db.read() as session:
                row = session.get(ApiKey, key_id) if KEY_ID.fullmatch(key_id) else None
                if row is None:
                    raise NotFound(f"API key '{key_id}' not found")
                return record(row)
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from None

    def revoke(self, key_id: str, audit: Audit | None = None) -> dict[str, Any]:
        """Revoke (idempotent: a revoked key keeps its first ``RevokedAt``); refused by this process at once.
        ``audit(session, key_id)`` adds the audit event to the same transaction."""
        try:
            with self.db.write() as session:
                row = session.get(ApiKey, key_id) if KEY_ID.fullmatch(key_id) else None
                if row is None:
                    raise NotFound(f"API key '{key_id}' not found")
                if row.revoked_at is None:
                    row.revoked_at = now()
                result = record(row)
                if audit is not None:
                    audit(session, key_id)
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from None
        self.verifier.forget(key_id)
        return result

    def list(
        self,
        *,
        name: str | None = None,
        role: str | None = None,
        tenant: str | None = None,
        revoked: bool | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        """Newest first: ``{"Keys": [...], "NextPageToken": token or None}``."""
        query = select(ApiKey)
        if name is not None:
            query = query.where(ApiKey.name == name)
        if role is not None:
            query = query.where(ApiKey.role == role)
        if tenant is not None:
            query = query.where(ApiKey.tenant == tenant)
        if revoked is not None:
            query = query.where(ApiKey.revoked_at.is_not(None) if revoked else ApiKey.revoked_at.is_(None))
        if page_token:
            created, key_id = decode_token(page_token, KEY_ID)
            query = query.where(
                or_(ApiKey.created_at < created, and_(ApiKey.created_at == created, ApiKey.id < key_id))
            )
        query = query.order_by(ApiKey.created_at.desc(), ApiKey.id.desc()).limit(page_size + 1)
        try:
            with self.db.read() as session:
                rows = list(session.scalars(query))
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from None
        more = len(rows) > page_size
        rows = rows[:page_size]
        token = encode_token(rows[-1].created_at, rows[-1].id) if more and rows else None
        return {"Keys": [record(r) for r in rows], "NextPageToken": token}
