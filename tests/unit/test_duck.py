import plistlib

import pytest

from s3api.duck import duck_bookmark, filename
from s3api.errors import BadRequest

KEYS = ["Protocol", "Provider", "Nickname", "Hostname", "Port", "Path", "Web URL"]


def test_bucket_bookmark():
    raw = duck_bookmark("my-bucket")
    assert raw.startswith(b"<?xml")
    doc = plistlib.loads(raw)
    assert list(doc) == KEYS  # the Go service's order
    assert doc == {
        "Protocol": "s3",
        "Provider": "iterate GmbH",
        "Nickname": "s3api - my-bucket",
        "Hostname": "s3.amazonaws.com",
        "Port": "443",
        "Path": "/my-bucket",
        "Web URL": "s3://my-bucket/",
    }


@pytest.mark.parametrize("path", ["/one/two/", "one/two", "/one/two"])
def test_path_scoped_bookmark(path):
    doc = plistlib.loads(duck_bookmark("site.org", path, nickname_prefix="Spinup"))
    assert doc["Nickname"] == "Spinup - site.org/one/two"
    assert doc["Path"] == "/site.org/one/two"
    assert doc["Web URL"] == "s3://site.org/"


def test_key_order_in_the_xml():
    raw = duck_bookmark("b1b", "/p/").decode()
    positions = [raw.index(f"<key>{k}</key>") for k in KEYS]
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    ("endpoint", "host", "port"),
    [
        ("http://127.0.0.1:5000", "127.0.0.1", "5000"),
        ("https://s3.example.org", "s3.example.org", "443"),
        ("http://minio.local/", "minio.local", "80"),
        ("s3.eu-west-1.amazonaws.com", "s3.eu-west-1.amazonaws.com", "443"),
    ],
)
def test_endpoint_overrides_host_and_port(endpoint, host, port):
    doc = plistlib.loads(duck_bookmark("b1b", endpoint=endpoint, hostname="ignored"))
    assert (doc["Protocol"], doc["Hostname"], doc["Port"]) == ("s3", host, port)


def test_hostname_without_endpoint():
    assert plistlib.loads(duck_bookmark("b1b", hostname="s3.example.org"))["Hostname"] == "s3.example.org"


def test_endpoint_without_host():
    with pytest.raises(ValueError):
        duck_bookmark("b1b", endpoint="http://")


def test_values_are_xml_escaped():
    doc = plistlib.loads(duck_bookmark("b1b", nickname_prefix="<A&B>"))
    assert doc["Nickname"] == "<A&B> - b1b"


@pytest.mark.parametrize("bad", ["", "/../", "/a//b/", "/a b/"])
def test_invalid_path(bad):
    with pytest.raises(BadRequest):
        duck_bookmark("b1b", bad)
    with pytest.raises(BadRequest):
        filename("b1b", bad)


def test_filename():
    assert filename("my-bucket") == "my-bucket.duck"
    assert filename("my-bucket", "/") == "my-bucket.duck"
    assert filename("site.org", "/one/two/") == "site.org-one_two.duck"
