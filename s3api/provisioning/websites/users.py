"""Website users: the users workflow (:mod:`s3api.provisioning.users`) with the site's groups.

A ``Path`` scopes a user to a prefix: groups ``<site>-<x_y>-<Kind>`` at IAM path ``/s3api-sites/<site>/x/y/``
(found again by ListGroups with the site's prefix, whatever else the account holds: see
:func:`groups.site_groups`) and prefix-restricted policies at IAM path = the scoping path (the Yale service
gave only the policies that path; its groups at ``/`` are recognised by their policy), a default
``x/y/index.html``. Root admins also join ``<site>-WebAdmGrp``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from s3api import validation
from s3api.aws import s3
from s3api.aws.clients import AccountAws
from s3api.errors import BadRequest, Conflict, Forbidden
from s3api.provisioning import policies, users
from s3api.provisioning.scope import Scope
from s3api.provisioning.websites.groups import SiteGroup, site_group, site_groups, user_scope
from s3api.provisioning.websites.pages import ensure_page, page_body, page_key, undo_page


def _member_scope(aws: AccountAws, site: str) -> tuple[Scope, dict[str, SiteGroup]]:
    """The site's scope for an existing user: any of the user's groups that is provably the site's, at any path
    (:func:`site_group`), is a member group; the users workflow asks (one ListGroupsForUser) and answers 404
    as for a bucket. The groups proven on the way are kept (by name) for the answer's ``Path``."""
    proven: dict[str, SiteGroup] = {}

    def member(aws: AccountAws, group: Mapping[str, Any]) -> bool:
        found = site_group(aws, site, group)
        if found is not None:
            proven[found.name] = found
        return found is not None

    return user_scope(aws, site, member_test=member), proven


def create_user(aws: AccountAws, site: str, new: users.NewUser, kinds: Sequence[str] | None = None) -> dict[str, Any]:
    """POST .../websites/<site>/users: ``{"User", "AccessKey"}`` (the secret shown once).

    ``new.path`` is the scoping path (normalised; also the user's IAM path, as in Yale). Order, all in the
    users workflow: CreateUser (the claim on the name) → the default page of a path (when missing; undo:
    delete it) → lazily created groups and policies, memberships, key. Any failure leaves nothing behind
    (Yale's left the user behind), and a request that lost the race for the name never touches the page.
    """
    try:
        path = policies.normalize_path(new.path)
    except BadRequest as exc:
        raise BadRequest(exc.message, errors={"User.Path": [exc.message]}) from None
    request = users.check_new_user(aws, user_scope(aws, site, path), replace(new, path=path), kinds)
    s3.require_bucket(aws, site, "website")
    _check_path_names(aws, site, path)
    key = page_key(path)
    user = users.claim_user(aws, request)
    with users.user_transaction(aws, request) as tx:
        if path != "/":  # after CreateUser: a request that lost the race never touches it
            tx.step(
                "index_page",
                lambda: ensure_page(aws, site, key, page_body(site, path)),
                functools.partial(undo_page, aws, site, key),
            )
        result = users.grant(aws, tx, request, user)
    result["Path"] = path
    return result


def _check_path_names(aws: AccountAws, site: str, path: str) -> None:
    """409 when the IAM names of scoping ``path`` are a bucket's: ``<site>-<x_y>-…`` for ``/x/y/`` are also
    the names of bucket ``<site>-<x_y>`` (compared case-insensitively, as IAM does: ``/Docs/`` collides with
    bucket ``<site>-docs``). One HeadBucket; nothing to check at the root or when no bucket can have the name.
    A bucket of another account (403) has no IAM names here."""
    if path == "/":
        return
    bucket = f"{site}-{policies.path_prefix(path).replace('/', '_')}".lower()
    if validation.bucket_name_error(bucket):
        return
    try:
        taken = s3.head_bucket(aws, bucket) is not None
    except Forbidden:
        return
    if taken:
        message = f"the IAM names of path {path} collide with bucket '{bucket}''s; use another path"
        raise Conflict(message)


def list_users(aws: AccountAws, site: str) -> list[dict[str, Any]]:
    """GET .../websites/<site>/users: the members of every group of the site (all paths), ``[]`` when none."""
    s3.require_bucket(aws, site, "website")
    names = [sg.name for sg in site_groups(aws, site)]  # list_users reads each group
    if not names:
        return []
    return users.list_users(aws, user_scope(aws, site, members_of=names))


def show_user(aws: AccountAws, site: str, user: str) -> dict[str, Any]:
    """The users workflow's show, plus ``"Path"``: the shortest scoping path of the user's site groups (read from
    the groups: a path group's IAM path or its policy's), never guessed from the user name (Yale's guess broke
    on dashes and nested paths)."""
    scope, proven = _member_scope(aws, site)
    result = users.show_user(aws, scope, user)  # stops at the first member group: prove the others
    for group in result["Groups"]:
        if group["GroupName"] not in proven:
            scope.is_member_group(aws, group)
    result["Path"] = min((sg.path for sg in proven.values()), key=len)
    return result


def rotate_user_keys(aws: AccountAws, site: str, user: str, grace_seconds: int = 0) -> dict[str, Any]:
    """PUT .../websites/<site>/users/<user>: 404 unless the user is in one of the site's groups."""
    return users.rotate_keys(aws, _member_scope(aws, site)[0], user, grace_seconds=grace_seconds)


def set_user_key_status(aws: AccountAws, site: str, user: str, key_id: str, status: str) -> dict[str, Any]:
    """PATCH .../websites/<site>/users/<user>/keys/<key_id>: 404 unless the user is in one of the site's groups
    and the key is the user's (:func:`users.set_key_status`)."""
    return users.set_key_status(aws, _member_scope(aws, site)[0], user, key_id, status)


def delete_user(aws: AccountAws, site: str, user: str) -> None:
    """DELETE .../websites/<site>/users/<user>: 404 unless the user is in one of the site's groups."""
    users.delete_user(aws, _member_scope(aws, site)[0], user)
