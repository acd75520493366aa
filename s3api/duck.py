"""Cyberduck bookmarks (``.duck`` files): XML property lists that Cyberduck imports as a connection.

A bookmark holds no secret — Cyberduck prompts for the access key pair. Field order matches the Go
service's so existing users see the same file.
"""

from __future__ import annotations

import plistlib
from urllib.parse import urlsplit

from s3api.provisioning.policies import path_prefix


def _host_port(hostname: str, endpoint: str | None) -> tuple[str, str]:
    if not endpoint:
        return hostname, "443"
    parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
    if not parts.hostname:
        raise ValueError(f"S3 endpoint URL without a host: {endpoint!r}")
    port = parts.port or (80 if parts.scheme == "http" else 443)
    return parts.hostname, str(port)


def duck_bookmark(
    name: str,
    path: str = "/",
    hostname: str = "s3.amazonaws.com",
    nickname_prefix: str = "s3api",
    endpoint: str | None = None,
) -> bytes:
    """The ``.duck`` plist for bucket ``name``, opening at ``path`` (normalised; BadRequest if invalid).

    With ``endpoint`` (an S3 endpoint URL such as ``http://127.0.0.1:5000``) its host and port replace
    ``hostname`` and 443; the protocol stays ``s3``.
    """
    prefix = path_prefix(path)
    where = f"{name}/{prefix}" if prefix else name
    host, port = _host_port(hostname, endpoint)
    bookmark = {
        "Protocol": "s3",
        "Provider": "iterate GmbH",
        "Nickname": f"{nickname_prefix} - {where}",
        "Hostname": host,
        "Port": port,
        "Path": f"/{where}",
        "Web URL": f"s3://{name}/",
    }
    return plistlib.dumps(bookmark, fmt=plistlib.FMT_XML, sort_keys=False)


def filename(name: str, path: str = "/") -> str:
    """Download file name for Content-Disposition: ``<name>.duck`` or ``<name>-<x_y>.duck`` for ``/x/y/``."""
    prefix = path_prefix(path)
    return f"{name}-{prefix.replace('/', '_')}.duck" if prefix else f"{name}.duck"
