"""gunicorn configuration: ``gunicorn -c python:s3api.gunicorn_conf wsgi:app`` (``s3api serve`` uses it too).

Workers, threads and timeouts come from the environment. The master prepares the prometheus
multiprocess directory (empty at start, dead workers marked), starts the embedded AWS emulator when no
configuration is given, and runs the sweeper thread: one per deployment, whatever the worker count.
No control socket is written under ``$HOME``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), f"s3api-metrics-{os.getpid()}"))

bind = [os.environ.get("S3API_LISTEN", "127.0.0.1:8080")]
workers = int(os.environ.get("S3API_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("S3API_THREADS", "4"))
timeout = int(os.environ.get("S3API_TIMEOUT", "120"))
graceful_timeout = int(os.environ.get("S3API_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
control_socket_disable = True
accesslog = None
errorlog = "-"
loglevel = "warning"

_state: dict[str, Any] = {}


def on_starting(server: Any) -> None:
    """Master, before forking: fresh metrics dir; check the config; embedded emulator; sweeper."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)
    from s3api import config, embedded

    if not os.environ.get("S3API_CONFIG") and not os.environ.get(embedded.ENV_ENDPOINT):
        _state["emulator"] = embedded.boot(os.environ)
    try:
        config.load()  # fail fast, in the master, with the field named
    except config.ConfigError as exc:
        on_exit(server)
        raise SystemExit(f"s3api: configuration error: {exc}") from None


def when_ready(server: Any) -> None:
    if os.environ.get("S3API_SWEEPER", "on").lower() in ("off", "0", "false", "no"):
        return
    from s3api import config
    from s3api.provisioning import sweeper

    _state["sweeper"] = sweeper.start_background(config.load())


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    sweeper = _state.pop("sweeper", None)
    if sweeper is not None:
        sweeper.stop()
    emulator = _state.pop("emulator", None)
    if emulator is not None:
        emulator.stop()
