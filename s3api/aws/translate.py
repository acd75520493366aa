"""AWS error code -> our error: the one table, and the wrapper every gateway function uses.

botocore's own retries (standard mode) run first; whatever throttling survives them becomes 429 with
``Retry-After``. moto sometimes sends no error code (CloudFront/Route53 denials): the HTTP status decides
then. AWS's message text is passed on only for 4xx input errors. 5xx bodies never carry AWS internals, and
neither do denials (403): AWS's AccessDenied text names the service identity's ARNs (role, session, account),
so the client gets the AWS code and a generic message, and the AWS text goes to the log.

The wrapper also records what each gateway function calls (``@gateway("s3", "HeadBucket")``): the
service role's policy comes from these declarations (:mod:`s3api.aws.permissions`), and while a gateway
function runs, :func:`current_gateway` names it (one context variable; tests check every call against it).
"""

from __future__ import annotations

import functools
import logging
from contextvars import ContextVar
from typing import Any, Callable, TypeVar, cast

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)

from s3api.aws.permissions import Declaration, declare
from s3api.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    InternalError,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
)

log = logging.getLogger("s3api.aws")

NOT_FOUND = {
    "NoSuchBucket",
    "NoSuchKey",
    "NoSuchUpload",
    "NotFound",
    "NoSuchBucketPolicy",
    "NoSuchLifecycleConfiguration",
    "NoSuchVersion",
    "NoSuchTagSet",
    "NoSuchTagSetError",
    "NoSuchWebsiteConfiguration",
    "NoSuchEntity",
    "NoSuchDistribution",
    "NoSuchInvalidation",
    "NoSuchHostedZone",
    "HostedZoneNotFound",
    "NoSuchChange",
    "NoSuchOrigin",
    "NoSuchResource",
    "ResourceNotFoundException",
    "NoSuchOriginAccessControl",
    "NoSuchCloudFrontOriginAccessIdentity",
    "404",
}
CONFLICT = {
    "BucketAlreadyExists",
    "BucketAlreadyOwnedByYou",
    "BucketNotEmpty",
    "InvalidBucketState",
    "OperationAborted",
    "RestoreAlreadyInProgress",
    "EntityAlreadyExists",
    "DeleteConflict",
    "ConcurrentModification",
    "ConcurrentModificationException",
    "CNAMEAlreadyExists",
    "DistributionAlreadyExists",
    "DistributionNotDisabled",
    "ConflictingDomainExists",
    "HostedZoneNotEmpty",
    "PreconditionFailed",
    "OriginAccessControlAlreadyExists",
    "OriginAccessControlInUse",
    "ResourceInUse",
    "InvalidIfMatchVersion",
    "PriorRequestNotComplete",
}
FORBIDDEN = {
    "AccessDenied",
    "AccessDeniedException",
    "AccountProblem",
    "AllAccessDisabled",
    "Forbidden",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "NotAuthorizedException",
    "UnauthorizedOperation",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "403",
}
THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "SlowDown",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "LimitExceeded",
    "LimitExceededException",
    "TooManyBuckets",
    "TooManyInvalidationsInProgress",
    "TooManyDistributions",
    "TooManyCertificates",
    "BatchTooLarge",
    "ReportGenerationLimitExceeded",
    "429",
}
UNAVAILABLE = {
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ServiceFailure",
    "InternalError",
    "InternalFailure",
    "RequestTimeout",
    "RequestTimeoutException",
    "503",
    "500",
}

TABLE: dict[str, type[ApiError]] = {}
for _codes, _cls in (
    (NOT_FOUND, NotFound),
    (CONFLICT, Conflict),
    (FORBIDDEN, Forbidden),
    (THROTTLED, TooManyRequests),
    (UNAVAILABLE, ServiceUnavailable),
):
    TABLE.update(dict.fromkeys(_codes, _cls))


def error_code(exc: ClientError) -> str:
    """The AWS error code, or the HTTP status as a string when the backend sent none."""
    err = exc.response.get("Error", {})
    code = str(err.get("Code") or "")
    if not code:
        code = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return code


def http_status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def translate(exc: Exception, service: str = "aws") -> ApiError:
    """Map one botocore exception to our error."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ClientError):
        code = error_code(exc)
        cls = TABLE.get(code)
        if cls is None:
            status = http_status(exc)
            if code.startswith("TooMany"):
                cls = TooManyRequests
            elif 400 <= status < 500:
                cls = {403: Forbidden, 404: NotFound, 409: Conflict, 429: TooManyRequests}.get(status, BadRequest)
            else:
                cls = ServiceUnavailable if status in (502, 503, 504) else InternalError
        message = str(exc.response.get("Error", {}).get("Message") or code or "error")
        if cls in (InternalError, ServiceUnavailable):
            log.warning("%s error %s: %s", service, code, message)
            return cls()
        if cls is Forbidden:
            log.warning("%s denied %s: %s", service, code, message)
            named = f"{code}: " if code and not code.isdigit() else ""
            return Forbidden(f"{service}: {named}the service's AWS identity was denied this action")
        return cls(f"{service}: {code}: {message}" if code and not code.isdigit() else f"{service}: {message}")
    if isinstance(exc, ParamValidationError):
        return BadRequest(f"{service}: invalid parameters: {exc.kwargs.get('report', '')}".strip())
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)):
        log.warning("%s unreachable: %s", service, type(exc).__name__)
        return ServiceUnavailable(f"{service} is unreachable, retry later")
    if isinstance(exc, BotoCoreError):
        log.warning("%s botocore error: %s", service, type(exc).__name__)
        return ServiceUnavailable(f"{service} call failed, retry later")
    log.error("unexpected error", exc_info=exc)
    return InternalError()


F = TypeVar("F", bound=Callable[..., Any])

_current: ContextVar[Declaration | None] = ContextVar("s3api_gateway", default=None)


def current_gateway() -> Declaration | None:
    """The declaration of the innermost gateway function running in this context (tests check calls with it)."""
    return _current.get()


def gateway(service: str, *operations: str, actions: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Decorate a gateway function: botocore errors leave it as our errors.

    ``operations``: the botocore operations the function makes itself (``"HeadBucket"``); ``actions``: IAM
    actions it needs beyond theirs (see :mod:`s3api.aws.permissions`). Both are recorded once, here.
    """

    def wrap(fn: F) -> F:
        declaration = declare(f"{fn.__module__}.{fn.__qualname__}", service, operations, actions)

        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            token = _current.set(declaration)
            try:
                return fn(*args, **kwargs)
            except ApiError:
                raise
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, service) from exc
            finally:
                _current.reset(token)

        inner.declaration = declaration  # type: ignore[attr-defined]
        return cast(F, inner)

    return wrap


def is_code(exc: BaseException, *codes: str) -> bool:
    """True when ``exc`` is a ClientError whose code is one of ``codes``."""
    return isinstance(exc, ClientError) and error_code(exc) in codes
