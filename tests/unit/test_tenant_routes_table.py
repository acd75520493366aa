"""The tenant route table of ``s3api.auth``: its shape (the URL-map walk: tests/api/test_isolation_routes.py)."""

from __future__ import annotations

from s3api import auth


def test_template_ignores_placeholder_names() -> None:
    assert auth.template("/v1/s3/<account:account>/buckets/<bucket:bucket>") == "/v1/s3/{}/buckets/{}"
    assert auth.template("/v1/s3/{account}/buckets/{bucket}") == "/v1/s3/{}/buckets/{}"
    assert auth.template("/v1/s3/operations/<operation_id>") == "/v1/s3/operations/{}"


def test_every_entry_names_a_known_reach_and_method() -> None:
    for (method, path), reach in auth.TENANT_ROUTES.items():
        assert reach in auth.REACHES, (method, path)
        assert method in {"GET", "POST", "PUT", "PATCH", "DELETE"}, (method, path)
        assert path.startswith("/v1/s3/"), path
        if reach in ("bucket", "website", "account"):
            assert path.startswith("/v1/s3/{account}"), path


def test_head_goes_with_get_and_nothing_else_is_implied() -> None:
    rule = "/v1/s3/<account:account>/buckets/<bucket:bucket>"
    assert auth.tenant_route("HEAD", rule) == auth.tenant_route("GET", rule) == "bucket"
    assert auth.tenant_route("POST", rule) is None
    assert auth.tenant_route("GET", "/v1/s3/keys") is None
    assert auth.tenant_route("GET", "/v1/s3/tenants") is None
    assert auth.tenant_route("GET", "/v1/s3/tenants/<tenant_id>") == "self"
    assert auth.tenant_route("POST", "/v1/s3/operations/<operation_id>/cancel") is None


def test_refused_fields_are_on_tenant_routes() -> None:
    for key in auth.TENANT_REFUSED_FIELDS:
        assert key in auth.TENANT_ROUTES
