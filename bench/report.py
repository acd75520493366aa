"""Results: one JSON document, rendered to Markdown. Both files are written atomically (tmp + rename).

Shape of a run::

    {"title", "command", "started", "seconds", "machine": {...}, "config": {...}, "summary": [str],
     "sections": {"overhead": Section, ...}}

and of a section::

    {"title", "status": "ok" | "skipped" | "error", "reason": str, "notes": [str],
     "tables": [{"title", "columns": [str], "rows": [[cell]]}], "data": {...}}
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def section(title: str, status: str = "ok", reason: str = "") -> dict[str, Any]:
    return {"title": title, "status": status, "reason": reason, "notes": [], "tables": [], "data": {}}


def skipped(title: str, reason: str) -> dict[str, Any]:
    return section(title, "skipped", reason)


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    return {"title": title, "columns": list(columns), "rows": [list(r) for r in rows]}


def cell(value: Any) -> str:
    """Markdown cell text: None as an em dash, floats without trailing noise, pipes escaped."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
        return text or "0"
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_table(t: Mapping[str, Any]) -> list[str]:
    lines = []
    if t.get("title"):
        lines += [f"**{t['title']}**", ""]
    cols = t["columns"]
    lines.append("| " + " | ".join(cell(c) for c in cols) + " |")
    lines.append("|" + "|".join("---" for _ in cols) + "|")
    for row in t["rows"]:
        lines.append("| " + " | ".join(cell(c) for c in row) + " |")
    return lines + [""]


def render_markdown(results: Mapping[str, Any]) -> str:
    out = [f"# {results.get('title', 'Benchmarks')}", ""]
    meta = [
        ("Command", f"`{results.get('command', '')}`"),
        ("Started", results.get("started", "")),
        ("Duration", f"{results.get('seconds', 0):.0f} s"),
    ]
    machine = results.get("machine") or {}
    if machine:
        meta.append(("Machine", ", ".join(f"{k} {v}" for k, v in machine.items())))
    for key, value in meta:
        out.append(f"- {key}: {value}")
    config = results.get("config") or {}
    if config:
        out.append("- Caps: " + ", ".join(f"{k}={v}" for k, v in config.items()))
    out.append("")
    if results.get("summary"):
        out += ["## Key figures", ""]
        out += [f"- {line}" for line in results["summary"]]
        out.append("")
    for number, (key, sec) in enumerate((results.get("sections") or {}).items(), start=1):
        out += [f"## {number}. {sec.get('title', key)}", ""]
        status = sec.get("status", "ok")
        if status != "ok":
            out += [f"**{status}**: {sec.get('reason', '')}", ""]
        for t in sec.get("tables", []):
            out += render_table(t)
        for note in sec.get("notes", []):
            out.append(f"- {note}")
        if sec.get("notes"):
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_results(results: Mapping[str, Any], out_dir: str | Path, stem: str = "results") -> tuple[Path, Path]:
    """Write ``<stem>.json`` and ``<stem>.md`` into ``out_dir`` (created if needed); returns both paths."""
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / f"{stem}.json"
    md_path = directory / f"{stem}.md"
    _atomic_write(json_path, json.dumps(results, indent=2, sort_keys=False, default=str) + "\n")
    _atomic_write(md_path, render_markdown(results))
    return json_path, md_path
