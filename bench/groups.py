"""Section ``groups`` (issue 12): AWS calls per request of the website and user routes with 100 and then
5,000 unrelated IAM groups in the account.

The goal: website delete and website-user listing must not page through every IAM group of the account, so
their calls per request stay flat as unrelated groups are added. The unrelated groups are created directly
against the bench's moto server (parallel CreateGroup, bounded in count and time); at each level a fresh
website (one root user, one user scoped with ``Path``) and a fresh bucket (one user) go through the routes,
each request between two scrapes of ``s3api_aws_calls_total``. moto ignores ``PathPrefix`` on ListGroups, so
nothing here assumes a filtered listing: the calls are counted, not inferred.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bench import report
from bench.awsproxy import RecordingProxy, aws_pages
from bench.sections import TITLES, A, Run, calls_between, expect
from bench.server import Server
from bench.stats import run_load

TITLE = "AWS calls of website and user routes with 100 vs 5,000 unrelated IAM groups (issue 12)"
TITLES["groups"] = TITLE
UNRELATED = "bench-unrelated-{:05d}"
#: (key, label, method, OpenAPI path below /v1/s3): the routes measured at each level, in the order they run.
ROUTES: list[tuple[str, str, str, str]] = [
    ("website_create", "Create website", "POST", "/{account}/websites"),
    ("website_user_root", "Create website user (root)", "POST", "/{account}/websites/{website}/users"),
    ("website_user_path", "Create website user (Path /docs/)", "POST", "/{account}/websites/{website}/users"),
    ("website_users", "GET website users", "GET", "/{account}/websites/{website}/users"),
    (
        "website_user_delete",
        "DELETE website user (Path /docs/)",
        "DELETE",
        "/{account}/websites/{website}/users/{user}",
    ),
    ("website_delete", "DELETE website (1 root user left)", "DELETE", "/{account}/websites/{website}"),
    ("bucket_create", "Create bucket (comparison)", "POST", "/{account}/buckets"),
    ("bucket_user", "Create bucket user (comparison)", "POST", "/{account}/buckets/{bucket}/users"),
    ("bucket_users", "GET bucket users (comparison)", "GET", "/{account}/buckets/{bucket}/users"),
    ("bucket_delete", "DELETE bucket, 1 user (comparison)", "DELETE", "/{account}/buckets/{bucket}"),
]
#: The routes issue 12 requires flat (the others are shown for comparison).
REQUIRED_FLAT = ("website_users", "website_delete", "website_user_delete")


def growth(levels: Sequence[int], calls: Mapping[str, Mapping[int, float | None]]) -> list[dict[str, Any]]:
    """Per route key (in ``ROUTES`` order, unknown keys last): the calls at each level, the difference between
    the last and the first level measured, and a verdict: "flat", "grows (+n)", "fewer (-n)" or "not measured"."""
    order = [key for key, *_ in ROUTES] + sorted(set(calls) - {key for key, *_ in ROUTES})
    out = []
    for key in order:
        if key not in calls:
            continue
        per = calls[key]
        seen = [(n, per[n]) for n in levels if per.get(n) is not None]
        if len(seen) < 2:
            verdict, delta = "not measured", None
        else:
            delta = round(float(seen[-1][1] or 0) - float(seen[0][1] or 0), 2)
            verdict = "flat" if delta == 0 else (f"grows (+{delta:g})" if delta > 0 else f"fewer ({delta:g})")
        out.append({"key": key, "calls": {n: per.get(n) for n in levels}, "delta": delta, "verdict": verdict})
    return out


def seed_groups(iam: Any, start: int, stop: int, threads: int, seconds: float) -> dict[str, Any]:
    """CreateGroup ``bench-unrelated-<i>`` for ``start <= i < stop`` from ``threads`` threads, until done or
    ``seconds`` passed; an existing group counts as seeded."""
    lock = threading.Lock()
    state = {"next": start, "made": 0}

    def create(_: int) -> bool:
        with lock:
            i = state["next"]
            state["next"] += 1
        if i >= stop:
            return True
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_group(GroupName=UNRELATED.format(i), Path="/bench/unrelated/")
        with lock:
            state["made"] += 1
        return True

    res = run_load(create, threads=threads, max_requests=max(0, stop - start), max_seconds=seconds)
    return {
        "asked": stop - start,
        "seeded": state["made"],
        "seconds": round(res.elapsed, 1),
        "per_s": round(state["made"] / res.elapsed, 1) if res.elapsed else None,
        "errors": res.errors,
        "first_error": res.first_error,
        "stopped_by": res.stopped_by,
    }


def count_groups(iam: Any) -> int:
    return sum(len(page["Groups"]) for page in iam.get_paginator("list_groups").paginate())


def _measure(srv: Server, proxy: RecordingProxy, fn: Callable[[], Any]) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """The operations one request made (s3api_aws_calls_total before/after) and its ListGroups records."""
    before = srv.metrics()
    proxy.take()
    fn()
    records = proxy.take()
    ops, _ = calls_between(before, srv.metrics())
    return ops, records


def aws_equivalent(ops: Mapping[str, int], records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What the same request costs on AWS: moto's ListGroups calls replaced by the pages AWS would answer
    (:func:`awsproxy.aws_pages` for each first-page request; a request with a Marker is moto's own later page)."""
    firsts = [r for r in records if not r.get("marker")]
    pages = sum(aws_pages(r["path_prefix"], r["max_items"], r["paths"]) for r in firsts)
    listed = ops.get("iam:ListGroups", 0)
    calls = sum(ops.values())
    return {
        "calls": calls,
        "list_groups": listed,
        "aws_list_groups_pages": pages,
        "aws_calls": calls - listed + pages if records else calls,
        "path_prefixes": sorted({r["path_prefix"] for r in records}),
    }


def _level(srv: Server, proxy: RecordingProxy, n: int, domain: str) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """One pass over ``ROUTES`` with a fresh site and bucket: per route, what the request made."""
    s = srv.session()
    site = f"bench-g{n}.{domain}"
    bucket = f"bench-groups-{n}"
    root, scoped, member = f"bench-g{n}-root", f"bench-g{n}-docs", f"bench-g{n}-member"
    w = f"{A}/websites/{site}"
    b = f"{A}/buckets/{bucket}"
    url = srv.url
    steps: dict[str, Callable[[], Any]] = {
        "website_create": lambda: s.post(url(f"{A}/websites"), json={"BucketInput": {"Bucket": site}}),
        "website_user_root": lambda: s.post(url(f"{w}/users"), json={"User": {"UserName": root}}),
        "website_user_path": lambda: s.post(url(f"{w}/users"), json={"User": {"UserName": scoped, "Path": "/docs/"}}),
        "website_users": lambda: s.get(url(f"{w}/users")),
        "website_user_delete": lambda: s.delete(url(f"{w}/users/{scoped}")),
        "website_delete": lambda: s.delete(url(w)),
        "bucket_create": lambda: s.post(url(f"{A}/buckets"), json={"BucketInput": {"Bucket": bucket}}),
        "bucket_user": lambda: s.post(url(f"{b}/users"), json={"User": {"UserName": member}}),
        "bucket_users": lambda: s.get(url(f"{b}/users")),
        "bucket_delete": lambda: s.delete(url(b)),
    }
    out: dict[str, dict[str, Any]] = {}
    failures: list[str] = []
    for key, label, _method, _path in ROUTES:
        try:
            ops, records = _measure(srv, proxy, lambda k=key: expect(steps[k]()))
        except Exception as exc:  # noqa: BLE001 - reported per route, the level goes on
            failures.append(f"{label} with {n} groups: {exc}"[:300])
            continue
        out[key] = {"ops": ops, **aws_equivalent(ops, records)}
    return out, failures


def many_groups(run: Run) -> dict[str, Any]:
    srv = run.server
    missing = srv.missing(*{(m, p) for _k, _l, m, p in ROUTES})
    if missing:
        return report.skipped(TITLE, "route missing: " + ", ".join(sorted(missing)))
    if run.emulator is None:
        return report.skipped(TITLE, "no emulator to attach to")
    caps = run.caps
    sec = report.section(TITLE)
    domain = json.loads(run.emulator.get("seed", "{}")).get("domain") or "example.test"
    iam = run.d.iam
    levels: list[int] = []
    seeds: list[dict[str, Any]] = []
    per_level: dict[int, dict[str, dict[str, Any]]] = {}
    seeded = 0
    with (
        RecordingProxy(run.emulator["endpoint"]) as proxy,
        Server(run.workdir, "groups", 1, emulator={**run.emulator, "endpoint": proxy.url}) as gsrv,
    ):
        gsrv.start()
        for target in sorted(set(caps.group_counts)):
            if run.remaining() < 40:
                sec["notes"].append(f"Level {target}: skipped, time budget of the run exhausted.")
                break
            info = seed_groups(iam, seeded, target, caps.group_threads, run.seconds(caps.group_seed_seconds, 40))
            seeded += info["seeded"]
            info["unrelated_total"] = seeded
            info["groups_in_account"] = count_groups(iam)
            seeds.append({"level": target, **info})
            level = seeded  # what was really seeded: the table says so when the cap was hit first
            if level in per_level:
                continue
            results, failures = _level(gsrv, proxy, level, domain)
            sec["notes"] += failures
            levels.append(level)
            per_level[level] = results

    def series(field_name: str) -> dict[str, dict[int, float | None]]:
        return {
            key: {n: (float(per_level[n][key][field_name]) if key in per_level[n] else None) for n in levels}
            for key, *_ in ROUTES
        }

    moto_verdicts = {v["key"]: v for v in growth(levels, series("calls"))}
    verdicts = growth(levels, series("aws_calls"))
    labels = {key: (label, method, path) for key, label, method, path in ROUTES}
    rows = []
    grows: list[str] = []
    for v in verdicts:
        key = v["key"]
        label, method, path = labels[key]
        first = per_level[levels[0]].get(key, {}) if levels else {}
        last = per_level[levels[-1]].get(key, {}) if levels else {}
        f_ops, l_ops = first.get("ops", {}), last.get("ops", {})
        changed = [
            f"{op.split(':', 1)[1]} {f_ops.get(op, 0)}→{l_ops.get(op, 0)}"
            for op in sorted(set(f_ops) | set(l_ops))
            if f_ops.get(op, 0) != l_ops.get(op, 0)
        ]
        p0, p1 = first.get("aws_list_groups_pages", 0), last.get("aws_list_groups_pages", 0)
        if p0 != p1:
            changed.append(f"ListGroups pages on AWS {p0}→{p1}")
        if v["verdict"].startswith("grows"):
            required = " (issue 12 requires flat)" if key in REQUIRED_FLAT else ""
            grows.append(f"{label} {v['verdict']}{required}")
        prefixes = sorted({p for n in levels for p in per_level[n].get(key, {}).get("path_prefixes", [])})
        rows.append(
            [label, f"{method} /v1/s3{path}"]
            + [per_level[n].get(key, {}).get("calls") for n in levels]
            + [v["calls"][n] for n in levels]
            + [
                v["verdict"],
                moto_verdicts[key]["verdict"],
                ", ".join(prefixes) or "—",
                "; ".join(changed) or "—",
            ]
        )
    sec["tables"].append(
        report.table(
            "AWS calls per request by unrelated IAM groups: as moto answered (s3api_aws_calls_total before/after one "
            "request) and on AWS (each ListGroups replaced by the pages AWS answers for its PathPrefix)",
            ["route", "path"]
            + [f"calls @ {n:,} (moto)" for n in levels]
            + [f"calls @ {n:,} on AWS" for n in levels]
            + ["verdict (AWS)", "verdict (moto)", "ListGroups PathPrefix", "what changed"],
            rows,
        )
    )
    sec["tables"].append(
        report.table(
            "Seeding (CreateGroup directly against moto, parallel threads, IAM path /bench/unrelated/)",
            [
                "level asked",
                "unrelated groups",
                "groups in account",
                "seconds",
                "CreateGroup/s",
                "errors",
                "stopped by",
            ],
            [
                [
                    s["level"],
                    s["unrelated_total"],
                    s["groups_in_account"],
                    s["seconds"],
                    s["per_s"],
                    s["errors"],
                    s["stopped_by"],
                ]
                for s in seeds
            ],
        )
    )
    if levels and levels[-1] < max(caps.group_counts):
        sec["notes"].append(
            f"Seeding stopped at {levels[-1]:,} unrelated groups, not {max(caps.group_counts):,}: capped at "
            f"{caps.group_seed_seconds:g} s per level (--group-seed-seconds)."
        )
    sec["notes"] += [
        "Routes whose calls grow with unrelated groups (on AWS): " + ("; ".join(grows) if grows else "none") + ".",
        "moto answers ListGroups in one page whatever MaxItems and PathPrefix say, so its own count cannot grow. The "
        "'on AWS' columns are counted too: a recording proxy between this section's server (1 worker, attached to "
        "the same moto) and moto records each ListGroups' PathPrefix and MaxItems and the groups moto answered; "
        "AWS would answer ceil(groups under PathPrefix / MaxItems) pages for it (MaxItems 1,000 here).",
        "Each level uses a fresh website (one root user, one user scoped to /docs/) and a fresh bucket (one user); "
        "the website delete also deletes the root user left in it. Create website makes "
        "CreateOriginAccessControl only for the account's first private website (the OAC is shared), hence "
        "'fewer' when the first level created it.",
    ]
    sec["data"] = {"levels": levels, "seeding": seeds, "per_level": per_level, "verdicts": verdicts, "grows": grows}
    return sec
