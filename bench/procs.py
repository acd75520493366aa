"""Linux /proc readings: a process's children and resident memory (no psutil needed)."""

from __future__ import annotations

import os


def parse_stat(text: str) -> tuple[int, str, int]:
    """``(pid, comm, ppid)`` from the text of ``/proc/<pid>/stat``. ``comm`` sits in parentheses and may
    itself contain spaces and parentheses, so the fields after it are split from the LAST ``)``."""
    head, _, rest = text.rpartition(")")
    pid_text, _, comm = head.partition(" (")
    fields = rest.split()
    return int(pid_text), comm, int(fields[1])  # fields[0] is the state


def children(ppid: int, proc: str = "/proc") -> list[int]:
    """Pids whose parent is ``ppid`` (processes that vanish while we look are skipped)."""
    found = []
    for name in os.listdir(proc):
        if not name.isdigit():
            continue
        try:
            with open(f"{proc}/{name}/stat") as fh:
                pid, _, parent = parse_stat(fh.read())
        except (OSError, ValueError, IndexError):
            continue
        if parent == ppid:
            found.append(pid)
    return sorted(found)


def cmdline(pid: int, proc: str = "/proc") -> str:
    try:
        with open(f"{proc}/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def parse_rss_kib(status_text: str) -> int | None:
    """``VmRSS`` in KiB from the text of ``/proc/<pid>/status`` (None when absent, e.g. a zombie)."""
    for line in status_text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def rss_mib(pid: int, proc: str = "/proc") -> float | None:
    try:
        with open(f"{proc}/{pid}/status") as fh:
            kib = parse_rss_kib(fh.read())
    except OSError:
        return None
    return None if kib is None else round(kib / 1024, 1)
