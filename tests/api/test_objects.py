"""Objects: browse and search with pagination, details, delete, batch delete; multipart uploads; presign;
usage; account stats."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlparse

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.s3.models import s3_backends

from s3api import create_app, embedded
from s3api.provisioning import boundary
from s3api.provisioning import objects as prov
from tests.conftest import Client, make_settings

BUCKET = "objects-test"
BASE = f"/v1/s3/local/buckets/{BUCKET}"


@pytest.fixture(scope="module")
def app() -> Any:
    """One app for the module (building one costs ~0.25 s): its clients work under each test's fresh
    ``mock_aws``. No seed: these routes need no hosted zone or certificate (the seed's RSA key costs ~1 s).
    Hooks are added through ``add_hook`` only, which removes them after the test."""
    return create_app(make_settings(None))


@pytest.fixture
def add_hook(app: Any) -> Any:
    clients = app.extensions["s3api"].clients
    added: list[tuple[str, Any]] = []

    def add(event: str, handler: Any) -> None:
        clients.add_hook(event, handler)
        added.append((event, handler))

    yield add
    for event, handler in added:
        clients.remove_hook(event, handler)


@pytest.fixture(scope="module")
def raw_s3() -> Any:
    """One boto3 client for the module (moto intercepts clients made before ``mock_aws`` starts, too)."""
    return boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(s3={"addressing_style": "path"}),
    )


ORG_TAG = {"Key": "s3api:org", "Value": "test"}  # what makes a bucket ours (tests/conftest.py: org "test")


@pytest.fixture(autouse=True)
def _fresh_boundary_cache() -> Any:
    """The module shares one app, and with it the managed-bucket cache: each test starts with none, so that
    the AWS calls a test counts do not depend on the tests before it."""
    boundary.clear()
    yield
    boundary.clear()


@pytest.fixture
def s3(aws: None, raw_s3: Any) -> Any:
    raw_s3.create_bucket(Bucket=BUCKET)
    raw_s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [ORG_TAG]})  # as our bucket create leaves it
    return raw_s3


def seed_keys(keys: list[str], body: bytes = b"x") -> None:
    """Fast seeding straight into moto's backend (a PutObject through boto3 costs ~7 ms in-process)."""
    backend = s3_backends[embedded.ACCOUNT_ID]["global"]
    for key in keys:
        backend.put_object(BUCKET, key, body)


class Calls:
    """Every AWS operation name the app sends, in order."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, model: Any, **_: Any) -> None:
        self.names.append(model.name)

    def count(self, name: str) -> int:
        return self.names.count(name)


@pytest.fixture
def calls(add_hook: Any) -> Calls:
    recorder = Calls()
    add_hook("before-call", recorder)
    return recorder


def url_for(key: str) -> str:
    return f"{BASE}/objects/{quote(key, safe='/')}"


def walk(client: Client, max_pages: int = 500, **params: Any) -> tuple[list[str], list[str], int]:
    """Follow continuation tokens to the end: (keys, folders, pages)."""
    keys: list[str] = []
    folders: list[str] = []
    token = None
    for pages in range(1, max_pages + 1):
        query = dict(params, **({"continuation_token": token} if token else {}))
        r = client.get(f"{BASE}/objects", query_string=query)
        assert r.status_code == 200, r.json
        body = r.json
        assert len(body["Objects"]) + len(body["Folders"]) <= params.get("max_keys", 100)
        keys += [o["Key"] for o in body["Objects"]]
        folders += body["Folders"]
        token = body["NextContinuationToken"]
        assert body["IsTruncated"] is (token is not None)
        if token is None:
            return keys, folders, pages
    raise AssertionError("the walk did not end")


def many_keys() -> list[str]:
    keys = [f"file-{i:03}.txt" for i in range(100)]
    keys += [f"docs/{d}/note {i}.md" for d in "abcde" for i in range(100)]
    keys += [f"photos/2024/{m:02}/IMG {i}.jpg" for m in range(1, 13) for i in range(50)]
    keys += [f"données/été/fichier-{i}.txt" for i in range(200)]
    keys += [f"日本語/ファイル{i}" for i in range(200)]
    keys += [f"emoji/😀 {i}" for i in range(100)]
    keys += [f"a//b/{i}" for i in range(50)] + ["trailing/", "/leading", "sp ace", "Été", "ÉTÉ.txt"]
    keys += [f"deep/x/y/z/{i:04}" for i in range(2500 - len(keys))]
    assert len(keys) == len(set(keys)) == 2500
    return keys


def expected_search(keys: list[str], needle: str, prefix: str = "") -> list[str]:
    return sorted(k for k in keys if k.startswith(prefix) and needle.casefold() in k[len(prefix) :].casefold())


# --- listing and search -----------------------------------------------------------------------------------


def test_walks_every_key_exactly_once_with_and_without_search_and_delimiter(client, s3, calls, monkeypatch):
    keys = many_keys()
    seed_keys(keys)

    # plain: one ListObjectsV2 per page, every key once, in S3 order
    listed, folders, pages = walk(client, max_keys=1000)
    assert listed == sorted(keys) and folders == [] and pages == 3
    assert calls.count("ListObjectsV2") == 3

    # delimiter, recursively through every folder, small pages that end on folders and on keys
    seen: list[str] = []
    todo = [""]
    while todo:
        prefix = todo.pop()
        level_keys, level_folders, _ = walk(client, prefix=prefix, delimiter="/", max_keys=97)
        assert len(level_folders) == len(set(level_folders))
        seen += level_keys
        todo += level_folders
    assert sorted(seen) == sorted(keys) and len(seen) == len(keys)

    # search: case-insensitive, below the prefix, pages cut inside S3 pages
    for needle, max_keys, prefix in (("é", 37, ""), ("img 4", 7, "photos/2024/1"), ("a", 50, "docs/a/")):
        calls.names.clear()
        found, _, pages = walk(client, search=needle, max_keys=max_keys, prefix=prefix)
        assert found == expected_search(keys, needle, prefix), needle
        assert calls.count("ListObjectsV2") <= pages * prov.SEARCH_MAX_CALLS
    assert expected_search(keys, "a", "docs/a/") == []  # the prefix itself is not searched

    # search with a delimiter matches this level's keys and folder names (without the delimiter)
    found, folders, _ = walk(client, search="É", delimiter="/", max_keys=2)
    assert found == sorted(["Été", "ÉTÉ.txt"]) and folders == ["données/"]
    found, folders, _ = walk(client, search="e", delimiter="/", max_keys=7)
    assert found == [k for k in sorted(keys) if "/" not in k and "e" in k.casefold()] and len(found) == 101
    assert folders == ["deep/", "données/", "emoji/"]


def test_search_budget_cuts_requests_short_but_loses_nothing(client, s3, calls, monkeypatch):
    keys = [f"k/{i:04}" for i in range(600)] + ["k/needle-1", "k/zz-needle-2"]
    seed_keys(keys)
    monkeypatch.setattr(prov, "SEARCH_BUDGET", 150)
    found, _, pages = walk(client, search="NEEDLE", max_keys=10)
    assert found == ["k/needle-1", "k/zz-needle-2"]
    assert pages >= 4  # 602 keys, at most 150 read per request: some pages are empty but truncated
    per_request = prov.SEARCH_MAX_CALLS
    assert calls.count("ListObjectsV2") <= pages * per_request


def test_listing_shape_and_folders(client, s3):
    s3.put_object(Bucket=BUCKET, Key="docs/a.txt", Body=b"hello")
    s3.put_object(Bucket=BUCKET, Key="top.txt", Body=b"hi", StorageClass="STANDARD_IA")
    r = client.get(f"{BASE}/objects", query_string={"delimiter": "/"})
    assert r.status_code == 200
    assert r.json["Folders"] == ["docs/"] and r.json["IsTruncated"] is False
    assert r.json["NextContinuationToken"] is None
    (obj,) = r.json["Objects"]
    assert obj["Key"] == "top.txt" and obj["Size"] == 2 and obj["StorageClass"] == "STANDARD_IA"
    assert obj["ETag"].startswith('"') and obj["LastModified"].endswith("+00:00")
    empty = client.get(f"{BASE}/objects", query_string={"prefix": "nothing/", "search": "", "delimiter": ""})
    assert empty.json == {"Objects": [], "Folders": [], "NextContinuationToken": None, "IsTruncated": False}


def test_longest_keys_give_tokens_the_api_accepts(client, s3):
    keys = sorted(['"' * 1024, "\\" * 1024, "é" * 512, "z" * 1024])  # JSON doubles '"' and '\\'
    seed_keys(keys)
    listed, _, pages = walk(client, max_keys=1)
    assert listed == keys and pages == 4
    # the worst case, a key of control characters (6 bytes each in JSON), still fits; moto answers 500 to a
    # StartAfter holding one (it echoes it into its XML), AWS url-encodes it (EncodingType=url)
    fingerprint = prov._fingerprint("objects", "", "", "")
    token = prov.encode_token(fingerprint, a="\x01" * 1024, f=False)
    assert len(token) <= prov.MAX_TOKEN and prov.decode_token(token, fingerprint)["a"] == "\x01" * 1024


def test_resume_after_a_folder_does_not_repeat_it(client, s3):
    seed_keys(["a/1", "a/2", "b/1", "c", "d/1"])
    listed, folders, pages = walk(client, delimiter="/", max_keys=1)
    assert folders == ["a/", "b/", "d/"] and listed == ["c"] and pages == 4


BAD_LISTING_QUERIES = [
    {"max_keys": 0},
    {"max_keys": 1001},
    {"max_keys": "ten"},
    {"unknown": "x"},
    {"continuation_token": "garbage!"},
    {"continuation_token": base64.urlsafe_b64encode(b'{"v": 1, "q": "x", "a": "k"}').decode()},
    {"continuation_token": base64.urlsafe_b64encode(b"[1, 2]").decode()},
    {"prefix": "p" * 1025},
]


def test_listing_bad_parameters_are_400_before_any_aws_call(client, s3, calls):
    for query in BAD_LISTING_QUERIES:
        r = client.get(f"{BASE}/objects", query_string=query)
        assert r.status_code == 400 and r.json["code"] == "BadRequest", query
    assert calls.names == []


def test_token_is_bound_to_its_query(client, s3):
    seed_keys([f"k{i}" for i in range(5)])
    token = client.get(f"{BASE}/objects", query_string={"max_keys": 2}).json["NextContinuationToken"]
    assert client.get(f"{BASE}/objects", query_string={"max_keys": 2, "continuation_token": token}).status_code == 200
    for other in ({"search": "k"}, {"prefix": "k"}, {"delimiter": "/"}):
        r = client.get(f"{BASE}/objects", query_string={"continuation_token": token, **other})
        assert r.status_code == 400 and "continuation_token" in r.json["errors"]
    damaged = json.loads(base64.urlsafe_b64decode(token + "==="))
    damaged["a"] = 7
    forged = base64.urlsafe_b64encode(json.dumps(damaged).encode()).decode()
    assert client.get(f"{BASE}/objects", query_string={"continuation_token": forged}).status_code == 400


# --- object details and delete ----------------------------------------------------------------------------

ODD_KEYS = ["a//b", "dir/", "/leading", "//", "sp ace/é ü.txt", "q?x#y%z&+", "delete", "日本語/ファイル", "😀"]


def test_details_and_delete_for_odd_keys(client, s3):
    """Double and leading slashes, a trailing slash, URL metacharacters, the key "delete", any UTF-8."""
    for key in ODD_KEYS:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"12345")
        r = client.get(url_for(key))
        assert r.status_code == 200, (key, r.json)
        assert r.json["Key"] == key and r.json["Size"] == 5
        r = client.delete(url_for(key))
        assert r.status_code == 200 and r.json == {"Deleted": key}
        assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)
        assert client.delete(url_for(key)).status_code == 404


def test_details_fields(client, s3):
    s3.put_object(
        Bucket=BUCKET,
        Key="report.csv",
        Body=b"a,b\n",
        ContentType="text/csv",
        Metadata={"owner": "alice"},
        Tagging="team=data&empty=",
    )
    r = client.get(url_for("report.csv"))
    assert r.status_code == 200
    body = r.json
    assert body["ContentType"] == "text/csv" and body["Metadata"] == {"owner": "alice"}
    assert body["StorageClass"] == "STANDARD" and body["VersionId"] is None and body["PartsCount"] is None
    assert sorted(body["Tags"], key=lambda t: t["Key"]) == [
        {"Key": "empty", "Value": ""},
        {"Key": "team", "Value": "data"},
    ]
    assert body["ETag"].startswith('"') and body["LastModified"].endswith("+00:00")


def test_details_of_multipart_and_versioned_objects(client, s3):
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="big.bin")["UploadId"]
    parts = []
    for n, size in ((1, 5 * 1024 * 1024), (2, 10)):
        etag = s3.upload_part(Bucket=BUCKET, Key="big.bin", UploadId=upload, PartNumber=n, Body=b"x" * size)["ETag"]
        parts.append({"PartNumber": n, "ETag": etag})
    s3.complete_multipart_upload(Bucket=BUCKET, Key="big.bin", UploadId=upload, MultipartUpload={"Parts": parts})
    body = client.get(url_for("big.bin")).json
    assert body["PartsCount"] == 2 and body["Size"] == 5 * 1024 * 1024 + 10
    assert body["VersionId"] and body["Tags"] == []


def test_details_and_delete_404s(client, s3, calls):
    r = client.get(url_for("missing"))
    assert r.status_code == 404 and "object 'missing'" in r.json["message"]
    r = client.get("/v1/s3/local/buckets/no-such-bucket/objects/x")
    assert r.status_code == 404 and "bucket 'no-such-bucket'" in r.json["message"]
    calls.names.clear()
    assert client.delete(url_for("missing")).status_code == 404
    assert "DeleteObject" not in calls.names  # S3 would answer 204 for a missing key
    assert client.get("/v1/s3/nosuch/buckets/x/objects/y").status_code == 404
    assert client.get(f"{BASE}/objects/" + quote("k" * 1025)).status_code == 400


# --- batch delete -----------------------------------------------------------------------------------------


def test_batch_delete_1500_keys_in_two_calls(client, s3, calls):
    keys = [f"batch/{i:05}" for i in range(1500)]
    seed_keys(keys + ["keep"])
    r = client.post(f"{BASE}/objects/delete", json={"Keys": keys + keys[:10]})  # duplicates are sent once
    assert r.status_code == 200
    assert sorted(r.json["Deleted"]) == keys and r.json["Errors"] == []
    assert calls.count("DeleteObjects") == 2
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["keep"]


def test_batch_delete_reports_a_failed_later_batch(client, s3, add_hook):
    keys = [f"k{i:04}" for i in range(1200)]
    seed_keys(keys)
    seen: list[str] = []

    def fail_second(model: Any, **_: Any) -> None:
        if model.name == "DeleteObjects":
            seen.append("x")
            if len(seen) == 2:
                error = {"Error": {"Code": "SlowDown", "Message": "injected"}}
                raise ClientError({**error, "ResponseMetadata": {"HTTPStatusCode": 503}}, model.name)

    add_hook("before-call", fail_second)
    r = client.post(f"{BASE}/objects/delete", json={"Keys": keys})
    assert r.status_code == 200
    assert len(r.json["Deleted"]) == 1000 and len(r.json["Errors"]) == 200
    assert {e["Key"] for e in r.json["Errors"]} == set(keys[1000:])
    assert r.json["Errors"][0]["Code"] == "TooManyRequests"


def test_batch_delete_unknown_bucket_is_404(client, s3):
    r = client.post("/v1/s3/local/buckets/no-such-bucket/objects/delete", json={"Keys": ["a"]})
    assert r.status_code == 404


def test_batch_delete_validation(client, s3, calls):
    too_many, too_long = {"Keys": ["k"] * 10_001}, {"Keys": ["é" * 513]}
    bodies = ({}, {"Keys": []}, too_many, too_long, {"Keys": [""]}, {"Keys": ["a"], "X": 0}, {"Keys": "a"})
    for body in bodies:
        assert client.post(f"{BASE}/objects/delete", json=body).status_code == 400, body
    assert calls.names == []


# --- multipart uploads ------------------------------------------------------------------------------------


def start_uploads(s3: Any, keys: list[str]) -> dict[str, str]:
    ids = {}
    for i, key in enumerate(keys):
        upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        for n in range(1, i % 3 + 1):
            s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=n, Body=b"p" * (100 * n))
        ids[upload] = key
    return ids


def test_uploads_paged_with_parts_and_size(client, s3, calls):
    ids = start_uploads(s3, ["a", "a", "b/c", "d", "e e", "f", "é"])
    seen: dict[str, dict[str, Any]] = {}
    token = None
    pages = 0
    while True:
        calls.names.clear()
        query = {"max_keys": 3, **({"continuation_token": token} if token else {})}
        r = client.get(f"{BASE}/uploads", query_string=query)
        assert r.status_code == 200, r.json
        pages += 1
        assert len(r.json["Uploads"]) <= 3 and calls.count("ListParts") == len(r.json["Uploads"])
        for upload in r.json["Uploads"]:
            assert upload["UploadId"] not in seen
            seen[upload["UploadId"]] = upload
        token = r.json["NextContinuationToken"]
        if not token:
            break
    assert pages == 3 and set(seen) == set(ids)
    for i, upload_id in enumerate(ids):
        parts = i % 3
        assert seen[upload_id]["Key"] == ids[upload_id]
        assert seen[upload_id]["Parts"] == parts
        assert seen[upload_id]["Size"] == sum(100 * n for n in range(1, parts + 1))
    prefixed = client.get(f"{BASE}/uploads", query_string={"prefix": "b/"}).json["Uploads"]
    assert [u["Key"] for u in prefixed] == ["b/c"]
    assert client.get(f"{BASE}/uploads", query_string={"max_keys": 101}).status_code == 400
    assert client.get(f"{BASE}/uploads", query_string={"continuation_token": "nope"}).status_code == 400
    assert client.get("/v1/s3/local/buckets/no-such-bucket/uploads").status_code == 404


def test_abort_one_upload(client, s3):
    (upload_id,) = start_uploads(s3, ["big file"])
    path = f"{BASE}/uploads/{upload_id}"
    # AWS answers NoSuchUpload for an upload id under another key; moto aborts it anyway, so not tested here
    r = client.delete(path, query_string={"key": "big file"})
    assert r.status_code == 200 and r.json == {"Key": "big file", "UploadId": upload_id}
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=BUCKET)
    assert client.delete(path, query_string={"key": "big file"}).status_code == 404
    assert client.delete(path).status_code == 400  # key is required
    assert client.delete(f"/v1/s3/local/buckets/no-such-bucket/uploads/{upload_id}?key=k").status_code == 404


def test_abort_older_than(client, s3, add_hook):
    ids = start_uploads(s3, ["old/1", "old/2", "new/1", "new/2", "new/3"])

    def fresh_new_uploads(model: Any, parsed: dict[str, Any], **_: Any) -> None:
        """moto stamps every upload 2010-11-10: make the new/ ones a minute old."""
        if model.name == "ListMultipartUploads":
            for upload in parsed.get("Uploads", []):
                if upload["Key"].startswith("new/"):
                    upload["Initiated"] = datetime.now(UTC) - timedelta(minutes=1)

    add_hook("after-call", fresh_new_uploads)
    r = client.post(f"{BASE}/uploads/abort", json={"OlderThanSeconds": 3600})
    assert r.status_code == 200 and r.json == {"Aborted": 2, "Complete": True}
    left = {u["UploadId"] for u in s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"]}
    assert left == {i for i, k in ids.items() if k.startswith("new/")}
    assert client.post(f"{BASE}/uploads/abort", json={"OlderThanSeconds": 0}).json == {"Aborted": 3, "Complete": True}
    for body in ({}, {"OlderThanSeconds": -1}, {"OlderThanSeconds": "10"}, {"OlderThanSeconds": 1.5}):
        assert client.post(f"{BASE}/uploads/abort", json=body).status_code == 400


def test_abort_older_is_bounded(client, s3, monkeypatch):
    start_uploads(s3, [f"u{i}" for i in range(5)])
    monkeypatch.setattr(prov, "ABORT_LIMIT", 3)
    assert client.post(f"{BASE}/uploads/abort", json={"OlderThanSeconds": 0}).json == {"Aborted": 3, "Complete": False}
    assert client.post(f"{BASE}/uploads/abort", json={"OlderThanSeconds": 0}).json == {"Aborted": 2, "Complete": True}


# --- presign, usage, stats --------------------------------------------------------------------------------


def test_presign_shape_and_validation(client, s3):
    before = datetime.now(UTC)
    r = client.post(f"{BASE}/presign", json={"Key": "dir/my file.txt", "Method": "PUT", "ExpiresIn": 900})
    assert r.status_code == 200, r.json
    url = urlparse(r.json["Url"])
    assert url.path == f"/{BUCKET}/dir/my%20file.txt" and "X-Amz-Signature=" in url.query
    assert "X-Amz-Expires=900" in url.query and r.json["Method"] == "PUT"
    expires = datetime.fromisoformat(r.json["ExpiresAt"])
    assert before + timedelta(seconds=898) <= expires <= datetime.now(UTC) + timedelta(seconds=901)
    assert client.post(f"{BASE}/presign", json={"Key": "k"}).json["Method"] == "GET"
    for body in (
        {"Key": "k", "ExpiresIn": 0},
        {"Key": "k", "ExpiresIn": 604_801},
        {"Key": "k", "Method": "DELETE"},
        {"Key": ""},
        {"Method": "GET"},
        {"Key": "k", "Extra": True},
    ):
        assert client.post(f"{BASE}/presign", json=body).status_code == 400, body
    assert client.post("/v1/s3/local/buckets/no-such-bucket/presign", json={"Key": "k"}).status_code == 404


def test_usage_by_listing(client, s3, monkeypatch):
    seed_keys([f"u/{i}" for i in range(30)], body=b"x" * 10)
    s3.put_object(Bucket=BUCKET, Key="big", Body=b"y" * 1000)
    before = datetime.now(UTC).replace(microsecond=0)
    r = client.get(f"{BASE}/usage")
    assert r.status_code == 200
    assert r.json["Bytes"] == 1300 and r.json["Objects"] == 31
    assert r.json["Source"] == "listing" and r.json["Complete"] is True
    assert before <= datetime.fromisoformat(r.json["AsOf"]) <= datetime.now(UTC)
    monkeypatch.setattr(prov, "USAGE_BUDGET", 12)
    cut = client.get(f"{BASE}/usage").json
    assert cut["Complete"] is False and cut["Objects"] == 12
    assert client.get("/v1/s3/local/buckets/no-such-bucket/usage").status_code == 404


def test_usage_from_cloudwatch(aws, s3):
    app = create_app(make_settings(None, usage_source="cloudwatch"))
    client = Client(app.test_client())
    seed_keys([f"c/{i}" for i in range(7)], body=b"z" * 100)
    r = client.get(f"{BASE}/usage")
    assert r.status_code == 200, r.json
    body = r.json
    assert body["Source"] == "cloudwatch" and body["Complete"] is True and body["Objects"] == 7
    # moto's BucketSizeBytes is ~64 B per object, not the 700 stored: only the shape is checked here
    assert isinstance(body["Bytes"], int)
    as_of = datetime.fromisoformat(body["AsOf"])
    assert as_of.tzinfo is not None and timedelta(0) <= datetime.now(UTC) - as_of <= timedelta(days=2)
    assert client.get("/v1/s3/local/buckets/no-such-bucket/usage").status_code == 404


def test_usage_cloudwatch_without_datapoints_falls_back_to_listing(aws, s3):
    app = create_app(make_settings(None, usage_source="cloudwatch"))
    seed_keys(["a", "b"], body=b"123")

    def no_datapoints(model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if model.name == "GetMetricStatistics":  # a bucket younger than a day has none on AWS
            parsed["Datapoints"] = []

    app.extensions["s3api"].clients.add_hook("after-call", no_datapoints)
    body = Client(app.test_client()).get(f"{BASE}/usage").json
    assert body["Source"] == "listing" and body["Objects"] == 2 and body["Bytes"] == 6 and body["Complete"] is True


def distribution(cloudfront: Any, alias: str, enabled: bool = True) -> None:
    origin = f"{alias}.s3-website-us-east-1.amazonaws.com"
    cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": f"ref-{alias}-{enabled}",
            "Aliases": {"Quantity": 1, "Items": [alias]},
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "site",
                        "DomainName": origin,
                        "CustomOriginConfig": {
                            "HTTPPort": 80,
                            "HTTPSPort": 443,
                            "OriginProtocolPolicy": "http-only",
                        },
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "site",
                "ViewerProtocolPolicy": "redirect-to-https",
                "MinTTL": 0,
                "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            },
            "Comment": alias,
            "Enabled": enabled,
        }
    )


def test_stats_from_cheap_calls(client, s3, calls):
    iam = boto3.client("iam", region_name="us-east-1")
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    for name in ("managed-one", "managed-two", "www.site.example.test", "old.site.example.test"):
        s3.create_bucket(Bucket=name)
    for group in (
        "managed-one-BktAdmGrp",
        "managed-two-BktAdmGrp",
        "managed-two-BktRWGrp",
        "managed-two-docs-BktAdmGrp",  # path-scoped: not a bucket
        "gone-bucket-BktAdmGrp",  # bucket deleted: not counted
        "www.site.example.test-BktAdmGrp",
        "www.site.example.test-WebAdmGrp",
    ):
        iam.create_group(GroupName=group)
    for user in ("alice", "bob", "carol"):
        iam.create_user(UserName=user)
    distribution(cloudfront, "www.site.example.test")
    distribution(cloudfront, "old.site.example.test", enabled=False)
    distribution(cloudfront, "elsewhere.example.org")
    calls.names.clear()
    r = client.get("/v1/s3/local/stats")
    assert r.status_code == 200, r.json
    # buckets: objects-test and the four above; links: this module's app records them (tests/api/test_links.py)
    body = dict(r.json)
    links = body.pop("ActivePresignedLinks")
    assert isinstance(links, int) and links >= 0
    assert body == {"Buckets": 5, "ManagedBuckets": 3, "Users": 3, "Websites": 1, "ActiveMultipartUploads": 0}
    assert sorted(calls.names) == [
        "ListBuckets", "ListDistributions", "ListGroups", *["ListMultipartUploads"] * 3, "ListUsers"
    ]  # fmt: skip
    assert client.get("/v1/s3/nosuch/stats").status_code == 404


def test_unknown_bucket_is_404_everywhere(client, s3):
    for method, path, body in (
        ("GET", "objects", None),
        ("GET", "objects/k", None),
        ("DELETE", "objects/k", None),
        ("POST", "objects/delete", {"Keys": ["k"]}),
        ("GET", "uploads", None),
        ("DELETE", "uploads/some-id?key=k", None),
        ("POST", "uploads/abort", {"OlderThanSeconds": 0}),
        ("POST", "presign", {"Key": "k"}),
        ("GET", "usage", None),
    ):
        r = client.open(method, f"/v1/s3/local/buckets/no-such-bucket/{path}", json=body)
        assert r.status_code == 404 and r.json["code"] == "NotFound", (method, path, r.json)


def test_invalid_bucket_name_is_400(client, s3):
    assert client.get("/v1/s3/local/buckets/bad:name/objects").status_code == 400
    assert client.get("/v1/s3/local/buckets/bad:name/objects/k").status_code == 400
