"""``Idempotency-Key`` on every creating or changing request (POST, PUT, PATCH, DELETE of any route of the URL
map), as request hooks: no view has code of its own for it. Design note control-plane.md, "API conventions".

- Scope: the caller (``key:<id>`` for an API key, ``token:<name>`` for a configured token) and the key. Two
  callers using the same key are independent.
- The key: 1 to 255 printable ASCII characters, else 400 (nothing runs). GET and HEAD ignore the header.
- The request's fingerprint: SHA-256 of the method, the path, the query string and the body's SHA-256.
- First use: the key is claimed (an ``in_flight`` row, :class:`s3api.db.idempotency.IdempotencyStore`) before
  the audit's ``started`` event and the view; the answer is stored when the request ends: status, ``Location``
  and ``Content-Type``, body. An answer with status >= 500 or 429 is not stored (the claim is deleted): a retry
  with the same key runs again.
- A repeat with the same fingerprint replays the stored answer (same status and body, ``Location`` and
  ``Content-Type``; its own request id in ``X-Request-Id``) with ``Idempotent-Replayed: true``; the view does not
  run. For an asynchronous route (202) that is the same operation: the same body and ``Location``.
- A repeat that arrives while the first is running waits for it (up to ``idempotency_wait`` seconds, 10 by
  default, polling the record every 50 ms), then replays; still running after the wait: 409
  ``IdempotencyKeyInFlight`` with ``Retry-After``. If the first ends with a 5xx, a waiting repeat runs itself.
- The key with another fingerprint (method, path, query or body): 422 ``IdempotencyKeyReused``, nothing runs.
- Audit: a replay writes one event like every mutating request, with outcome ``replayed`` (it shows again what
  the first answer showed, a secret included); the first request's event is its own.

Secrets: the answers of key and user creates (and key rotations) carry a secret shown once. The body is stored
sealed (AES-256-GCM) under a key derived from the caller's own ``X-Auth-Token`` value and the Idempotency-Key,
neither of which the database holds (it keeps only a digest of an API key's secret): a copy of the database
does not give the secrets back, and only the same caller presenting the same token and key within 24 hours gets
the replay (Stripe's rule). A repeat proving the same caller with another token value (a rotated configured
token) cannot open it: 422. Nothing of the body or the key is logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask, Response, current_app, g, request

from s3api.db.idempotency import Claim, IdempotencyStore, Seen
from s3api.db.session import Database
from s3api.errors import BadRequest, IdempotencyKeyInFlight, IdempotencyKeyReused
from s3api.names import IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY, REPLAYED_HEADER
from s3api.provisioning import periodic

log = logging.getLogger("s3api.idempotency")

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: the headers of the first answer a replay gives again (request ids are each request's own)
REPLAYED_HEADERS = ("Content-Type", "Location")
POLL_SECONDS = 0.05
_SEAL = b"v1."


@dataclass(frozen=True)
class Held:
    """The claim the current request holds, and the key its answer is sealed with."""

    claim: Claim
    seal: bytes


def scope(caller: Any) -> str:
    """The caller part of a key's scope: ``key:<id>`` or ``token:<name>`` (long names by their digest)."""
    name = f"key:{caller.id}" if caller.id is not None else f"token:{caller.name}"
    if len(name) > 64:
        name = "token#" + hashlib.sha256(caller.name.encode()).hexdigest()[:40]
    return name


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    parts = [method.encode(), path.encode(), query, hashlib.sha256(body).hexdigest().encode()]
    return hashlib.sha256(b"\n".join(parts)).hexdigest()


def _seal_key(token: str, caller: str, key: str) -> bytes:
    message = b"\0".join([b"s3api idempotency v1", caller.encode(), key.encode()])
    return hmac.new(token.encode(), message, hashlib.sha256).digest()


def seal(secret: bytes, fp: str, body: bytes) -> str:
    nonce = os.urandom(12)
    return (_SEAL + base64.b64encode(nonce + AESGCM(secret).encrypt(nonce, body, fp.encode()))).decode()


def unseal(secret: bytes, fp: str, stored: str) -> bytes | None:
    """The body, or None when this secret cannot open it (another token value)."""
    raw = stored.encode()
    if not raw.startswith(_SEAL):
        return None
    try:
        data = base64.b64decode(raw[len(_SEAL) :], validate=True)
        return AESGCM(secret).decrypt(data[:12], data[12:], fp.encode())
    except (InvalidTag, ValueError):
        return None


def _key_header() -> str | None:
    value = request.headers.get(IDEMPOTENCY_HEADER)
    if value is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(value):
        message = f"{IDEMPOTENCY_HEADER} must be 1 to 255 printable ASCII characters"
        raise BadRequest(message, errors={"headers": {IDEMPOTENCY_HEADER: ["1 to 255 printable ASCII characters"]}})
    return value


def _reused() -> IdempotencyKeyReused:
    return IdempotencyKeyReused(
        f"this {IDEMPOTENCY_HEADER} was used with another request (method, path, query or body): use a new key"
    )


def _replay(seen: Seen, secret: bytes) -> Response:
    body = unseal(secret, seen.fingerprint, seen.body or "")
    if body is None:
        raise IdempotencyKeyReused(
            f"this {IDEMPOTENCY_HEADER}'s answer can be replayed only to the X-Auth-Token that made it: use a new key"
        )
    response = Response(body, status=seen.status or 200)
    for name in REPLAYED_HEADERS:
        if name in seen.headers:
            response.headers[name] = seen.headers[name]
    response.headers[REPLAYED_HEADER] = "true"
    g.idempotent_replay = True
    return response


def _store() -> IdempotencyStore:
    found: IdempotencyStore = current_app.extensions["s3api.idempotency"]
    return found


def init_app(app: Flask, db: Database, wait: float) -> None:
    """Register the hooks. Call after ``auth.init_app`` (the caller is known) and before ``audit.init_start``:
    a replay, a 409 or a 422 happens before the audit's ``started`` event (the after-request hook still writes
    the request's one event), and a first request's claim is in place before any work starts."""
    store = IdempotencyStore(db)
    app.extensions["s3api.idempotency"] = store

    @app.before_request
    def _claim() -> Response | None:
        g.idempotency = None
        g.idempotent_replay = False
        if request.method not in MUTATING or request.endpoint is None:
            return None  # a read, or no route: 404/405 follows
        key = _key_header()
        caller = g.get("caller")
        if key is None or caller is None:
            return None
        who = scope(caller)
        fp = fingerprint(request.method, request.path, request.query_string, request.get_data(cache=True))
        secret = _seal_key(request.headers.get("X-Auth-Token", ""), who, key)
        deadline = time.monotonic() + wait
        while True:
            found = store.claim(who, key, request.method, request.path, fp)
            if isinstance(found, Claim):
                g.idempotency = Held(found, secret)
                return None
            seen: Seen | None = found
            while seen is not None:
                if seen.fingerprint != fp:
                    raise _reused()
                if seen.done:
                    return _replay(seen, secret)
                if time.monotonic() >= deadline:
                    raise IdempotencyKeyInFlight(
                        f"the first request with this {IDEMPOTENCY_HEADER} is still running: retry later"
                    )
                time.sleep(POLL_SECONDS)
                seen = store.get(who, key)
            # the first request's answer was not kept (5xx): claim the key for this one

    @app.after_request
    def _finish(response: Response) -> Response:
        held: Held | None = g.pop("idempotency", None)
        if held is None:
            return response
        status = response.status_code
        try:
            if status >= 500 or status == 429 or response.is_streamed:
                store.forget(held.claim)
                return response
            headers = {n: response.headers[n] for n in REPLAYED_HEADERS if n in response.headers}
            sealed = seal(held.seal, held.claim.fingerprint, response.get_data())
            if not store.finish(held.claim, status, headers, sealed):
                log.warning("idempotency claim was taken over before the answer: not stored", extra={"status": status})
        except Exception as exc:  # the database failed: the answer stands; the claim goes stale or expires
            log.error("idempotency record not written", extra={"status": status, "error": type(exc).__name__})
            _forget_quietly(store, held.claim)
        return response

    @app.teardown_request
    def _abandoned(exc: BaseException | None) -> None:
        held: Held | None = g.pop("idempotency", None)
        if held is not None:  # the request ended without an answer the after-request hook saw
            _forget_quietly(store, held.claim)


def _forget_quietly(store: IdempotencyStore, claim: Claim) -> None:
    try:
        store.forget(claim)
    except Exception as exc:
        log.error("idempotency claim not released", extra={"error": type(exc).__name__})


# --- retention: a periodic task ------------------------------------------------------------------------------

_STORES: dict[str, IdempotencyStore] = {}


@periodic.task("idempotency_purge")
def purge_expired_keys(aws: Any) -> int:
    """Delete the records kept 24 hours. Periodic tasks run per account: the first account of a run
    deletes, the others find nothing left. A database error is logged and counted by the periodic runner."""
    database = aws.settings.database
    store = _STORES.get(database.url)
    if store is None:
        store = _STORES.setdefault(database.url, IdempotencyStore(Database(database)))
    return store.purge()
