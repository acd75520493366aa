"""The benchmark harness's pure parts: percentiles, bounded loops, the load generator, result writing,
metrics and /proc parsing, the direct-replay plan. No server, no emulator, nothing timed."""

from __future__ import annotations

import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import apikeys, procs, promtext, report, server
from bench.__main__ import FUNCS, PRESENT, RUN_ORDER, _parse, _summary
from bench.awsproxy import RecordingProxy, aws_pages, group_paths, list_groups_request
from bench.direct import Target, method_name, plan
from bench.groups import aws_equivalent, growth
from bench.sections import route_coverage, time_split
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
    args = _parse(["--only", "groups", "--group-counts", "10,200", "--group-seed-seconds", "5"])
    assert args.group_counts == (10, 200) and args.group_seed_seconds == 5.0


# --- groups section (issue 12): growth verdicts and what AWS would page ------------------------------------


def test_growth_verdicts_compare_the_first_and_last_level() -> None:
    calls = {
        "website_users": {100: 6.0, 5000: 11.0},
        "bucket_users": {100: 5.0, 5000: 5.0},
        "website_create": {100: 30.0, 5000: 29.0},
        "website_delete": {100: 61.0, 5000: None},
    }
    out = {v["key"]: v for v in growth([100, 5000], calls)}
    assert out["website_users"]["verdict"] == "grows (+5)" and out["website_users"]["delta"] == 5
    assert out["bucket_users"]["verdict"] == "flat"
    assert out["website_create"]["verdict"] == "fewer (-1)"
    assert out["website_delete"]["verdict"] == "not measured"
    assert [v["key"] for v in growth([100, 5000], calls)] == [  # in the section's route order
        "website_create",
        "website_users",
        "website_delete",
        "bucket_users",
    ]


def test_aws_pages_counts_the_groups_under_the_prefix() -> None:
    paths = ["/"] * 10 + ["/bench/unrelated/"] * 4990 + ["/docs/"] * 2
    assert aws_pages("/", 1000, paths) == 6  # 5,002 groups, 1,000 a page
    assert aws_pages("/docs/", 1000, paths) == 1
    assert aws_pages("/none/", 1000, paths) == 1  # an empty answer is one page too
    assert aws_pages("/", None, paths[:250]) == 3  # IAM's default MaxItems is 100
    assert aws_pages("/", 5000, paths) == 6  # at most 1,000 a page


def test_list_groups_request_and_answer_parsing() -> None:
    body = b"Action=ListGroups&Version=2010-05-08&PathPrefix=%2Fdocs%2F&MaxItems=1000"
    assert list_groups_request(body) == {"path_prefix": "/docs/", "max_items": 1000, "marker": False}
    assert list_groups_request(b"Action=ListGroups&Marker=abc")["marker"] is True  # type: ignore[index]
    assert list_groups_request(b"Action=ListGroups") == {"path_prefix": "/", "max_items": None, "marker": False}
    assert list_groups_request(b"Action=GetGroup&GroupName=x") is None
    assert list_groups_request(b"\xff\xfe") is None
    xml = b"<Groups><member><Path>/</Path><GroupName>a</GroupName></member><member><Path>/x/</Path></member></Groups>"
    assert group_paths(xml) == ["/", "/x/"]


def test_aws_equivalent_replaces_moto_list_groups_by_aws_pages() -> None:
    ops = {"iam:ListGroups": 1, "iam:GetGroup": 3, "s3:HeadBucket": 1}
    records = [{"path_prefix": "/", "max_items": 1000, "marker": False, "paths": ["/"] * 4500}]
    eq = aws_equivalent(ops, records)
    assert (eq["calls"], eq["list_groups"], eq["aws_list_groups_pages"], eq["aws_calls"]) == (5, 1, 5, 9)
    assert eq["path_prefixes"] == ["/"]
    assert aws_equivalent({"iam:GetGroup": 2}, [])["aws_calls"] == 2


def test_recording_proxy_forwards_and_records_list_groups() -> None:
    class Upstream(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            data = b"<Groups><member><Path>/</Path></member><member><Path>/p/</Path></member></Groups>"
            if b"ListGroups" not in body:
                data = b"echo:" + body
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    thread = threading.Thread(target=upstream.serve_forever, daemon=True)
    thread.start()
    try:
        with RecordingProxy(f"http://127.0.0.1:{upstream.server_address[1]}") as proxy:
            conn = http.client.HTTPConnection("127.0.0.1", int(proxy.url.rsplit(":", 1)[1]), timeout=10)
            conn.request("POST", "/", body=b"Action=GetUser&UserName=u")
            assert conn.getresponse().read() == b"echo:Action=GetUser&UserName=u"
            conn.request("POST", "/", body=b"Action=ListGroups&PathPrefix=%2Fp%2F&MaxItems=1000")
            resp = conn.getresponse()
            assert resp.status == 200 and b"<Path>/p/</Path>" in resp.read()
            conn.close()
            records = proxy.take()
            assert records == [{"path_prefix": "/p/", "max_items": 1000, "marker": False, "paths": ["/", "/p/"]}]
            assert proxy.take() == []
    finally:
        upstream.shutdown()
        upstream.server_close()


def test_route_coverage_lists_every_operation_no_request_reached() -> None:
    spec = {
        "paths": {
            "/v1/s3/ping": {"get": {}},
            "/v1/s3/metrics": {"get": {}},
            "/v1/s3/{account}/websites/{website}": {"get": {}, "delete": {}, "parameters": []},
        }
    }
    requested = {("GET", "/v1/s3/ping"), ("GET", "/v1/s3/metrics"), ("GET", "/v1/s3/{account}/websites/{website}")}
    rows = route_coverage(spec, requested)
    assert [r[0] for r in rows] == ["GET /v1/s3/metrics", "DELETE /v1/s3/{account}/websites/{website}"]
    assert "scrape" in rows[0][1] and "not reached" in rows[1][1]


def test_time_split_from_the_service_histograms() -> None:
    route = "/v1/s3/{account}/buckets/{bucket}"
    before = promtext.parse(
        f's3api_http_request_duration_seconds_count{{method="HEAD",route="{route}"}} 10\n'
        f's3api_http_request_duration_seconds_sum{{method="HEAD",route="{route}"}} 0.05\n'
        's3api_aws_call_duration_seconds_sum{service="s3",operation="HeadBucket"} 0.04\n'
    )
    after = promtext.parse(
        f's3api_http_request_duration_seconds_count{{method="HEAD",route="{route}"}} 110\n'
        f's3api_http_request_duration_seconds_sum{{method="HEAD",route="{route}"}} 0.55\n'
        's3api_aws_call_duration_seconds_sum{service="s3",operation="HeadBucket"} 0.44\n'
    )
    split = time_split(before, after, [("HEAD", "/{account}/buckets/{bucket}")], 6.0, 3.5)
    assert split == {
        "api_mean_ms": 6.0,
        "in_app_ms": 5.0,
        "aws_calls_in_worker_ms": 4.0,
        "app_own_ms": 1.0,
        "outside_app_ms": 1.0,
        "direct_mean_ms": 3.5,
        "aws_in_worker_minus_direct_ms": 0.5,
    }
    assert time_split(before, before, [("HEAD", "/{account}/buckets/{bucket}")], 6.0, 3.5) == {}


# --- keys section (issue 14): a database API key against the config token ---------------------------------

KEY = "s3k_0123456789abcdef_" + "S" * 43


def test_parse_created_key_reads_id_and_key_and_never_echoes_the_output() -> None:
    out = json.dumps({"Id": "0123456789abcdef", "Name": "bench-keys", "Role": "admin", "Key": KEY})
    assert apikeys.parse_created_key(out) == ("0123456789abcdef", KEY)
    for bad in (
        "not json " + KEY,
        json.dumps([KEY]),
        json.dumps({"Key": KEY}),
        json.dumps({"Id": "other", "Key": KEY}),
    ):
        with pytest.raises(ValueError) as exc:
            apikeys.parse_created_key(bad)
        assert "s3k_" not in str(exc.value) and "S" * 10 not in str(exc.value)


def test_redact_hides_anything_shaped_like_a_key() -> None:
    text = apikeys.redact(f"token {KEY} refused; again {KEY}.")
    assert "S" * 10 not in text and text.count("s3k_<redacted>") == 2 and text.endswith(".")


def test_compare_gives_the_key_s_extra_median_p99_and_the_goal() -> None:
    pairs = [(0.001, 0.0012), (0.002, 0.0021), (0.003, 0.0034)]  # (token, key) in seconds
    res = apikeys.compare(pairs, goal_ms=0.5)
    assert res["pairs"] == 3 and res["token"]["median_ms"] == 2.0 and res["key"]["median_ms"] == 2.1
    assert res["median_diff_ms"] == pytest.approx(0.1) and res["paired_median_diff_ms"] == pytest.approx(0.2)
    assert res["p99_diff_ms"] == pytest.approx(3.37 - 2.98, abs=0.01) and res["goal_met"] is True
    slow = apikeys.compare([(0.001, 0.0016)], goal_ms=0.5)
    assert slow["median_diff_ms"] == pytest.approx(0.6) and slow["goal_met"] is False
    assert apikeys.compare([], goal_ms=0.5)["goal_met"] is None


def test_keys_summary_line_and_section_wiring() -> None:
    data = {
        "goal_ms": 0.5,
        "goal_met": True,
        "requests": {"accounts": apikeys.compare([(0.001, 0.0011)]), "head_bucket": apikeys.compare([])},
        "after_expiry": {"cache_seconds": 2.0, "key": {"n": 1, "median_ms": 3.0}, "median_diff_ms": 1.25},
    }
    line = apikeys.summary_line(data)
    assert line.startswith("Database API key over the config token: GET accounts +0.1 ms median")
    assert "HEAD bucket" not in line and "goal < 0.5 ms median: met" in line
    assert "after the 2 s key cache expired: 3.0 ms (+1.25 ms over the token" in line
    assert _summary({"keys": {"status": "ok", "data": data}}) == [line]
    assert "keys" in PRESENT and "keys" in RUN_ORDER and FUNCS["keys"] is apikeys.key_overhead
    args = _parse(["--only", "keys", "--key-pairs", "50", "--key-expiry-rounds", "2"])
    assert args.key_pairs == 50 and args.key_expiry_rounds == 2 and args.keys == 50_000


def test_every_bench_server_gets_a_scratch_database(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(server, "free_port", lambda: 1)
    srv = server.Server(tmp_path, "main", 1)
    env = srv.server_env()
    assert env["S3API_DATA_DIR"] == str(tmp_path / "main-data") == str(srv.data_dir)
    assert env["S3API_TOKEN"] == server.TOKEN and env["S3API_LISTEN"] == "127.0.0.1:1"
    monkeypatch.setenv("S3API_DATA_DIR", "/repository/.s3api-data")  # the caller's own setting never leaks in
    assert server.clean_env(**env)["S3API_DATA_DIR"] == str(tmp_path / "main-data")


def test_forcedelete_render_summary_and_wiring() -> None:
    from bench import forcedelete

    side = {"deleted": 2000, "seconds": 2.0, "objects_per_s": 1000, "aws_calls": 7, "ops": {"DeleteObjects": 2}}
    api = {
        **side,
        "seconds": 2.5,
        "objects_per_s": 800,
        "status": "Succeeded",
        "request_seconds": 0.2,
        "operation_seconds": 2.3,
        "checkpoint_saves": 2,
        "ops": {"DeleteObjects": 2, "ListObjectVersions": 4},
    }
    data = {
        "objects": 2000,
        "moto_deepcopy": False,
        "seeding": {"put_loop": 700, "put_threads": 650, "inject": 20000},
        "api": api,
        "direct": side,
        "ratio": 1.25,
    }
    sec = forcedelete.render(data)
    assert sec["status"] == "ok" and "2,000 objects" in sec["title"]
    rows = sec["tables"][0]["rows"]
    assert [r[1:5] for r in rows] == [[2000, 2.5, 800, 7], [2000, 2.0, 1000, 7]]
    assert rows[0][5:] == [2, 4] and rows[1][5:] == [2, 0]
    assert any("shallow" in n for n in sec["notes"]) and any("API/direct: 1.25" in n for n in sec["notes"])
    line = forcedelete.summary_line(data)
    assert line.startswith("Forced delete of 2,000 objects: API 2.5 s (800 objects/s, Succeeded)")
    assert _summary({"forcedelete": {"status": "ok", "data": data}}) == [line]
    assert "forcedelete" in PRESENT and RUN_ORDER[-1] == "forcedelete"
    assert FUNCS["forcedelete"] is forcedelete.force_delete
    args = _parse(["--only", "forcedelete", "--forcedelete-objects", "5000"])
    assert args.forcedelete_objects == 5000 and args.forcedelete_seconds == 420.0


def test_usage_render_summary_and_wiring() -> None:
    from bench import usage

    level = {"buckets": 10, "api": {"runs": 1, "calls_per_bucket": 2.2, "ms_per_bucket": 30.0, "buckets_done": 10},
             "direct": {"calls_per_bucket": 2.2, "ms_per_bucket": 20.0}, "ratio": 1.5}  # fmt: skip
    sec = usage.render({"levels": [level]})
    assert sec["status"] == "ok" and sec["tables"][0]["rows"] == [[10, 2.2, 2.2, 30.0, 20.0, 1.5, 1]]
    assert usage.summary_line({"levels": [level]}) == "Usage sampling per bucket — 10: 2.2 calls, ratio 1.5."
    assert "usage" in PRESENT and "usage" in RUN_ORDER and FUNCS["usage"] is usage.usage_sampling
