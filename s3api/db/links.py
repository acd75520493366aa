"""Share links and their signers: the inventory of presigned links we issued (:class:`LinkStore`).

A link row says what it opens (bucket, key, method), until when, who asked, its share and the signer key that
signed it — never the URL's signature. A signer row is one IAM user per (account, bucket, share) with its
current access key; the key's secret is sealed (:mod:`s3api.sealing`) because later links need it. Its id is
derived from (account, bucket, share), so two requests making the same signer at once meet on the primary key.

Taking a signer key away kills every link it signed: :meth:`LinkStore.revoke_keys` marks them all and answers
the ones that were still live (the blast radius). A link is **active** while it is neither revoked nor expired.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from s3api.db.models import ShareLink, Signer
from s3api.db.pages import decode_token, encode_token
from s3api.db.session import Database
from s3api.errors import NotFound, ServiceUnavailable
from s3api.names import LINK_ID


def now() -> datetime:
    return datetime.now(UTC)


def new_link_id() -> str:
    return "lnk-" + secrets.token_hex(12)


def signer_id(account: str, bucket: str, share: str | None) -> str:
    """The signer's row id: the same (account, bucket, share) always names the same row."""
    digest = hashlib.sha256(f"{account}\0{bucket}\0{share or ''}".encode()).hexdigest()
    return "sg-" + digest[:32]


def _utc(when: datetime | None) -> datetime | None:
    if when is None:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def is_active(row: ShareLink, when: datetime | None = None) -> bool:
    expires = _utc(row.expires_at)
    return row.revoked_at is None and expires is not None and expires > (when or now())


def record(row: ShareLink, when: datetime | None = None) -> dict[str, Any]:
    """A link as the API shows it (never a signature or a secret)."""
    return {
        "Id": row.id,
        "Bucket": row.bucket,
        "Key": row.key,
        "Method": row.method,
        "Share": row.share,
        "Signer": {"UserName": row.signer, "AccessKeyId": row.signer_key_id},
        "Tenant": row.tenant,
        "CreatedBy": row.created_by,
        "CreatedAt": _utc(row.created_at),
        "ExpiresAt": _utc(row.expires_at),
        "RevokedAt": _utc(row.revoked_at),
        "Active": is_active(row, when),
    }


@dataclass(frozen=True)
class SignerView:
    id: str
    account: str
    bucket: str
    share: str | None
    iam_user: str
    access_key_id: str | None
    sealed_secret: str | None
    key_created_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: Signer) -> SignerView:
        return cls(
            row.id,
            row.account,
            row.bucket,
            row.share,
            row.iam_user,
            row.access_key_id,
            row.sealed_secret,
            _utc(row.key_created_at),
            _utc(row.created_at) or now(),
        )


@dataclass(frozen=True)
class NewLink:
    account: str
    bucket: str
    key: str
    method: str
    share: str | None
    signer: str
    signer_key_id: str
    tenant: str | None
    created_by: str | None
    expires_at: datetime


class LinkStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- signers ------------------------------------------------------------------------------------------

    def signer(self, sid: str) -> SignerView | None:
        with self.db.read() as session:
            row = session.get(Signer, sid)
            return SignerView.of(row) if row is not None else None

    def claim_signer(self, account: str, bucket: str, share: str | None, iam_user: str) -> SignerView:
        """The signer row of (account, bucket, share): made now without a key, or the one that exists."""
        sid = signer_id(account, bucket, share)
        try:
            with self.db.write() as session:
                if session.get(Signer, sid) is None:
                    session.add(
                        Signer(id=sid, account=account, bucket=bucket, share=share, iam_user=iam_user, created_at=now())
                    )
        except IntegrityError:  # another request made it first: read it below
            pass
        found = self.signer(sid)
        if found is None:  # deleted between the two (a bucket delete): the caller's request fails
            raise NotFound(f"bucket '{bucket}' is being deleted")
        return found

    def set_key(self, sid: str, expected: str | None, key_id: str, sealed: str, created_at: datetime) -> bool:
        """Make ``key_id`` the signer's current key if the current one is still ``expected``; False when another
        request changed it first (the caller then deletes the key it made)."""
        current = Signer.access_key_id.is_(None) if expected is None else Signer.access_key_id == expected
        with self.db.write() as session:
            done = session.execute(
                update(Signer)
                .where(Signer.id == sid, current)
                .values(access_key_id=key_id, sealed_secret=sealed, key_created_at=created_at)
            )
            return bool(getattr(done, "rowcount", 0))

    def signers_of(self, account: str, bucket: str | None = None) -> list[SignerView]:
        query = select(Signer).where(Signer.account == account)
        if bucket is not None:
            query = query.where(Signer.bucket == bucket)
        with self.db.read() as session:
            return [SignerView.of(r) for r in session.scalars(query.order_by(Signer.bucket, Signer.id))]

    def count_shares(self, account: str, bucket: str) -> int:
        """Signers of the bucket made for a share (the default signer not counted)."""
        query = select(func.count()).where(
            Signer.account == account, Signer.bucket == bucket, Signer.share.is_not(None)
        )
        with self.db.read() as session:
            return int(session.scalar(query) or 0)

    def forget_signer(self, sid: str) -> None:
        """The signer's row and its links (its IAM user is gone)."""
        with self.db.write() as session:
            row = session.get(Signer, sid)
            if row is None:
                return
            session.execute(
                delete(ShareLink).where(
                    ShareLink.account == row.account, ShareLink.bucket == row.bucket, ShareLink.signer == row.iam_user
                )
            )
            session.delete(row)

    def forget_bucket(self, account: str, bucket: str) -> int:
        """Every signer row and link of a deleted bucket; how many links went."""
        with self.db.write() as session:
            gone = session.execute(delete(ShareLink).where(ShareLink.account == account, ShareLink.bucket == bucket))
            session.execute(delete(Signer).where(Signer.account == account, Signer.bucket == bucket))
            return int(getattr(gone, "rowcount", 0) or 0)

    # --- links --------------------------------------------------------------------------------------------

    def add(self, new: NewLink) -> dict[str, Any]:
        when = now()  # microseconds: the newest-first order of links made within one second
        row = ShareLink(
            id=new_link_id(),
            account=new.account,
            bucket=new.bucket,
            key=new.key,
            method=new.method,
            share=new.share,
            signer=new.signer,
            signer_key_id=new.signer_key_id,
            tenant=new.tenant,
            created_by=new.created_by,
            created_at=when,
            expires_at=new.expires_at,
        )
        with self.db.write() as session:
            session.add(row)
        return record(row)

    def get(self, account: str, bucket: str, link_id: str) -> dict[str, Any]:
        """One link of the bucket; 404 for an id that is not one of its links."""
        with self.db.read() as session:
            row = session.get(ShareLink, link_id) if LINK_ID.fullmatch(link_id) else None
            if row is None or row.account != account or row.bucket != bucket:
                raise NotFound(f"no link '{link_id}' in bucket '{bucket}'")
            return record(row)

    def page(
        self,
        account: str,
        bucket: str,
        *,
        active: bool | None = None,
        key_prefix: str | None = None,
        share: str | None = None,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        """Newest first: ``{"Links": [...], "NextPageToken": token or None}``."""
        when = now()
        query = select(ShareLink).where(ShareLink.account == account, ShareLink.bucket == bucket)
        if active is True:
            query = query.where(ShareLink.revoked_at.is_(None), ShareLink.expires_at > when)
        elif active is False:
            query = query.where(or_(ShareLink.revoked_at.is_not(None), ShareLink.expires_at <= when))
        if key_prefix:
            query = query.where(ShareLink.key.startswith(key_prefix, autoescape=True))
        if share is not None:
            query = query.where(ShareLink.share == share)
        if page_token:
            created, last = decode_token(page_token, LINK_ID)
            query = query.where(
                or_(ShareLink.created_at < created, and_(ShareLink.created_at == created, ShareLink.id < last))
            )
        query = query.order_by(ShareLink.created_at.desc(), ShareLink.id.desc()).limit(page_size + 1)
        with self.db.read() as session:
            rows = list(session.scalars(query))
        more = len(rows) > page_size
        rows = rows[:page_size]
        token = encode_token(_utc(rows[-1].created_at) or when, rows[-1].id) if more and rows else None
        return {"Links": [record(r, when) for r in rows], "NextPageToken": token}

    def live_on_key(self, key_id: str) -> int:
        """Links signed by ``key_id`` that still work (not revoked, not expired)."""
        query = select(func.count()).where(
            ShareLink.signer_key_id == key_id, ShareLink.revoked_at.is_(None), ShareLink.expires_at > now()
        )
        with self.db.read() as session:
            return int(session.scalar(query) or 0)

    def last_expiry_on_key(self, key_id: str) -> datetime | None:
        """When the last unrevoked link signed by ``key_id`` expires (None: no such link)."""
        query = select(func.max(ShareLink.expires_at)).where(
            ShareLink.signer_key_id == key_id, ShareLink.revoked_at.is_(None)
        )
        with self.db.read() as session:
            return _utc(session.scalar(query))

    def revoke_keys(
        self, account: str, key_ids: list[str], share_of: tuple[str, str | None] | None = None
    ) -> list[dict[str, Any]]:
        """Mark every unrevoked link signed by one of ``key_ids`` revoked (and, with ``share_of=(bucket, share)``,
        every link of that share); clear those keys from their signers. Answers the links that were still live,
        oldest first: what stopped working."""
        when = now().replace(microsecond=0)
        match: ColumnElement[bool] = ShareLink.signer_key_id.in_(key_ids) if key_ids else ShareLink.id.is_(None)
        if share_of is not None:
            match = or_(match, and_(ShareLink.bucket == share_of[0], ShareLink.share == share_of[1]))
        condition = and_(ShareLink.account == account, ShareLink.revoked_at.is_(None), match)
        with self.db.write() as session:
            rows = list(
                session.scalars(select(ShareLink).where(condition).order_by(ShareLink.created_at, ShareLink.id))
            )
            live = [r for r in rows if is_active(r, when)]
            if rows:
                session.execute(update(ShareLink).where(ShareLink.id.in_([r.id for r in rows])).values(revoked_at=when))
            if key_ids:
                session.execute(
                    update(Signer)
                    .where(Signer.account == account, Signer.access_key_id.in_(key_ids))
                    .values(access_key_id=None, sealed_secret=None, key_created_at=None)
                )
            for r in live:
                r.revoked_at = when
        return [record(r, when) for r in live]

    def count_active(self, account: str, tenant: str | None = None) -> int:
        query = select(func.count()).where(
            ShareLink.account == account, ShareLink.revoked_at.is_(None), ShareLink.expires_at > now()
        )
        if tenant is not None:
            query = query.where(ShareLink.tenant == tenant)
        with self.db.read() as session:
            return int(session.scalar(query) or 0)

    def purge(self, after_seconds: int) -> int:
        """Links expired or revoked more than ``after_seconds`` ago: deleted. How many."""
        cutoff = now() - timedelta(seconds=after_seconds)
        try:
            with self.db.write() as session:
                gone = session.execute(
                    delete(ShareLink).where(
                        or_(
                            ShareLink.expires_at < cutoff,
                            and_(ShareLink.revoked_at.is_not(None), ShareLink.revoked_at < cutoff),
                        )
                    )
                )
                return int(getattr(gone, "rowcount", 0) or 0)
        except SQLAlchemyError as exc:
            raise ServiceUnavailable("the database is unavailable, retry later") from exc

    def links_of_signer(self, signer: SignerView) -> int:
        query = select(func.count()).where(
            ShareLink.account == signer.account, ShareLink.bucket == signer.bucket, ShareLink.signer == signer.iam_user
        )
        with self.db.read() as session:
            return int(session.scalar(query) or 0)
