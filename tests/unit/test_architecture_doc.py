"""docs/ARCHITECTURE.md stays true: every path it names exists, and every module of s3api/ is named in it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "ARCHITECTURE.md"
PATH = re.compile(r"`((?:s3api|tests|bench|docs|openapi)/[A-Za-z0-9_./-]*)`")


def named_paths() -> set[str]:
    return set(PATH.findall(DOC.read_text()))


def test_every_named_path_exists():
    missing = sorted(p for p in named_paths() if not (ROOT / p).exists())
    assert missing == [], f"docs/ARCHITECTURE.md names paths that do not exist: {missing}"


def test_every_module_is_named():
    """Every module with code; an ``__init__.py`` that only marks a package (nothing but a docstring) aside."""
    named = named_paths()
    modules = [
        str(p.relative_to(ROOT))
        for p in sorted((ROOT / "s3api").rglob("*.py"))
        if p.name != "__init__.py" or _has_code(p)
    ]
    unnamed = [m for m in modules if m not in named]
    assert unnamed == [], f"docs/ARCHITECTURE.md does not name these modules: {unnamed}"


def _has_code(path: Path) -> bool:
    import ast

    body = ast.parse(path.read_text()).body
    return any(not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) for node in body)


def test_the_check_can_fail():
    """The pattern finds what the document writes: a path in backticks."""
    assert PATH.findall("see `s3api/nowhere.py` and `tests/unit/`") == ["s3api/nowhere.py", "tests/unit/"]
