import pytest
from marshmallow import Schema, ValidationError

from s3api.schemas.fields import BucketNameField, StrictBoolean, TagSchema


class Sample(Schema):
    flag = StrictBoolean()
    bucket = BucketNameField()


@pytest.mark.parametrize("value", [True, False])
def test_strict_boolean_accepts_json_booleans(value):
    assert Sample().load({"flag": value}) == {"flag": value}


@pytest.mark.parametrize("value", ["true", "false", 1, 0, "yes", None, [], 1.0])
def test_strict_boolean_rejects_everything_else(value):
    with pytest.raises(ValidationError) as exc:
        Sample().load({"flag": value})
    assert "flag" in exc.value.messages


def test_strict_boolean_serialises_normally():
    assert Sample().dump({"flag": True}) == {"flag": True}


def test_bucket_name_field():
    assert Sample().load({"bucket": "ok-bucket"}) == {"bucket": "ok-bucket"}
    for bad in ["Bad", "xn--abc", "1.2.3.4", 7]:
        with pytest.raises(ValidationError) as exc:
            Sample().load({"bucket": bad})
        assert list(exc.value.messages) == ["bucket"]
    with pytest.raises(ValidationError) as exc:
        Sample().load({"bucket": "my..bucket"})
    assert "adjacent periods" in exc.value.messages["bucket"][0]


def test_tag_schema():
    assert TagSchema().load({"Key": "a", "Value": ""}) == {"Key": "a", "Value": ""}
    assert TagSchema(many=True).load([{"Key": "a", "Value": "1"}]) == [{"Key": "a", "Value": "1"}]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"Key": "a"}, "Value"),
        ({"Value": "a"}, "Key"),
        ({"Key": "a", "Value": "b", "Other": 1}, "Other"),
        ({"Key": "", "Value": "b"}, "Key"),
        ({"Key": "aws:x", "Value": "b"}, "Key"),
        ({"Key": "a*", "Value": "b"}, "Key"),
        ({"Key": "a", "Value": "v" * 257}, "Value"),
        ({"Key": "a", "Value": 3}, "Value"),
    ],
)
def test_tag_schema_rejects(data, field):
    with pytest.raises(ValidationError) as exc:
        TagSchema().load(data)
    assert field in exc.value.messages
