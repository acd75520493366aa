import json
import re

import pytest

from s3api import config
from s3api.config import ConfigError, from_mapping, load

BASE = {
    "org": "acme",
    "tokens": {"portal": "a-plain-token-of-length", "ci": "sha256:" + "ab" * 32},
    "accounts": {
        "prod": {
            "account_id": "123456789012",
            "role": "s3api",
            "external_id": "secret-external-id",
            "region": "eu-west-1",
            "access_log": {"bucket": "logs-{account_id}", "prefix": "s3/"},
            "domains": {
                "example.org": {
                    "certificate_arn": "arn:aws:acm:us-east-1:1:certificate/x",
                    "hosted_zone_id": "/hostedzone/Z1",
                }
            },
        }
    },
}


def test_full_file_parses(tmp_path):
    path = tmp_path / "c.yaml"
    import yaml

    path.write_text(yaml.safe_dump(BASE))
    s = load(str(path), env={})
    acct = s.accounts["prod"]
    assert acct.role_arn == "arn:aws:iam::123456789012:role/s3api"
    assert acct.log_bucket == "logs-123456789012"
    assert acct.log_prefix("b") == "s3/b/"
    assert acct.domains["example.org"].hosted_zone_id == "Z1"
    assert acct.s3_endpoint == "https://s3.eu-west-1.amazonaws.com"
    assert s.org_tag_key == "s3api:org"
    assert sorted(t.name for t in s.tokens) == ["ci", "portal"]


def test_json_file_and_env_override(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(BASE))
    s = load(str(path), env={"S3API_ORG": "other", "S3API_ORG_TAG_KEY": "spinup:org", "S3API_TOKEN": "x" * 20})
    assert s.org == "other"
    assert s.org_tag_key == "spinup:org"
    assert s.tokens[-1].name == "default"


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda c: c["accounts"]["prod"].pop("account_id"), "accounts.prod.account_id"),
        (lambda c: c["accounts"]["prod"].update(account_id="12"), "accounts.prod.account_id"),
        (lambda c: c["accounts"]["prod"].update(region="mars"), "accounts.prod.region"),
        (lambda c: c["accounts"]["prod"].update(origin_access="open"), "accounts.prod.origin_access"),
        (lambda c: c["accounts"]["prod"].update(endpoint_url="ftp://x"), "accounts.prod.endpoint_url"),
        (lambda c: c["accounts"]["prod"]["domains"]["example.org"].pop("hosted_zone_id"), "hosted_zone_id"),
        (lambda c: c.update(tokens={"t": "short"}), "tokens.t"),
        (lambda c: c.update(tokens={"t": "sha256:nothex"}), "tokens.t"),
        (lambda c: c.update(tokens={}), "tokens"),
        (lambda c: c.update(accounts={}), "accounts"),
        (lambda c: c.update(org_tag_key="aws:org"), "org_tag_key"),
        (lambda c: c.update(listen="nowhere"), "listen"),
        (lambda c: c.update(policy_actions={"bucket": ["nocolon"]}), "policy_actions.bucket"),
    ],
)
def test_bad_config_names_the_field(mutate, field):
    raw = json.loads(json.dumps(BASE))
    mutate(raw)
    with pytest.raises(ConfigError) as exc:
        from_mapping(raw, env={})
    assert field in str(exc.value)


def test_secrets_never_in_repr():
    s = from_mapping(BASE, env={})
    text = repr(s)
    assert "a-plain-token-of-length" not in text
    assert "secret-external-id" not in text
    assert "ab" * 32 not in text


def test_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load(str(tmp_path / "missing.yaml"), env={})
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load(str(bad), env={})


def test_no_config_without_emulator_explains_what_to_do():
    with pytest.raises(ConfigError, match="s3api serve"):
        config.load(None, env={})


@pytest.mark.parametrize(
    "text",
    [
        'tokens:\n  portal: "s3cr3t-token-value-123\n  ci: x\naccounts: {}\n',  # unclosed quote
        "tokens:\n  portal: s3cr3t-token-value-123\n   ci: [x\naccounts: {}\n",  # bad indentation
        "tokens: {portal: s3cr3t-token-value-123, ci: @x}\n",  # reserved indicator
    ],
)
def test_yaml_error_reports_line_and_column_never_the_text(tmp_path, text):
    """PyYAML's message quotes the offending line, and that line can hold a token."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load(str(bad), env={})
    message = str(exc.value)
    assert "s3cr3t-token-value-123" not in message and "s3cr3t" not in message
    assert re.search(r"not valid YAML: line \d+, column \d+$", message), message


def test_env_token_accepts_bcrypt_only_when_asked():
    raw = {"accounts": {"prod": {"account_id": "123456789012"}}}
    assert not from_mapping(raw, env={"S3API_TOKEN": "env-token-0123456789"}).tokens[0].bcrypt
    on = from_mapping(raw, env={"S3API_TOKEN": "env-token-0123456789", "S3API_TOKEN_BCRYPT": "true"})
    assert on.tokens[0].bcrypt and on.tokens[0].name == "default"
    with pytest.raises(ConfigError, match="S3API_TOKEN_BCRYPT"):
        from_mapping(raw, env={"S3API_TOKEN": "env-token-0123456789", "S3API_TOKEN_BCRYPT": "yes"})


def test_config_load_never_falls_back_to_the_emulator():
    """The embedded default is start-up code's choice (``s3api.embedded.load``), not the configuration's."""
    from s3api import embedded

    with pytest.raises(ConfigError, match="s3api serve"):
        config.load(None, env={embedded.ENV_ENDPOINT: "http://127.0.0.1:1"})


def test_startup_load_takes_the_file_when_given_else_the_embedded_default(tmp_path):
    from s3api import embedded

    path = tmp_path / "c.json"
    path.write_text(json.dumps(BASE))
    emulator = {embedded.ENV_ENDPOINT: "http://127.0.0.1:1"}
    from_file = embedded.load(None, env={"S3API_CONFIG": str(path), **emulator})
    assert sorted(from_file.accounts) == ["prod"] and not from_file.embedded
    assert sorted(embedded.load(str(path), env=emulator).accounts) == ["prod"]
    default = embedded.load(None, env={**emulator, "S3API_TOKEN": "x" * 20})
    assert sorted(default.accounts) == ["local"] and default.embedded
    assert default.accounts["local"].endpoint_url == "http://127.0.0.1:1"
    with pytest.raises(ConfigError, match="s3api serve"):
        embedded.load(None, env={})
