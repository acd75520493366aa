"""flask-smorest glue: our Blueprint (400 for bad input, not 422) and the Api object."""

from __future__ import annotations

from typing import Any, Callable

import flask_smorest
import marshmallow as ma
from webargs.flaskparser import FlaskParser


class Parser(FlaskParser):
    """400 for badly formed requests (the Yale contract), and unknown query parameters are errors too
    (webargs would silently drop them): every schema's own ``unknown`` setting (RAISE) applies."""

    DEFAULT_VALIDATION_STATUS = 400
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None, "querystring": None}


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
