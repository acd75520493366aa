"""Reusable marshmallow fields and the tag schema, enforcing :mod:`s3api.validation` rules at the edge."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields

from s3api.validation import bucket_name_error, tag_key_error, tag_value_error


class StrictBoolean(fields.Boolean):
    """A boolean that accepts only JSON ``true``/``false`` — not ``"yes"``, ``1`` or ``"false"``."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> bool:
        if type(value) is not bool:
            raise self.make_error("invalid", input=value)
        return value


class BucketNameField(fields.String):
    """A string that must be a valid S3 general-purpose bucket name."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
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
