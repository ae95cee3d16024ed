"""The monthly check-in sweep of support teaching (支教月度考勤) over a province's teachers on
site: 50,000 terms at 2,000 receiving schools, dispatched on 1 September 2025, each with its
check-ins of September and October filed (their tasks done), the sweep opening November's.

``checkin_sweep_50k_s``: the sweep as the scheduled check runs it (``open_checkins``: one
transaction — the months the terms lack, 50,000 task rows inserted with RETURNING, 50,000
check-in rows naming them, one notice per receiving school). Target ≤ 1 s.
``checkin_sweep_50k_cpu_s``: the CPU time of that run (SQLite works in the benchmark's own
process), which a machine busy with other work does not inflate.
``checkin_sweep_again_s``: the same sweep run again at once, finding nothing to open (the
daily runs of the rest of the month).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select

from benchmarks.common import fresh_db
from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine
from states.processes import installed
from states.processes.support_teaching import checkins
from states.processes.support_teaching.tables import SupportCheckin, SupportNeed, SupportTerm
from states.store.models import Case, OrgUnit, Person, Task, table_of

SCHOOLS = 2_000
DISPATCHED = dt.date(2025, 9, 1)
ENDS = dt.date(2026, 8, 31)
FILED = (dt.date(2025, 9, 1), dt.date(2025, 10, 1))
NOW = bureau_time(2025, 11, 3, 8)  # the Monday the November sweep runs
CHUNK = 20_000


def _rows(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), CHUNK):
        conn.execute(insert(table), rows[i : i + CHUNK])


def build(db: Engine, terms: int) -> None:
    """The province, its receiving schools, the teachers, the needs and the terms on site,
    written straight into the tables (set-up, not what is measured)."""
    units_t, people_t, cases_t = table_of(OrgUnit), table_of(Person), table_of(Case)
    needs_t, terms_t = table_of(SupportNeed), table_of(SupportTerm)
    checkins_t, tasks_t = table_of(SupportCheckin), table_of(Task)
    at = NOW - dt.timedelta(days=90)
    with db.begin() as conn:
        conn.execute(
            insert(units_t),
            [
                {"id": 1, "parent_id": None, "tier": "province", "code": "P", "name": "基准省",
                 "path": "/1/"},
                {"id": 2, "parent_id": 1, "tier": "city", "code": "C", "name": "基准市",
                 "path": "/1/2/"},
                {"id": 3, "parent_id": 2, "tier": "county", "code": "X", "name": "基准县",
                 "path": "/1/2/3/"},
                {"id": 4, "parent_id": 3, "tier": "school", "code": "S0", "name": "基准县实验中学",
                 "path": "/1/2/3/4/"},
            ],
        )  # fmt: skip
        schools = list(range(5, 5 + SCHOOLS))
        _rows(
            conn, units_t,
            [{"id": s, "parent_id": 3, "tier": "school", "code": f"S{s}",
              "name": f"基准乡村学校{s}", "path": f"/1/2/3/{s}/", "is_rural": True}
             for s in schools],
        )  # fmt: skip
        _rows(conn, people_t, [{"id": i, "name": f"支教教师{i}"} for i in range(1, terms + 1)])
        need_ids = range(1, SCHOOLS + 1)
        _rows(
            conn, cases_t,
            [{"id": n, "process": "support_need", "year": 2025, "state": "approved",
              "org_unit_id": schools[n - 1], "org_path": f"/1/2/3/{schools[n - 1]}/",
              "data": {}, "version": 2, "seq": 2, "audit_head": "0" * 64, "opened_at": at,
              "updated_at": at} for n in need_ids],
        )  # fmt: skip
        _rows(
            conn, needs_t,
            [{"case_id": n, "school_id": schools[n - 1], "county_id": 3, "city_id": 2,
              "paired": False, "subject": "数学", "level": "junior", "places": 50,
              "filled": 25, "starts_on": DISPATCHED, "ends_on": ENDS, "year": 2025}
             for n in need_ids],
        )  # fmt: skip
        first = SCHOOLS + 1
        term_ids = range(first, first + terms)
        school_of = {t: schools[(t - first) % SCHOOLS] for t in term_ids}
        _rows(
            conn, cases_t,
            [{"id": t, "process": "support_term", "year": 2025, "state": "on_site",
              "org_unit_id": school_of[t], "org_path": f"/1/2/3/{school_of[t]}/",
              "applicant_id": t - first + 1, "subject_id": t - first + 1, "data": {},
              "version": 4, "seq": 4, "audit_head": "0" * 64, "opened_at": at,
              "updated_at": at} for t in term_ids],
        )  # fmt: skip
        _rows(
            conn, terms_t,
            [{"case_id": t, "need_id": (t - first) % SCHOOLS + 1, "application_id": t,
              "teacher_id": t - first + 1, "sending_school_id": 4,
              "receiving_school_id": school_of[t], "starts_on": DISPATCHED, "ends_on": ENDS,
              "dispatched_on": DISPATCHED, "ended_early": False,
              "checkins_through": FILED[-1]} for t in term_ids],
        )  # fmt: skip
        # the months already filed, each with its task done
        task_id = 0
        for month in FILED:
            tasks, rows = [], []
            for t in term_ids:
                task_id += 1
                tasks.append(
                    {"id": task_id, "case_id": t, "state": "on_site", "kind": "act",
                     "role": "school_officer", "org_unit_id": school_of[t], "opened_on": month,
                     "due_on": month + dt.timedelta(days=40), "due_days": 5, "status": "done",
                     "opened_at": at, "closed_at": at, "remind_level": 0}
                )  # fmt: skip
                rows.append(
                    {"term_case_id": t, "month": month, "due_on": month + dt.timedelta(days=40),
                     "task_id": task_id, "status": "submitted", "attendance_days": 21,
                     "teaching_hours": 60, "assessment": "良好", "submitted_at": at}
                )  # fmt: skip
            _rows(conn, tasks_t, tasks)
            _rows(conn, checkins_t, rows)


def run(path: Path, *, terms: int) -> dict[str, float]:
    os.environ.setdefault("RENSHI_AUDIT_KEYS", str(path.parent / "audit-keys"))
    db = fresh_db(path)
    build(db, terms)
    engine = CaseEngine(db, installed(), FrozenClock(NOW))
    engine.calendar()  # the calendar loaded before the clock starts, as a running server has
    t0, c0 = time.perf_counter(), time.process_time()
    opened = checkins.open_checkins(engine)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    t1 = time.perf_counter()
    again = checkins.open_checkins(engine)
    repeat = time.perf_counter() - t1
    with db.connect() as conn:
        made = conn.execute(
            select(func.count()).where(table_of(SupportCheckin).c.month == dt.date(2025, 11, 1))
        ).scalar_one()
    db.dispose()
    assert opened.get("opened") == terms == made and again == {}, (opened, again, made)
    print(f"support teaching: {terms:,} check-ins opened at {opened['schools']:,} schools")
    size = f"{terms // 1000}k"
    return {
        f"checkin_sweep_{size}_s": round(elapsed, 3),
        f"checkin_sweep_{size}_cpu_s": round(cpu, 3),
        "checkin_sweep_again_s": round(repeat, 3),
    }


def figures(quick: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="renshi-support-") as tmp:
        return run(Path(tmp) / "support.db", terms=5_000 if quick else 50_000)


if __name__ == "__main__":
    print(figures(False))
