"""flask-smorest glue: our Blueprint (400 for bad input, not 422), the Api object and the path converters."""

from __future__ import annotations

from typing import Any, Callable, ClassVar

import flask_smorest
import marshmallow as ma
from flask import current_app, has_app_context
from marshmallow import validate
from webargs.flaskparser import FlaskParser
from werkzeug import exceptions
from werkzeug.routing import BaseConverter

from s3api.schemas.fields import PathValues
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


# --- path values: checked once, at routing ---------------------------------------------------------------------

PATH_VALUES = PathValues()


class BadPathValue(exceptions.BadRequest):
    """A path value its field refuses: rendered by the one error handler (:mod:`s3api.errors`) as the 400 every
    bad input gets, ``errors`` naming the path value; the message is the field's (as when workflows checked)."""

    def __init__(self, name: str, messages: list[str]) -> None:
        super().__init__()
        self.data = {"messages": {name: messages}, "message": messages[0] if messages else None}


class PathValueConverter(BaseConverter):
    """One path segment checked with ``PathValues.<name>`` when the URL is matched, before any view or
    workflow runs: 400 in the JSON envelope for a bad value. Werkzeug converts after choosing the rule and
    method, and Flask raises routing errors after the ``before_request`` hooks: authentication still comes
    first and a wrong method is still 405. The matched rule is then unknown (metrics: the unmatched route)."""

    name: ClassVar[str]

    def to_python(self, value: str) -> Any:
        try:
            return PATH_VALUES.fields[self.name].deserialize(value)
        except ma.ValidationError as exc:
            messages = exc.messages if isinstance(exc.messages, list) else [str(exc.messages)]
            raise BadPathValue(self.name, [str(m) for m in messages]) from None


class AccountConverter(PathValueConverter):
    """A configured account, else 404 (``runtime.aws``'s answer): an unknown account is 404 whatever the rest of
    the path holds, as when the view looked it up first."""

    name = "account"

    def to_python(self, value: str) -> Any:
        unknown = exceptions.NotFound(f"account '{value}' is not configured")
        try:
            PATH_VALUES.fields[self.name].deserialize(value)
        except ma.ValidationError:
            raise unknown from None
        if has_app_context() and current_app.extensions["s3api"].settings.account(value) is None:
            raise unknown
        return value


class BucketConverter(PathValueConverter):
    """A bucket as addressed: the lax rule (legacy names reach every bucket route; create stays strict)."""

    name = "bucket"


class WebsiteConverter(PathValueConverter):
    """A website's host name: current bucket naming rules (websites are only ever created by us)."""

    name = "website"


class UserConverter(PathValueConverter):
    """An IAM user name."""

    name = "user"


class ObjectKeyConverter(PathValueConverter):
    """An object key: any non-empty rest of the path, a leading slash and ``//`` included (werkzeug's ``path``
    refuses a leading slash), then 1..1024 bytes of UTF-8. Rules using it need ``merge_slashes=False``."""

    name = "key"
    regex = ".+?"
    part_isolating = False


PATH_CONVERTERS: dict[str, type[PathValueConverter]] = {
    "account": AccountConverter,
    "bucket": BucketConverter,
    "website": WebsiteConverter,
    "user": UserConverter,
    "s3key": ObjectKeyConverter,
}


def _regexp(v: Any) -> str | None:
    return str(v.regex.pattern) if isinstance(v, validate.Regexp) else None


def path_parameter_schema(converter: PathValueConverter) -> dict[str, Any]:
    """The OpenAPI schema of a path value, from its field: pattern (``FullMatch``'s ECMA-262 form) and
    description."""
    field = PATH_VALUES.fields[converter.name]
    schema: dict[str, Any] = {"type": "string", "minLength": 1}
    patterns = [p for v in field.validators if (p := _regexp(v))]
    if patterns:
        schema["pattern"] = patterns[0]
    if field.metadata.get("description"):
        schema["description"] = field.metadata["description"]
    return schema


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema

    def __init__(self, app: Any = None, *, spec_kwargs: dict[str, Any] | None = None) -> None:
        from s3api.openapi import IdempotencyPlugin, ServerAnswersPlugin

        spec_kwargs = {"extra_plugins": [ServerAnswersPlugin(), IdempotencyPlugin()], **(spec_kwargs or {})}
        super().__init__(app, spec_kwargs=spec_kwargs)

    def init_app(self, app: Any, *, spec_kwargs: dict[str, Any] | None = None) -> None:
        """flask-smorest's, plus our path converters (on the app's URL map and in the OpenAPI document)."""
        super().init_app(app, spec_kwargs=spec_kwargs)
        for name, converter in PATH_CONVERTERS.items():
            app.url_map.converters[name] = converter
            self.register_converter(converter, path_parameter_schema)


STRING_LIST = {"type": "array", "items": {"type": "string"}}


def json_response(blp: Blueprint, schema: dict[str, Any], status: int = 200) -> Callable[..., Any]:
    """Document a plain JSON answer (e.g. a list of names) that needs no marshmallow schema."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        content = {"application/json": {"schema": schema}}
        fn = blp.response(status)(fn)
        return blp.doc(responses={str(status): {"description": "OK", "content": content}})(fn)  # type: ignore[no-any-return]

    return decorate
