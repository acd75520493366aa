"""Default pages (``index.html`` at the root and ``x/y/index.html`` for a path's users), and whether a site's
bucket holds anything else: only default pages may be left when a site is deleted.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence

from s3api.aws import s3
from s3api.aws.clients import AccountAws
from s3api.provisioning import policies
from s3api.provisioning.websites.naming import INDEX, Tag

#: Object tags marking a default page (ours, and the Yale service's for its root index.html).
DEFAULT_PAGE_TAG: Tag = {"Key": "s3api:default-page", "Value": "true"}


YALE_PAGE_TAG: Tag = {"Key": "yale:spinup", "Value": "true"}


PAGE_SCAN_SIZE = 100


_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")


def page_body(site: str, path: str) -> bytes:
    where = html.escape(site + (path if path != "/" else ""))
    return f"<!doctype html>\n<title>{where}</title>\n<p>Hello, {where}!</p>\n".encode()


def page_key(path: str) -> str:
    """The default page of a scoping path: ``index.html`` or ``x/y/index.html`` (never a leading slash)."""
    prefix = policies.path_prefix(path)
    return f"{prefix}/{INDEX}" if prefix else INDEX


def _default_page_candidate(key: str) -> bool:
    if key == INDEX:
        return True
    prefix, _, name = key.rpartition("/")
    return name == INDEX and all(_SEGMENT.fullmatch(seg) and seg not in (".", "..") for seg in prefix.split("/"))


def _is_default_page(tags: Sequence[Mapping[str, str]]) -> bool:
    return any(dict(t) in (DEFAULT_PAGE_TAG, YALE_PAGE_TAG) for t in tags)


def content_check(aws: AccountAws, site: str) -> tuple[bool, list[tuple[str, str | None]]]:
    """``(True, default pages as (key, version id))`` when the bucket holds nothing but default pages;
    ``(False, [])`` at the first other thing (pages of :data:`PAGE_SCAN_SIZE`, so a full bucket costs one call).

    A default page is ``index.html`` or ``<path>/index.html`` with exactly one version, no delete marker, and
    the default-page tag (ours or Yale's). A replaced or re-uploaded page is content. Versions count: a
    versioned bucket's history would make DeleteBucket fail.
    """
    versions: dict[str, list[str | None]] = {}
    key_marker = version_marker = None
    while True:
        page = s3.list_versions_page(aws, site, PAGE_SCAN_SIZE, key_marker, version_marker)
        for entry in page["Entries"]:
            if entry["DeleteMarker"] or not _default_page_candidate(entry["Key"]):
                return False, []
            versions.setdefault(entry["Key"], []).append(entry["VersionId"])
        if not page["IsTruncated"] or not page["NextKeyMarker"]:
            break
        key_marker, version_marker = page["NextKeyMarker"], page["NextVersionIdMarker"]
    pages: list[tuple[str, str | None]] = []
    for key, found in versions.items():
        if len(found) != 1:
            return False, []
        version = found[0] if found[0] not in (None, "null") else None
        if not _is_default_page(s3.object_version_tags(aws, site, key, version)):
            return False, []
        pages.append((key, found[0]))
    return True, pages


def delete_pages(aws: AccountAws, site: str, pages: Sequence[tuple[str, str | None]]) -> None:
    for key, version in pages:
        s3.delete_object_version(aws, site, key, version)


def ensure_page(aws: AccountAws, site: str, key: str, body: bytes) -> tuple[bool, str | None]:
    """Write a default page unless ``key`` exists: (created, version id)."""
    if s3.object_exists(aws, site, key):
        return False, None
    version = s3.put_tagged_object(aws, site, key, body, "text/html; charset=utf-8", [DEFAULT_PAGE_TAG])
    return True, version


def undo_page(aws: AccountAws, site: str, key: str, made: tuple[bool, str | None]) -> None:
    created, version = made
    if created:
        s3.delete_object_version(aws, site, key, version)
