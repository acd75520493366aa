import hashlib
import io
import json
from pathlib import Path

import bcrypt

from s3api import cli
from s3api.openapi import spec_json


def test_hash_token_sha256(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("my-secret-token-123\n"))
    assert cli.main(["hash-token"]) == 0
    assert capsys.readouterr().out.strip() == "sha256:" + hashlib.sha256(b"my-secret-token-123").hexdigest()


def test_hash_token_bcrypt(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("my-secret-token-123\n"))
    assert cli.main(["hash-token", "--bcrypt", "--cost", "4"]) == 0
    out = capsys.readouterr().out.strip()
    assert bcrypt.checkpw(b"my-secret-token-123", out.encode())


def test_check_config_ok(tmp_path, capsys):
    cfg = tmp_path / "c.json"
    cfg.write_text(
        json.dumps({"tokens": {"t": "a-long-enough-token"}, "accounts": {"prod": {"account_id": "123456789012"}}})
    )
    assert cli.main(["check-config", "--config", str(cfg)]) == 0
    assert json.loads(capsys.readouterr().out)["accounts"] == ["prod"]


def test_committed_openapi_spec_matches_the_code():
    committed = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
    assert committed.read_text() == spec_json(), "openapi/openapi.json is stale: run `make openapi`"
