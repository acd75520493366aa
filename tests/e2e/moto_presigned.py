"""Teach moto's IAM enforcement to check presigned (query-string SigV4) URLs, as AWS does.

moto 5.2.5's enforcement (``moto/iam/access_control.py``, ``IAMRequestBase``) reads the credential and the
signature from the ``Authorization`` header only: a presigned URL has none, so under enforcement every
presigned request is a **500** (``KeyError: 'HTTP_AUTHORIZATION'``), valid or not — and without enforcement
moto checks no signature and no key at all (a deleted key's URL keeps working). Neither says anything about
revocation. :func:`presigned_auth` patches the two methods for requests without ``Authorization`` that carry
``X-Amz-Credential``: the key must exist (else ``InvalidAccessKeyId``, AWS's answer for a deleted key), the URL
must not have expired (``AccessDenied``), the signature must be the one botocore computes for that key
(``SignatureDoesNotMatch``), and then moto's own policy check runs (the signer's permissions). Requests with an
``Authorization`` header take moto's own path, unchanged. Tests that need it pin moto (internals).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from moto.iam import access_control as ac
from moto.s3.exceptions import S3ClientError
from moto.utilities.utils import get_partition


def _query(path: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))


class RequestExpired(S3ClientError):
    code = 403

    def __init__(self) -> None:
        super().__init__("AccessDenied", "Request has expired")


@contextmanager
def presigned_auth() -> Iterator[None]:
    original_init = ac.IAMRequestBase.__init__
    original_check = ac.IAMRequestBase.check_signature

    def __init__(
        self: Any, account_id: str, method: str, path: str, data: Any, body: bytes, headers: Any, action: Any
    ) -> None:
        query = _query(path)
        if "Authorization" in headers or "X-Amz-Credential" not in query:
            original_init(self, account_id, method, path, data, body, headers, action)
            return
        self.account_id = account_id
        self._method, self._path, self._data, self._body, self._headers = method, path, data, body, headers
        key_id, _day, region, service, _ = query["X-Amz-Credential"].split("/")
        self._region, self._service = region, service
        self._action = f"{service}:{action[0] if isinstance(action, list) else action}"
        self._presigned = query
        try:
            self._access_key = ac.create_access_key(
                account_id=account_id, partition=get_partition(region), access_key_id=key_id, headers=headers
            )
        except ac.CreateAccessKeyFailure as exc:
            self._raise_invalid_access_key(exc.reason)

    def check_signature(self: Any) -> None:
        query = getattr(self, "_presigned", None)
        if query is None:
            original_check(self)
            return
        signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        expires = int(query["X-Amz-Expires"])
        if datetime.now(UTC) > signed_at + timedelta(seconds=expires):
            raise RequestExpired()
        parts = urlsplit(self._path)
        unsigned = "&".join(p for p in parts.query.split("&") if not p.startswith("X-Amz-Signature="))
        request = AWSRequest(method=self._method, url=f"http://{self._headers['Host']}{parts.path}?{unsigned}")
        request.context["timestamp"] = query["X-Amz-Date"]
        auth = S3SigV4QueryAuth(self._access_key.create_credentials(), self._service, self._region, expires=expires)
        expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
        if expected != query.get("X-Amz-Signature"):
            self._raise_signature_does_not_match()

    ac.IAMRequestBase.__init__ = __init__  # type: ignore[method-assign]
    ac.IAMRequestBase.check_signature = check_signature  # type: ignore[method-assign]
    try:
        yield
    finally:
        ac.IAMRequestBase.__init__ = original_init  # type: ignore[method-assign]
        ac.IAMRequestBase.check_signature = original_check  # type: ignore[method-assign]
