"""Reusable marshmallow fields and the tag schema, enforcing :mod:`s3api.validation` rules at the edge."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from s3api.names import ACCOUNT_NAME, USER_NAME_PATTERN
from s3api.validation import (
    BUCKET_NAME_PATTERN,
    EXISTING_BUCKET_NAME_PATTERN,
    bucket_name_error,
    object_key_error,
    tag_key_error,
    tag_value_error,
)


class StrictBoolean(fields.Boolean):
    """A boolean that accepts only JSON ``true``/``false`` — not ``"yes"``, ``1`` or ``"false"``."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> bool:
        if type(value) is not bool:
            raise self.make_error("invalid", input=value)
        return value


class BucketNameField(fields.String):
    """A string that must be a valid S3 general-purpose bucket name."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        name = super()._deserialize(value, attr, data, **kwargs)
        problem = bucket_name_error(name)
        if problem:
            raise ValidationError(problem)
        return name


def _check(rule: Any) -> Any:
    def validator(value: Any) -> None:
        problem = rule(value)
        if problem:
            raise ValidationError(problem)

    return validator


class TagSchema(Schema):
    """One AWS tag, ``{"Key": ..., "Value": ...}``; unknown fields are rejected."""

    class Meta:
        unknown = RAISE

    Key = fields.String(required=True, validate=_check(tag_key_error))
    Value = fields.String(required=True, validate=_check(tag_value_error))


#: What an XML 1.0 body cannot carry: control characters but tab and newline, U+FFFE, U+FFFF; and a carriage
#: return, which XML turns into a newline (DeleteObjects would delete another key).
NOT_IN_XML = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]")


def xml_safe(field: str) -> Callable[[Any], None]:
    """A validator for values S3 or CloudFront receive inside XML: no control characters (400, not a 5xx).
    Works on strings and on nested lists and dicts of them (e.g. RoutingRules)."""

    def check(value: Any) -> None:
        if isinstance(value, str):
            if NOT_IN_XML.search(value):
                raise ValidationError(f"{field} must not hold control characters")
        elif isinstance(value, dict):
            for k, v in value.items():
                check(k)
                check(v)
        elif isinstance(value, list):
            for v in value:
                check(v)

    return check


class FullMatch(validate.Regexp):
    """A whole-string pattern validator whose OpenAPI ``pattern`` means the same in ECMA-262.

    JSON Schema patterns are ECMA-262 and Python's are not: Python's ``$`` also matches before a trailing
    newline, and ECMA-262 has no ``\\Z``. The document gets ``^(?:pattern)$`` (``$`` is end of input in
    ECMA-262 without the ``m`` flag) and the value is checked with ``re.fullmatch``, which is exactly that.
    ``pattern`` itself must use only syntax both dialects share (character classes, ``\\xNN``, quantifiers).
    """

    def __init__(self, pattern: str, *, error: str | None = None) -> None:
        super().__init__(rf"^(?:{pattern})$", error=error)
        self._whole = re.compile(pattern)

    def __call__(self, value: Any) -> Any:  # type: ignore[override]
        if not isinstance(value, str) or self._whole.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class ObjectKeyField(fields.String):
    """An S3 object key: 1..1024 bytes of UTF-8 (:func:`s3api.validation.object_key_error`)."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        key = super()._deserialize(value, attr, data, **kwargs)
        problem = object_key_error(key)
        if problem:
            raise ValidationError(problem)
        return key


#: A configured account's name: the rule :mod:`s3api.config` enforces (a name outside it is never configured).
ACCOUNT_NAME_PATTERN = ACCOUNT_NAME.pattern.removeprefix("^").removesuffix("$")


class PathValues(Schema):
    """The values a URL path carries, one field each. The path converters of :mod:`s3api.api` check a value
    with its field here, once, before the view runs (400 in the JSON envelope), and document it from the same
    field; views and workflows receive checked values."""

    account = fields.String(
        validate=FullMatch(ACCOUNT_NAME_PATTERN, error="account {input!r} is not configured"),
        metadata={"description": "a configured account (GET /v1/s3/accounts); 404 for any other"},
    )
    bucket = fields.String(
        validate=FullMatch(
            EXISTING_BUCKET_NAME_PATTERN, error="invalid bucket name {input!r}: 3-255 letters, digits, '.', '_' and '-'"
        ),
        metadata={
            "description": "an existing bucket: buckets created in us-east-1 before March 2018 may hold upper-case "
            "letters and underscores, and are reachable on every bucket route"
        },
    )
    website = BucketNameField(
        validate=FullMatch(BUCKET_NAME_PATTERN),
        metadata={"description": "the site's host name, which is its bucket's name (current S3 naming rules)"},
    )
    user = fields.String(
        validate=FullMatch(USER_NAME_PATTERN, error="invalid user name {input!r}: 1-64 letters, digits and _+=,.@-"),
        metadata={"description": "an IAM user name"},
    )
    key = ObjectKeyField(
        metadata={"description": "an object key, 1-1024 bytes of UTF-8, slashes included (percent-encode as usual)"}
    )
