"""The benchmark sections (the groups section is in bench.groups). Each takes the shared :class:`Run` and
returns a report section (bench.report).

Every loop is bounded by a count AND a time (``stats.Budget`` / ``stats.run_load``); every section first checks
that its routes exist in the running service's OpenAPI document and reports "skipped: route missing" if not.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import json
import random
import shutil
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bench import promtext, report
from bench.direct import Direct, Target
from bench.server import ACCOUNT, TOKEN, Server
from bench.stats import Budget, ratio, run_load, summarize

A = f"/{ACCOUNT}"
BUCKET_PATH = "/{account}/buckets/{bucket}"
OVERHEAD_BUCKET = "bench-overhead"
LISTING_BUCKET = "bench-listing"
SEARCH_NEEDLE = "report"  # keys with i % 4 == 0 are named "Report-...": 1 in 4 match, case-insensitively
READ_GOAL = 1.15  # the default read goal (GET users); each probe names its own


TITLES = {
    "overhead": "Overhead: latency through the API (gunicorn, 1 worker) vs the same AWS calls made directly",
    "calls": "AWS calls per operation, from the service's own metrics",
    "throughput": "Throughput: GET bucket with 1, 4 and 16 connections against the `make serve` configuration",
    "listing": "Listing: pages of 1,000 keys through the API vs ListObjectsV2 directly, with and without search",
    "delete": "Batch delete: 10,000 keys through the API vs DeleteObjects directly",
    "startup": "Start and memory",
}


@dataclass
class Caps:
    """Every bound of a run (all overridable from the command line)."""

    total_seconds: float = 570.0  # the whole run; later sections shrink or skip when it runs out
    read_pairs: int = 200  # overhead: interleaved API/direct pairs per read route
    read_seconds: float = 20.0
    write_pairs: int = 30  # overhead: create-then-delete pairs
    write_seconds: float = 25.0
    load_threads: int = 8  # listing/delete helpers: concurrent connections
    connections: tuple[int, ...] = (1, 4, 16)  # throughput: concurrent keep-alive connections per run
    load_requests: int = 2000
    load_seconds: float = 10.0
    ping_requests: int = 5000
    ping_seconds: float = 3.0
    workers: tuple[int, ...] = (2,)  # throughput: gunicorn workers (2 x 4 threads is what `make serve` runs)
    keys: int = 50_000  # listing: keys to seed (fewer if the seeding time cap is hit first)
    seed_seconds: float = 150.0
    seed_threads: int = 8
    list_seconds: float = 90.0
    search_pages: int = 6
    search_seconds: float = 60.0
    delete_keys: int = 10_000
    delete_rounds: int = 4  # alternating API / direct, while keys last
    delete_seconds: float = 60.0
    forcedelete_objects: int = 100_000  # forcedelete: objects in the bucket (each side)
    forcedelete_seconds: float = 420.0  # forcedelete: the child process's cap (it is killed past it)
    group_counts: tuple[int, ...] = (100, 5000)  # groups: unrelated IAM groups in the account at each level
    group_seed_seconds: float = 150.0  # groups: CreateGroup seeding cap per level
    group_threads: int = 8
    key_pairs: int = 1000  # keys: interleaved token/key pairs per request
    key_seconds: float = 15.0
    key_expiry_rounds: int = 6  # keys: requests after a pause past the key cache (key and token in turn)
    key_expiry_seconds: float = 20.0

    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass
class Run:
    caps: Caps
    workdir: Path
    started: float = field(default_factory=time.monotonic)
    main: Server | None = None
    direct: Direct | None = None
    emulator: dict[str, str] | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)  # per exercised route variant, for section 2
    state: dict[str, Any] = field(default_factory=dict)
    _api: requests.Session | None = None

    def remaining(self) -> float:
        return self.caps.total_seconds - (time.monotonic() - self.started)

    def seconds(self, cap: float, reserve: float = 5.0) -> float:
        """A section's time cap, shrunk so that the run stays within its total."""
        return max(0.0, min(cap, self.remaining() - reserve))

    @property
    def server(self) -> Server:
        assert self.main is not None, "the main server is not running"
        return self.main

    @property
    def d(self) -> Direct:
        assert self.direct is not None, "no direct clients"
        return self.direct

    @property
    def api(self) -> requests.Session:
        if self._api is None:
            self._api = self.server.session()
        return self._api

    def url(self, path: str) -> str:
        return self.server.url(path)


class BadStatus(RuntimeError):
    pass


def expect(resp: requests.Response, status: int = 200) -> requests.Response:
    if resp.status_code != status:
        raise BadStatus(f"{resp.request.method} {resp.url} -> {resp.status_code}: {resp.text[:300]}")
    return resp


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 2)


def guarded(title: str, fn: Callable[[Run], dict[str, Any]], run: Run) -> dict[str, Any]:
    """Run a section; an exception becomes an "error" section (the run goes on)."""
    if run.remaining() < 10:
        return report.skipped(title, "time budget of the run exhausted")
    try:
        return fn(run)
    except Exception as exc:  # noqa: BLE001 - reported, never hidden
        sec = report.section(title, "error", f"{type(exc).__name__}: {exc}")
        sec["data"]["traceback"] = traceback.format_exc(limit=8)
        return sec


# --- shared helpers --------------------------------------------------------------------------------------


def measure_calls(run: Run, fn: Callable[[], Any]) -> tuple[Any, dict[str, int], dict[str, int]]:
    """Call ``fn`` between two metrics scrapes: its result, the AWS operations made meanwhile (from
    ``s3api_aws_calls_total``) and the calls attributed to each route (``s3api_route_aws_calls_total``)."""
    before = run.server.metrics()
    result = fn()
    after = run.server.metrics()
    return result, *calls_between(before, after)


def calls_between(before: promtext.Samples, after: promtext.Samples) -> tuple[dict[str, int], dict[str, int]]:
    ops = promtext.diff(promtext.operations(after), promtext.operations(before))
    routes = promtext.diff(promtext.route_calls(after), promtext.route_calls(before))
    return ops, routes


def record_calls(
    run: Run,
    label: str,
    method: str,
    path: str,
    ops: dict[str, int],
    routes: dict[str, int] | None = None,
    per: int = 1,
) -> None:
    """Remember one route variant's AWS calls (per request) for section 2: the operations made, and what the
    route's own counter (s3api_route_aws_calls_total) attributed to it, which should be the same number."""
    attributed = (routes or {}).get(f"{method} /v1/s3{path}", 0)
    run.calls.append(
        {
            "label": label,
            "method": method,
            "path": f"/v1/s3{path}",
            "ops": {k: round(v / per, 2) for k, v in ops.items()},
            "calls": round(sum(ops.values()) / per, 2),
            "route_metric": None if routes is None else round(attributed / per, 2),
        }
    )


def ensure_bucket(run: Run, bucket: str) -> str:
    """The bucket exists afterwards: made through the API when the create route exists, else directly."""
    if _exists(run, bucket):
        return "existing"
    if run.server.has_route("POST", "/{account}/buckets"):
        expect(run.api.post(run.url(f"{A}/buckets"), json={"BucketInput": {"Bucket": bucket}}))
        return "api"
    run.d.s3.create_bucket(Bucket=bucket)
    return "direct"


def org_tag(run: Run) -> dict[str, str]:
    """The organisation tag the service puts on its buckets, read from a bucket made through the API (with no
    caller tags, the organisation tag is its only tag)."""
    ensure_bucket(run, OVERHEAD_BUCKET)
    tags = run.d.s3.get_bucket_tagging(Bucket=OVERHEAD_BUCKET)["TagSet"]
    org = [t for t in tags if t["Key"] == "s3api:org"] or tags  # the default key, else the only tag
    if len(org) != 1:
        raise RuntimeError(f"cannot tell the organisation tag on {OVERHEAD_BUCKET} from {tags}")
    return {"Key": org[0]["Key"], "Value": org[0].get("Value", "")}


def _exists(run: Run, bucket: str) -> bool:
    try:
        run.d.s3.head_bucket(Bucket=bucket)
        return True
    except Exception:  # noqa: BLE001 - 404 (or anything else): not usable as existing
        return False


def ensure_users(run: Run, bucket: str, names: list[str]) -> str:
    """Bucket users (members of ``<bucket>-BktAdmGrp``), through the API when the route exists."""
    if run.server.has_route("POST", "/{account}/buckets/{bucket}/users"):
        for name in names:
            r = run.api.post(run.url(f"{A}/buckets/{bucket}/users"), json={"User": {"UserName": name}})
            if r.status_code != 409:
                expect(r)
        return "api"
    iam = run.d.iam
    group = f"{bucket}-BktAdmGrp"
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_group(GroupName=group)
    for name in names:
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_user(UserName=name)
        iam.add_user_to_group(GroupName=group, UserName=name)
    return "direct"


def seed_keys(run: Run, bucket: str, names: list[str], seconds: float) -> tuple[list[str], dict[str, Any]]:
    """PutObject (empty body) for ``names`` in parallel threads until done or ``seconds`` passed."""
    s3 = run.d.s3
    lock = threading.Lock()
    done: list[str] = []
    position = {"next": 0}

    def put(_: int) -> bool:
        with lock:
            i = position["next"]
            position["next"] += 1
        if i >= len(names):
            return True
        s3.put_object(Bucket=bucket, Key=names[i], Body=b"")
        with lock:
            done.append(names[i])
        return True

    res = run_load(put, threads=run.caps.seed_threads, max_requests=len(names), max_seconds=seconds)
    info = {
        "asked": len(names),
        "seeded": len(done),
        "seconds": round(res.elapsed, 1),
        "puts_per_s": round(len(done) / res.elapsed, 1) if res.elapsed else None,
        "errors": res.errors,
        "stopped_by": res.stopped_by,
    }
    return sorted(done), info


def listing_key(i: int) -> str:
    return f"data/{i // 1000:03d}/{'Report' if i % 4 == 0 else 'file'}-{i:06d}.txt"


# --- 1. overhead -----------------------------------------------------------------------------------------


@dataclass
class Probe:
    key: str
    label: str
    routes: list[tuple[str, str]]
    steps: list[Callable[[str], Any]]  # API requests of one operation, given a name suffix
    targets: Callable[[str], Target]  # the direct side's target for the same suffix
    write: bool = False
    parallel: bool = False  # the route makes all its reads concurrently
    goal: float | None = None  # API ÷ direct median must be at most this
    goal_vs: str = "direct"  # which direct side the goal is against: "direct" or "direct_seq" (one after another)


def _probes(run: Run, users: list[str]) -> list[Probe]:
    s = run.api
    base = run.url(f"{A}/buckets")
    read_target = Target(bucket=OVERHEAD_BUCKET, users=users)

    def api_name(suffix: str) -> str:
        return f"bench-api-{suffix}"

    return [
        Probe(
            "get_bucket",
            "GET bucket",
            [("GET", BUCKET_PATH)],
            [lambda sfx: expect(s.get(f"{base}/{OVERHEAD_BUCKET}"))],
            lambda sfx: read_target,
            parallel=True,
            goal=0.9,
            goal_vs="direct_seq",  # Yale's service makes its 3 calls one after the other
        ),
        Probe(
            "get_buckets",
            "GET buckets",
            [("GET", "/{account}/buckets")],
            [lambda sfx: expect(s.get(base))],
            lambda sfx: read_target,
            goal=1.25,
        ),
        Probe(
            "get_users",
            "GET users",
            [("GET", BUCKET_PATH + "/users")],
            [lambda sfx: expect(s.get(f"{base}/{OVERHEAD_BUCKET}/users"))],
            lambda sfx: read_target,
            goal=READ_GOAL,
        ),
        Probe(
            "head_bucket",
            "HEAD bucket",
            [("HEAD", BUCKET_PATH)],
            [lambda sfx: expect(s.head(f"{base}/{OVERHEAD_BUCKET}"))],
            lambda sfx: read_target,
            goal=1.25,
        ),
        Probe(
            "create_delete",
            "create-then-delete bucket",
            [("POST", "/{account}/buckets"), ("DELETE", BUCKET_PATH)],
            [
                lambda sfx: expect(s.post(base, json={"BucketInput": {"Bucket": api_name(sfx)}})),
                lambda sfx: expect(s.delete(f"{base}/{api_name(sfx)}")),
            ],
            lambda sfx: Target(bucket=f"bench-dir-{sfx}"),
            write=True,
        ),
    ]


def overhead(run: Run) -> dict[str, Any]:
    title = TITLES["overhead"]
    srv = run.server
    missing = srv.missing(("GET", BUCKET_PATH), ("HEAD", BUCKET_PATH), ("GET", BUCKET_PATH + "/users"))
    if len(missing) == 3:  # with some routes present, the others are reported per row
        return report.skipped(title, "route missing: " + ", ".join(missing))
    sec = report.section(title)
    made_by = ensure_bucket(run, OVERHEAD_BUCKET) if srv.has_route("GET", BUCKET_PATH) else "—"
    users = [f"{OVERHEAD_BUCKET}-alice", f"{OVERHEAD_BUCKET}-bob"]
    users_by = ensure_users(run, OVERHEAD_BUCKET, users)
    sec["data"]["setup"] = {"bucket": OVERHEAD_BUCKET, "bucket_made_by": made_by, "users": users, "users_by": users_by}
    rows: list[list[Any]] = []
    results: dict[str, Any] = {}
    for probe in _probes(run, users):
        if miss := srv.missing(*probe.routes):
            results[probe.key] = {"status": "skipped", "reason": "route missing: " + ", ".join(miss)}
            rows.append([probe.label, "skipped: route missing"] + [None] * 9)
            continue
        if run.remaining() < 30:
            results[probe.key] = {"status": "skipped", "reason": "time budget of the run exhausted"}
            continue
        res = _overhead_probe(run, probe)
        results[probe.key] = res
        for row in res["rows"]:
            rows.append(row)
    # the API's floor: a route that makes no AWS call, same session, same server
    floor: list[float] = []
    floor_budget = Budget(run.caps.read_pairs, run.seconds(5.0))
    for _ in floor_budget:
        t0 = time.perf_counter()
        expect(run.api.get(run.url("/ping")))
        floor.append(time.perf_counter() - t0)
    f = summarize(floor)
    rows.append(
        ["ping (no AWS call: the API's own floor)", 0, f.get("median_ms"), None, None, None, f.get("p99_ms")]
        + [None, None, f.get("n"), None]
    )
    sec["data"]["ping_floor"] = f
    # the same floor with the lightest client (one keep-alive http.client connection): the difference is the
    # cost of requests itself, which the API side pays and the direct side (boto3) does not
    pool = HttpPool(srv.port)
    light: list[float] = []
    for _ in Budget(run.caps.read_pairs, run.seconds(5.0)):
        t0 = time.perf_counter()
        pool.get("/v1/s3/ping")
        light.append(time.perf_counter() - t0)
    fl = summarize(light)
    rows.append(
        ["ping, http.client instead of requests", 0, fl.get("median_ms"), None, None, None, fl.get("p99_ms")]
        + [None, None, fl.get("n"), None]
    )
    sec["data"]["ping_floor_http_client"] = fl
    sec["data"]["probes"] = results
    sec["tables"].append(
        report.table(
            "",
            [
                "operation",
                "AWS calls",
                "API median ms",
                "direct median ms",
                "API − direct ms",
                "API/direct median",
                "API p99 ms",
                "direct p99 ms",
                "API/direct p99",
                "pairs",
                "goal (API ÷ direct median)",
            ],
            rows,
        )
    )
    sec["notes"] += [
        "Each pair is one API request (requests.Session, keep-alive) and the same AWS calls made directly with a "
        "cached boto3 client against the same moto server; the order inside a pair alternates. The direct side "
        "replays the operations the route made, read from the service's s3api_aws_calls_total around one "
        "calibration request.",
        "GET bucket (default fields) makes its 3 reads concurrently, so its direct side does the same (a thread "
        "pool); the '(sequential)' row compares with the same calls made one after another, which is what Yale's "
        "service does: its goal (≤ 0.9) is against that row.",
        "Goals: HEAD bucket ≤ 1.25, GET buckets ≤ 1.25, GET users ≤ 1.15 (against the same calls made directly), "
        "GET bucket ≤ 0.9 of its 3 calls made one after the other.",
        "create-then-delete: POST then DELETE of a new bucket each pair (API and direct use different names).",
    ]
    split_rows = [
        [
            key.replace("_", " "),
            sp.get("api_mean_ms"),
            sp.get("outside_app_ms"),
            sp.get("app_own_ms"),
            sp.get("aws_calls_in_worker_ms"),
            sp.get("direct_mean_ms"),
            sp.get("aws_in_worker_minus_direct_ms"),
        ]
        for key, res in results.items()
        if (sp := res.get("time_split"))
    ]
    if split_rows:
        sec["tables"].append(
            report.table(
                "Where the API's time goes (means over the loop, from the service's own histograms)",
                [
                    "operation",
                    "API mean ms (client)",
                    "outside the app ms (gunicorn, HTTP hop, requests)",
                    "in the app, not AWS ms (auth, routing, schema, log, metrics)",
                    "AWS calls seen by the worker ms (summed)",
                    "direct mean ms",
                    "worker's AWS calls − direct ms",
                ],
                split_rows,
            )
        )
        sec["notes"].append(
            "Time split: 'outside the app' = client mean − mean of s3api_http_request_duration_seconds; 'in the "
            "app, not AWS' = that mean − the summed s3api_aws_call_duration_seconds per request (negative for "
            "routes whose calls run concurrently); the last column compares the AWS calls as the worker timed "
            "them with the same calls made by the bench's own process (it swings both ways with the machine's "
            "load: one more process to schedule, not code). Means include the tails, medians are above."
        )
    head = results.get("head_bucket", {}).get("summary", {})
    if f.get("median_ms") is not None and head:
        extra = _minus(head["api"].get("median_ms"), head["direct"].get("median_ms"))
        sec["notes"].append(
            f"Fixed cost of one request: ping (no AWS call) answers in {f['median_ms']} ms median through gunicorn and "
            f"requests; HEAD bucket (one AWS call) costs {extra} ms more through the API than the call alone. On "
            "reads that make one fast call this fixed cost dominates the ratio."
        )
    for key, res in results.items():
        if res.get("missing_ops"):
            sec["notes"].append(f"{key}: could not replay {res['missing_ops']} directly (ratio understates cost).")
        if res.get("calls_match") is False:
            sec["notes"].append(f"{key}: direct calls {res['direct_ops']} differ from the route's {res['route_ops']}.")
        if res.get("errors"):
            sec["notes"].append(f"{key}: {res['errors']} failed samples; first: {res.get('first_error')}")
    return sec


def _delta(before: promtext.Samples, after: promtext.Samples, name: str, **match: str) -> float:
    return promtext.total(after, name, **match) - promtext.total(before, name, **match)


def time_split(
    before: promtext.Samples,
    after: promtext.Samples,
    routes: list[tuple[str, str]],
    api_mean_ms: float | None,
    direct_mean_ms: float | None,
) -> dict[str, float | None]:
    """Where an API request's mean time went during a probe loop, from the service's own histograms: inside
    the app (``s3api_http_request_duration_seconds``: before_request to after_request), of which in AWS calls
    (``s3api_aws_call_duration_seconds``, summed: concurrent calls overlap), and outside the app (gunicorn,
    the HTTP hop, the client: the client's mean minus the in-app mean). Only the API side calls through the
    service during the loop, so every AWS call counted is the API's."""
    reqs = app_s = 0.0
    for method, path in routes:
        rule = "/v1/s3" + path
        reqs += _delta(before, after, "s3api_http_request_duration_seconds_count", method=method, route=rule)
        app_s += _delta(before, after, "s3api_http_request_duration_seconds_sum", method=method, route=rule)
    if not reqs:
        return {}
    per = len(routes)  # one operation of the probe is one request per route
    aws_s = _delta(before, after, "s3api_aws_call_duration_seconds_sum")
    in_app = round(app_s / reqs * per * 1000, 2)
    aws = round(aws_s / reqs * per * 1000, 2)
    return {
        "api_mean_ms": api_mean_ms,
        "in_app_ms": in_app,
        "aws_calls_in_worker_ms": aws,
        "app_own_ms": round(in_app - aws, 2),
        "outside_app_ms": None if api_mean_ms is None else round(api_mean_ms - in_app, 2),
        "direct_mean_ms": direct_mean_ms,
        "aws_in_worker_minus_direct_ms": None if direct_mean_ms is None else round(aws - direct_mean_ms, 2),
    }


def _overhead_probe(run: Run, probe: Probe) -> dict[str, Any]:
    caps = run.caps
    d = run.d
    # calibration: which AWS calls does each HTTP request of the operation make?
    step_ops: list[dict[str, int]] = []
    step_routes: list[dict[str, int]] = []
    for step in probe.steps:
        _, ops, routes = measure_calls(run, functools.partial(step, "cal"))
        step_ops.append(ops)
        step_routes.append(routes)
    route_ops: dict[str, int] = {}
    for ops in step_ops:
        for k, v in ops.items():
            route_ops[k] = route_ops.get(k, 0) + v
    for (method, path), ops, routes in zip(probe.routes, step_ops, step_routes, strict=True):
        label = {
            "get_bucket": "GET bucket",
            "get_buckets": "GET buckets",
            "get_users": "GET users",
            "head_bucket": "HEAD bucket",
        }.get(probe.key)
        if label is None:
            label = "Create bucket" if method == "POST" else "Delete bucket (no users, empty)"
        record_calls(run, label, method, path, ops, routes)

    def direct(sfx: str, parallel: bool) -> list[str]:
        target = probe.targets(sfx)
        missing: list[str] = []
        for ops in step_ops:
            missing += d.replay(ops, target, parallel=parallel)
        return missing

    # the direct side once, counted, to check it makes the same calls
    d.calls.clear()
    missing = direct("cal", probe.parallel)
    direct_ops = dict(sorted(d.calls.items()))
    calls_match = direct_ops == dict(sorted(route_ops.items()))

    sides: dict[str, Callable[[str], Any]] = {
        "api": lambda sfx: [step(sfx) for step in probe.steps],
        "direct": lambda sfx: direct(sfx, probe.parallel),
    }
    if probe.parallel:
        sides["direct_seq"] = lambda sfx: direct(sfx, False)
    for do in sides.values():  # warm-up, not recorded
        do("warm")
    samples: dict[str, list[float]] = {k: [] for k in sides}
    errors = 0
    first_error = ""
    pairs, seconds = (caps.write_pairs, caps.write_seconds) if probe.write else (caps.read_pairs, caps.read_seconds)
    metrics_before = run.server.metrics()
    budget = Budget(pairs, run.seconds(seconds))
    names = list(sides)
    for i in budget:
        order = names[i % len(names) :] + names[: i % len(names)]  # rotate who goes first
        for side in order:
            t0 = time.perf_counter()
            try:
                sides[side](f"{i:04d}")
            except Exception as exc:  # noqa: BLE001
                errors += 1
                first_error = first_error or f"{side}: {exc}"[:300]
                if errors > 5:
                    raise
                continue
            samples[side].append(time.perf_counter() - t0)
    metrics_after = run.server.metrics()
    calls_seen = {}
    for method, path in probe.routes:
        rule = "/v1/s3" + path  # route labels are in the OpenAPI form
        calls = promtext.total(
            metrics_after, "s3api_route_aws_calls_total", method=method, route=rule
        ) - promtext.total(metrics_before, "s3api_route_aws_calls_total", method=method, route=rule)
        reqs = promtext.total(metrics_after, "s3api_http_requests_total", method=method, route=rule) - promtext.total(
            metrics_before, "s3api_http_requests_total", method=method, route=rule
        )
        calls_seen[f"{method} {path}"] = round(calls / reqs, 2) if reqs else None
    summary = {k: summarize(v) for k, v in samples.items()}
    api, dir_ = summary["api"], summary["direct"]
    n_calls = sum(route_ops.values())
    split = time_split(metrics_before, metrics_after, probe.routes, api.get("mean_ms"), dir_.get("mean_ms"))
    against = summary.get(probe.goal_vs, dir_)
    goal_ratio = ratio(api.get("median_ms"), against.get("median_ms"))
    goal_met = None if probe.goal is None else (goal_ratio or 99) <= probe.goal
    goal = None if probe.goal is None else f"≤ {probe.goal}: {'met' if goal_met else 'MISSED'} ({goal_ratio})"

    def row(label: str, other: dict[str, Any], with_goal: Any) -> list[Any]:
        return [
            label,
            n_calls,
            api.get("median_ms"),
            other.get("median_ms"),
            _minus(api.get("median_ms"), other.get("median_ms")),
            ratio(api.get("median_ms"), other.get("median_ms")),
            api.get("p99_ms"),
            other.get("p99_ms"),
            ratio(api.get("p99_ms"), other.get("p99_ms")),
            min(api.get("n", 0), other.get("n", 0)),
            with_goal,
        ]

    rows = [row(probe.label, dir_, goal if probe.goal_vs == "direct" else None)]
    if "direct_seq" in summary:
        seq_goal = goal if probe.goal_vs == "direct_seq" else None
        rows.append(row(f"{probe.label} (direct calls sequential)", summary["direct_seq"], seq_goal))
    return {
        "goal": probe.goal,
        "goal_vs": probe.goal_vs,
        "goal_ratio": goal_ratio,
        "goal_met": goal_met,
        "route_ops": route_ops,
        "route_ops_per_step": step_ops,
        "direct_ops": direct_ops,
        "calls_match": calls_match,
        "missing_ops": missing,
        "aws_calls_per_request_during_loop": calls_seen,
        "budget": budget.describe(),
        "summary": summary,
        "ratio_median": ratio(api.get("median_ms"), dir_.get("median_ms")),
        "ratio_p99": ratio(api.get("p99_ms"), dir_.get("p99_ms")),
        "errors": errors,
        "first_error": first_error,
        "rows": rows,
        "time_split": split,
    }


# --- 3. throughput ---------------------------------------------------------------------------------------


class HttpPool:
    """One keep-alive http.client connection per load thread (lighter than requests on a 2-core box)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.local = threading.local()

    def get(self, path: str, headers: dict[str, str] | None = None) -> int:
        return self.request("GET", path, headers)

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> int:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, headers=headers or {})
            resp = conn.getresponse()
            resp.read()
            if resp.will_close:
                conn.close()
                self.local.conn = None
            return resp.status
        except Exception:
            conn.close()
            self.local.conn = None
            raise


THROUGHPUT_GOAL = 60.0  # GET bucket req/s with 4 connections, without errors


def throughput(run: Run) -> dict[str, Any]:
    """GET bucket (default fields) under 1, 4 and 16 keep-alive connections against one server started the way
    ``make serve`` starts it (``caps.workers``, default 2 workers x 4 threads), each run beside the same AWS calls
    made directly with boto3 by as many threads, interleaved (direct, API, direct) against the same moto."""
    title = TITLES["throughput"]
    if miss := run.server.missing(("GET", BUCKET_PATH)):
        return report.skipped(title, "route missing: " + ", ".join(miss))
    caps = run.caps
    sec = report.section(title)
    ensure_bucket(run, OVERHEAD_BUCKET)
    path = f"/v1/s3{A}/buckets/{OVERHEAD_BUCKET}"
    headers = {"X-Auth-Token": TOKEN}
    _, ops, _ = measure_calls(run, lambda: expect(run.api.get(run.url(f"{A}/buckets/{OVERHEAD_BUCKET}"))))
    target = Target(bucket=OVERHEAD_BUCKET)
    d = run.d

    def direct_load(threads: int) -> dict[str, Any]:
        res = run_load(
            lambda _: d.replay(ops, target) is not None,
            threads=threads,
            max_requests=caps.load_requests,
            max_seconds=run.seconds(caps.load_seconds / 2, 20),
        )
        return res.as_dict()

    workers = caps.workers[0] if caps.workers else 2
    rows: list[list[Any]] = []
    runs: dict[str, Any] = {}
    starts: dict[str, float | None] = {}
    memory: dict[str, Any] = {}
    with Server(run.workdir, f"throughput-{workers}w", workers, emulator=run.emulator) as srv:
        starts[f"{workers}w"] = round(srv.start(), 3)
        pool = HttpPool(srv.port)
        for _ in range(4 * workers * 2):  # warm every worker's clients and thread pools
            pool.get(path, headers)
        for conns in caps.connections:
            if run.remaining() < 30:
                runs[f"{conns}c"] = {"status": "skipped", "reason": "time budget of the run exhausted"}
                continue
            before = direct_load(conns)
            load = run_load(
                lambda _: pool.get(path, headers) == 200,
                threads=conns,
                max_requests=caps.load_requests,
                max_seconds=run.seconds(caps.load_seconds, 20),
            )
            after = direct_load(conns)
            runs[f"{conns}c"] = {"get_bucket": load.as_dict(), "direct_before": before, "direct_after": after}
        ping = run_load(
            lambda _: pool.get("/v1/s3/ping") == 200,
            threads=4,
            max_requests=caps.ping_requests,
            max_seconds=run.seconds(caps.ping_seconds, 15),
        )
        runs["ping_4c"] = ping.as_dict()
        memory[f"{workers}w"] = srv.memory()
    for conns in caps.connections:
        r = runs.get(f"{conns}c", {})
        if "get_bucket" not in r:
            rows.append([conns, "skipped", None, None, None, None, None, None])
            continue
        g = r["get_bucket"]
        direct_rate = round((r["direct_before"]["req_per_s"] + r["direct_after"]["req_per_s"]) / 2, 2)
        r["direct_rate"] = direct_rate
        goal = None
        if conns == 4:
            met = g["req_per_s"] >= THROUGHPUT_GOAL and g["errors"] == 0
            goal = f"≥ {THROUGHPUT_GOAL:g} req/s, no errors: {'met' if met else 'MISSED'}"
            r["goal_met"] = met
        rows.append(
            [
                conns,
                g["req_per_s"],
                direct_rate,
                ratio(g["req_per_s"], direct_rate),
                g["p50_ms"],
                g["p99_ms"],
                f"{g['errors']} / {g['requests']}",
                goal,
            ]
        )
    sec["tables"].append(
        report.table(
            "",
            [
                "connections",
                "GET bucket req/s",
                "direct boto3 sets of the same calls/s (same threads)",
                "API ÷ direct",
                "p50 ms",
                "p99 ms",
                "errors / requests",
                "goal",
            ],
            rows,
        )
    )
    wrk = shutil.which("wrk")
    sec["notes"] += [
        f"One server as `make serve` runs it: {workers} gunicorn workers x S3API_THREADS (default 4) threads. "
        f"Load generator: Python threads, one keep-alive http.client connection each; at most {caps.load_requests} "
        f"requests and {caps.load_seconds:g} s per run (wrk: "
        f"{'found at ' + wrk + ', not used: it has no request-count cap' if wrk else 'not installed'}). "
        f"GET bucket makes {sum(ops.values())} AWS calls per request: {ops}. ping with 4 connections: "
        f"{runs['ping_4c']['req_per_s']} req/s.",
        "The direct figure is the mean of a run just before and just after the API's, with the same number of "
        "threads, each making the same calls one after the other with a cached boto3 client.",
        "Every server of a run talks to the same moto server (a single Python process that handles roughly "
        "150-250 calls/s on this machine), so GET bucket throughput is capped by moto, not by the workers.",
    ]
    sec["data"] = {
        "runs": runs,
        "workers": workers,
        "start_seconds": starts,
        "memory_after_load": memory,
        "route_ops": ops,
        "goal_req_per_s_4c": THROUGHPUT_GOAL,
    }
    run.state["throughput"] = sec["data"]
    return sec


# --- 4. listing ------------------------------------------------------------------------------------------


def _seed_listing(run: Run) -> dict[str, Any]:
    if "listing" in run.state:
        return run.state["listing"]
    d = run.d
    if not _exists(run, LISTING_BUCKET):
        d.s3.create_bucket(Bucket=LISTING_BUCKET)  # directly: no access logging, so seeding stays fast
        # ... and tagged as the service tags its buckets: the API acts only on managed buckets
        d.s3.put_bucket_tagging(Bucket=LISTING_BUCKET, Tagging={"TagSet": [org_tag(run)]})
    names = [listing_key(i) for i in range(run.caps.keys)]
    keys, info = seed_keys(run, LISTING_BUCKET, names, run.seconds(run.caps.seed_seconds, 120))
    run.state["listing"] = {"keys": keys, "seed": info}
    return run.state["listing"]


def _direct_search_page(s3: Any, bucket: str, needle: str, max_keys: int, after: str | None) -> tuple[int, Any, bool]:
    """The service's search algorithm made directly: pages of ListObjectsV2 (2 x max_keys, at least 100, at
    most 1,000, doubling) filtered client-side until ``max_keys`` matches or 10,000 keys read."""
    budget, read, matched, calls = 10_000, 0, 0, 0
    size = min(1000, max(100, 2 * max_keys))
    token = None
    last = after
    while calls < 20:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": "", "MaxKeys": max(1, min(1000, budget - read, size))}
        if token:
            kwargs["ContinuationToken"] = token
        elif after:
            kwargs["StartAfter"] = after
        page = s3.list_objects_v2(**kwargs)
        calls += 1
        contents = page.get("Contents", [])
        read += len(contents)
        for j, obj in enumerate(contents):
            last = obj["Key"]
            if needle in obj["Key"].casefold():
                matched += 1
                if matched >= max_keys:
                    return matched, last, j < len(contents) - 1 or bool(page.get("IsTruncated"))
        if not page.get("IsTruncated") or read >= budget:
            return matched, last, bool(page.get("IsTruncated"))
        token = page["NextContinuationToken"]
        size *= 2
    return matched, last, True


def listing(run: Run) -> dict[str, Any]:
    title = TITLES["listing"]
    route = ("GET", BUCKET_PATH + "/objects")
    if miss := run.server.missing(route):
        return report.skipped(title, "route missing: " + ", ".join(miss))
    caps = run.caps
    sec = report.section(title)
    seeded = _seed_listing(run)
    n = len(seeded["keys"])
    url = run.url(f"{A}/buckets/{LISTING_BUCKET}/objects")
    s3 = run.d.s3

    # warm-up, not recorded: first ListObjectsV2 of each process
    expect(run.api.get(url, params={"max_keys": 1}))
    s3.list_objects_v2(Bucket=LISTING_BUCKET, MaxKeys=1)
    # plain walk, page by page, API and direct interleaved
    api_t: list[float] = []
    dir_t: list[float] = []
    api_keys = dir_keys = 0
    api_tok: str | None = None
    dir_tok: str | None = None
    before = run.server.metrics()
    budget = Budget(n // 1000 + 2, run.seconds(caps.list_seconds, 100))
    for i in budget:
        for side in ("api", "direct") if i % 2 == 0 else ("direct", "api"):
            t0 = time.perf_counter()
            if side == "api":
                params: dict[str, Any] = {"max_keys": 1000}
                if api_tok:
                    params["continuation_token"] = api_tok
                body = expect(run.api.get(url, params=params)).json()
                api_t.append(time.perf_counter() - t0)
                api_keys += len(body["Objects"])
                api_tok = body["NextContinuationToken"]
            else:
                kwargs: dict[str, Any] = {"Bucket": LISTING_BUCKET, "MaxKeys": 1000}
                if dir_tok:
                    kwargs["ContinuationToken"] = dir_tok
                page = s3.list_objects_v2(**kwargs)
                dir_t.append(time.perf_counter() - t0)
                dir_keys += len(page.get("Contents", []))
                dir_tok = page.get("NextContinuationToken")
        if not api_tok:
            break
    walk_ops, walk_routes = calls_between(before, run.server.metrics())
    record_calls(run, "List objects, page of 1,000", *route, walk_ops, walk_routes, per=max(1, len(api_t)))

    # search, page by page (each API page reads keys until 1,000 matches or 10,000 keys)
    s_api: list[float] = []
    s_dir: list[float] = []
    s_api_matches = s_dir_matches = 0
    s_tok: str | None = None
    s_after: str | None = None
    before = run.server.metrics()
    sbudget = Budget(caps.search_pages, run.seconds(caps.search_seconds, 90))
    done_api = done_dir = False
    for i in sbudget:
        for side in ("api", "direct") if i % 2 == 0 else ("direct", "api"):
            t0 = time.perf_counter()
            if side == "api" and not done_api:
                params = {"max_keys": 1000, "search": SEARCH_NEEDLE.upper()}
                if s_tok:
                    params["continuation_token"] = s_tok
                body = expect(run.api.get(url, params=params)).json()
                s_api.append(time.perf_counter() - t0)
                s_api_matches += len(body["Objects"])
                s_tok = body["NextContinuationToken"]
                done_api = not s_tok
            elif side == "direct" and not done_dir:
                matched, s_after, more = _direct_search_page(s3, LISTING_BUCKET, SEARCH_NEEDLE, 1000, s_after)
                s_dir.append(time.perf_counter() - t0)
                s_dir_matches += matched
                done_dir = not more
        if done_api and done_dir:
            break
    search_ops, search_routes = calls_between(before, run.server.metrics())
    label = "List objects with search, page of 1,000 matches"
    record_calls(run, label, *route, search_ops, search_routes, per=max(1, len(s_api)))

    a, b, sa, sb = summarize(api_t), summarize(dir_t), summarize(s_api), summarize(s_dir)
    sec["tables"].append(
        report.table(
            "",
            [
                "listing",
                "pages",
                "AWS calls/page",
                "API median ms",
                "direct median ms",
                "API − direct ms",
                "API/direct median",
                "API p99 ms",
                "direct p99 ms",
                "keys returned (API / direct)",
            ],
            [
                [
                    "pages of 1,000",
                    a.get("n"),
                    round(sum(walk_ops.values()) / max(1, len(api_t)), 2),
                    a.get("median_ms"),
                    b.get("median_ms"),
                    _minus(a.get("median_ms"), b.get("median_ms")),
                    ratio(a.get("median_ms"), b.get("median_ms")),
                    a.get("p99_ms"),
                    b.get("p99_ms"),
                    f"{api_keys} / {dir_keys}",
                ],
                [
                    f"search '{SEARCH_NEEDLE.upper()}' (1 key in 4 matches)",
                    sa.get("n"),
                    round(sum(search_ops.values()) / max(1, len(s_api)), 2),
                    sa.get("median_ms"),
                    sb.get("median_ms"),
                    _minus(sa.get("median_ms"), sb.get("median_ms")),
                    ratio(sa.get("median_ms"), sb.get("median_ms")),
                    sa.get("p99_ms"),
                    sb.get("p99_ms"),
                    f"{s_api_matches} / {s_dir_matches}",
                ],
            ],
        )
    )
    seed = seeded["seed"]
    if seed["seeded"] < caps.keys:
        sec["notes"].append(
            f"Seeded {seed['seeded']:,} keys, not {caps.keys:,}: seeding is capped at {caps.seed_seconds:g} s and moto "
            f"took {seed['puts_per_s']} PutObject/s on this machine ({seed['seconds']} s, {run.caps.seed_threads} "
            "threads; every moto request costs ~5 ms of its single process)."
        )
    else:
        sec["notes"].append(
            f"Seeded {seed['seeded']:,} keys in {seed['seconds']} s ({seed['puts_per_s']} PutObject/s)."
        )
    sec["notes"] += [
        f"Plain walk: {budget.describe()}; search: {sbudget.describe()}.",
        "moto's ListObjectsV2 sorts every key of the bucket on every call, so a page costs more as the bucket "
        "grows; both sides pay that equally. Direct search runs the service's algorithm client-side (the same "
        "ListObjectsV2 pages, filtered in Python).",
    ]
    if api_keys != dir_keys or s_api_matches != s_dir_matches:
        sec["notes"].append("The API and direct walks returned different numbers of keys: see the counts above.")
    sec["data"] = {
        "keys": n,
        "seed": seed,
        "plain": {"api": a, "direct": b, "ops": walk_ops, "keys": [api_keys, dir_keys]},
        "search": {"api": sa, "direct": sb, "ops": search_ops, "matches": [s_api_matches, s_dir_matches]},
    }
    return sec


# --- 5. batch delete -------------------------------------------------------------------------------------


def batch_delete(run: Run) -> dict[str, Any]:
    title = TITLES["delete"]
    route = ("POST", BUCKET_PATH + "/objects/delete")
    if miss := run.server.missing(route):
        return report.skipped(title, "route missing: " + ", ".join(miss))
    caps = run.caps
    sec = report.section(title)
    size = caps.delete_keys
    if "listing" in run.state:
        bucket, keys = LISTING_BUCKET, list(run.state["listing"]["keys"])
    else:
        bucket, keys = LISTING_BUCKET, []
        if not _exists(run, bucket):
            run.d.s3.create_bucket(Bucket=bucket)
    if len(keys) < 2 * size:  # top up so that one API round and one direct round have their keys
        extra = [f"delete/{i:06d}" for i in range(2 * size - len(keys))]
        more, info = seed_keys(run, bucket, extra, run.seconds(caps.seed_seconds, 60))
        keys += more
        sec["data"]["top_up"] = info
    if len(keys) < 2 * size:
        size = len(keys) // 2
        sec["notes"].append(f"Only {len(keys):,} keys could be seeded in time: rounds of {size:,} keys, not 10,000.")
    url = run.url(f"{A}/buckets/{bucket}/objects/delete")
    s3 = run.d.s3
    rounds: list[dict[str, Any]] = []

    def direct_delete(chunk: list[str]) -> tuple[float, int, int]:
        t0 = time.perf_counter()
        deleted = errors = 0
        for start in range(0, len(chunk), 1000):
            batch = [{"Key": k} for k in chunk[start : start + 1000]]
            resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": False})
            deleted += len(resp.get("Deleted", []))
            errors += len(resp.get("Errors", []))
        return time.perf_counter() - t0, deleted, errors

    # warm-up, not recorded: the first DeleteObjects of a process loads botocore's operation model
    expect(run.api.post(url, json={"Keys": ["bench/warm-up/none"]}))
    direct_delete(["bench/warm-up/none"])
    # moto's DeleteObjects gets slower as the bucket grows, so whoever goes first pays more: each group runs
    # the direct delete in two halves around the API request, so both sides meet the same bucket size on average
    budget = Budget(max(1, caps.delete_rounds // 2), run.seconds(caps.delete_seconds, 30))
    for i in budget:
        if len(keys) < 2 * size or size == 0:
            break
        direct_keys, api_keys, keys = keys[:size], keys[size : 2 * size], keys[2 * size :]
        half = max(1000, size // 2000 * 1000) if size > 1000 else size
        d_before = dict(run.d.calls)
        t1, del1, err1 = direct_delete(direct_keys[:half])
        before = run.server.metrics()
        t0 = time.perf_counter()
        body = expect(run.api.post(url, json={"Keys": api_keys})).json()
        api_took = time.perf_counter() - t0
        after = run.server.metrics()
        t2, del2, err2 = direct_delete(direct_keys[half:])
        ops, routes = calls_between(before, after)
        if i == 0:
            record_calls(run, f"Batch delete {size:,} keys", *route, ops, routes)
        d_ops = {k: v - d_before.get(k, 0) for k, v in run.d.calls.items() if v - d_before.get(k, 0) > 0}
        for side, took, o, deleted, errors in (
            ("api", api_took, ops, len(body.get("Deleted", [])), len(body.get("Errors", []))),
            ("direct (two halves around the API request)", t1 + t2, d_ops, del1 + del2, err1 + err2),
        ):
            rounds.append(
                {
                    "group": i + 1,
                    "side": "api" if side == "api" else "direct",
                    "label": side,
                    "keys": size,
                    "seconds": round(took, 3),
                    "aws_calls": sum(o.values()),
                    "delete_objects_calls": o.get("s3:DeleteObjects", 0),
                    "ops": o,
                    "deleted": deleted,
                    "errors": errors,
                }
            )
    if len(rounds) < 4:
        sec["notes"].append(
            "One group: each time is a single sample, so read the ratio as rough and the call count as exact."
        )
    api_rounds = [r for r in rounds if r["side"] == "api"]
    dir_rounds = [r for r in rounds if r["side"] == "direct"]
    api_med = summarize([r["seconds"] for r in api_rounds]).get("median_ms")
    dir_med = summarize([r["seconds"] for r in dir_rounds]).get("median_ms")
    expected_calls = -(-size // 1000)
    sec["tables"].append(
        report.table(
            "",
            ["group", "side", "keys", "seconds", "AWS calls", "DeleteObjects calls", "deleted", "errors"],
            [
                [
                    r["group"],
                    r["label"],
                    r["keys"],
                    r["seconds"],
                    r["aws_calls"],
                    r["delete_objects_calls"],
                    r["deleted"],
                    r["errors"],
                ]
                for r in rounds
            ],
        )
    )
    calls_ok = bool(api_rounds) and all(r["aws_calls"] == expected_calls for r in api_rounds)
    sec["tables"].append(
        report.table(
            "",
            ["API median s", "direct median s", "API/direct", f"API AWS calls = {expected_calls}"],
            [
                [
                    None if api_med is None else round(api_med / 1000, 3),
                    None if dir_med is None else round(dir_med / 1000, 3),
                    ratio(api_med, dir_med),
                    calls_ok,
                ]
            ],
        )
    )
    sec["notes"].append(
        f"{len(rounds) // 2} group(s) in {budget.elapsed:.1f} s (cap {budget.max_count} / {budget.max_seconds:g} s; "
        f"{len(keys):,} seeded keys left). Each group deletes {size:,} keys through the API and another {size:,} "
        "directly, the direct ones in two halves before and after the API request: moto's DeleteObjects slows "
        "down as the bucket grows, so both sides meet the same bucket size on average."
    )
    sec["data"] = {"rounds": rounds, "expected_calls": expected_calls, "calls_ok": calls_ok, "bucket": bucket}
    return sec


# --- 2. AWS calls per route ------------------------------------------------------------------------------

#: The fewest AWS calls that can answer each variant by its contract, with why (None: depends on the data).
NEEDED: dict[str, tuple[int | None, str]] = {
    "GET account": (0, "configuration only"),
    "List buckets": (1, "ListBuckets"),
    "Create bucket": (
        11,
        "HeadBucket (us-east-1 CreateBucket succeeds for an owned bucket), CreatePolicy, CreateBucket, one "
        "existence check, tags, encryption, public access block, ownership, logging, CreateGroup, attach",
    ),
    "HEAD bucket": (1, "HeadBucket"),
    "GET bucket": (
        3,
        "Yale's fields, one call each: tags, logging, empty (404/403 from any of them); ?include= adds one "
        "call per field",
    ),
    "Update bucket tags": (
        2,
        "GetBucketTagging (the distribution tag of a website must stay; NoSuchBucket gives the 404), PutBucketTagging",
    ),
    "Delete bucket (no users, empty)": (
        16,
        "HeadBucket, ListObjectVersions (409 if not empty), GetBucketTagging (live website), GetGroup x3; admin "
        "group: ListAttachedGroupPolicies, DetachGroupPolicy, ListGroupPolicies, DeleteGroup; admin policy: "
        "ListEntitiesForPolicy, ListPolicyVersions, DeletePolicy; 1 call each to find the RW/RO policies absent; "
        "DeleteBucket",
    ),
    "Cyberduck bookmark": (0, "no AWS call by contract"),
    "GET users": (4, "404 check + GetGroup on the three groups"),
    "Create user": (
        5,
        "404 check, GetGroup (the admin group exists?), CreateUser, AddUserToGroup, CreateAccessKey",
    ),
    "Delete user": (
        7,
        "ListGroupsForUser (membership), ListAccessKeys, DeleteAccessKey (1 key), RemoveUserFromGroup, "
        "ListAttachedUserPolicies, ListUserPolicies (AWS refuses DeleteUser while any remain), DeleteUser",
    ),
    "GET user": (
        5,
        "ListGroupsForUser (membership), GetUser, ListAccessKeys, GetAccessKeyLastUsed per key (1 "
        "here), ListAttachedUserPolicies",
    ),
    "Rotate user keys": (
        5,
        "ListGroupsForUser, the retirement tags, ListAccessKeys, CreateAccessKey, DeleteAccessKey "
        "per old key (1 here, no grace)",
    ),
    "List objects, page of 1,000": (1, "one ListObjectsV2"),
    "List objects with search, page of 1,000 matches": (None, "as many pages as needed for 1,000 matches"),
    "Batch delete": (10, "1,000 keys per DeleteObjects"),
    "GET object": (2, "HeadObject + GetObjectTagging"),
    "DELETE object": (2, "HeadObject (the 404) + DeleteObject"),
    "Presign": (1, "404 check for the bucket; signing is local"),
    "List uploads (1 open)": (2, "ListMultipartUploads + ListParts per upload (1 here)"),
    "Abort old uploads (1 open)": (2, "ListMultipartUploads + AbortMultipartUpload per upload (1 here)"),
    "Usage": (1, "a listing: one ListObjectsV2 per 1,000 keys (1 object here)"),
    "Account stats": (4, "one list call per count (buckets, groups, users, distributions), paged"),
    "Ping": (0, "no AWS call by contract"),
    "Version": (0, "no AWS call by contract"),
    "List accounts": (0, "configuration only"),
    "Abort one upload": (1, "AbortMultipartUpload (NoSuchUpload gives the 404)"),
    "Website bookmark": (0, "no AWS call by contract"),
    "HEAD website": (1, "HeadBucket"),
}

WEBSITE_PATH = "/{account}/websites/{website}"
#: Routes of the OpenAPI document the calls section does not drive, and why.
NOT_EXERCISED: dict[str, str] = {
    "GET /v1/s3/metrics": "requested only by the bench's own scrapes (no AWS call); left out of the per-route table",
}
Probe4 = tuple[str, str, str, Callable[[], Any]]


def _fallback_probes(run: Run) -> list[Probe4]:
    """Routes other sections measure (overhead, listing, delete), exercised here only when those did not run,
    so that ``--only calls`` still covers every route."""
    s = run.api
    b = f"{A}/buckets/{OVERHEAD_BUCKET}"
    tmp = f"bench-calls-tmp-{int(time.time()) % 100000}"
    keys = ["bench/batch-1.txt", "bench/batch-2.txt"]

    def batch() -> Any:
        for k in keys:
            run.d.s3.put_object(Bucket=OVERHEAD_BUCKET, Key=k, Body=b"x")  # direct: not counted by the service
        return expect(s.post(run.url(f"{b}/objects/delete"), json={"Keys": keys}))

    return [
        ("HEAD bucket", "HEAD", BUCKET_PATH, lambda: expect(s.head(run.url(b)))),
        ("GET bucket", "GET", BUCKET_PATH, lambda: expect(s.get(run.url(b)))),
        ("GET users", "GET", BUCKET_PATH + "/users", lambda: expect(s.get(run.url(f"{b}/users")))),
        (
            "List objects, page of 1,000",
            "GET",
            BUCKET_PATH + "/objects",
            lambda: expect(s.get(run.url(f"{b}/objects"), params={"max_keys": 1000})),
        ),
        (f"Batch delete {len(keys)} keys", "POST", BUCKET_PATH + "/objects/delete", batch),
        (
            "Create bucket",
            "POST",
            "/{account}/buckets",
            lambda: expect(s.post(run.url(f"{A}/buckets"), json={"BucketInput": {"Bucket": tmp}})),
        ),
        (
            "Delete bucket (no users, empty)",
            "DELETE",
            BUCKET_PATH,
            lambda: expect(s.delete(run.url(f"{A}/buckets/{tmp}"))),
        ),
    ]


def _system_and_website_probes(run: Run) -> list[Probe4]:
    """Every other route of the document: system routes, one multipart upload aborted by id, and a website's
    whole life on the embedded default's seeded domain (create, read, tag, invalidate, users, delete)."""
    s = run.api
    b = f"{A}/buckets/{OVERHEAD_BUCKET}"
    domain = json.loads((run.emulator or {}).get("seed", "{}")).get("domain") or "example.test"
    site = f"bench-calls-{int(time.time()) % 100000}.{domain}"
    w = f"{A}/websites/{site}"
    root, scoped = f"bench-web-root-{int(time.time()) % 100000}", f"bench-web-docs-{int(time.time()) % 100000}"
    state: dict[str, str] = {}
    upload_key = "bench/abort-one.bin"

    def abort_one() -> Any:
        made = run.d.s3.create_multipart_upload(Bucket=OVERHEAD_BUCKET, Key=upload_key)  # direct: not counted
        url = run.url(f"{b}/uploads/{made['UploadId']}")
        return expect(s.delete(url, params={"key": upload_key}))

    def invalidate() -> Any:
        r = expect(s.patch(run.url(w), json={"CacheInvalidation": ["/*"]}))
        state["invalidation"] = r.json()["Invalidation"]["Id"]
        return r

    return [
        ("Ping", "GET", "/ping", lambda: expect(s.get(run.url("/ping")))),
        ("Version", "GET", "/version", lambda: expect(s.get(run.url("/version")))),
        ("List accounts", "GET", "/accounts", lambda: expect(s.get(run.url("/accounts")))),
        ("Abort one upload", "DELETE", BUCKET_PATH + "/uploads/{upload_id}", abort_one),
        (
            "Create website",
            "POST",
            "/{account}/websites",
            lambda: expect(s.post(run.url(f"{A}/websites"), json={"BucketInput": {"Bucket": site}})),
        ),
        ("HEAD website", "HEAD", WEBSITE_PATH, lambda: expect(s.head(run.url(w)))),
        ("GET website", "GET", WEBSITE_PATH, lambda: expect(s.get(run.url(w)))),
        (
            "Update website tags",
            "PUT",
            WEBSITE_PATH,
            lambda: expect(s.put(run.url(w), json={"Tags": [{"Key": "team", "Value": "bench"}]})),
        ),
        ("Invalidate website paths", "PATCH", WEBSITE_PATH, invalidate),
        (
            "GET invalidation",
            "GET",
            WEBSITE_PATH + "/invalidations/{invalidation}",
            lambda: expect(s.get(run.url(f"{w}/invalidations/{state.get('invalidation', 'none')}"))),
        ),
        ("Website bookmark", "GET", WEBSITE_PATH + "/duck", lambda: expect(s.get(run.url(f"{w}/duck")))),
        (
            "Create website user (root)",
            "POST",
            WEBSITE_PATH + "/users",
            lambda: expect(s.post(run.url(f"{w}/users"), json={"User": {"UserName": root}})),
        ),
        (
            "Create website user (Path /docs/)",
            "POST",
            WEBSITE_PATH + "/users",
            lambda: expect(s.post(run.url(f"{w}/users"), json={"User": {"UserName": scoped, "Path": "/docs/"}})),
        ),
        ("GET website users", "GET", WEBSITE_PATH + "/users", lambda: expect(s.get(run.url(f"{w}/users")))),
        (
            "GET website user",
            "GET",
            WEBSITE_PATH + "/users/{user}",
            lambda: expect(s.get(run.url(f"{w}/users/{root}"))),
        ),
        (
            "Rotate website user keys",
            "PUT",
            WEBSITE_PATH + "/users/{user}",
            lambda: expect(s.put(run.url(f"{w}/users/{root}"))),
        ),
        (
            "Delete website user (Path /docs/)",
            "DELETE",
            WEBSITE_PATH + "/users/{user}",
            lambda: expect(s.delete(run.url(f"{w}/users/{scoped}"))),
        ),
        ("Delete website (1 root user left)", "DELETE", WEBSITE_PATH, lambda: expect(s.delete(run.url(w)))),
    ]


def route_coverage(spec: dict[str, Any], requested: set[tuple[str, str]]) -> list[list[str]]:
    """``[route, reason]`` for every operation of the OpenAPI document no request reached (``requested``: the
    ``(METHOD, /v1/s3/openapi/path)`` pairs seen in s3api_http_requests_total)."""
    rows = []
    for path, ops in sorted(spec.get("paths", {}).items()):
        for method in ops:
            if method not in ("get", "post", "put", "patch", "delete", "head"):
                continue
            route = f"{method.upper()} {path}"
            if (method.upper(), path) in requested and route not in NOT_EXERCISED:
                continue
            rows.append([route, NOT_EXERCISED.get(route, "not reached in this run (see the notes: a failed request)")])
    return rows


def _extra_probes(run: Run) -> list[tuple[str, str, str, Callable[[], Any]]]:
    s = run.api
    b = f"{A}/buckets/{OVERHEAD_BUCKET}"
    alice = f"{OVERHEAD_BUCKET}-alice"
    carol = f"{OVERHEAD_BUCKET}-carol-{int(time.time()) % 100000}"
    key = "bench/calls.txt"
    return [
        ("GET account", "GET", "/{account}", lambda: expect(s.get(run.url(A)))),
        ("List buckets", "GET", "/{account}/buckets", lambda: expect(s.get(run.url(f"{A}/buckets")))),
        (
            "Update bucket tags",
            "PUT",
            BUCKET_PATH,
            lambda: expect(s.put(run.url(b), json={"Tags": [{"Key": "team", "Value": "bench"}]})),
        ),
        ("Cyberduck bookmark", "GET", BUCKET_PATH + "/duck", lambda: expect(s.get(run.url(b + "/duck")))),
        (
            "Create user",
            "POST",
            BUCKET_PATH + "/users",
            lambda: expect(s.post(run.url(f"{b}/users"), json={"User": {"UserName": carol}})),
        ),
        ("GET user", "GET", BUCKET_PATH + "/users/{user}", lambda: expect(s.get(run.url(f"{b}/users/{alice}")))),
        (
            "Rotate user keys",
            "PUT",
            BUCKET_PATH + "/users/{user}",
            lambda: expect(s.put(run.url(f"{b}/users/{alice}"))),
        ),
        (
            "GET object",
            "GET",
            BUCKET_PATH + "/objects/{key}",
            lambda: expect(s.get(run.url(f"{b}/objects/{key}"))),
        ),
        (
            "DELETE object",
            "DELETE",
            BUCKET_PATH + "/objects/{key}",
            lambda: expect(s.delete(run.url(f"{b}/objects/{key}"))),
        ),
        (
            "Presign",
            "POST",
            BUCKET_PATH + "/presign",
            lambda: expect(s.post(run.url(f"{b}/presign"), json={"Key": key, "Method": "GET", "ExpiresIn": 60})),
        ),
        (
            "Delete user",
            "DELETE",
            BUCKET_PATH + "/users/{user}",
            lambda: expect(s.delete(run.url(f"{b}/users/{carol}"))),
        ),
        ("List uploads (1 open)", "GET", BUCKET_PATH + "/uploads", lambda: expect(s.get(run.url(f"{b}/uploads")))),
        (
            "Abort old uploads (1 open)",
            "POST",
            BUCKET_PATH + "/uploads/abort",
            lambda: expect(s.post(run.url(f"{b}/uploads/abort"), json={"OlderThanSeconds": 0})),
        ),
        ("Usage", "GET", BUCKET_PATH + "/usage", lambda: expect(s.get(run.url(f"{b}/usage")))),
        ("Account stats", "GET", "/{account}/stats", lambda: expect(s.get(run.url(f"{A}/stats")))),
    ]


def aws_calls(run: Run) -> dict[str, Any]:
    title = TITLES["calls"]
    srv = run.server
    sec = report.section(title)
    # exercise the routes the other sections did not, one calibrated request each
    if srv.has_route("GET", BUCKET_PATH):
        ensure_bucket(run, OVERHEAD_BUCKET)
        ensure_users(run, OVERHEAD_BUCKET, [f"{OVERHEAD_BUCKET}-alice"])
        run.d.s3.put_object(Bucket=OVERHEAD_BUCKET, Key="bench/calls.txt", Body=b"hello")
        upload = run.d.s3.create_multipart_upload(Bucket=OVERHEAD_BUCKET, Key="bench/upload.bin")
        run.d.s3.upload_part(
            Bucket=OVERHEAD_BUCKET, Key="bench/upload.bin", UploadId=upload["UploadId"], PartNumber=1, Body=b"x" * 1024
        )
        time.sleep(1.1)  # "older than 0 s" by a clear margin, whatever the timestamp resolution
    skipped = []
    recorded = {(e["method"], e["path"]) for e in run.calls}
    fallback = [p for p in _fallback_probes(run) if (p[1], f"/v1/s3{p[2]}") not in recorded]
    for label, method, path, fn in _extra_probes(run) + fallback + _system_and_website_probes(run):
        if srv.missing((method, path)):
            skipped.append(f"{method} /v1/s3{path}")
            continue
        try:
            _, ops, routes = measure_calls(run, fn)
        except BadStatus as exc:
            sec["notes"].append(f"{label}: {exc}")
            continue
        record_calls(run, label, method, path, ops, routes)

    # the brief's table: per route, s3api_route_aws_calls_total / s3api_http_requests_total over the whole run
    samples = srv.metrics()
    reqs = promtext.by_label(samples, "s3api_http_requests_total", "method", "route")
    calls = promtext.by_label(samples, "s3api_route_aws_calls_total", "method", "route")
    per_route = []
    for (method, rule), n in sorted(reqs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if rule in ("/v1/s3/metrics", "<unmatched>", "/v1/s3/openapi.json"):
            continue
        c = calls.get((method, rule), 0.0)
        per_route.append([f"{method} {promtext.openapi_path(rule)}", int(n), int(c), round(c / n, 2) if n else None])
    requested = {(method, promtext.openapi_path(rule)) for (method, rule), n in reqs.items() if n}
    not_exercised = route_coverage(srv.spec(), requested)
    sec["tables"].append(
        report.table(
            "Per route over the whole run (main server): s3api_route_aws_calls_total / s3api_http_requests_total",
            ["route", "requests", "AWS calls", "calls/request"],
            per_route,
        )
    )
    rows = []
    flagged: list[str] = []
    miscounted: list[str] = []
    for entry in run.calls:
        needed, why = NEEDED.get(entry["label"], (None, ""))
        if entry["label"].startswith("Batch delete"):
            keys = int(entry["label"].split()[2].replace(",", ""))
            needed, why = -(-keys // 1000), NEEDED["Batch delete"][1]
        flags = []
        if needed is not None and entry["calls"] > needed:
            flags.append(f"more than needed (+{entry['calls'] - needed:g})")
            flagged.append(f"{entry['label']}: {entry['calls']:g} calls, {needed} needed")
        metric = entry.get("route_metric")
        if metric is not None and metric != entry["calls"]:
            flags.append(f"route metric counts {metric:g}")
            miscounted.append(
                f"{entry['label']}: makes {entry['calls']:g}, s3api_route_aws_calls_total counts {metric:g}"
            )
        ops_text = ", ".join(
            f"{k.split(':', 1)[1]}×{v:g}" if v != 1 else k.split(":", 1)[1] for k, v in entry["ops"].items()
        )
        rows.append(
            [
                entry["label"],
                f"{entry['method']} {entry['path']}",
                entry["calls"],
                metric,
                needed,
                "; ".join(flags),
                ops_text or "—",
                why,
            ]
        )
    sec["tables"].append(
        report.table(
            "Per operation (one calibrated request each): calls made (s3api_aws_calls_total before/after), what "
            "the route's counter attributed (s3api_route_aws_calls_total), and the fewest needed",
            ["operation", "route", "AWS calls", "route metric", "needed", "flag", "calls made", "why needed"],
            rows,
        )
    )
    if miscounted:
        sec["notes"].append(
            "s3api_route_aws_calls_total misses calls made in a worker thread that did not copy the request's "
            "context: " + "; ".join(miscounted) + "."
        )
    sec["tables"].append(
        report.table(
            "Routes of the OpenAPI document not exercised, and why",
            ["route", "reason"],
            not_exercised or [["none", "every route of the document was requested at least once"]],
        )
    )
    if skipped:
        sec["notes"].append("Not exercised (route missing): " + ", ".join(skipped))
    sec["notes"].append(
        "'needed' is the fewest calls that can answer the request by its contract (our estimate, reasons in the last "
        "column); '—' where it depends on the data."
    )
    sec["data"] = {
        "per_route": per_route,
        "per_operation": run.calls,
        "flagged": flagged,
        "miscounted": miscounted,
        "not_exercised": not_exercised,
    }
    return sec


# --- 6. start and memory ---------------------------------------------------------------------------------


def start_memory(run: Run) -> dict[str, Any]:
    title = TITLES["startup"]
    sec = report.section(title)
    srv = run.server
    mem = srv.memory()
    tp = run.state.get("throughput", {})
    rows = [
        [
            "main (1 worker), starts the emulator",
            srv.start_seconds and round(srv.start_seconds, 2),
            mem.get("master_mib"),
            ", ".join(str(m) for m in mem.get("workers_mib", [])),
            mem.get("emulator_mib"),
            "after the whole run",
        ]
    ]
    for name, started in (tp.get("start_seconds") or {}).items():
        m = (tp.get("memory_after_load") or {}).get(name, {})
        rows.append(
            [
                f"throughput {name}, attached to the same emulator",
                started,
                m.get("master_mib"),
                ", ".join(str(x) for x in m.get("workers_mib", [])),
                None,
                "after its load",
            ]
        )
    sec["tables"].append(
        report.table(
            "",
            [
                "server",
                "spawn to first ping 200 (s)",
                "master RSS MiB",
                "worker RSS MiB",
                "emulator RSS MiB",
                "measured",
            ],
            rows,
        )
    )
    sec["notes"] += [
        "Start time is from spawning `python -m s3api.cli serve` to the first 200 from /v1/s3/ping; the main "
        "server's includes starting and seeding the embedded moto server (a 2048-bit RSA key for the wildcard "
        "certificate among others).",
        "RSS is VmRSS from /proc/<pid>/status of the gunicorn master's children (the moto child is listed apart).",
    ]
    sec["data"] = {
        "main": {"start_seconds": srv.start_seconds, "memory": mem},
        "throughput": tp.get("memory_after_load"),
    }
    return sec


# --- bcrypt flood (issue 11): forged bcrypt headers must not starve authenticated requests ------------------

BCRYPT_TITLE = "bcrypt flood: an authenticated request's latency under forged cost-12 bcrypt headers"
TITLES["bcrypt"] = BCRYPT_TITLE
BCRYPT_GOAL = 2.0
BCRYPT_CAPS = {
    "quiet_seconds": 10.0,
    "flood_threads": 4,
    "flood_rate": 64.0,  # forged headers per second: twice the ~32/s that filled every request thread before
    "flood_requests": 1000,
    "flood_seconds": 15.0,
    "probe_requests": 200,
    "probe_pause": 0.03,  # seconds between authenticated requests (quiet and under the flood alike): ~7 s each
}


def _forged_bcrypt_header() -> str:
    """A well-formed cost-12 bcrypt hash with a fresh salt: it misses every cache, and checking it would cost
    the server ~250 ms of CPU."""
    import bcrypt

    return bcrypt.gensalt(rounds=12).decode() + "".join(random.choices(_BCRYPT_ALPHABET, k=31))


_BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _paced_probe(
    pool: HttpPool, path: str, headers: dict[str, str], caps: dict[str, Any], seconds: float
) -> dict[str, Any]:
    """Authenticated GETs one after another with a pause between them (bounded in count and time); the
    latencies are of the requests alone, never the pauses."""
    latencies: list[float] = []
    errors = 0
    for _ in Budget(caps["probe_requests"], seconds):
        t0 = time.perf_counter()
        try:
            ok = pool.get(path, headers) == 200
        except Exception:  # noqa: BLE001 - an error sample, never a crash
            ok = False
        took = time.perf_counter() - t0
        if ok:
            latencies.append(took)
        else:
            errors += 1
        time.sleep(caps["probe_pause"])
    stats = summarize(latencies)
    n = len(latencies) + errors
    return {"requests": n, "errors": errors, "p50_ms": stats.get("median_ms"), "p99_ms": stats.get("p99_ms")}


def bcrypt_flood(run: Run) -> dict[str, Any]:
    """One server (1 worker) whose token accepts bcrypt (``S3API_TOKEN_BCRYPT=true``), on 127.0.0.1 only.
    Median latency of ``GET /v1/s3/accounts`` with the plain token, quiet, then while ``flood_threads`` threads
    send forged bcrypt headers (bounded in count and time). Goal: flood median <= 2x quiet median."""
    title = BCRYPT_TITLE
    caps = BCRYPT_CAPS
    sec = report.section(title)
    if run.remaining() < 40:
        return report.skipped(title, "time budget of the run exhausted")
    path = "/v1/s3/accounts"
    headers = {"X-Auth-Token": TOKEN}
    env = {"S3API_TOKEN_BCRYPT": "true"}
    with Server(run.workdir, "bcrypt-flood", 1, emulator=run.emulator, env=env) as srv:
        srv.start()
        pool = HttpPool(srv.port)
        for _ in range(20):
            pool.get(path, headers)
        quiet = _paced_probe(pool, path, headers, caps, run.seconds(caps["quiet_seconds"], 30))
        outcomes: dict[int, int] = {}
        lock = threading.Lock()
        stop = threading.Event()

        interval = caps["flood_threads"] / caps["flood_rate"]  # each thread's pace

        def forge(_: int) -> bool:
            if stop.is_set():
                return True
            t0 = time.monotonic()
            status = pool.get(path, {"X-Auth-Token": _forged_bcrypt_header()})
            with lock:
                outcomes[status] = outcomes.get(status, 0) + 1
            time.sleep(max(0.0, interval - (time.monotonic() - t0)))
            return status in (403, 429)

        flood_result: dict[str, Any] = {}

        def flood() -> None:
            flood_result["load"] = run_load(
                forge,
                threads=caps["flood_threads"],
                max_requests=caps["flood_requests"],
                max_seconds=run.seconds(caps["flood_seconds"], 20),
            )

        flooder = threading.Thread(target=flood, daemon=True)
        flooder.start()
        time.sleep(0.5)  # the flood is under way
        probe = _paced_probe(pool, path, headers, caps, run.seconds(caps["flood_seconds"] - 1, 20))
        stop.set()
        flooder.join(60)
    q, p = quiet, probe
    factor = ratio(p["p50_ms"], q["p50_ms"])
    forged = flood_result["load"].as_dict() if "load" in flood_result else {}
    sec["tables"].append(
        report.table(
            "",
            ["phase", "authenticated requests", "errors", "p50 ms", "p99 ms", "forged headers sent", "answers"],
            [
                ["quiet", q["requests"], q["errors"], q["p50_ms"], q["p99_ms"], 0, ""],
                [
                    "under the flood",
                    p["requests"],
                    p["errors"],
                    p["p50_ms"],
                    p["p99_ms"],
                    sum(outcomes.values()),
                    ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())),
                ],
            ],
        )
    )
    ok = factor is not None and factor <= BCRYPT_GOAL and not p["errors"]
    sec["notes"].append(
        f"Median under the flood / quiet median = {factor} (goal <= {BCRYPT_GOAL:g}): {'met' if ok else 'NOT met'}. "
        f"Forged headers: {caps['flood_threads']} threads at {caps['flood_rate']:g}/s in all, cap "
        f"{caps['flood_requests']} / {caps['flood_seconds']:g} s, until the probe ends; "
        "429 = refused at once because the bcrypt slot was busy, 403 = checked and refused."
    )
    sec["data"] = {"quiet": q, "flood_probe": p, "forged": forged, "answers": outcomes, "ratio": factor, "ok": ok}
    return sec
