"""Input rules checked before any AWS call.

Each ``validate_*`` function returns the (normalised) value or raises :class:`BadRequest` whose
``errors`` maps the offending request field to a list of messages. The rules mirror AWS's documented
limits so that a request we accept is not then rejected half-way through a multi-step workflow.
"""

from __future__ import annotations

import ipaddress
import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from s3api.errors import BadRequest
from s3api.names import Tag

MAX_TAGS = 50  # S3, CloudFront and IAM all allow 50 tags per resource
MAX_CALLER_TAGS = MAX_TAGS - 1  # one slot is reserved for the organisation tag we add
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
MAX_BUCKET_POLICY_BYTES = 20 * 1024
MAX_OBJECT_KEY_BYTES = 1024

#: One pattern per value, used by the path converters (:mod:`s3api.api`), the schema fields
#: (:mod:`s3api.schemas.fields`) and so the OpenAPI document; only syntax ECMA-262 reads the same way.
BUCKET_NAME_PATTERN = "[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"  # a new bucket (create): the rules since March 2018
EXISTING_BUCKET_NAME_PATTERN = "[A-Za-z0-9._-]{3,255}"  # a bucket addressed in a URL: legacy names included

_BUCKET_RE = re.compile(BUCKET_NAME_PATTERN)
_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_TAG_PUNCTUATION = frozenset("_.:/=+-@")
_POLICY_VERSIONS = ("2012-10-17", "2008-10-17")


def _fail(field: str, message: str) -> BadRequest:
    return BadRequest(message, errors={field: [message]})


# --- buckets and objects ------------------------------------------------------------------------


def bucket_name_error(name: object) -> str | None:
    """Why ``name`` is not a valid S3 general-purpose bucket name, or None if it is."""
    if not isinstance(name, str):
        return "bucket name must be a string"
    if not _BUCKET_RE.fullmatch(name):
        return (
            f"invalid bucket name {name!r}: 3-63 characters of lowercase letters, digits, '.' and '-', "
            "beginning and ending with a letter or digit"
        )
    if ".." in name:
        return f"invalid bucket name {name!r}: two adjacent periods"
    try:
        ipaddress.IPv4Address(name)
        return f"invalid bucket name {name!r}: formatted as an IP address"
    except ValueError:
        pass
    if name.startswith(_BUCKET_PREFIXES):
        return f"invalid bucket name {name!r}: reserved prefix (one of {', '.join(_BUCKET_PREFIXES)})"
    if name.endswith(_BUCKET_SUFFIXES):
        return f"invalid bucket name {name!r}: reserved suffix (one of {', '.join(_BUCKET_SUFFIXES)})"
    return None


def validate_bucket_name(name: str, field: str = "bucket") -> str:
    """Return ``name`` if it follows the S3 general-purpose bucket naming rules, else BadRequest."""
    problem = bucket_name_error(name)
    if problem:
        raise _fail(field, problem)
    return name


def object_key_error(key: object) -> str | None:
    """Why ``key`` is not an S3 object key (1..1024 bytes of UTF-8, S3's limit), or None if it is."""
    if not isinstance(key, str) or not key:
        return "object key must be a non-empty string"
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:  # lone surrogates
        return "object key must be valid UTF-8"
    if size > MAX_OBJECT_KEY_BYTES:
        return f"object key is {size} bytes of UTF-8; the limit is {MAX_OBJECT_KEY_BYTES}"
    return None


# --- tags ---------------------------------------------------------------------------------------


def _bad_tag_chars(text: str) -> list[str]:
    """Characters outside AWS's tag set: Unicode letters, digits, space separators and ``_.:/=+-@``.

    Line/paragraph separators (Zl/Zp), although in ``\\p{Z}``, are refused along with control characters.
    """
    bad = []
    for ch in text:
        cat = unicodedata.category(ch)
        if not (cat[0] in "LN" or cat == "Zs" or ch in _TAG_PUNCTUATION):
            bad.append(ch)
    return bad


def tag_key_error(key: object) -> str | None:
    """Why ``key`` is not an acceptable caller tag key, or None."""
    if not isinstance(key, str):
        return "tag Key must be a string"
    if not 1 <= len(key) <= MAX_TAG_KEY:
        return f"tag Key must be 1-{MAX_TAG_KEY} characters long"
    if key.lower().startswith("aws:"):
        return f"tag Key {key!r} uses the reserved 'aws:' prefix"
    if bad := _bad_tag_chars(key):
        return f"tag Key {key!r} contains disallowed characters {''.join(dict.fromkeys(bad))!r}"
    return None


def tag_value_error(value: object) -> str | None:
    """Why ``value`` is not an acceptable tag value, or None."""
    if not isinstance(value, str):
        return "tag Value must be a string"
    if len(value) > MAX_TAG_VALUE:
        return f"tag Value must be at most {MAX_TAG_VALUE} characters long"
    if bad := _bad_tag_chars(value):
        return f"tag Value {value!r} contains disallowed characters {''.join(dict.fromkeys(bad))!r}"
    return None


def validate_tags(tags: Any, org_tag_key: str, field: str = "Tags") -> list[Tag]:
    """Return caller tags as a fresh ``[{"Key", "Value"}]`` list, or raise BadRequest.

    At most 49 tags are accepted (AWS allows 50 per resource; the server adds the organisation tag).
    The caller may not set ``org_tag_key`` (compared case-insensitively) — it is the server's to set.
    Keys are unique (case-sensitively, as in AWS). ``None`` means no tags.
    """
    if tags is None:
        return []
    if not isinstance(tags, list):
        raise _fail(field, "tags must be a list of {'Key': ..., 'Value': ...} objects")
    if len(tags) > MAX_CALLER_TAGS:
        raise _fail(field, f"at most {MAX_CALLER_TAGS} tags are allowed (AWS allows {MAX_TAGS}; one is reserved)")
    result: list[Tag] = []
    seen: set[str] = set()
    for i, tag in enumerate(tags):
        if not isinstance(tag, Mapping) or set(tag) != {"Key", "Value"}:
            raise _fail(field, f"tag #{i} must be an object with exactly the fields 'Key' and 'Value'")
        key, value = tag["Key"], tag["Value"]
        problem = tag_key_error(key) or tag_value_error(value)
        if problem:
            raise _fail(field, f"tag #{i}: {problem}")
        if key.lower() == org_tag_key.lower():
            raise _fail(field, f"tag #{i}: the tag {org_tag_key!r} is set by the server and may not be given")
        if key in seen:
            raise _fail(field, f"tag #{i}: duplicate tag Key {key!r}")
        seen.add(key)
        result.append({"Key": key, "Value": value})
    return result


def with_org_tag(tags: list[Tag], key: str, value: str) -> list[Tag]:
    """A new list: ``tags`` without any tag named ``key``, followed by ``{"Key": key, "Value": value}``."""
    return [dict(t) for t in tags if t["Key"] != key] + [{"Key": key, "Value": value}]


# --- bucket policies ----------------------------------------------------------------------------


def validate_bucket_policy(
    text: str | Mapping[str, Any], bucket: str, field: str = "Policy", *, public_read: bool = False
) -> dict[str, Any]:
    """Parse and check a caller-supplied bucket policy; return it as a dict.

    Accepts JSON text or an already-parsed object of at most 20 KiB (S3's limit). Requires
    ``Version`` (2012-10-17 or 2008-10-17) and a non-empty ``Statement`` (object or list); every
    statement needs ``Effect`` Allow/Deny, ``Principal``, ``Action`` or ``NotAction``, and ``Resource``
    whose every entry is ``arn:aws:s3:::<bucket>`` or lies under ``arn:aws:s3:::<bucket>/``.
    ``NotResource`` is refused: it would reach beyond this bucket.

    Principals (the rule the README states):

    - ``NotPrincipal`` is refused: with Allow it grants everyone but the listed principals, and even with Deny
      AWS advises against it; name the principals in ``Principal``.
    - A *public* principal is ``"*"``, or an object one of whose values is or holds a string containing
      ``*`` (``{"AWS": "*"}``, ``{"AWS": ["arn:...", "*"]}``, ``arn:aws:iam::*:root``). An Allow for a public
      principal may grant read actions only: every ``Action`` entry must start with ``s3:Get`` or ``s3:List``
      (``s3:GetObject``, ``s3:Get*``, any case); ``NotAction``, ``*``, ``s3:*``, ``s3:Put*`` and every other
      action count as writes and are refused in every account. Public read itself is refused unless
      ``public_read`` (the account's ``origin_access`` is ``public-website``, the Yale model of public website
      buckets); in a ``private`` account AWS's Block Public Access, on for every bucket we create, would refuse
      such a policy anyway. A Condition does not make a public principal private here (conservative).
      Deny statements with a public principal are always fine (they only restrict).
    """
    if isinstance(text, Mapping):
        text = json.dumps(text)
    if not isinstance(text, str):
        raise _fail(field, "policy must be a JSON object or a string holding one")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BUCKET_POLICY_BYTES:
        raise _fail(field, f"policy is larger than {MAX_BUCKET_POLICY_BYTES} bytes")
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise _fail(field, f"policy is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise _fail(field, "policy must be a JSON object")
    if doc.get("Version") not in _POLICY_VERSIONS:
        raise _fail(field, f"policy Version must be one of {', '.join(_POLICY_VERSIONS)}")
    statements = doc.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise _fail(field, "policy Statement must be an object or a non-empty list of objects")
    for i, st in enumerate(statements):
        problem = _statement_error(st, bucket) or _principal_error(st, public_read)
        if problem:
            raise _fail(field, f"Statement #{i}: {problem}")
    return doc


def _statement_error(st: object, bucket: str) -> str | None:
    if not isinstance(st, dict):
        return "must be an object"
    if st.get("Effect") not in ("Allow", "Deny"):
        return "Effect must be 'Allow' or 'Deny'"
    if "NotPrincipal" in st:
        return "NotPrincipal is not allowed (it applies to everyone but the principals listed); use Principal"
    if "Principal" not in st:
        return "Principal is required in a bucket policy"
    if ("Action" in st) == ("NotAction" in st):
        return "exactly one of Action or NotAction is required"
    if "NotResource" in st:
        return "NotResource is not allowed; list this bucket's resources in Resource"
    resources = st.get("Resource")
    if isinstance(resources, str):
        resources = [resources]
    if not isinstance(resources, list) or not resources:
        return "Resource must be a string or a non-empty list of strings"
    arn = f"arn:aws:s3:::{bucket}"
    for res in resources:
        if not isinstance(res, str) or not (res == arn or res.startswith(arn + "/")):
            return f"Resource {res!r} is outside this bucket (expected {arn} or {arn}/...)"
    return None


_READ_ACTION_PREFIXES = ("s3:get", "s3:list")


def _strings(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


def _is_public(principal: object) -> bool:
    """True for ``"*"`` and for an object naming a wildcard principal under any key (``{"AWS": "*"}``)."""
    if isinstance(principal, str):
        return "*" in principal
    if isinstance(principal, Mapping):
        return any(isinstance(p, str) and "*" in p for v in principal.values() for p in _strings(v))
    return False


def _principal_error(st: dict[str, Any], public_read: bool) -> str | None:
    """The public-principal rule of :func:`validate_bucket_policy` for one (otherwise valid) statement."""
    principal = st["Principal"]
    if not isinstance(principal, (str, Mapping)) or (isinstance(principal, str) and principal != "*"):
        return "Principal must be '*' or an object such as {'AWS': [...]} or {'Service': ...}"
    if st["Effect"] != "Allow" or not _is_public(principal):
        return None
    if "NotAction" in st:
        return "NotAction with a public principal ('*') would grant write actions to everyone"
    actions = _strings(st.get("Action"))
    writes = [a for a in actions if not (isinstance(a, str) and a.lower().startswith(_READ_ACTION_PREFIXES))]
    if writes:
        return f"a public principal ('*') may be granted read actions only (s3:Get*, s3:List*), not {writes[0]!r}"
    if not public_read:
        return "a public principal ('*') is allowed only in accounts whose origin_access is public-website"
    return None
