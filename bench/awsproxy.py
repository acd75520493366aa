"""A recording pass-through proxy in front of the bench's moto server, for the ``groups`` section.

moto answers ListGroups with every group in one page, ignoring both ``MaxItems`` and ``PathPrefix``, so a
call count under moto cannot show what AWS would page. The proxy forwards every request unchanged (127.0.0.1
only) and, for each IAM ``ListGroups``, records the ``PathPrefix`` and ``MaxItems`` asked and the paths of the
groups moto answered; :func:`aws_pages` then says how many pages AWS would have answered for the same request
(the groups under the prefix, ``MaxItems`` at a time). Nothing else is parsed or kept; no secret is recorded.
"""

from __future__ import annotations

import http.client
import math
import re
import threading
import urllib.parse
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_PATH = re.compile(rb"<Path>([^<]*)</Path>")
IAM_DEFAULT_MAX_ITEMS = 100  # AWS's page size when MaxItems is not given
IAM_MAX_ITEMS = 1000
_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


def aws_pages(path_prefix: str, max_items: int | None, group_paths: Iterable[str]) -> int:
    """Pages AWS answers for ``ListGroups(PathPrefix, MaxItems)`` (all pages) over groups with these IAM paths:
    the groups under the prefix, at most ``MaxItems`` (1..1000, default 100) a page; one page when none match."""
    size = min(IAM_MAX_ITEMS, max(1, max_items or IAM_DEFAULT_MAX_ITEMS))
    matching = sum(1 for p in group_paths if p.startswith(path_prefix or "/"))
    return max(1, math.ceil(matching / size))


def list_groups_request(body: bytes) -> dict[str, Any] | None:
    """``{"path_prefix", "max_items", "marker"}`` when a form-encoded IAM body is a ListGroups call, else None."""
    try:
        form = urllib.parse.parse_qs(body.decode("ascii"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return None
    if form.get("Action", [""])[0] != "ListGroups":
        return None
    max_items = form.get("MaxItems", [""])[0]
    return {
        "path_prefix": form.get("PathPrefix", ["/"])[0] or "/",
        "max_items": int(max_items) if max_items.isdigit() else None,
        "marker": bool(form.get("Marker", [""])[0]),
    }


def group_paths(xml: bytes) -> list[str]:
    """The ``<Path>`` of every group in a ListGroups answer (moto's XML)."""
    return [m.decode("utf-8", "replace") for m in _PATH.findall(xml)]


class RecordingProxy:
    """``with RecordingProxy(upstream) as proxy``: ``proxy.url`` forwards to ``upstream`` (http://127.0.0.1:port);
    ``proxy.take()`` returns and clears the ListGroups records since the last take."""

    def __init__(self, upstream: str) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []
        self._local = threading.local()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                status, reason, out_headers, data = proxy.forward(self.command, self.path, headers, body)
                request = list_groups_request(body) if body else None
                if request is not None:
                    request["paths"] = group_paths(data)
                    with proxy._lock:
                        proxy._records.append(request)
                self.send_response(status, reason)
                for k, v in out_headers:
                    if k.lower() not in _HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="bench-aws-proxy", daemon=True)

    def forward(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        for attempt in (0, 1):  # a kept-alive upstream connection may have been closed: retry once, fresh
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = http.client.HTTPConnection(*self.upstream, timeout=120)
            try:
                conn.request(method, path, body=body or None, headers=dict(headers))
                resp = conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    conn.close()
                    self._local.conn = None
                return resp.status, resp.reason, resp.getheaders(), data
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def take(self) -> list[dict[str, Any]]:
        with self._lock:
            out, self._records = self._records, []
        return out

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
