"""Cursor page tokens of the database's lists (keys, audit events): an opaque, url-safe encoding of the last
row's position (its time and id), newest first. A token this API did not make is a 400, never a 500."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime

from s3api.errors import BadRequest


def encode_token(when: datetime, row_id: str) -> str:
    raw = json.dumps([when.isoformat(), row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, row_id: re.Pattern[str]) -> tuple[datetime, str]:
    """The position a page token names (its id must match ``row_id``); 400 for anything we did not make."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        when_text, found = json.loads(raw)
        when = datetime.fromisoformat(when_text)
        if when.tzinfo is None or not isinstance(found, str) or not row_id.fullmatch(found):
            raise ValueError(token)
        return when, found
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        errors = {"query": {"page_token": ["not a token this API gave"]}}
        raise BadRequest("page_token is not a token this API gave", errors=errors) from None


def encode_position(value: int, row_id: str) -> str:
    """A page token for lists ordered by a number (then the id)."""
    raw = json.dumps([int(value), row_id], separators=(",", ":")).encode()
    return "n" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_position(token: str, row_id: re.Pattern[str]) -> tuple[int, str]:
    """The position of :func:`encode_position`; 400 for anything we did not make."""
    try:
        if not token.startswith("n"):
            raise ValueError(token)
        raw = base64.urlsafe_b64decode(token[1:] + "=" * (-len(token[1:]) % 4))
        value, found = json.loads(raw)
        if isinstance(value, bool) or not isinstance(value, int) or not isinstance(found, str):
            raise ValueError(token)
        if not row_id.fullmatch(found):
            raise ValueError(token)
        return value, found
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        errors = {"query": {"page_token": ["not a token this API gave"]}}
        raise BadRequest("page_token is not a token this API gave", errors=errors) from None
