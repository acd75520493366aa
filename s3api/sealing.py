"""Secrets the service must keep (a tenant's S3 secret shown again, a share-link signer's secret): sealed with
AES-256-GCM, bound to what they belong to.

A sealed value is ``v1.<key id>.<base64 of nonce + ciphertext>``: the key id (the first 8 hex digits of the
key's SHA-256) names which of the configured ``secret_keys`` sealed it, so the operator rotates by putting a new
key first (it seals from then on) and keeping the old ones after it until :meth:`Sealer.reseal` has moved every
value (``open`` tries the named key only). ``context`` (for example ``tenant:<id>``) is the associated data: a
value copied onto another row does not open there.

Two sources of keys:
- :func:`configured` — only the operator's ``secret_keys`` (``S3API_SECRET_KEYS``); None without them. Showing a
  tenant's secret again needs this: it is off unless the operator chose it.
- :func:`internal` — the configured keys, or on the embedded SQLite default a key file created once in the data
  directory (``secret.key``, mode 0600) so that the service's own secrets work with no configuration. On
  PostgreSQL (several replicas) there is no shared file: without ``secret_keys`` it raises
  :class:`SealingUnavailable` (the caller answers 503 naming the setting).
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from s3api.config import Settings

PREFIX = "v1"
KEY_FILE = "secret.key"
_file_lock = threading.Lock()


class SealError(ValueError):
    """A sealed value that does not open (wrong context, unknown key, tampered). Never carries the value."""


class SealingUnavailable(RuntimeError):
    """No key to seal with (PostgreSQL without ``secret_keys``)."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


class Sealer:
    def __init__(self, keys: tuple[bytes, ...]) -> None:
        if not keys:
            raise ValueError("a Sealer needs at least one key")
        self._keys = {key_id(k): k for k in keys}
        self._current = key_id(keys[0])

    @property
    def current_key_id(self) -> str:
        return self._current

    def seal(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self._keys[self._current]).encrypt(nonce, plaintext.encode(), context.encode())
        return f"{PREFIX}.{self._current}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, value: str, context: str) -> str:
        try:
            prefix, kid, body = value.split(".", 2)
            raw = base64.urlsafe_b64decode(body.encode())
        except (ValueError, TypeError):
            raise SealError("not a sealed value") from None
        if prefix != PREFIX or kid not in self._keys or len(raw) < 13:
            raise SealError("sealed with a key that is not configured")
        try:
            return AESGCM(self._keys[kid]).decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag:
            raise SealError("sealed value does not open here") from None

    def needs_reseal(self, value: str) -> bool:
        return not value.startswith(f"{PREFIX}.{self._current}.")

    def reseal(self, value: str, context: str) -> str:
        """The value sealed with the current key (key rotation)."""
        return value if not self.needs_reseal(value) else self.seal(self.open(value, context), context)


def configured(settings: Settings) -> Sealer | None:
    """The operator's keys, or None when ``secret_keys`` is not set."""
    return Sealer(settings.secret_keys) if settings.secret_keys else None


def internal(settings: Settings) -> Sealer:
    """Keys for the service's own secrets: configured ones, else (SQLite only) a key file in the data directory."""
    if settings.secret_keys:
        return Sealer(settings.secret_keys)
    path = settings.database.sqlite_path
    if path is None:
        if settings.database.url.startswith("sqlite"):  # in memory (tests): a key for this process
            return _memory_sealer()
        raise SealingUnavailable("configure secret_keys (S3API_SECRET_KEYS): several replicas need one shared key")
    return Sealer((_file_key(Path(path).parent / KEY_FILE),))


_memory: list[Sealer] = []


def _memory_sealer() -> Sealer:
    with _file_lock:
        if not _memory:
            _memory.append(Sealer((os.urandom(32),)))
        return _memory[0]


def _file_key(path: Path) -> bytes:
    with _file_lock:
        try:
            key = path.read_bytes()
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            key = os.urandom(32)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process won the race: use its key
                return path.read_bytes()
            with os.fdopen(fd, "wb") as fh:
                fh.write(key)
        if len(key) != 32:
            raise SealingUnavailable(f"{path} does not hold a 32-byte key")
        return key
