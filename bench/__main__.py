"""``python -m bench``: run the benchmarks and write ``bench/results.md`` and ``bench/results.json``.

``--only overhead[,listing...]`` runs some sections; their results go to a scratch directory (printed, and the
Markdown echoed) so that a partial run never replaces the committed full results. ``--out DIR`` chooses.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import apikeys, forcedelete, groups, report, sections, usage
from bench.direct import Direct
from bench.server import Server, ServerError
from bench.stats import ratio

HERE = Path(__file__).resolve().parent
PRESENT = [
    "overhead",
    "calls",
    "groups",
    "throughput",
    "listing",
    "delete",
    "forcedelete",
    "startup",
    "bcrypt",
    "keys",
    "usage",
]  # by issue
# keys beside overhead (a quiet main server); calls, groups (it adds thousands of IAM groups) and memory last
# forcedelete last: its child process (moto in-process, 100,000 objects) takes what the run has left
RUN_ORDER = [
    "overhead",
    "keys",
    "throughput",
    "listing",
    "delete",
    "calls",
    "groups",
    "startup",
    "bcrypt",
    "usage",
    "forcedelete",
]
FUNCS = {
    "overhead": sections.overhead,
    "calls": sections.aws_calls,
    "throughput": sections.throughput,
    "listing": sections.listing,
    "delete": sections.batch_delete,
    "startup": sections.start_memory,
    "bcrypt": sections.bcrypt_flood,
    "groups": groups.many_groups,
    "keys": apikeys.key_overhead,
    "forcedelete": forcedelete.force_delete,
    "usage": usage.usage_sampling,
}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    caps = sections.Caps()
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--only", help=f"comma-separated sections: {', '.join(PRESENT)}")
    p.add_argument("--out", help="output directory (default: bench/ for a full run, a scratch dir for --only)")
    for name, value in caps.as_dict().items():
        if isinstance(value, list):
            p.add_argument(
                f"--{name.replace('_', '-')}",
                type=lambda s: tuple(int(x) for x in s.split(",")),
                default=tuple(value),
                help=f"default {','.join(map(str, value))}",
            )
        else:
            p.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value, help=f"default {value}")
    args = p.parse_args(argv)
    if args.only:
        unknown = [s for s in args.only.split(",") if s not in FUNCS]
        if unknown:
            p.error(f"unknown section(s) {unknown}; choose from {PRESENT}")
    return args


def _versions() -> dict[str, Any]:
    out: dict[str, Any] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    for pkg in ("moto", "boto3", "gunicorn", "flask"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[pkg] = metadata.version(pkg)
    return out


def _summary(secs: dict[str, dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    ov = secs.get("overhead", {})
    if ov.get("status") == "ok":
        parts = []
        for key, res in ov["data"].get("probes", {}).items():
            if "ratio_median" in res:
                n = sum(res["route_ops"].values())
                goal = ""
                if res.get("goal") is not None:
                    against = "of the calls made one after the other, " if res.get("goal_vs") == "direct_seq" else ""
                    verdict = "met" if res.get("goal_met") else "MISSED"
                    goal = f"; {against}goal ≤ {res['goal']}: {res.get('goal_ratio')} {verdict}"
                parts.append(
                    f"{key.replace('_', ' ')} {res['ratio_median']} (p99 {res['ratio_p99']}; "
                    f"{res['summary']['api'].get('median_ms')} vs {res['summary']['direct'].get('median_ms')} ms, "
                    f"{n} AWS calls{goal})"
                )
        if parts:
            lines.append("Overhead, API/direct median: " + "; ".join(parts) + ".")
    calls = secs.get("calls", {})
    if calls.get("status") == "ok":
        flagged = calls["data"].get("flagged") or []
        lines.append("Routes calling AWS more than needed: " + ("; ".join(flagged) if flagged else "none found") + ".")
        miscounted = calls["data"].get("miscounted") or []
        if miscounted:
            lines.append("Route AWS-call metric undercounts: " + "; ".join(miscounted) + ".")
    gr = secs.get("groups", {})
    if gr.get("status") == "ok":
        levels = gr["data"].get("levels") or []
        grows = gr["data"].get("grows") or []
        span = " vs ".join(f"{n:,}" for n in levels)
        lines.append(
            f"AWS calls per request with {span} unrelated IAM groups: "
            + ("grows: " + "; ".join(grows) if grows else "flat for every route measured")
            + "."
        )
    tp = secs.get("throughput", {})
    if tp.get("status") == "ok":
        runs = tp["data"]["runs"]
        parts = [
            f"{k[:-1]} connection(s): {v['get_bucket']['req_per_s']} req/s (p99 {v['get_bucket']['p99_ms']} ms, "
            f"{v['get_bucket']['errors']} errors; direct boto3 {v.get('direct_rate')} sets/s)"
            for k, v in runs.items()
            if isinstance(v, dict) and "get_bucket" in v
        ]
        met = runs.get("4c", {}).get("goal_met")
        goal = "" if met is None else f"; goal ≥ 60 req/s with 4 connections: {'met' if met else 'MISSED'}"
        lines.append(f"Throughput, GET bucket ({tp['data']['workers']} workers): " + "; ".join(parts) + goal + ".")
    ls = secs.get("listing", {})
    if ls.get("status") == "ok":
        d = ls["data"]
        pl, se = d["plain"], d["search"]
        lines.append(
            f"Listing {d['keys']:,} keys, page of 1,000: API/direct "
            f"{ratio(pl['api'].get('median_ms'), pl['direct'].get('median_ms'))} "
            f"({pl['api'].get('median_ms')} vs {pl['direct'].get('median_ms')} ms); with search: "
            f"{ratio(se['api'].get('median_ms'), se['direct'].get('median_ms'))} "
            f"({se['api'].get('median_ms')} vs {se['direct'].get('median_ms')} ms)."
        )
    dl = secs.get("delete", {})
    if dl.get("status") == "ok":
        rounds = dl["data"]["rounds"]
        api = [r for r in rounds if r["side"] == "api"]
        dr = [r for r in rounds if r["side"] == "direct"]
        if api and dr:
            lines.append(
                f"Batch delete {api[0]['keys']:,} keys: {api[0]['aws_calls']} AWS calls "
                f"({'as required' if dl['data']['calls_ok'] else 'NOT ' + str(dl['data']['expected_calls'])}); "
                f"API {api[0]['seconds']} s vs direct {dr[0]['seconds']} s "
                f"(ratio {ratio(api[0]['seconds'], dr[0]['seconds'])})."
            )
    fd = secs.get("forcedelete", {})
    if fd.get("status") == "ok":
        lines.append(forcedelete.summary_line(fd["data"]))
    us = secs.get("usage", {})
    if us.get("status") == "ok":
        lines.append(usage.summary_line(us["data"]))
    ky = secs.get("keys", {})
    if ky.get("status") == "ok":
        lines.append(apikeys.summary_line(ky["data"]))
    st = secs.get("startup", {})
    if st.get("status") == "ok":
        main = st["data"]["main"]
        lines.append(
            f"Start to first ping: {main['start_seconds']:.2f} s (with the embedded emulator); worker RSS after the "
            f"run: {', '.join(str(m) for m in main['memory'].get('workers_mib', []))} MiB."
        )
    for key, sec in secs.items():
        if sec.get("status") != "ok":
            lines.append(f"{key}: {sec.get('status')}: {sec.get('reason')}")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    caps = sections.Caps(**{k: getattr(args, k) for k in sections.Caps().as_dict()})
    selected = args.only.split(",") if args.only else list(PRESENT)

    def _terminate(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)  # unwinds through every finally: servers are stopped

    signal.signal(signal.SIGTERM, _terminate)
    workdir = Path(tempfile.mkdtemp(prefix="s3api-bench-"))
    run = sections.Run(caps=caps, workdir=workdir)
    with contextlib.suppress(OSError):
        run.state["loadavg_at_start"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    out: dict[str, dict[str, Any]] = {}
    keep_logs = False
    print(f"bench: sections {','.join(selected)}; scratch {workdir}", file=sys.stderr)
    try:
        server = Server(workdir, "main", 1)
        run.main = server
        try:
            try:
                server.start()
            except ServerError as exc:
                keep_logs = True
                for key in selected:
                    out[key] = report.section(sections.TITLES[key], "error", f"main server did not start: {exc}")
                return 1
            run.emulator = server.emulator_info()
            run.direct = Direct(run.emulator["endpoint"])
            for key in RUN_ORDER:
                if key not in selected:
                    continue
                t0 = time.monotonic()
                print(f"bench: {key} ...", file=sys.stderr, flush=True)
                out[key] = sections.guarded(sections.TITLES[key], FUNCS[key], run)
                out[key]["seconds"] = round(time.monotonic() - t0, 1)
                print(f"bench: {key} {out[key]['status']} in {out[key]['seconds']} s", file=sys.stderr, flush=True)
                keep_logs = keep_logs or out[key]["status"] == "error"
        finally:
            server.stop()
            if run.direct is not None:
                run.direct.close()
    finally:
        machine = _versions()
        machine["loadavg_at_start"] = run.state.get("loadavg_at_start", "")
        with contextlib.suppress(OSError):
            machine["loadavg_at_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        presented: dict[str, dict[str, Any]] = {k: out[k] for k in PRESENT if k in out}
        results: dict[str, Any] = {
            "title": "s3api benchmarks",
            "command": "python -m bench" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip(),
            "started": started_at,
            "seconds": round(time.monotonic() - run.started, 1),
            "machine": machine,
            "config": caps.as_dict(),
            "sections": presented,
        }
        summary = _summary(presented)
        results["summary"] = summary
        out_dir = (
            Path(args.out) if args.out else (HERE if not args.only else Path(tempfile.gettempdir()) / "s3api-bench")
        )
        json_path, md_path = report.write_results(results, out_dir)
        if keep_logs:
            print(f"bench: server logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        if args.only:
            print(md_path.read_text())
        print(f"bench: wrote {md_path} and {json_path} in {results['seconds']} s", file=sys.stderr)
        for line in summary:
            print(f"  {line}", file=sys.stderr)
    return 0 if all(s.get("status") != "error" for s in out.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
