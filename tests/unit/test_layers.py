"""Imports point one way: from start-up code down to ``s3api.names``, never back up.

Every ``s3api`` module (and ``wsgi.py``) is parsed, not imported: module-level imports and imports inside
functions both count. Two checks:

- no import cycle between modules, except through the lazy imports of the start-up functions named in
  :data:`STARTUP_FUNCTIONS` (they import the whole app on purpose, and nothing imports them at module level);
- every module imports only what its row of :data:`LAYERS` allows.

Implicit imports of parent packages (``s3api.aws`` when importing ``s3api.aws.s3``) are not edges here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "s3api"

#: Start-up code: these functions import the app (views, runtime, embedded emulator) lazily, on purpose. Their
#: imports are exempt from the cycle check only (the layer table still applies to their module).
STARTUP_FUNCTIONS: Mapping[str, frozenset[str]] = {
    "s3api": frozenset({"create_app"}),  # the app factory: wsgi.py, `s3api serve`
    "s3api.openapi": frozenset({"spec_json"}),  # `s3api openapi`: builds an app to read its spec
}

ANY = ("*",)
#: Things every layer above the bottom may use: the bottom module, the error types, the metrics registry and
#: the per-process locks.
BASE = ("s3api.names", "s3api.errors", "s3api.metrics", "s3api.concurrency")

#: module (exact name, or a package prefix ending in ".") → what it may import from s3api (same notation).
#: The first matching row applies. Bottom first, start-up code last.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # the bottom: names, limits and defaults shared by several layers; pure data
    ("s3api.names", ()),
    ("s3api.errors", ("s3api.names",)),
    ("s3api.metrics", ("s3api.names",)),
    ("s3api.concurrency", ("s3api.names", "s3api.errors", "s3api.metrics")),
    # input rules and configuration: they sit under everything that validates or reads settings
    ("s3api.validation", ("s3api.names", "s3api.errors")),
    ("s3api.config", ("s3api.names",)),
    # request/response schemas: only the bottom, the input rules and each other
    ("s3api.schemas.", ("s3api.names", "s3api.validation", "s3api.schemas.")),
    # the control plane's own state (SQLAlchemy, Alembic): beside the gateways, never above the edge
    ("s3api.db.", ("s3api.names", "s3api.errors", "s3api.config", "s3api.db.")),
    # secrets kept sealed, and the webhook outbox's writer: beside the database
    ("s3api.sealing", ("s3api.config",)),
    ("s3api.webhooks", (*BASE, "s3api.config", "s3api.db.")),
    # gateways: one AWS service each; never workflows, views or schemas, never the embedded emulator
    ("s3api.aws.", (*BASE, "s3api.config", "s3api.aws.")),
    # workflows and the pure helpers they share with the views
    ("s3api.duck", ("s3api.names", "s3api.provisioning.policies")),
    (
        "s3api.provisioning.",
        (*BASE, "s3api.validation", "s3api.config", "s3api.duck", "s3api.aws.", "s3api.provisioning."),
    ),
    # the job engine: operations (rows, the in-process runner, procrastinate) over the workflows; never the edge
    ("s3api.jobs", ()),
    (
        "s3api.jobs.",
        # schemas: a task's Result is rendered as the synchronous route renders the same answer
        (
            *BASE,
            "s3api.config",
            "s3api.db.",
            "s3api.aws.clients",
            "s3api.provisioning.",
            "s3api.schemas.",
            "s3api.jobs.",
            "s3api.webhooks",
        ),
    ),
    # the control plane's services (plans, tenants, orders, share links): database state and AWS work together,
    # operations started through the job engine; never the edge
    (
        "s3api.control.",
        (
            *BASE,
            "s3api.config",
            "s3api.validation",
            "s3api.db.",
            "s3api.aws.",
            "s3api.provisioning.",
            "s3api.jobs.",
            "s3api.schemas.",
            "s3api.sealing",
            "s3api.webhooks",
            "s3api.audit",
            "s3api.control.",  # one service calls another's (orders → tenants.validate_new, quotas → usage)
        ),
    ),
    ("s3api.control", ()),
    # the web application: auth, per-process runtime, logging, the API object and its spec
    ("s3api.logs", ("s3api.metrics",)),
    ("s3api.auth", ("s3api.config", "s3api.errors", "s3api.db.keys")),
    # the audit trail's writer (request hooks) and its retention task
    ("s3api.audit", (*BASE, "s3api.db.", "s3api.provisioning.steps", "s3api.provisioning.periodic")),
    # Idempotency-Key on every mutating route (request hooks) and its purge task
    ("s3api.idempotency", (*BASE, "s3api.db.", "s3api.provisioning.periodic")),
    ("s3api.runtime", ("s3api.auth", "s3api.aws.clients", "s3api.config", "s3api.errors", "s3api.db.")),
    ("s3api.api", ("s3api.names", "s3api.errors", "s3api.validation", "s3api.schemas.", "s3api.openapi")),  # converters
    ("s3api.openapi", ("s3api", "s3api.config")),
    # views: validate -> one call -> respond. The one gateway a view calls directly is aws.s3 (the bucket
    # list, which needs no workflow); never aws.clients or another gateway.
    (
        "s3api.views.",
        (
            *BASE,
            "s3api",  # __version__
            "s3api.api",
            "s3api.runtime",
            "s3api.validation",
            "s3api.duck",
            "s3api.schemas.",
            "s3api.provisioning.",
            "s3api.views.",
            "s3api.aws.s3",
            "s3api.audit",  # views whose change is database state add its event in the same transaction
            "s3api.db.operations",  # the operation's public shape (record)
            "s3api.db.models",
            "s3api.jobs.operations",  # start an operation: one call
            "s3api.control.",  # the control plane's services: one call
        ),
    ),
    # the web console: pages over the same services as the views (and the views' operation helpers), its own
    # session (sealing) and the one authorization function
    ("s3api.console", (*BASE, "s3api.auth", "s3api.console.")),
    (
        "s3api.console.",
        (
            *BASE,
            "s3api.auth",
            "s3api.sealing",
            "s3api.console",
            "s3api.console.",
            "s3api.api",
            "s3api.runtime",
            "s3api.schemas.",
            "s3api.provisioning.",
            "s3api.views.operations",
            "s3api.aws.s3",
            "s3api.audit",
            "s3api.db.operations",
            "s3api.jobs.operations",
            "s3api.control.",
        ),
    ),
    # start-up code: decides between the config file and the embedded emulator, boots it, builds the app
    ("s3api.embedded", ("s3api.config", "s3api.aws.clients", "s3api.provisioning.policies", "s3api.db.")),
    # the emulator made stricter (run by embedded as a module, applied to mock_aws by the tests): imports only moto
    ("s3api.emulator", ()),
    ("s3api.cli", ANY),
    ("s3api.gunicorn_conf", ANY),
    ("s3api", ANY),  # the package: __version__ and the app factory
    ("wsgi", ANY),
)


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported s3api module
    line: int
    function: str | None  # enclosing top-level function or class, None at module level


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(name: str, known: set[str]) -> str | None:
    """The longest known module that ``name`` is, or is inside (``s3api.config.load`` → ``s3api.config``)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(name: str, source: str, known: set[str]) -> list[Import]:
    """The s3api modules that module ``name`` imports, wherever the import statement is."""
    tree = ast.parse(source)
    package = name if _is_package(name, known) else name.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            inner = function
            if function is None and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = child.name
            targets: list[str] = []
            if isinstance(child, ast.Import):
                targets = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                # `from s3api import config` imports the module s3api.config; `from s3api import __version__`
                # imports the package itself
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in child.names]
            for target in targets:
                resolved = _resolve(target, known)
                if resolved is not None and resolved != name:
                    found.append(Import(name, resolved, child.lineno, function))
            visit(child, inner)

    visit(tree, None)
    return found


def _is_package(name: str, known: set[str]) -> bool:
    return any(other.startswith(name + ".") for other in known)


def sources(root: Path = ROOT) -> dict[str, str]:
    files = [*sorted(PACKAGE.rglob("*.py")), root / "wsgi.py"]
    return {module_name(path, root): path.read_text() for path in files if path.exists()}


def graph(modules: Mapping[str, str]) -> list[Import]:
    known = set(modules)
    return [imp for name, text in modules.items() for imp in imports_of(name, text, known)]


def _matches(module: str, pattern: str) -> bool:
    """``"s3api.aws."`` matches the package ``s3api.aws`` and every module in it; other patterns are exact."""
    if pattern.endswith("."):
        return module.startswith(pattern) or module == pattern[:-1]
    return pattern == "*" or module == pattern


def layer_violations(edges: Iterable[Import], table: Iterable[tuple[str, tuple[str, ...]]] = LAYERS) -> list[str]:
    rows = list(table)
    problems = []
    for imp in edges:
        row = next((allowed for pattern, allowed in rows if _matches(imp.source, pattern)), None)
        if row is None:
            problems.append(f"{imp.source}: no row in LAYERS (add the module to the table)")
        elif not any(_matches(imp.target, allowed) for allowed in row):
            where = f"{imp.function}()" if imp.function else "module level"
            problems.append(f"{imp.source}:{imp.line} ({where}) imports {imp.target}: not allowed by its layer")
    return sorted(set(problems))


def cycles(edges: Iterable[Import], exempt: Mapping[str, frozenset[str]] = STARTUP_FUNCTIONS) -> list[list[str]]:
    """Every import cycle (one path per strongly connected component), start-up functions' imports left out."""
    adjacent: dict[str, set[str]] = {}
    for imp in edges:
        if imp.function is not None and imp.function in exempt.get(imp.source, frozenset()):
            continue
        adjacent.setdefault(imp.source, set()).add(imp.target)
        adjacent.setdefault(imp.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def strongconnect(node: str) -> None:  # Tarjan
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(adjacent[node]):
            if nxt not in index:
                strongconnect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(adjacent):
        if node not in index:
            strongconnect(node)
    return components


EDGES = graph(sources())


def test_every_module_is_in_the_table():
    names = set(sources())
    missing = [name for name in sorted(names) if not any(_matches(name, pattern) for pattern, _ in LAYERS)]
    assert not missing


def test_no_import_cycle():
    assert cycles(EDGES) == []


def test_imports_follow_the_layers():
    assert layer_violations(EDGES) == []


def test_the_bottom_module_is_pure():
    """``s3api.names`` imports nothing from s3api and only these standard-library modules (no I/O)."""
    tree = ast.parse((PACKAGE / "names.py").read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "re", "typing"}
    assert not [e for e in EDGES if e.source == "s3api.names"]


def test_gateways_never_read_the_whole_settings():
    """Gateways read ``aws.gateway`` (org, org tag key, embedded flag), never ``aws.settings``: the settings
    object is the workflows' (policy actions and the like)."""
    found = []
    for path in sorted((PACKAGE / "aws").glob("*.py")):
        if path.name == "clients.py":  # builds AccountAws.gateway from the settings
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "settings":
                found.append(f"{path.name}:{node.lineno}")
    assert found == []


def test_config_never_decides_to_use_the_embedded_emulator():
    """Only start-up code imports ``s3api.embedded``."""
    importers = {e.source for e in EDGES if e.target == "s3api.embedded"}
    assert importers <= {"s3api", "s3api.cli", "s3api.gunicorn_conf", "wsgi"}


# --- the checks themselves find what they must ----------------------------------------------------------


def _fake(**modules: str) -> dict[str, str]:
    return {name.replace("__", "."): text for name, text in modules.items()}


@pytest.mark.parametrize(
    "where",
    ["from s3api import b\n", "def f():\n    from s3api.b import thing\n", "import s3api.b\n"],
)
def test_a_cycle_is_found_at_module_level_and_inside_functions(where):
    modules = _fake(s3api="", s3api__a=where, s3api__b="from s3api.a import x\n")
    assert cycles(graph(modules), exempt={}) == [["s3api.a", "s3api.b"]]


def test_a_startup_function_may_import_upward_but_nothing_else_may():
    modules = _fake(
        s3api="def create_app():\n    from s3api import views\n",
        s3api__views="from s3api import __version__\n",
    )
    assert cycles(graph(modules), exempt={"s3api": frozenset({"create_app"})}) == []
    assert cycles(graph(modules), exempt={}) == [["s3api", "s3api.views"]]


def test_an_upward_import_breaks_the_layers():
    modules = _fake(
        s3api="",
        s3api__names="",
        s3api__config="from s3api import embedded\n",
        s3api__embedded="from s3api.config import load\n",
        s3api__schemas__users="from s3api.provisioning.users import USER_NAME\n",
        s3api__provisioning__users="from s3api.views import users\n",
        s3api__views__users="",
        s3api__aws__iam="from s3api.provisioning import policies\n",
        s3api__provisioning__policies="",
    )
    problems = layer_violations(graph(modules))
    assert [p.split(" ")[0] for p in problems] == [
        "s3api.aws.iam:1",
        "s3api.config:1",
        "s3api.provisioning.users:1",
        "s3api.schemas.users:1",
    ]
