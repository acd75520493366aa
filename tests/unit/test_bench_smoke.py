"""The benchmark harness's pure parts: percentiles, bounded loops, the load generator, result writing,
metrics and /proc parsing, the direct-replay plan. No server, no emulator, nothing timed."""

from __future__ import annotations

import json
import threading
import time

import pytest

from bench import procs, promtext, report
from bench.__main__ import _parse
from bench.direct import Target, method_name, plan
from bench.stats import Budget, percentile, ratio, run_load, summarize


class FakeClock:
    def __init__(self, step: float = 0.0) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


# --- percentiles and summaries ---------------------------------------------------------------------------


def test_percentile_interpolates_between_closest_ranks() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([4, 1, 3, 2], 0) == 1  # order of input does not matter
    assert percentile([1, 2, 3, 4], 100) == 4
    assert percentile([7.0], 99) == 7.0
    assert percentile(list(range(1, 101)), 99) == pytest.approx(99.01)
    assert percentile([10, 20], 25) == 12.5


def test_percentile_rejects_nothing_and_out_of_range() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1], 101)


def test_summarize_in_milliseconds() -> None:
    s = summarize([0.001, 0.002, 0.003])
    assert s == {"n": 3, "median_ms": 2.0, "p99_ms": 2.98, "mean_ms": 2.0, "min_ms": 1.0, "max_ms": 3.0}
    assert summarize([]) == {"n": 0}


def test_ratio_handles_missing_and_zero() -> None:
    assert ratio(11.5, 10) == 1.15
    assert ratio(None, 1) is None
    assert ratio(1, None) is None
    assert ratio(1, 0) is None


# --- bounded loops ---------------------------------------------------------------------------------------


def test_budget_stops_at_the_count_cap() -> None:
    b = Budget(5, 1e9)
    assert list(b) == [0, 1, 2, 3, 4]
    assert (b.count, b.stopped_by) == (5, "count")


def test_budget_stops_at_the_time_cap() -> None:
    b = Budget(10**9, 10.0, clock=FakeClock(step=1.0))  # every clock read advances one second
    items = list(b)
    assert 0 < len(items) < 10
    assert b.stopped_by == "time"
    assert b.count == len(items)


def test_budget_counts_items_when_the_caller_breaks_early() -> None:
    b = Budget(100, 1e9)
    for i in b:
        if i == 2:
            break
    assert (b.count, b.stopped_by) == (3, "done")
    assert "3 in" in b.describe() and "hit: done" in b.describe()


def test_budget_with_zero_time_yields_nothing() -> None:
    b = Budget(10, 0.0)
    assert list(b) == []
    assert b.stopped_by == "time"


# --- load generator ---------------------------------------------------------------------------------------


def test_run_load_respects_the_request_cap_and_counts_errors() -> None:
    lock = threading.Lock()
    calls = {"n": 0}

    def fn(thread: int) -> bool:
        with lock:
            calls["n"] += 1
            n = calls["n"]
        if n % 5 == 0:
            raise RuntimeError("boom")
        return n % 7 != 0  # False is an error too

    res = run_load(fn, threads=4, max_requests=70, max_seconds=30)
    assert res.requests == 70 == calls["n"]
    assert res.errors == 14 + 10 - 2  # multiples of 5, plus of 7, minus of 35 counted once
    assert len(res.latencies) == 70 - res.errors
    assert res.stopped_by == "count"
    assert res.first_error
    d = res.as_dict()
    assert d["requests"] == 70 and d["errors"] == res.errors and d["p50_ms"] is not None


def test_run_load_respects_the_time_cap() -> None:
    started = time.monotonic()
    res = run_load(lambda _: time.sleep(0.01), threads=2, max_requests=10**9, max_seconds=0.2)
    assert res.stopped_by == "time"
    assert 0 < res.requests < 200
    assert time.monotonic() - started < 2
    assert res.errors == 0 and res.rate > 0


# --- results ---------------------------------------------------------------------------------------------


def _results() -> dict:
    ok = report.section("Overhead")
    ok["tables"].append(
        report.table("", ["op", "ratio", "note"], [["GET bucket", 1.0512, "a|b"], ["HEAD", None, True]])
    )
    ok["notes"].append("interleaved")
    return {
        "title": "s3api benchmarks",
        "command": "python -m bench",
        "started": "2026-01-01T00:00:00+00:00",
        "seconds": 12.3,
        "machine": {"cpus": 2},
        "config": {"keys": 50000},
        "summary": ["Overhead 1.05"],
        "sections": {"overhead": ok, "listing": report.skipped("Listing", "route missing: GET /v1/s3/x")},
    }


def test_write_results_writes_json_and_markdown(tmp_path) -> None:
    results = _results()
    json_path, md_path = report.write_results(results, tmp_path / "out")
    assert json.loads(json_path.read_text()) == results
    md = md_path.read_text()
    assert md.startswith("# s3api benchmarks")
    assert "`python -m bench`" in md
    assert "## Key figures" in md and "- Overhead 1.05" in md
    assert "## 1. Overhead" in md and "## 2. Listing" in md
    assert "| op | ratio | note |" in md
    assert "| GET bucket | 1.051 | a\\|b |" in md  # floats trimmed, pipes escaped
    assert "| HEAD | — | yes |" in md
    assert "**skipped**: route missing: GET /v1/s3/x" in md
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_cell_formats_numbers() -> None:
    assert report.cell(1234.5) == "1,234"  # large floats: thousands, no decimals (banker's rounding of .5)
    assert report.cell(0.0) == "0"
    assert report.cell(2.50) == "2.5"
    assert report.cell(3) == "3"


# --- metrics text, /proc, replay plan, CLI ---------------------------------------------------------------

METRICS = """# HELP s3api_aws_calls_total AWS API calls made
# TYPE s3api_aws_calls_total counter
s3api_aws_calls_total{operation="HeadBucket",outcome="ok",service="s3"} 5.0
s3api_aws_calls_total{operation="HeadBucket",outcome="client_error",service="s3"} 1.0
s3api_aws_calls_total{operation="GetGroup",outcome="ok",service="iam"} 2.0
s3api_route_aws_calls_total{method="GET",route="/v1/s3/<string:account>/buckets/<string:bucket>"} 9.0
s3api_http_requests_total{method="GET",route="/v1/s3/<string:account>/buckets/<string:bucket>",status="200"} 1.0
s3api_http_requests_total{method="GET",route="/v1/s3/<string:account>/buckets/<string:bucket>",status="404"} 2.0
"""


def test_prometheus_text_parsing() -> None:
    samples = promtext.parse(METRICS)
    route = "/v1/s3/<string:account>/buckets/<string:bucket>"
    assert promtext.total(samples, "s3api_http_requests_total", method="GET", route=route) == 3
    assert promtext.total(samples, "s3api_route_aws_calls_total", route=route) == 9
    ops = promtext.operations(samples)
    assert ops == {"s3:HeadBucket": 6, "iam:GetGroup": 2}
    assert promtext.diff({"s3:HeadBucket": 7, "iam:GetGroup": 2, "s3:X": 1}, ops) == {"s3:HeadBucket": 1, "s3:X": 1}
    assert promtext.openapi_path(route) == "/v1/s3/{account}/buckets/{bucket}"
    assert promtext.openapi_path("/v1/s3/<account>/x/<s3key:key>") == "/v1/s3/{account}/x/{key}"


def test_proc_stat_and_status_parsing() -> None:
    pid, comm, ppid = procs.parse_stat("4242 (gunicorn: worker (x) 1) S 4200 4242 4242 0 -1 4194560 ...")
    assert (pid, comm, ppid) == (4242, "gunicorn: worker (x) 1", 4200)
    assert procs.parse_rss_kib("Name:\tpython\nVmRSS:\t  102400 kB\nThreads: 5\n") == 102400
    assert procs.parse_rss_kib("Name:\tzombie\n") is None


def test_replay_plan_orders_calls_and_names_what_it_cannot_replay() -> None:
    calls, missing = plan({"s3:DeleteBucket": 1, "s3:HeadBucket": 2, "iam:GetGroup": 3, "s3:Frobnicate": 1})
    assert calls[:2] == ["s3:HeadBucket", "s3:HeadBucket"]
    assert calls[-1] == "s3:DeleteBucket"  # the bucket goes last
    assert calls.count("iam:GetGroup") == 3
    assert missing == ["s3:Frobnicate"]
    assert method_name("s3:ListObjectsV2") == "list_objects_v2"
    assert method_name("iam:GetAccessKeyLastUsed") == "get_access_key_last_used"
    t = Target(bucket="b1")
    assert [t.next("GetGroup", t.groups()) for _ in range(4)] == [
        "b1-BktAdmGrp",
        "b1-BktRWGrp",
        "b1-BktROGrp",
        "b1-BktAdmGrp",
    ]


def test_cli_options() -> None:
    args = _parse(["--only", "overhead,listing", "--keys", "1000", "--workers", "1,2"])
    assert args.only == "overhead,listing" and args.keys == 1000 and args.workers == (1, 2)
    with pytest.raises(SystemExit):
        _parse(["--only", "nope"])
