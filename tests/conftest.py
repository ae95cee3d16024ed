"""Test fixtures: every store test runs on a real SQLite file and on the machine's PostgreSQL.

Prefect's settings come first, before anything can import prefect.
"""

import os
import tempfile

os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="renshi-prefect-")
os.environ.pop("PREFECT_API_URL", None)
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
# One audit key ring for the run, shared with every server and CLI process a test starts.
os.environ["RENSHI_AUDIT_KEYS"] = tempfile.mkdtemp(prefix="renshi-audit-keys-")

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine
from states.processes import installed
from states.store.db import make_engine
from states.store.migrate import upgrade
from states.store.models import Base
from tests.live import Live, serve
from tests.world import Driver, World, build_world

# The installed processes' own tables join the metadata on import: truncating between tests
# and comparing migrations with models need every table.
PACKAGES = installed()

PG_BASE_URL = os.environ.get(
    "RENSHI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (a fresh database in a millisecond)."""
    path = tmp_path_factory.mktemp("template") / "renshi.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A private schema in the machine's PostgreSQL, migrated once, dropped at the end.

    PostgreSQL missing is an error here, never a skip: the suite must run on both databases.
    """
    schema = f"renshi_t_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_BASE_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_BASE_URL}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url, pool_size=20, max_overflow=10)
    yield engine
    engine.dispose()


def _truncate_pg(engine: Engine) -> None:
    """Every table emptied and every id sequence restarted, as ``TRUNCATE ... RESTART
    IDENTITY`` does.

    A TRUNCATE of every table replaces a file per table and index: a tenth of a second on a
    quiet disk, over a second on a busy one, before every PostgreSQL test. The few hundred rows
    a test leaves are deleted in milliseconds instead, with foreign keys and triggers off for
    the transaction (``session_replication_role``, which needs a superuser: the trust login of
    the test database; any other login truncates)."""
    tables = Base.metadata.sorted_tables
    with engine.begin() as conn:
        if conn.execute(text("SELECT current_setting('is_superuser')")).scalar_one() != "on":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            return
        probe = " UNION ALL ".join(
            f"SELECT '{t.name}' WHERE EXISTS (SELECT FROM \"{t.name}\")" for t in tables
        )
        full = conn.execute(text(probe)).scalars().all()
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for name in full:
            conn.execute(text(f'DELETE FROM "{name}"'))
        conn.execute(
            text(
                "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, "
                "start_value, false) FROM pg_sequences WHERE schemaname = current_schema()"
            )
        )


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty, migrated database on each backend (for CLI subprocess tests)."""
    if request.param == "sqlite":
        target = tmp_path / "renshi.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    engine = request.getfixturevalue("pg_engine")
    _truncate_pg(engine)
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def engine(db_url: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine on an empty, migrated database, once per backend."""
    if db_url.startswith("sqlite"):
        eng = make_engine(db_url)
        yield eng
        eng.dispose()
    else:
        yield request.getfixturevalue("pg_engine")


# --- the hand-made province and a driver for engine tests -------------------------------
@pytest.fixture
def world(engine: Engine) -> World:
    return build_world(engine)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(bureau_time(2026, 9, 1))


@pytest.fixture
def eng(engine: Engine, clock: FrozenClock) -> CaseEngine:
    return CaseEngine(engine, installed(), clock)


@pytest.fixture
def d(eng: CaseEngine, world: World, clock: FrozenClock) -> Driver:
    return Driver(eng, world, clock)


# --- a live server on a seeded province ----------------------------------------------------
SEEDED_TEACHERS = 300


@pytest.fixture(scope="session")
def seeded_sqlite(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded province, once per run: the seed loads its files through the registry's
    imports (half a second), so each live test starts from a copy of this file instead."""
    from states.seed import seed

    path = tmp_path_factory.mktemp("seeded") / "renshi.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    seed(engine, SEEDED_TEACHERS)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def seeded_pg_schema(pg_url: str) -> Iterator[str]:
    """The seeded province in a schema of its own, once per run; live tests copy it."""
    from states.seed import seed

    schema = f"renshi_s_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_BASE_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(f"{PG_BASE_URL}?options=-csearch_path%3D{schema}")
    upgrade(engine)
    seed(engine, SEEDED_TEACHERS)
    engine.dispose()
    yield schema
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _copy_pg(engine: Engine, schema: str) -> None:
    """Every row of the seeded schema into the (emptied) test schema, and each id sequence
    moved past the copied ids."""
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            name = table.name
            conn.execute(text(f'INSERT INTO "{name}" SELECT * FROM "{schema}"."{name}"'))
            if "id" in table.c:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f'COALESCE(MAX(id), 0) + 1, false) FROM "{name}"'
                    )
                )


@pytest.fixture
def live(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Live]:
    if db_url.startswith("sqlite"):
        shutil.copy(request.getfixturevalue("seeded_sqlite"), db_url.removeprefix("sqlite:///"))
    else:
        _copy_pg(request.getfixturevalue("pg_engine"), request.getfixturevalue("seeded_pg_schema"))
    clock = FrozenClock(bureau_time(2026, 9, 1))
    with serve(db_url, clock, tmp_path / "files") as server:
        yield server
