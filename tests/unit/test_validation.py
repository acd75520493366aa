import functools
import json

import pytest
from werkzeug.routing import Map

from s3api.api import BadPathValue, ObjectKeyConverter
from s3api.errors import BadRequest
from s3api.validation import (
    MAX_CALLER_TAGS,
    object_key_error,
    validate_bucket_name,
    validate_bucket_policy,
    validate_tags,
    with_org_tag,
)

ORG = "spinup:org"


def raises_on(field, fn, *args):
    with pytest.raises(BadRequest) as exc:
        fn(*args)
    assert exc.value.status == 400
    assert exc.value.errors == {field: [exc.value.message]}
    return exc.value.message


# --- bucket names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "abc",
        "a" * 63,
        "my-bucket",
        "my.bucket.example.org",
        "1bucket",
        "bucket1",
        "a-b.c-d",
        "192.168.5.4x",
        "xn-bucket",
        "amzn-s3-bucket",
        "bucket-s3aliasx",
        "a-.b",
    ],
)
def test_valid_bucket_names(name):
    assert validate_bucket_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "ab",
        "a" * 64,
        "My-Bucket",
        "my_bucket",
        "-bucket",
        "bucket-",
        ".bucket",
        "bucket.",
        "my..bucket",
        "my bucket",
        "bücket",
        "192.168.5.4",
        "10.0.0.1",
        "xn--bucket",
        "sthree-bucket",
        "sthree-configurator",
        "amzn-s3-demo-bucket",
        "bucket-s3alias",
        "bucket--ol-s3",
        "bucket.mrap",
        "bucket--x-s3",
        "bucket--table-s3",
        None,
        123,
    ],
)
def test_invalid_bucket_names(name):
    message = raises_on("bucket", validate_bucket_name, name)
    assert "bucket name" in message


def test_bucket_name_error_field_is_configurable():
    with pytest.raises(BadRequest) as exc:
        validate_bucket_name("UPPER", "Name")
    assert list(exc.value.errors) == ["Name"]


# --- object keys --------------------------------------------------------------------------------


# The rule is object_key_error; the object-key path converter (what a URL key goes through) applies it.


@pytest.mark.parametrize("key", ["a", "dir/file.txt", "x" * 1024, "é" * 512, " ", "../weird"])
def test_valid_object_keys(key):
    assert object_key_error(key) is None
    assert ObjectKeyConverter(Map()).to_python(key) == key


@pytest.mark.parametrize("key", ["", "x" * 1025, "é" * 513, "\ud800", None])
def test_invalid_object_keys(key):
    message = object_key_error(key)
    assert message
    if isinstance(key, str):
        with pytest.raises(BadPathValue) as exc:
            ObjectKeyConverter(Map()).to_python(key)
        assert exc.value.code == 400
        assert exc.value.data == {"messages": {"key": [message]}, "message": message}


# --- tags ---------------------------------------------------------------------------------------


def tag(k, v="v"):
    return {"Key": k, "Value": v}


def test_tags_are_normalised_copies():
    given = [tag("Name", "x"), tag("cost center", ""), tag("a_b.c:d/e=f+g-h@i", "ünïcödé ３")]
    out = validate_tags(given, ORG)
    assert out == given
    assert out is not given and out[0] is not given[0]


def test_no_tags():
    assert validate_tags(None, ORG) == []
    assert validate_tags([], ORG) == []


def test_tag_count_leaves_room_for_the_org_tag():
    assert MAX_CALLER_TAGS == 49
    assert len(validate_tags([tag(f"k{i}") for i in range(49)], ORG)) == 49
    message = raises_on("Tags", validate_tags, [tag(f"k{i}") for i in range(50)], ORG)
    assert "49" in message


@pytest.mark.parametrize(
    ("tags", "needle"),
    [
        ({"Key": "a", "Value": "b"}, "list"),
        ("a=b", "list"),
        (["a"], "exactly"),
        ([{"Key": "a"}], "exactly"),
        ([{"Key": "a", "Value": "b", "Extra": 1}], "exactly"),
        ([{"key": "a", "value": "b"}], "exactly"),
        ([tag("")], "1-128"),
        ([tag("k" * 129)], "1-128"),
        ([tag("k", "v" * 257)], "256"),
        ([tag(1)], "string"),
        ([tag("k", None)], "string"),
        ([tag("k", 5)], "string"),
        ([tag("aws:created")], "aws:"),
        ([tag("AWS:Created")], "aws:"),
        ([tag("a*b")], "disallowed"),
        ([tag("a", "b#c")], "disallowed"),
        ([tag("a\nb")], "disallowed"),
        ([tag("a", "b\tc")], "disallowed"),
        ([tag("a", "\x00")], "disallowed"),
        ([tag("a", "line\u2028sep")], "disallowed"),
        ([tag("emoji😀")], "disallowed"),
        ([tag("a"), tag("b"), tag("a", "other")], "duplicate"),
        ([tag(ORG, "mine")], ORG),
        ([tag("Spinup:Org", "mine")], ORG),
    ],
)
def test_invalid_tags(tags, needle):
    message = raises_on("Tags", validate_tags, tags, ORG)
    assert needle in message


def test_tag_limits_are_inclusive():
    out = validate_tags([tag("k" * 128, "v" * 256), tag("empty", "")], ORG)
    assert len(out) == 2


def test_tag_keys_differing_in_case_are_distinct():
    assert len(validate_tags([tag("Name"), tag("name")], ORG)) == 2


def test_with_org_tag_appends_and_replaces():
    tags = [tag("a", "1")]
    assert with_org_tag(tags, ORG, "yale") == [tag("a", "1"), tag(ORG, "yale")]
    assert tags == [tag("a", "1")]
    assert with_org_tag([tag(ORG, "old"), tag("b")], ORG, "new") == [tag("b"), tag(ORG, "new")]
    assert with_org_tag([], ORG, "x") == [tag(ORG, "x")]


# --- bucket policies ----------------------------------------------------------------------------

BUCKET = "my-bucket"


def stmt(**over):
    st = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
    }
    st.update(over)
    return {k: v for k, v in st.items() if v is not None}


def policy(*statements, version="2012-10-17"):
    return json.dumps({"Version": version, "Statement": list(statements)})


def test_valid_bucket_policy_text_and_object():
    text = policy(
        stmt(),
        stmt(
            Effect="Deny",
            Action=None,
            NotAction=["s3:Get*"],
            Resource=[f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/logs/*"],
        ),
    )
    assert validate_bucket_policy(text, BUCKET, public_read=True) == json.loads(text)
    single = {"Version": "2008-10-17", "Statement": stmt(Principal={"AWS": "arn:aws:iam::123456789012:root"})}
    assert validate_bucket_policy(single, BUCKET) == single


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("not json", "JSON"),
        ("[]", "object"),
        ("null", "object"),
        (json.dumps({"Statement": [stmt()]}), "Version"),
        (policy(stmt(), version="2020-01-01"), "Version"),
        (json.dumps({"Version": "2012-10-17"}), "Statement"),
        (policy(), "Statement"),
        (json.dumps({"Version": "2012-10-17", "Statement": "x"}), "Statement"),
        (policy("x"), "object"),
        (policy(stmt(Effect="allow")), "Effect"),
        (policy(stmt(Effect=None)), "Effect"),
        (policy(stmt(Action=None)), "Action"),
        (policy(stmt(NotAction="s3:*")), "Action"),
        (policy(stmt(Principal=None)), "Principal"),
        (policy(stmt(Resource=None)), "Resource"),
        (policy(stmt(Resource=[])), "Resource"),
        (policy(stmt(Resource=None, NotResource="arn:aws:s3:::other/*")), "NotResource"),
        (policy(stmt(Resource="*")), "outside"),
        (policy(stmt(Resource="arn:aws:s3:::*")), "outside"),
        (policy(stmt(Resource="arn:aws:s3:::my-bucket-other/*")), "outside"),
        (policy(stmt(Resource="arn:aws:s3:::my-bucket*")), "outside"),
        (policy(stmt(Resource="arn:aws:s3:::other")), "outside"),
        (policy(stmt(Resource=[f"arn:aws:s3:::{BUCKET}/*", "arn:aws:s3:::other/*"])), "outside"),
        (policy(stmt(Resource=[f"arn:aws:s3:::{BUCKET}", 5])), "outside"),
        (policy(stmt(Resource="arn:aws:iam::123456789012:root")), "outside"),
        (policy(stmt(), stmt(Resource="arn:aws:s3:::x/*")), "Statement #1"),
        (policy(stmt(Principal=None, NotPrincipal={"AWS": "x"})), "NotPrincipal"),
        (policy(stmt(Action="s3:PutObject")), "read actions only"),
        (policy(stmt(Principal={"AWS": "*"}, Action="s3:*")), "read actions only"),
    ],
)
def test_invalid_bucket_policies(text, needle):
    message = raises_on("Policy", functools.partial(validate_bucket_policy, public_read=True), text, BUCKET)
    assert needle in message


def test_bucket_policy_size_limit():
    pad = "x" * (20 * 1024)
    big = policy(stmt(Sid=pad))
    assert "20480" in raises_on("Policy", validate_bucket_policy, big, BUCKET)
    fits = policy(stmt(Sid="x" * (20 * 1024 - len(policy(stmt(Sid=""))))))
    assert len(fits.encode()) == 20 * 1024
    assert validate_bucket_policy(fits, BUCKET, public_read=True)


def test_bucket_policy_rejects_non_string_non_object():
    raises_on("Policy", validate_bucket_policy, 42, BUCKET)
