"""flask-smorest glue: our Blueprint (400 for bad input, not 422) and the Api object."""

from __future__ import annotations

from typing import Any, Callable

import flask_smorest
import marshmallow as ma
from marshmallow import validate
from webargs.flaskparser import FlaskParser

from s3api.validation import MAX_TAGS


def _max_length(key: str, field: ma.fields.Field) -> int | None:
    """The smallest ``Length(max=...)`` among a List field's validators; for ``Tags`` lists (whose rules run in
    ``s3api.validation`` after loading) AWS's 50 tags per resource; else None."""
    limits = [v.max for v in field.validators if isinstance(v, validate.Length) and v.max is not None]
    if key == "Tags":
        limits.append(MAX_TAGS)
    return min(limits) if limits else None


def check_list_lengths(data: Any, schema: ma.Schema) -> None:
    """Refuse (ValidationError) a list longer than its field's ``Length(max=...)`` BEFORE marshmallow
    deserialises its items: marshmallow runs ``Length`` only after every item went through its field, so
    300,000 keys cost seconds of CPU before the 400. Nested schemas are checked the same way."""
    if not isinstance(data, dict):
        return
    for name, field in schema.fields.items():
        key = field.data_key or name
        value = data.get(key)
        if isinstance(field, ma.fields.List) and isinstance(value, list):
            limit = _max_length(key, field)
            if limit is not None and len(value) > limit:
                raise ma.ValidationError({key: [f"at most {limit} items (got {len(value)})"]})
        elif isinstance(field, ma.fields.Nested) and isinstance(field.schema, ma.Schema) and not field.many:
            check_list_lengths(value, field.schema)


class Parser(FlaskParser):
    """400 for badly formed requests (the Yale contract), and unknown query parameters are errors too
    (webargs would silently drop them): every schema's own ``unknown`` setting (RAISE) applies."""

    DEFAULT_VALIDATION_STATUS = 400
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None, "querystring": None}

    def pre_load(self, location_data: Any, *, schema: ma.Schema, req: Any, location: str) -> Any:
        if location == "json":
            check_list_lengths(location_data, schema)
        return location_data


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()

    def arguments(self, schema: Any, **kwargs: Any) -> Callable[..., Any]:  # type: ignore[override]
        kwargs.setdefault("error_status_code", 400)
        return super().arguments(schema, **kwargs)


class ErrorSchema(ma.Schema):
    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    request_id = ma.fields.String(allow_none=True)
    errors = ma.fields.Dict()


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema

    def __init__(self, app: Any = None, *, spec_kwargs: dict[str, Any] | None = None) -> None:
        from s3api.openapi import ServerAnswersPlugin

        spec_kwargs = {"extra_plugins": [ServerAnswersPlugin()], **(spec_kwargs or {})}
        super().__init__(app, spec_kwargs=spec_kwargs)


STRING_LIST = {"type": "array", "items": {"type": "string"}}


def json_response(blp: Blueprint, schema: dict[str, Any], status: int = 200) -> Callable[..., Any]:
    """Document a plain JSON answer (e.g. a list of names) that needs no marshmallow schema."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        content = {"application/json": {"schema": schema}}
        fn = blp.response(status)(fn)
        return blp.doc(responses={str(status): {"description": "OK", "content": content}})(fn)  # type: ignore[no-any-return]

    return decorate
