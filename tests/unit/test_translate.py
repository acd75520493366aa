import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError

from s3api import errors
from s3api.aws.translate import gateway, translate


def client_error(code: str, status: int = 400, message: str = "aws says no") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
    )


@pytest.mark.parametrize(
    "code, status, expected",
    [
        ("NoSuchBucket", 404, errors.NotFound),
        ("NoSuchEntity", 404, errors.NotFound),
        ("BucketAlreadyExists", 409, errors.Conflict),
        ("EntityAlreadyExists", 409, errors.Conflict),
        ("DeleteConflict", 409, errors.Conflict),
        ("AccessDenied", 403, errors.Forbidden),
        ("Throttling", 400, errors.TooManyRequests),
        ("SlowDown", 503, errors.TooManyRequests),
        ("ServiceUnavailable", 503, errors.ServiceUnavailable),
        ("MalformedPolicyDocument", 400, errors.BadRequest),
        ("InvalidBucketName", 400, errors.BadRequest),
        ("", 403, errors.Forbidden),  # moto's CloudFront/Route53 denials carry no code
        ("", 404, errors.NotFound),
        ("SomethingNew", 500, errors.InternalError),
        ("SomethingNew", 502, errors.ServiceUnavailable),
    ],
)
def test_error_table(code, status, expected):
    err = translate(client_error(code, status), "s3")
    assert type(err) is expected


def test_throttling_sets_retry_after():
    err = translate(client_error("Throttling"), "iam")
    assert err.status == 429 and err.headers["Retry-After"].isdigit()


def test_server_errors_hide_aws_internals():
    err = translate(client_error("InternalError", 500, "stack trace at host-123"), "s3")
    assert "host-123" not in err.message
    err = translate(client_error("SomethingNew", 500, "internal detail"), "s3")
    assert "internal detail" not in err.message


def test_client_errors_keep_the_aws_reason():
    err = translate(client_error("MalformedPolicyDocument", 400, "bad Effect"), "iam")
    assert "bad Effect" in err.message and err.status == 400


def test_connection_and_param_errors():
    assert translate(EndpointConnectionError(endpoint_url="http://x")).status == 503
    assert translate(ParamValidationError(report="Bucket is wrong")).status == 400
    assert translate(RuntimeError("boom")).status == 500


def test_gateway_decorator_translates():
    @gateway("s3")
    def fails() -> None:
        raise client_error("NoSuchKey", 404)

    with pytest.raises(errors.NotFound):
        fails()
