"""The published OpenAPI document is valid (openapi-spec-validator) and every ``pattern`` in it means in
ECMA-262 (what JSON Schema and every client generator use) exactly what our marshmallow validation means.

Python and ECMA-262 differ at the end of a string: Python's ``$`` also matches before a trailing newline and
ECMA-262 has no ``\\Z`` (with the ``u`` flag it is a syntax error; without it, a literal ``Z``). The patterns
are compiled by node (the real ECMA-262 engine) with and without ``u`` and run on the same sample strings
as our validators.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import marshmallow as ma
import pytest
from marshmallow import fields, validate
from openapi_spec_validator import validate as validate_spec

import s3api.schemas
from s3api import names
from s3api.openapi import spec_json

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"

EDGE_SAMPLES = [
    "", "a", "a\n", "\n", "/", "/\n", "//", "/a/", "/a/\n", "/a", "a/", "a/b", "ab/c", "a b", "abc", "A1_+=,.@-",
    "x" * 64, "x" * 65, "/" + "x" * 510 + "/", "/" + "x" * 511 + "/", "/a b/", "/\x7f/", "é", "a\x00", "Z", "aZ",
    "/Z", "\\Z", "index.html", "docs/index.html", "\r", "a\r\n",
    "0", "9.99", "0.023", "09.9", "1.", "9.99\n", "EUR", "plan.changed", "evt-" + "0" * 24,
    "t-0123456789abcdef", "t-0123456789abcdef\n", "t-0123456789ABCDEF",
    "9.90", "10", "9.", "EUR", "eur", "ord-" + "0" * 24, "t-" + "a" * 16,
]  # fmt: skip


def _samples() -> list[str]:
    rng = random.Random(12)
    alphabet = "aZ09_+=,.@-/ \n\r\t\x00é~\x7f"
    return EDGE_SAMPLES + ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 70))) for _ in range(400)]


def _patterns(document: Any) -> Iterator[str]:
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(document, list):
        for value in document:
            yield from _patterns(value)


def _schema_classes() -> list[type[ma.Schema]]:
    for info in pkgutil.iter_modules(s3api.schemas.__path__):
        importlib.import_module(f"s3api.schemas.{info.name}")
    found: list[type[ma.Schema]] = []
    todo: list[type[ma.Schema]] = [ma.Schema]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("s3api."):
                found.append(sub)
    return found


def _regexp_validators() -> dict[str, validate.Regexp]:
    """Every Regexp validator of our schemas, by the pattern apispec documents for it."""
    out: dict[str, validate.Regexp] = {}

    def visit(field: fields.Field) -> None:
        for v in field.validators:
            if isinstance(v, validate.Regexp):
                out[v.regex.pattern] = v
        inner = getattr(field, "inner", None)
        if isinstance(inner, fields.Field):
            visit(inner)

    for cls in _schema_classes():
        for field in cls._declared_fields.values():
            visit(field)
    # the Idempotency-Key header (s3api/idempotency.py checks names.IDEMPOTENCY_KEY, its length documented apart)
    header = names.IDEMPOTENCY_KEY.pattern.removesuffix("{1,255}")
    out[f"^{header}+$"] = validate.Regexp(f"{header}+\\Z")  # a full match, as the header check does
    return out


def _python_accepts(validator: validate.Regexp, value: str) -> bool:
    try:
        validator(value)
    except ma.ValidationError:
        return False
    return True


NODE_SCRIPT = r"""
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = {};
for (const p of input.patterns) {
  out[p] = {};
  for (const flags of ['', 'u']) {
    try {
      const re = new RegExp(p, flags);
      out[p][flags] = input.samples.map((s) => re.test(s));
    } catch (e) {
      out[p][flags] = 'SyntaxError: ' + e.message;
    }
  }
}
process.stdout.write(JSON.stringify(out));
"""


def test_committed_document_is_valid_openapi():
    validate_spec(json.loads(COMMITTED.read_text()))


def test_served_document_is_valid_openapi():
    validate_spec(json.loads(spec_json()))


def test_every_pattern_comes_from_one_of_our_validators():
    patterns = set(_patterns(json.loads(COMMITTED.read_text())))
    assert patterns, "the document has patterns (user names, paths, suffixes)"
    unknown = patterns - set(_regexp_validators())
    assert not unknown, f"patterns in the document that no validator of ours uses: {unknown}"


def test_patterns_use_no_python_only_syntax():
    """A cheap check that runs without node: the constructs ECMA-262 lacks or reads differently."""
    for pattern in _patterns(json.loads(COMMITTED.read_text())):
        for construct in ("\\Z", "\\A", "(?P", "(?#", "(?i", "(?s", "(?m", "(?x", "\\z"):
            assert construct not in pattern, (pattern, construct)


@pytest.mark.skipif(shutil.which("node") is None, reason="node (an ECMA-262 engine) is not installed")
def test_patterns_mean_the_same_in_ecma_262_as_in_our_validation():
    validators = _regexp_validators()
    patterns = sorted(set(_patterns(json.loads(COMMITTED.read_text()))))
    samples = _samples()
    node = shutil.which("node")
    assert node is not None
    run = subprocess.run(
        [node, "-e", NODE_SCRIPT],
        input=json.dumps({"patterns": patterns, "samples": samples}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    js = json.loads(run.stdout)
    for pattern in patterns:
        python = [_python_accepts(validators[pattern], s) for s in samples]
        assert any(python), f"{pattern}: no sample is accepted, the comparison would prove nothing"
        for flags in ("", "u"):
            answers = js[pattern][flags]
            assert isinstance(answers, list), f"{pattern} (flags {flags!r}): {answers}"
            differ = [s for s, a, b in zip(samples, answers, python, strict=True) if a != b]
            assert not differ, f"{pattern} (flags {flags!r}) differs from Python on {differ[:5]!r}"
