"""The tenant credentials' policy documents and their packing into IAM's limits (pure)."""

from __future__ import annotations

import string

import pytest

from s3api import names
from s3api.errors import Conflict
from s3api.provisioning.tenants import credentials


def long_names(count: int) -> list[str]:
    """``count`` distinct bucket names of the longest length S3 allows (63)."""
    out = []
    for i in range(count):
        stem = f"b{i:05d}"
        out.append(stem + string.ascii_lowercase[i % 26] * (63 - len(stem)))
    return out


def test_max_tenant_buckets_of_the_longest_names_fit_in_ten_policies():
    placed = credentials.pack({}, long_names(names.MAX_TENANT_BUCKETS))
    assert len(placed) <= names.IAM_MANAGED_POLICIES_PER_USER
    assert sum(len(b) for b in placed.values()) == names.MAX_TENANT_BUCKETS
    for buckets in placed.values():
        assert credentials.size(credentials.document(sorted(buckets))) <= names.IAM_MANAGED_POLICY_CHARS
    # the figure the docstring gives: 37 such buckets per policy with the default action lists
    assert max(len(b) for b in placed.values()) == 37


def test_beyond_the_room_of_ten_policies_is_409():
    with pytest.raises(Conflict, match="IAM's limits"):
        credentials.pack({}, long_names(371))


def test_buckets_never_move_and_new_ones_fill_the_first_room():
    first = credentials.pack({}, long_names(40))
    assert sorted(first) == [1, 2] and len(first[1]) == 37
    gone = sorted(first[1])[0]
    kept = credentials.pack(first, [b for b in long_names(40) if b != gone] + ["new-bucket"])
    assert kept[2] == first[2]  # untouched
    assert kept[1] == (first[1] - {gone}) | {"new-bucket"}
    assert credentials.pack(kept, sorted(kept[2])) == {2: kept[2]}  # an emptied policy is absent


def test_documents_name_exactly_the_buckets():
    doc = credentials.document(["b-two", "a-one"])
    assert credentials.buckets_of(doc) == {"a-one", "b-two"}
    allows = {s["Sid"]: s["Resource"] for s in doc["Statement"]}
    assert allows == {
        "TenantBuckets": ["arn:aws:s3:::a-one", "arn:aws:s3:::b-two"],
        "TenantObjects": ["arn:aws:s3:::a-one/*", "arn:aws:s3:::b-two/*"],
    }
    assert all(s["Effect"] == "Allow" for s in doc["Statement"])
    guard = credentials.guard_document()
    assert guard["Statement"][0]["Effect"] == "Deny" and "s3:PutBucketTagging" in guard["Statement"][0]["Action"]
    inline = credentials.size(guard) + credentials.size(credentials.suspended_document())
    assert inline <= names.IAM_INLINE_USER_POLICY_CHARS
