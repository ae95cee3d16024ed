"""Set-up shared by the benchmarks."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from states.store.db import make_engine
from states.store.migrate import upgrade


def fresh_db(path: Path) -> Engine:
    """A new, migrated SQLite file at ``path`` (any previous one and its WAL removed)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = make_engine(f"sqlite:///{path}")
    upgrade(db)
    return db
