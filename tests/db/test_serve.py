"""``s3api serve`` migrates its database at start (in the gunicorn master), with nothing else to set up; a key
made by ``s3api keys create`` works at once, and its revocation reaches every worker within the cache bound."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from s3api.config import DatabaseSettings
from s3api.db import migrate
from s3api.db.keys import CACHE_SECONDS
from tests.e2e.conftest import TOKEN, clean_env, serve

pytestmark = pytest.mark.e2e


def _cli(*args: str, **env: str) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "s3api.cli", *args], env=clean_env(**env), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def _round_trip(env: dict[str, str], database: DatabaseSettings) -> None:
    with serve(workers=2, **env) as server:
        assert migrate.current(database) == migrate.head()
        made = _cli("keys", "create", "--name", "e2e", "--role", "reader", **env)
        hdr = {"X-Auth-Token": made["Key"]}
        for _ in range(6):  # both workers (gthread: the connection may land on either) cache it
            who = requests.get(server.url("/whoami"), headers=hdr, timeout=5)
            assert who.status_code == 200 and who.json()["Id"] == made["Id"]
        refused = requests.post(server.url("/local/buckets"), headers=hdr, json={"BucketInput": {"Bucket": "b-e2e"}})
        assert refused.status_code == 403
        r = requests.delete(server.url(f"/keys/{made['Id']}"), headers={"X-Auth-Token": TOKEN}, timeout=5)
        assert r.status_code == 200 and r.json()["RevokedAt"]
        time.sleep(CACHE_SECONDS + 0.2)
        for _ in range(6):
            assert requests.get(server.url("/whoami"), headers=hdr, timeout=5).status_code == 403


def test_serve_migrates_its_sqlite_file_at_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    database = DatabaseSettings(url=f"sqlite:///{data}/s3api.db", data_dir=str(data))
    _round_trip({"S3API_DATA_DIR": str(data)}, database)


def test_serve_migrates_a_fresh_postgresql_schema_at_start(postgres: DatabaseSettings) -> None:
    _round_trip({"S3API_DATABASE_URL": postgres.url}, postgres)
