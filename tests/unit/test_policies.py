import json

import pytest

from s3api.errors import BadRequest
from s3api.provisioning import policies as p

B = "my-bucket"
ARN = "arn:aws:s3:::my-bucket"
DIST = "arn:aws:cloudfront::123456789012:distribution/E2ABCDEF"


def by_sid(doc):
    sids = [s["Sid"] for s in doc["Statement"]]
    assert len(sids) == len(set(sids)), "Sids must be unique"
    return {s["Sid"]: s for s in doc["Statement"]}


def all_actions(doc, effect="Allow"):
    out = []
    for st in doc["Statement"]:
        if st["Effect"] == effect:
            out += [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
    return out


# --- action lists -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "actions", [p.BUCKET_ADMIN_ACTIONS, p.BUCKET_READ_ACTIONS, p.OBJECT_READ_ACTIONS, p.OBJECT_WRITE_ACTIONS]
)
def test_action_lists_are_unique_s3_actions(actions):
    assert len(actions) == len(set(actions))
    assert all(a.startswith("s3:") and "*" not in a for a in actions)
    assert "s3:ListAllMyBuckets" not in actions


def test_action_lists_keep_the_go_services_grants():
    assert {"s3:PutBucketPolicy", "s3:PutLifecycleConfiguration", "s3:PutBucketWebsite"} <= set(p.BUCKET_ADMIN_ACTIONS)
    assert {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetReplicationConfiguration"} <= set(p.BUCKET_READ_ACTIONS)
    assert "s3:GetObject" in p.OBJECT_READ_ACTIONS
    assert {"s3:PutObject", "s3:DeleteObject"} <= set(p.OBJECT_WRITE_ACTIONS)
    # read and write sets do not overlap; nothing write-like hides in the read lists
    assert not set(p.OBJECT_READ_ACTIONS) & set(p.OBJECT_WRITE_ACTIONS)
    assert not [a for a in p.BUCKET_READ_ACTIONS + p.OBJECT_READ_ACTIONS if ":Put" in a or ":Delete" in a]


def test_defaults():
    assert p.DEFAULT_BUCKET_ACTIONS == ["s3:*"]
    assert p.DEFAULT_OBJECT_ACTIONS == ["s3:*"]
    assert p.DEFAULT_WEBSITE_ACTIONS == [
        "cloudfront:CreateInvalidation",
        "cloudfront:GetInvalidation",
        "cloudfront:ListInvalidations",
    ]


# --- naming -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("/", "/"),
        ("/a", "/a/"),
        ("a", "/a/"),
        ("a/", "/a/"),
        ("/a/b/", "/a/b/"),
        ("one/two/three", "/one/two/three/"),
        ("/A-b_c.9/", "/A-b_c.9/"),
        ("/" + "/".join("abcdefghij") + "/", "/a/b/c/d/e/f/g/h/i/j/"),
    ],
)
def test_normalize_path(raw, norm):
    assert p.normalize_path(raw) == norm


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "//",
        "..",
        "/../",
        "/a/../b/",
        "/./",
        "/a//b/",
        "a//",
        "//a",
        "/a b/",
        "/a*/",
        "/é/",
        "/a\\b/",
        "/" + "/".join("abcdefghijk") + "/",
        "/" + "x" * 600 + "/",
    ],
)
def test_normalize_path_rejects(bad):
    with pytest.raises(BadRequest) as exc:
        p.normalize_path(bad)
    assert exc.value.errors and "path" in exc.value.errors


def test_path_prefix():
    assert p.path_prefix("/") == ""
    assert p.path_prefix("x/y") == "x/y"


@pytest.mark.parametrize("kind", p.GROUP_KINDS)
def test_group_and_policy_names_unscoped(kind):
    assert p.group_name(B, kind) == f"{B}-{kind}"
    assert p.policy_name(B, kind) == f"{B}-{kind[:-3]}Plc"


def test_names_match_the_go_service():
    site = "thesite.yalepages.org"
    assert p.group_name(site, "BktAdmGrp", "/one/two/three/") == f"{site}-one_two_three-BktAdmGrp"
    assert p.group_name(site, "BktAdmGrp", "one/two/three") == f"{site}-one_two_three-BktAdmGrp"
    assert p.policy_name(site, "BktRWGrp", "/docs/") == f"{site}-docs-BktRWPlc"
    assert p.policy_name(site, "BktROGrp") == f"{site}-BktROPlc"
    assert p.group_name(site, "WebAdmGrp") == f"{site}-WebAdmGrp"
    assert p.policy_name(site, "WebAdmGrp") == f"{site}-WebAdmPlc"


def test_names_reject_unknown_kind_and_bad_path():
    with pytest.raises(ValueError):
        p.group_name(B, "BktXXGrp")
    with pytest.raises(ValueError):
        p.policy_name(B, "BktAdmPlc")
    with pytest.raises(BadRequest):
        p.group_name(B, "BktRWGrp", "/a/../")


def test_names_respect_the_iam_length_limit():
    bucket = "b" * 63
    ok = "/" + "p" * (128 - 63 - len("--BktAdmGrp")) + "/"
    assert len(p.group_name(bucket, "BktAdmGrp", ok)) == 128
    assert len(p.policy_name(bucket, "BktAdmGrp", ok)) == 128
    too_long = "/" + "p" * (129 - 63 - len("--BktAdmGrp")) + "/"
    with pytest.raises(BadRequest):
        p.group_name(bucket, "BktAdmGrp", too_long)
    with pytest.raises(BadRequest):
        p.policy_name(bucket, "BktAdmGrp", too_long)


def test_policy_description():
    assert p.policy_description(B, "BktAdmGrp") == f"Admin policy for {B} bucket"
    assert p.policy_description(B, "BktRWGrp") == f"Read-Write policy for {B} bucket"
    assert p.policy_description(B, "BktROGrp") == f"Read-Only policy for {B} bucket"
    assert p.policy_description("s.org", "WebAdmGrp") == "Admin policy for s.org web distribution"
    assert p.policy_description("s.org", "BktAdmGrp", website=True) == "Admin policy for s.org web distribution"
    assert p.policy_description(B, "BktROGrp", path="x") == f"Read-Only policy for /x/ in {B} bucket"
    with pytest.raises(ValueError):
        p.policy_description(B, "BktRWGrp", website=True)
    with pytest.raises(ValueError):
        p.policy_description(B, "Nope")


# --- identity policies --------------------------------------------------------------------------


def test_default_bucket_admin_uses_config_actions():
    doc = p.default_bucket_admin(B, ["s3:ListBucket"], ["s3:GetObject", "s3:PutObject"])
    assert doc["Version"] == "2012-10-17"
    st = by_sid(doc)
    assert st["BucketActions"] == {
        "Sid": "BucketActions",
        "Effect": "Allow",
        "Action": ["s3:ListBucket"],
        "Resource": [ARN],
    }
    assert st["ObjectActions"]["Action"] == ["s3:GetObject", "s3:PutObject"]
    assert st["ObjectActions"]["Resource"] == [f"{ARN}/*"]


@pytest.mark.parametrize("empty", [None, [], ()])
def test_default_bucket_admin_falls_back_to_s3_star(empty):
    doc = p.default_bucket_admin(B, empty, empty)
    assert [s["Action"] for s in doc["Statement"] if s["Effect"] == "Allow"] == [["s3:*"], ["s3:*"]]


def test_documents_are_fresh_copies():
    doc = p.default_bucket_admin(B)
    doc["Statement"][0]["Action"].append("iam:*")
    assert p.DEFAULT_BUCKET_ACTIONS == ["s3:*"]
    assert p.default_bucket_admin(B)["Statement"][0]["Action"] == ["s3:*"]
    rw = p.bucket_policy_for("BktRWGrp", B)
    rw["Statement"][0]["Action"].clear()
    assert p.bucket_policy_for("BktRWGrp", B)["Statement"][0]["Action"]


def test_admin_policy_whole_bucket():
    st = by_sid(p.bucket_policy_for("BktAdmGrp", B))
    assert list(st) == ["BucketAdmin", "BucketRead", "ObjectRead", "ObjectWrite", "ProtectedActions"]
    assert st["BucketAdmin"]["Action"] == list(p.BUCKET_ADMIN_ACTIONS)
    assert st["BucketAdmin"]["Resource"] == [ARN]
    assert st["BucketRead"]["Action"] == list(p.BUCKET_READ_ACTIONS)
    assert st["BucketRead"]["Resource"] == [ARN]
    assert st["ObjectRead"]["Action"] == list(p.OBJECT_READ_ACTIONS)
    assert st["ObjectWrite"]["Action"] == list(p.OBJECT_WRITE_ACTIONS)
    assert st["ObjectRead"]["Resource"] == st["ObjectWrite"]["Resource"] == [f"{ARN}/*"]
    assert all(s["Effect"] == "Allow" and "Condition" not in s for k, s in st.items() if k != "ProtectedActions")


def test_read_write_and_read_only_whole_bucket():
    rw = by_sid(p.bucket_policy_for("BktRWGrp", B))
    assert list(rw) == ["BucketRead", "ObjectRead", "ObjectWrite", "ProtectedActions"]
    ro = by_sid(p.bucket_policy_for("BktROGrp", B))
    assert list(ro) == ["BucketRead", "ObjectRead", "ProtectedActions"]
    assert not set(all_actions(p.bucket_policy_for("BktROGrp", B))) & set(p.OBJECT_WRITE_ACTIONS)
    assert not set(all_actions(p.bucket_policy_for("BktRWGrp", B))) & set(p.BUCKET_ADMIN_ACTIONS)


@pytest.mark.parametrize("kind", p.GROUP_KINDS)
def test_path_scoped_policy(kind):
    doc = p.bucket_policy_for(kind, B, "docs/2024")
    st = by_sid(doc)
    assert st["ListPrefix"]["Action"] == [
        "s3:ListBucket",
        "s3:ListBucketVersions",
        "s3:ListBucketMultipartUploads",
    ]
    assert st["ListPrefix"]["Resource"] == [ARN]
    assert st["ListPrefix"]["Condition"] == {"StringLike": {"s3:prefix": ["docs/2024/*", "docs/2024/"]}}
    assert st["BucketLocation"] == {
        "Sid": "BucketLocation",
        "Effect": "Allow",
        "Action": ["s3:GetBucketLocation"],
        "Resource": [ARN],
    }
    assert st["ObjectRead"]["Resource"] == [f"{ARN}/docs/2024/*"]
    # nothing reaches the whole bucket's objects, and no bucket-wide configuration is delegated
    resources = [r for s in doc["Statement"] for r in s["Resource"]]
    assert set(resources) == {ARN, f"{ARN}/docs/2024/*"}
    assert not set(all_actions(doc)) & set(p.BUCKET_ADMIN_ACTIONS)
    unconditioned_bucket = [
        a
        for s in doc["Statement"]
        if s["Resource"] == [ARN] and "Condition" not in s and s["Effect"] == "Allow"
        for a in s["Action"]
    ]
    assert unconditioned_bucket == ["s3:GetBucketLocation"]
    if kind == "BktROGrp":
        assert "ObjectWrite" not in st
    else:
        assert st["ObjectWrite"]["Resource"] == [f"{ARN}/docs/2024/*"]


def test_root_path_is_the_whole_bucket():
    assert p.bucket_policy_for("BktRWGrp", B, "/") == p.bucket_policy_for("BktRWGrp", B)


def test_bucket_policy_for_rejects_unknown_kind_and_bad_path():
    with pytest.raises(ValueError):
        p.bucket_policy_for("WebAdmGrp", B)
    with pytest.raises(BadRequest):
        p.bucket_policy_for("BktRWGrp", B, "/a//b/")


@pytest.mark.parametrize("kind", p.GROUP_KINDS)
@pytest.mark.parametrize("path", ["/", "/a/b/c/"])
def test_identity_policies_fit_the_iam_managed_policy_limit(kind, path):
    doc = p.bucket_policy_for(kind, "b" * 63, path)
    assert len(json.dumps(doc, separators=(",", ":"))) < 6144
    assert all(s["Sid"].isalnum() for s in doc["Statement"])


def test_web_admin():
    doc = p.web_admin(DIST, None, [])
    assert doc["Statement"] == [
        {"Sid": "Distribution", "Effect": "Allow", "Action": p.DEFAULT_WEBSITE_ACTIONS, "Resource": [DIST]}
    ]
    assert p.web_admin(DIST, ["cloudfront:*"])["Statement"][0]["Action"] == ["cloudfront:*"]
    with pytest.raises(ValueError):
        p.web_admin("E2ABCDEF", None)


# --- bucket policies ----------------------------------------------------------------------------


def test_website_public_read():
    (st,) = p.website_public_read("s.org")["Statement"]
    assert st["Principal"] == "*"
    assert st["Action"] == ["s3:GetObject"]
    assert st["Resource"] == ["arn:aws:s3:::s.org/*"]
    assert st["Effect"] == "Allow"


def test_website_oac_read():
    (st,) = p.website_oac_read("s.org", DIST)["Statement"]
    assert st["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert st["Action"] == ["s3:GetObject"]
    assert st["Resource"] == ["arn:aws:s3:::s.org/*"]
    assert st["Condition"] == {"StringEquals": {"AWS:SourceArn": DIST}}


def test_log_delivery_policy_has_the_shape_moto_accepts():
    doc = p.log_delivery_policy("logs-bucket", "123456789012")
    (st,) = doc["Statement"]
    assert st["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert st["Action"] == "s3:PutObject"  # a string, not a list
    assert st["Resource"] == "arn:aws:s3:::logs-bucket/*"  # a single string
    assert st["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert "*" not in json.dumps(doc).replace("logs-bucket/*", "")


@pytest.mark.parametrize("bad", ["", "12345678901", "1234567890123", "12345678901x"])
def test_log_delivery_policy_rejects_bad_account(bad):
    with pytest.raises(ValueError):
        p.log_delivery_policy("logs", bad)


# --- lifecycle ----------------------------------------------------------------------------------


def test_lifecycle_deep_archive():
    assert p.lifecycle_rule("deep-archive") == {
        "Rules": [
            {
                "ID": "deep-archive-rule",
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "Transitions": [{"Days": 1, "StorageClass": "DEEP_ARCHIVE"}],
            }
        ]
    }


def test_lifecycle_rule_is_a_copy():
    cfg = p.lifecycle_rule("deep-archive")
    cfg["Rules"][0]["Transitions"][0]["Days"] = 99
    assert p.LIFECYCLES["deep-archive"]["Transitions"][0]["Days"] == 1


@pytest.mark.parametrize("name", ["", "glacier", "Deep-Archive", None])
def test_lifecycle_rule_unknown(name):
    with pytest.raises(BadRequest) as exc:
        p.lifecycle_rule(name)
    assert "deep-archive" in exc.value.message
    assert exc.value.errors == {"lifecycle": [exc.value.message]}


# --- protected actions (issue 11 #4) ------------------------------------------------------------------------

S3_PROTECTED = [a for a in p.DEFAULT_PROTECTED_ACTIONS if a.startswith("s3:")]
CF_PROTECTED = [a for a in p.DEFAULT_PROTECTED_ACTIONS if a.startswith("cloudfront:")]


def protected_statement(doc):
    return by_sid(doc)["ProtectedActions"]


def test_default_protected_actions_cover_the_service_invariants():
    for action in (
        "s3:DeleteBucket",
        "s3:PutBucketTagging",
        "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutBucketOwnershipControls",
        "s3:PutBucketLogging",
    ):
        assert action in p.DEFAULT_PROTECTED_ACTIONS


@pytest.mark.parametrize(
    "doc",
    [
        p.default_bucket_admin(B),
        p.default_bucket_admin(B, ["s3:*"], ["s3:*"]),
        *(p.bucket_policy_for(kind, B, path) for kind in p.GROUP_KINDS for path in ("/", "/docs/")),
    ],
)
def test_every_bucket_document_denies_the_protected_s3_actions_on_the_bucket(doc):
    """An explicit Deny inside the same document (Yale's clients expect one policy per group) wins over any
    Allow, a configured s3:* included."""
    assert protected_statement(doc) == {
        "Sid": "ProtectedActions",
        "Effect": "Deny",
        "Action": S3_PROTECTED,
        "Resource": [ARN],
    }
    assert doc["Statement"][-1]["Sid"] == "ProtectedActions"


def test_protected_actions_are_configurable():
    doc = p.default_bucket_admin(B, None, None, ["s3:DeleteBucket", "cloudfront:UpdateDistribution"])
    assert protected_statement(doc)["Action"] == ["s3:DeleteBucket"]
    assert protected_statement(p.bucket_policy_for("BktROGrp", B, protected=["s3:PutBucketTagging"]))["Action"] == [
        "s3:PutBucketTagging"
    ]
    assert "ProtectedActions" not in by_sid(p.default_bucket_admin(B, None, None, []))
    assert "ProtectedActions" not in by_sid(p.bucket_policy_for("BktRWGrp", B, "/x/", []))


def test_web_admin_denies_the_protected_cloudfront_actions_on_its_distribution():
    doc = p.web_admin(DIST, ["cloudfront:*"])
    assert protected_statement(doc) == {
        "Sid": "ProtectedActions",
        "Effect": "Deny",
        "Action": CF_PROTECTED,
        "Resource": [DIST],
    }
    assert "cloudfront:UpdateDistribution" in CF_PROTECTED and "cloudfront:TagResource" in CF_PROTECTED
