"""``fire()`` on PostgreSQL with concurrent writers, next to the same statements through Core.

The SQLite benchmark (``benchmarks/fire.py``) measures one writer, which is all SQLite
allows. A bureau's server runs on PostgreSQL with many requests at once, where what costs is
different: row locks (``SELECT ... FOR UPDATE`` on the case), round trips per statement,
and the engine's Python work competing for the interpreter with the other writers. So both
sides here run ``writers`` threads pulling case ids from one queue, one transaction per case
on a pooled connection of their own, in interleaved rounds; the raw side is fire.py's
(the engine's own prebuilt statements, ``FOR UPDATE`` included). The ratio is what the
engine's own work costs under that load.

The database is a dedicated one (created if missing, its schema dropped and rebuilt at each
run). Without PostgreSQL the benchmark says so loudly and reports no figures: benchmarks
never fail the suite.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence

from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from benchmarks.fire import _officers, cases_t, declare, raw_transition
from states.store.db import make_engine
from states.store.migrate import upgrade

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/renshi_bench"


def bench_url() -> str:
    return os.environ.get("RENSHI_BENCH_PG_URL", DEFAULT_URL)


def _fresh(url: str, writers: int) -> Engine:
    """The benchmark's own database, created through the maintenance database if missing,
    with an empty, migrated schema: a previous run's rows would change the plans and sizes."""
    target = make_url(url)
    name = target.database or "renshi_bench"
    admin = make_engine(target.set(database="postgres").render_as_string(hide_password=False))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if exists is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    db = make_engine(url, pool_size=writers, max_overflow=2)
    with db.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(db)
    return db


def _concurrently(ids: Sequence[int], writers: int, one: Callable[[int], None]) -> float:
    """Seconds for ``writers`` threads to drain ``ids`` from a shared queue."""
    work: queue.SimpleQueue[int] = queue.SimpleQueue()
    for case_id in ids:
        work.put(case_id)
    failures: list[BaseException] = []

    def writer() -> None:
        while True:
            try:
                case_id = work.get_nowait()
            except queue.Empty:
                return
            try:
                one(case_id)
            except BaseException as exc:  # reported after the round, never swallowed
                failures.append(exc)
                return

    threads = [threading.Thread(target=writer) for _ in range(writers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if failures:
        raise failures[0]
    return elapsed


def run(url: str, teachers: int, cases: int, writers: int = 8, rounds: int = 4) -> dict[str, float]:
    try:
        db = _fresh(url, writers)
    except OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        where = make_url(url).render_as_string(hide_password=True)
        line = f"!!! PostgreSQL benchmark NOT RUN: cannot reach {where} ({reason}); no pg_* figures"
        print(line, file=sys.stderr, flush=True)
        print(line, flush=True)
        return {}
    db, eng, ids = declare(db, teachers, cases)
    officers = _officers(db, ids)
    now = eng.clock.now()
    due = dt.date(2026, 9, 8)
    half = len(ids) // 2
    engine_ids, raw_ids = ids[:half], ids[half:]
    per_round = max(1, half // rounds)

    def fire_one(case_id: int) -> None:
        eng.fire(case_id, "school_approve", officers[case_id], expected_version=2)

    def raw_one(case_id: int) -> None:
        raw_transition(db, case_id, now, due)

    t_fire = t_raw = 0.0
    n_fire = n_raw = 0
    for r in range(rounds):
        batch = engine_ids[r * per_round : (r + 1) * per_round]
        t_fire += _concurrently(batch, writers, fire_one)
        n_fire += len(batch)
        batch = raw_ids[r * per_round : (r + 1) * per_round]
        t_raw += _concurrently(batch, writers, raw_one)
        n_raw += len(batch)
    with db.connect() as conn:
        moved = conn.execute(
            select(func.count()).select_from(cases_t).where(cases_t.c.state == "school_publicity")
        ).scalar_one()
    db.dispose()
    if moved != n_fire + n_raw:
        raise RuntimeError(f"{moved} cases moved, {n_fire + n_raw} transitions timed")
    fire_per_s, raw_per_s = n_fire / t_fire, n_raw / t_raw
    return {
        "pg_fire_per_s": round(fire_per_s, 1),
        "pg_raw_per_s": round(raw_per_s, 1),
        "pg_fire_vs_raw": round(fire_per_s / raw_per_s, 3),
    }


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    t0 = time.perf_counter()
    figures = run(
        bench_url(),
        teachers=20_000 if quick else 60_000,
        cases=800 if quick else 3_000,
    )
    print(figures, f"({time.perf_counter() - t0:.1f} s in all)")
