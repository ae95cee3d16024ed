"""A province's task boards: 100,000 tasks and 400,000 milestones (``--quick``: a tenth).

Set up by bulk insert (raw executemany; not what is measured): a province of 10 cities, 100
counties and 20,000 schools; each county's book of 1,000 issued tasks (50 led by the county,
the rest by its schools), each task with 4 milestones, deadlines spread over the year. The
day measured is 16 June 2026, in the steady state of a sweep that runs every morning: the
work of the days before is done (milestones reached or, for one in twenty, escalated; tasks
closed or, for one in ten, escalated and red; reminders sent; stagnant tasks flagged), and
what falls on this morning is what the sweep has to find — the milestones and deadlines
entering the reminder window or falling due today, those missed yesterday, the tasks that
went without a report for ten working days as of today.

Timed:
- ``board_query_ms``: the province board's reading (counts by status per city, the list
  overdue and stagnant first, the completions by month), median of repeated runs, once the
  morning's sweep has worked the statuses out (``board_query_before_sweep_ms``: one reading
  before it, when every status is worked out as it is read);
- ``board_http_p99_ms``: the board page (signed in as a leader, rendered with its charts)
  at 8 clients on one uvicorn worker, with wrk, next to a bare endpoint on the same worker
  issuing the same reading and nothing else (``board_bare_http_p99_ms``);
- ``task_sweep_100k_s``: the package's sweep (reminders, escalation, stagnation) over them;
  ``task_sweep_first_s`` the same sweep on a copy where nothing was escalated yet (the day
  the package is installed over a year's tasks: every late milestone and task at once).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import fresh_db
from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine
from states.org import LEADER, Actor, Binding
from states.processes import installed
from states.processes.task_book import board, checks
from states.store.db import make_engine

TODAY = dt.date(2026, 6, 16)  # a Tuesday, a working day
CLIENTS = 8
CITIES, COUNTIES_PER_CITY, SCHOOLS_PER_COUNTY = 10, 10, 200


def _stamp(day: dt.date, hour: int = 9) -> str:
    return dt.datetime(day.year, day.month, day.day, hour - 8).isoformat(" ")


def build(path: Path, tasks: int) -> dict[str, Any]:
    """The province and its tasks, written raw; returns the ids a run needs."""
    db = fresh_db(path)
    rng = random.Random(16)
    per_county = tasks // (CITIES * COUNTIES_PER_CITY)
    schools_per_county = min(SCHOOLS_PER_COUNTY, max(per_county // 5, 2))
    units: list[tuple[Any, ...]] = [(1, None, "province", "P", "示范省", "/1/")]
    counties: list[tuple[int, str, list[tuple[int, str]]]] = []
    next_id = 2
    for c in range(CITIES):
        city_id, next_id = next_id, next_id + 1
        city_path = f"/1/{city_id}/"
        units.append((city_id, 1, "city", f"C{c}", f"第{c + 1}市", city_path))
        for k in range(COUNTIES_PER_CITY):
            county_id, next_id = next_id, next_id + 1
            county_path = f"{city_path}{county_id}/"
            units.append((county_id, city_id, "county", f"C{c}K{k}", f"第{c + 1}市第{k + 1}县",
                          county_path))  # fmt: skip
            schools = []
            for s in range(schools_per_county):
                school_id, next_id = next_id, next_id + 1
                school_path = f"{county_path}{school_id}/"
                units.append((school_id, county_id, "school", f"C{c}K{k}S{s}",
                              f"第{c + 1}市第{k + 1}县第{s + 1}校", school_path))  # fmt: skip
                schools.append((school_id, school_path))
            counties.append((county_id, county_path, schools))
    now = _stamp(dt.date(2026, 1, 10))
    raw = db.raw_connection()
    try:
        cur = raw.cursor()
        cur.executemany(
            "insert into org_units (id, parent_id, tier, code, name, path, is_rural, is_weak,"
            " self_review_pilot, version) values (?, ?, ?, ?, ?, ?, 0, 0, 0, 1)",
            units,
        )
        cur.execute(
            "insert into people (id, name, active, session_generation, must_change_password)"
            " values (1, '领导', 1, 0, 0)"
        )
        cur.execute(
            "insert into role_bindings (person_id, role, org_unit_id) values (1, ?, 1)", (LEADER,)
        )
        books: list[tuple[Any, ...]] = []
        cases: list[tuple[Any, ...]] = []
        work: list[tuple[Any, ...]] = []
        stones: list[tuple[Any, ...]] = []
        task_id = 0
        escalated = _stamp(dt.date(2026, 1, 1))
        for b, (county_id, county_path, schools) in enumerate(counties, start=1):
            books.append((b, b, county_id, 2026, f"第{b}县2026年度任务书", 1, now))
            cases.append((b, "task_book", "book_in_force", county_id, county_path, None, now))
            for i in range(per_county):
                task_id += 1
                case_id = 1_000_000 + task_id
                lead, lead_path = (
                    (county_id, county_path) if i < per_county // 20 else rng.choice(schools)
                )
                issued = dt.date(2026, 1, 15) + dt.timedelta(days=rng.randrange(45))
                deadline = dt.date(2026, 2, 1) + dt.timedelta(days=rng.randrange(333))
                span = (deadline - issued).days
                dues = [issued + dt.timedelta(days=span * (j + 1) // 5) for j in range(4)]
                late = rng.random() < 0.10
                closed = deadline < TODAY and not late
                state = "task_done" if closed else "task_doing"
                ids = [int(x) for x in lead_path.strip("/").split("/")]
                pending = [d for d in dues if d >= TODAY]
                report = TODAY - dt.timedelta(days=rng.randrange(1, 30))
                stagnant = report <= TODAY - dt.timedelta(days=15) and not closed
                work.append((
                    task_id, b, case_id, 2026, i + 1, f"任务{task_id}", "work_points", lead,
                    county_id, deadline, 1.0, 100 if closed else rng.randrange(0, 100), issued,
                    report, report + dt.timedelta(days=14) if stagnant else None,
                    None if closed else (pending[0] if pending else None),
                    2 if deadline <= TODAY else 0,
                    escalated if (late and deadline < TODAY - dt.timedelta(days=1)) else None,
                    deadline - dt.timedelta(days=3) if closed else None, lead_path,
                    ids[1] if len(ids) > 1 else None, ids[2] if len(ids) > 2 else None,
                    ids[3] if len(ids) > 3 else None, 4 if closed else None,
                ))  # fmt: skip
                cases.append((case_id, "work_task", state, lead, lead_path, b, now))
                for j, due in enumerate(dues, start=1):
                    missed = due < TODAY and (late or rng.random() < 0.05)
                    done = None if (missed or due >= TODAY) else due
                    level = 2 if due <= TODAY else (1 if due < TODAY + dt.timedelta(days=3) else 0)
                    was = escalated if (missed and due < TODAY - dt.timedelta(days=1)) else None
                    stones.append((task_id, j, f"节点{j}", due, done, level, was))
        cur.executemany(
            "insert into cases (id, process, year, state, org_unit_id, org_path, applicant_id,"
            " subject_id, data, parent_id, slot_key, version, seq, audit_head, opened_at,"
            " updated_at) values (?, ?, 2026, ?, ?, ?, null, null, '{}', ?, null, 3, 3,"
            " '0000', ?, ?)",
            [(c[0], c[1], c[2], c[3], c[4], c[5] if c[1] == "work_task" else None, c[6], c[6])
             for c in cases],
        )  # fmt: skip
        cur.executemany(
            "insert into task_books (id, case_id, unit_id, year, title, version, created_at)"
            " values (?, ?, ?, ?, ?, ?, ?)",
            books,
        )
        cur.executemany(
            "insert into work_tasks (id, book_id, case_id, year, seq, title, source,"
            " lead_unit_id, issuer_unit_id, deadline, weight, progress, issued_on,"
            " last_report_on, stagnant_since, next_due, remind_level, escalated_at, closed_on,"
            " lead_path, unit1_id, unit2_id, unit3_id, standing) values"
            " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            work,
        )
        cur.executemany(
            "insert into task_milestones (task_id, seq, title, due_on, done_on, remind_level,"
            " escalated_at) values (?, ?, ?, ?, ?, ?, ?)",
            stones,
        )
        raw.commit()
        cur.execute("analyze")
        raw.commit()
    finally:
        raw.close()
    # the boards' statuses as yesterday's sweep left them
    engine = CaseEngine(db, installed(), FrozenClock(bureau_time(2026, 6, 15, 9)))
    with db.begin() as conn:
        yesterday = TODAY - dt.timedelta(days=1)
        board.restand(conn, board.clock_for(engine.calendar(conn), yesterday, None))
    db.dispose()
    return {"tasks": len(work), "milestones": len(stones)}


LEADER_ACTOR = Actor(1, "领导", (Binding(LEADER, 1, "/1/"),))


def query_ms(path: Path, runs: int = 7) -> float:
    """The province board's reading, median of ``runs`` after one to warm the cache."""
    db = make_engine(f"sqlite:///{path}")
    engine = CaseEngine(db, installed(), FrozenClock(bureau_time(2026, 6, 16, 9)))
    times = []
    with db.connect() as conn:
        when = board.clock_of(engine, conn, "/1/")
        filters = board.filters_from(2026)
        for i in range(runs + 1):
            t0 = time.perf_counter()
            found = board.board(conn, LEADER_ACTOR, 1, filters, when)
            if i:
                times.append((time.perf_counter() - t0) * 1000)
    assert sum(found.totals.values()) > 0 and found.tasks
    db.dispose()
    return round(statistics.median(times), 1)


def sweep_s(path: Path) -> tuple[float, dict[str, int]]:
    db = make_engine(f"sqlite:///{path}")
    engine = CaseEngine(db, installed(), FrozenClock(bureau_time(2026, 6, 16, 7)))
    engine.calendar()  # the calendar is loaded once per engine, before the clock starts
    t0 = time.perf_counter()
    counts = checks.sweep(engine)
    elapsed = time.perf_counter() - t0
    again = checks.sweep(engine)  # idempotent: nothing twice
    assert not {"milestones_escalated", "tasks_escalated", "stagnant"} & set(again)
    db.dispose()
    return round(elapsed, 3), dict(counts)


def _unescalated(path: Path) -> None:
    """The copy where nothing was escalated or reminded yet."""
    raw = make_engine(f"sqlite:///{path}").raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("update task_milestones set escalated_at = null, remind_level = 0")
        cur.execute("update work_tasks set escalated_at = null, remind_level = 0")
        raw.commit()
    finally:
        raw.close()


# --- over HTTP --------------------------------------------------------------------------------
def serve_app(url: str, secret: str, port: int) -> None:
    """The app as deployed, plus /bench/board: the same reading as the page, bare."""
    import uvicorn

    from api.app import create_app
    from api.auth import AuthConfig
    from api.deps import Services
    from api.files import FileStore
    from states.store.db import reader

    db = make_engine(url)
    clock = FrozenClock(bureau_time(2026, 6, 16, 9))
    svc = Services(
        db=db,
        engine=CaseEngine(db, installed(), clock),
        clock=clock,
        auth=AuthConfig(secret=secret.encode()),
        files=FileStore(Path("/tmp/renshi-bench-files")),
    )
    app = create_app(svc)

    @app.get("/bench/board")
    def bare() -> dict[str, int]:
        with reader(db).connect() as conn:
            when = board.clock_of(svc.engine, conn, "/1/")
            found = board.board(conn, LEADER_ACTOR, 1, board.filters_from(2026), when)
        return {"tasks": len(found.tasks)}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


@contextmanager
def serving(path: Path, secret: str) -> Iterator[str]:
    url = f"sqlite:///{path}"
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.task_book", "--serve", url, "--port", str(port),
         "--secret", secret],
        env={**os.environ, "RENSHI_DATABASE_URL": url},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("benchmark server did not start")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_P99 = re.compile(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")


def _wrk(url: str, seconds: int, cookie: str) -> tuple[float, float]:
    """(p99 in ms, requests per second) of GETs at CLIENTS connections."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CLIENTS}", f"-d{seconds}s", "--timeout", "20s", "--latency",
         "-H", f"Cookie: {cookie}", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    found = _P99.search(out)
    rate = _RATE.search(out)
    if found is None or rate is None:
        raise RuntimeError(f"wrk said: {out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]
    if "Non-2xx" in out:
        raise RuntimeError(f"the board answered with errors: {out}")
    return float(found.group(1)) * scale, float(rate.group(1))


def http_p99(path: Path, seconds: int) -> dict[str, float]:
    from api.auth import SESSION_COOKIE, AuthConfig, Credential, issue_session

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the HTTP benchmark (Debian package 'wrk')")
    secret = secrets.token_hex(16)
    session = issue_session(Credential(1, 0), bureau_time(2026, 6, 16, 9),
                            AuthConfig(secret=secret.encode()))  # fmt: skip
    cookie = f"{SESSION_COOKIE}={session.cookie}"
    page: list[tuple[float, float]] = []
    bare: list[tuple[float, float]] = []
    with serving(path, secret) as base:
        check = httpx.get(f"{base}/tasks/board", headers={"Cookie": cookie}, timeout=30)
        assert check.status_code == 200 and "督办看板" in check.text, check.status_code
        for r in range(2):  # interleaved, order turned
            for side in ("page", "bare") if r == 0 else ("bare", "page"):
                url = f"{base}/tasks/board" if side == "page" else f"{base}/bench/board"
                (page if side == "page" else bare).append(_wrk(url, seconds, cookie))
    return {
        "board_http_p99_ms": round(max(p for p, _ in page), 1),
        "board_http_per_s": round(statistics.mean(r for _, r in page), 1),
        "board_bare_http_p99_ms": round(max(p for p, _ in bare), 1),
        "board_bare_http_per_s": round(statistics.mean(r for _, r in bare), 1),
    }


def run(path: Path, *, tasks: int, seconds: int = 5) -> dict[str, float]:
    built = build(path, tasks)
    first = path.with_name("first-" + path.name)
    shutil.copy(path, first)
    _unescalated(first)
    results: dict[str, float] = {
        "board_tasks": built["tasks"],
        "board_milestones": built["milestones"],
    }
    # before this morning's sweep the boards work every status out as they read
    results["board_query_before_sweep_ms"] = query_ms(path, runs=1)
    key = "task_sweep_100k_s" if tasks >= 100_000 else f"task_sweep_{tasks // 1000}k_s"
    results[key], counts = sweep_s(path)
    results["board_query_ms"] = query_ms(path)
    results.update(http_p99(path, seconds))
    for name in ("milestone_reminders", "deadline_reminders", "milestones_escalated",
                 "tasks_escalated", "stagnant"):  # fmt: skip
        results[f"task_sweep_{name}"] = counts.get(name, 0)
    results["task_sweep_first_s"], first_counts = sweep_s(first)
    results["task_sweep_first_escalated"] = first_counts.get(
        "milestones_escalated", 0
    ) + first_counts.get("tasks_escalated", 0)
    for p in (path, first):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{p}{suffix}").unlink(missing_ok=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    serve_app(args.serve, args.secret, args.port)


if __name__ == "__main__":
    main()
