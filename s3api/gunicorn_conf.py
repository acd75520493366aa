"""gunicorn configuration: ``gunicorn -c python:s3api.gunicorn_conf wsgi:app`` (``s3api serve`` uses it too).

Workers, threads and timeouts come from the environment. The master prepares the prometheus
multiprocess directory (empty at start, dead workers marked), starts the embedded AWS emulator when no
configuration is given, migrates the database (under its lock, before any worker forks), and starts the
operations runner (``s3api worker``) as a child process, stopped with the master.
No control socket is written under ``$HOME``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import uuid
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
# The longest request we accept: a 1024-byte key percent-encoded (3072 characters) in the path plus a
# 1024-byte query value; with gunicorn's default (4094) such a request got an HTML 414 before our validation
# could answer. 8190 is gunicorn's maximum. Whatever still exceeds a limit is answered by json_error below.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

_state: dict[str, Any] = {}


def on_starting(server: Any) -> None:
    """Master, before forking: fresh metrics dir; check the config; embedded emulator; migrations."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)
    from s3api import config, embedded

    if not os.environ.get("S3API_CONFIG") and not os.environ.get(embedded.ENV_ENDPOINT):
        _state["emulator"] = embedded.boot(os.environ)
    try:
        settings = embedded.load()  # fail fast, in the master, with the field named
    except config.ConfigError as exc:
        on_exit(server)
        raise SystemExit(f"s3api: configuration error: {exc}") from None
    from sqlalchemy.exc import SQLAlchemyError

    from s3api.db import migrate

    try:  # replicas starting together: the lock makes one migrate while the others wait, then find it done
        migrate.upgrade(settings.database)
    except SQLAlchemyError as exc:
        on_exit(server)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()  # never the URL: it can hold a password
        why = f"{type(exc).__name__}: {reason[0] if reason else ''}"
        raise SystemExit(f"s3api: database migration failed: {why}") from None
    if settings.embedded:  # the embedded default's plans (a free and a paid one), once
        embedded.seed_plans(settings)


def when_ready(server: Any) -> None:
    """The operations runner: ``s3api worker`` as a child process (SQLite: the one runner of the database;
    PostgreSQL: one worker beside this replica, more can run anywhere), restarted if it dies (after 1 s, then
    longer). ``S3API_WORKER=off`` leaves it out."""
    if os.environ.get("S3API_WORKER", "on").lower() in ("off", "0", "false", "no"):
        return
    import threading

    stopping = threading.Event()
    _state["worker_stopping"] = stopping
    _state["worker"] = _spawn_worker()
    watch = threading.Thread(target=_watch_worker, args=(stopping,), name="s3api-worker-watch", daemon=True)
    watch.start()


def _spawn_worker() -> Any:
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-m", "s3api.cli", "worker"], env=dict(os.environ))


def _watch_worker(stopping: Any) -> None:
    """Restart the worker when it exits on its own (a crash, a kill): 1 s, doubling up to 60 s while it keeps
    dying within a minute of its start."""
    import time

    delay = 1.0
    while not stopping.is_set():
        child = _state.get("worker")
        if child is None:
            return
        started = time.monotonic()
        code = child.wait()
        if stopping.is_set():
            return
        logging.getLogger("s3api.server").error("s3api worker exited (code %s): restarting it", code)
        delay = 1.0 if time.monotonic() - started > 60 else min(60.0, delay * 2)
        if stopping.wait(delay):
            return
        _state["worker"] = _spawn_worker()


def _stop_worker() -> None:
    import subprocess

    stopping = _state.pop("worker_stopping", None)
    if stopping is not None:
        stopping.set()
    child = _state.pop("worker", None)
    if child is None:
        return
    child.terminate()  # SIGTERM: running operations stop at their next checkpoint and resume later
    try:
        child.wait(timeout=graceful_timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait(timeout=5)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    _stop_worker()
    emulator = _state.pop("emulator", None)
    if emulator is not None:
        emulator.stop()


#: Status → (code, message) for the answers gunicorn gives by itself (malformed or oversized requests).
#: The message is fixed: gunicorn's own text can quote what the client sent (a header, a token).
SERVER_ERRORS = {
    400: ("BadRequest", "malformed HTTP request"),
    403: ("Forbidden", "forbidden"),
    414: ("URITooLong", "request line too long (at most 8190 bytes)"),
    417: ("ExpectationFailed", "expectation failed"),
    431: ("RequestHeaderFieldsTooLarge", "request header fields too large (at most 100 fields of 8190 bytes)"),
    501: ("NotImplemented", "unsupported transfer coding"),
}


def json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """Replacement for ``gunicorn.util.write_error``: the server's own answers in our JSON error envelope
    ``{"code","message","status","request_id"}`` with ``X-Request-Id``, instead of an HTML page."""
    from gunicorn import util

    code, message = SERVER_ERRORS.get(status_int, ("InternalError", "internal error"))
    request_id = uuid.uuid4().hex
    body = json.dumps({"code": code, "message": message, "status": status_int, "request_id": request_id}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"X-Request-Id: {request_id}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    logging.getLogger("s3api.server").warning("server answered %s itself, request_id=%s", status_int, request_id)
    util.write_nonblock(sock, head.encode("latin1") + body)


def post_fork(server: Any, worker: Any) -> None:
    """Worker: gunicorn's workers write their own error answers through ``gunicorn.util.write_error``."""
    from gunicorn import util

    util.write_error = json_error
