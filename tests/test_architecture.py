"""The layering of docs/architecture.md, enforced: imports point inward, the pure core stays
pure, and the migrations describe exactly the models."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text

from states.store.db import make_engine
from states.store.models import Base

ROOT = Path(__file__).resolve().parent.parent
RENSHI = str(Path(sys.executable).parent / "renshi")
PURE = [
    "states/process/forms.py",
    "states/process/rules.py",
    "states/process/spec.py",
    "states/process/diagram.py",
    *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("states/blocks/*/__init__.py")),
    *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("states/processes/*/machine.py")),
    *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("states/processes/*/rules.py")),
    "states/calendar.py",
    "states/org.py",
    "states/audit.py",
    "states/clock.py",
    "states/errors.py",
    "states/identity.py",
]
FRAMEWORKS = {"sqlalchemy", "alembic", "fastapi", "starlette", "prefect", "jinja2", "psycopg"}
ADAPTERS = {"api", "flows", "notifications"}
PROCESSES = sorted(
    p.name for p in (ROOT / "states/processes").iterdir() if (p / "__init__.py").exists()
)
# The modules of the API a process's web twin may use: the web kit and the shared API parts
# (api.typeset: the one way a document is set as PDF or .xlsx).
WEB_KIT = {
    "api.webkit",
    "api.deps",
    "api.schemas",
    "api.present",
    "api.errors",
    "api.processes",
    "api.typeset",
}
# Where the list of installed packages may be imported: the composition roots.
ROOTS = {
    "api/app.py",
    "api/cli.py",
    "api/cli_case.py",
    "api/cli_ops.py",
    "api/demo.py",
    "flows/jobs.py",  # the scheduled jobs: the packages' checks with schedules of their own
    "flows/sweeps.py",
    "flows/serve.py",
    "states/store/migrations/env.py",
}  # fmt: skip (the schema is assembled there)
# Generic words that are also some process's state or event name, used here in another sense:
# "publicity" names the sweep that closes publicity windows (a schedule, a CLI command).
OTHER_SENSE = {"publicity"}


def _modules(path: Path) -> set[str]:
    """Every module a file imports, dotted, at any depth (TYPE_CHECKING imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def _imports(path: Path) -> set[str]:
    return {m.split(".")[0] for m in _modules(path)}


def _files(entry: str) -> list[Path]:
    p = ROOT / entry
    return sorted(p.rglob("*.py")) if p.is_dir() else [p]


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _process_of(path: Path) -> str | None:
    """The process package a file belongs to (states/ or api/ side), if any."""
    parts = path.relative_to(ROOT).parts
    if len(parts) > 3 and parts[1] == "processes" and parts[0] in ("states", "api"):
        return parts[2]
    return None


def _process_imported(module: str) -> str | None:
    """The process package a dotted module name points into, if any."""
    parts = module.split(".")
    if len(parts) > 2 and parts[0] in ("states", "api") and parts[1] == "processes":
        return parts[2] if parts[2] in PROCESSES else None
    return None


def _generic(top: str) -> list[Path]:
    return [f for f in _files(top) if _process_of(f) is None and "migrations" not in f.parts]


@pytest.mark.parametrize("entry", PURE)
def test_pure_core_imports_no_framework(entry: str) -> None:
    for f in _files(entry):
        bad = _imports(f) & FRAMEWORKS
        assert not bad, f"{f.relative_to(ROOT)} imports {bad}"


def test_states_imports_no_adapter() -> None:
    for f in _files("states"):
        bad = _imports(f) & ADAPTERS
        assert not bad, f"{f.relative_to(ROOT)} imports {bad}"


def test_there_are_process_packages() -> None:
    assert {"title_review", "recruitment"} <= set(PROCESSES)
    assert {p.name for p in (ROOT / "api/processes").iterdir() if p.is_dir()} - {
        "__pycache__"
    } <= set(PROCESSES)


def test_the_core_imports_no_process() -> None:
    """The generic core and the generic adapters know cases, never a particular process."""
    for top in ("states", "api", "flows", "notifications"):
        for f in _generic(top):
            if _rel(f) in ROOTS or _rel(f) == "states/processes/__init__.py":
                continue  # the composition roots, and the list itself
            bad = {m for m in _modules(f) if _process_imported(m)}
            assert not bad, f"{_rel(f)} imports {bad}"


def test_a_process_imports_only_the_core_and_the_web_kit() -> None:
    for name in PROCESSES:
        for side in ("states", "api"):
            folder = ROOT / side / "processes" / name
            for f in sorted(folder.rglob("*.py")) if folder.exists() else []:
                for m in _modules(f):
                    other = _process_imported(m)
                    assert other in (None, name), f"{_rel(f)} imports another process: {m}"
                    assert m != "states.processes.installed", f"{_rel(f)} imports the list"
                    assert not m.startswith(("flows", "notifications")), f"{_rel(f)}: {m}"
                    if m.startswith("api.") and other is None:
                        assert side == "api", f"{_rel(f)} imports the adapter {m}"


def test_only_composition_roots_import_the_package_list() -> None:
    for top in ("states", "api", "flows", "notifications"):
        for f in _files(top):
            if "states.processes.installed" in _modules(f):
                assert _rel(f) in ROOTS, f"{_rel(f)} imports the list of installed processes"


def _literals(path: Path) -> list[tuple[int, str]]:
    """String constants of a module, docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            docs.add(id(first.value))
    return [
        (n.lineno, n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs
    ]


def test_no_generic_module_names_a_state_or_event() -> None:
    """A process's states and events are its own: the generic modules read tags and
    declarations instead (a window's closing event, an objection's event, a button's style)."""
    from states.processes import installed

    names = {n for p in installed() for spec in p.specs for n in spec.names()} - OTHER_SENSE
    found = []
    for top in ("states", "api", "flows", "notifications"):
        for f in _generic(top):
            if _rel(f) in ROOTS and top != "states":
                continue  # composition roots (the demo walks a title-review round)
            found += [
                f"{_rel(f)}:{line} {value!r}" for line, value in _literals(f) if value in names
            ]
    assert not found, "process names in generic modules:\n" + "\n".join(found)


def test_migrations_match_models(engine: Engine) -> None:
    """A model changed without a migration would leave production behind the code."""
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_machines_starting_together_migrate_once() -> None:
    """Several API machines run `renshi db upgrade` as they start; on one PostgreSQL they
    must queue, not fail on each other's half-created tables."""
    from tests.conftest import PG_BASE_URL

    schema = f"renshi_m_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_BASE_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_BASE_URL}?options=-csearch_path%3D{schema}"
    try:
        env = {**os.environ, "RENSHI_DATABASE_URL": url}
        machines = [
            subprocess.Popen(
                [RENSHI, "db", "upgrade"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for _ in range(4)
        ]
        results = [(m.wait(timeout=120), m.communicate()[1].decode()) for m in machines]
        assert [code for code, _ in results] == [0, 0, 0, 0], results
        migrated = make_engine(url)
        with migrated.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        migrated.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_a_web_twin_uses_only_the_web_kit() -> None:
    """A process's web twin draws its pages with the public web kit and the shared API parts,
    never with another page module's insides: a fix to how pages are guarded or drawn then
    reaches every process. And no module borrows another API module's private names."""
    twins = sorted(p for p in (ROOT / "api/processes").iterdir() if (p / "__init__.py").exists())
    assert twins
    for twin in twins:
        own = f"api.processes.{twin.name}"
        for f in sorted(twin.rglob("*.py")):
            for m in _modules(f):
                if not m.startswith("api.") or m == own or m.startswith(own + "."):
                    continue
                kit = any(m == k or m.startswith(k + ".") for k in WEB_KIT)
                assert kit and _process_imported(m) is None, (
                    f"{_rel(f)} imports {m}: a web twin uses only {sorted(WEB_KIT)}"
                )
    for top in ("api", "states", "flows", "notifications", "tests", "benchmarks"):
        for f in _files(top):
            if _rel(f) == "api/webkit.py":
                continue
            private = {
                m
                for m in _modules(f)
                if m.startswith("api.")
                and m.rsplit(".", 1)[-1].startswith("_")
                and not m.rsplit(".", 1)[-1].startswith("__")
            }
            assert not private, f"{_rel(f)} imports private names of the API: {private}"
