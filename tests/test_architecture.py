"""The layering of ARCHITECTURE.md, enforced: imports point inward, the pure core stays pure,
and the migrations describe exactly the models."""

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
    "states/machines",
    "states/rules",
    "states/calendar.py",
    "states/org.py",
    "states/audit.py",
    "states/clock.py",
    "states/errors.py",
    "states/identity.py",
]
FRAMEWORKS = {"sqlalchemy", "alembic", "fastapi", "starlette", "prefect", "jinja2", "psycopg"}
ADAPTERS = {"api", "flows", "notifications"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


def _files(entry: str) -> list[Path]:
    p = ROOT / entry
    return sorted(p.rglob("*.py")) if p.is_dir() else [p]


@pytest.mark.parametrize("entry", PURE)
def test_pure_core_imports_no_framework(entry: str) -> None:
    for f in _files(entry):
        bad = _imports(f) & FRAMEWORKS
        assert not bad, f"{f.relative_to(ROOT)} imports {bad}"


def test_states_imports_no_adapter() -> None:
    for f in _files("states"):
        bad = _imports(f) & ADAPTERS
        assert not bad, f"{f.relative_to(ROOT)} imports {bad}"


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
