"""Every automated compliance check (合规检查) over a 600,000-teacher province, together.

Set up (not timed): the roster benchmark's province and teachers (as ``benchmarks/rotation``
writes them: 20,000 schools in 100 counties), with what the checks read spread over it —
qualification registrations from September 2021 to August 2026 (about one in ten lapsing
within six months or lapsed), 2% of the teachers with 31 rural years of whom half hold the
honour certificate, a published rotation campaign in every county (its eligible list from
the roster, about one in twelve placed, one county in three short of its backbone share),
and a task book of 1,000 issued tasks in every county (one in ten past its deadline and
open). Written with raw executemany and INSERT … SELECT.

Timed, each rule as its scheduled job runs it (``Catalogue.compliance_check``), one after
the other, on the engine's clock:

- ``pledge_issue_600k_s``: 1 September, the ethics-pledge check issuing the school year's
  600,000 pledges (its ``prepare``) before it finds nothing yet to report;
- ``checks_600k_s``: 8 October, the five checks together, 95% of the pledges signed — the
  first run, opening every finding (about 30,000 unsigned pledges, 60,000 registrations,
  6,000 honours, a third of the counties, 10,000 tasks) and one notice per unit;
- ``checks_600k_again_s``: the next morning's run, everything already open (marked seen).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, func, select

from benchmarks.rotation import _roster
from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine
from states.processes import installed
from states.processes.compliance.tables import ComplianceFinding
from states.store.models import table_of

TASKS_PER_COUNTY = 1_000


def _stamp(at: dt.datetime) -> str:
    """A timestamp as the UTC text SQLite keeps."""
    return at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")


def build(path: Path, teachers: int) -> Engine:
    db: Engine = _roster(path, teachers)
    now = _stamp(bureau_time(2026, 9, 20))
    raw = db.raw_connection()
    try:
        cur = raw.cursor()
        # registrations spread over five years; rural years and certificates
        cur.execute(
            "update teachers set cert_registered_on ="
            " date('2021-09-01', '+' || (person_id % 1800) || ' days'),"
            " rural_years = case when person_id % 50 = 0 then 31 else rural_years end"
        )
        cur.execute(
            "insert into rural_honours (person_id, cert_no, issued_on, issuer_unit_id,"
            " recorded_at) select person_id, 'HR' || person_id, '2025-09-10', 1, ?"
            " from teachers where person_id % 100 = 0",
            (now,),
        )
        counties = cur.execute(
            "select id, path from org_units where tier = 'county' order by id"
        ).fetchall()
        case_id, task_id = 1, 0
        for n, (county_id, county_path) in enumerate(counties, start=1):
            # a published campaign: its case, its one receiving post, its eligible list from
            # the roster, one in twelve placed (backbone ones left out in a third of them)
            cur.execute(
                "insert into cases (id, process, year, state, org_unit_id, org_path, data,"
                " version, seq, audit_head, opened_at, updated_at) values"
                " (?, 'rotation_campaign', 2026, 'published', ?, ?, '{}', 9, 9, '0000', ?, ?)",
                (case_id, county_id, county_path, now, now),
            )
            cur.execute(
                "insert into rotation_campaigns (id, county_id, year, name, case_id,"
                " target_percent, backbone_percent, min_years, principal_terms,"
                " principal_term_years, eligible_as_of, term_years, preferences_open,"
                " preferences_close, confirm_by, publicity_days, remind_days, exemption_kinds,"
                " run, opened_at, version) values (?, ?, 2026, ?, ?, 10, 20, 6, 2, 3,"
                " '2026-08-31', 3, '2026-09-01', '2026-09-10', '2026-09-15', 5, 20, '[]', 1,"
                " ?, 1)",
                (n, county_id, f"基准{n}县2026学年交流轮岗", case_id, now),
            )
            school = cur.execute(
                "select min(id) from org_units where parent_id = ?", (county_id,)
            ).fetchone()[0]
            cur.execute(
                "insert into rotation_posts (id, campaign_id, school_id, subject, level,"
                " places, reserved) values (?, ?, ?, '数学', 'junior', 100000, 0)",
                (n, n, school),
            )
            cur.execute(
                "insert into rotation_eligible (campaign_id, person_id, school_id, subject,"
                " level, joined_school_on, backbone_level, principal) select ?, t.person_id,"
                " t.school_id, t.subject, t.school_level, t.joined_school_on, t.backbone_level,"
                " 0 from teachers t join org_units u on u.id = t.school_id"
                " where u.parent_id = ? and t.joined_school_on <= '2020-08-31'",
                (n, county_id),
            )
            short = n % 3 == 0
            cur.execute(
                "insert into rotation_placements (campaign_id, person_id, from_school_id,"
                " post_id, run, step, backbone, reason) select campaign_id, person_id,"
                " school_id, ?, 1, 'deferred_acceptance', backbone_level is not null, '基准'"
                " from rotation_eligible where campaign_id = ? and (person_id % 12 = 0"
                " or (? = 0 and backbone_level is not null))",
                (n, n, 1 if short else 0),
            )
            case_id += 1
            # a task book of issued tasks: one in ten past its deadline and open
            book_case = case_id
            cur.execute(
                "insert into cases (id, process, year, state, org_unit_id, org_path, data,"
                " version, seq, audit_head, opened_at, updated_at) values"
                " (?, 'task_book', 2026, 'book_in_force', ?, ?, '{}', 3, 3, '0000', ?, ?)",
                (book_case, county_id, county_path, now, now),
            )
            cur.execute(
                "insert into task_books (id, case_id, unit_id, year, title, version,"
                " created_at) values (?, ?, ?, 2026, ?, 1, ?)",
                (n, book_case, county_id, f"基准{n}县任务书", now),
            )
            case_id += 1
            cases, work = [], []
            for i in range(TASKS_PER_COUNTY):
                task_id += 1
                late = i % 10 == 0
                deadline = dt.date(2026, 3, 1) + dt.timedelta(days=(i * 7) % 200)
                if late:
                    deadline = dt.date(2026, 9, 1) + dt.timedelta(days=i % 30)
                closed = None if late or deadline > dt.date(2026, 10, 8) else deadline
                cases.append((case_id, county_id, county_path, book_case, now, now))
                work.append((task_id, n, case_id, i + 1, f"任务{task_id}", school, county_id,
                             deadline.isoformat(), closed and closed.isoformat(),
                             county_path))  # fmt: skip
                case_id += 1
            cur.executemany(
                "insert into cases (id, process, year, state, org_unit_id, org_path, data,"
                " parent_id, version, seq, audit_head, opened_at, updated_at) values"
                " (?, 'work_task', 2026, 'task_doing', ?, ?, '{}', ?, 3, 3, '0000', ?, ?)",
                cases,
            )
            cur.executemany(
                "insert into work_tasks (id, book_id, case_id, year, seq, title, source,"
                " lead_unit_id, issuer_unit_id, deadline, weight, progress, issued_on,"
                " remind_level, closed_on, lead_path) values (?, ?, ?, 2026, ?, ?,"
                " 'work_points', ?, ?, ?, 1.0, 50, '2026-01-15', 0, ?, ?)",
                work,
            )
        raw.commit()
        cur.execute("analyze")
        raw.commit()
    finally:
        raw.close()
    return db


def _all(engine: CaseEngine) -> tuple[float, dict[str, dict[str, int]]]:
    t0 = time.perf_counter()
    counts = {
        rule.code: dict(engine.processes.compliance_check(rule.code).run(engine))
        for rule in engine.processes.compliance_rules()
    }
    return time.perf_counter() - t0, counts


def run(path: Path, *, teachers: int) -> dict[str, float]:
    os.environ.setdefault("RENSHI_AUDIT_KEYS", str(path.parent / "audit-keys"))
    db = build(path, teachers)
    clock = FrozenClock(bureau_time(2026, 9, 1, 7))
    engine = CaseEngine(db, installed(), clock)
    pledge_check = engine.processes.compliance_check("ethics_pledge")
    t0 = time.perf_counter()
    issued = pledge_check.run(engine)
    issuing = time.perf_counter() - t0
    raw = db.raw_connection()
    try:  # 95% signed over September (not timed)
        raw.execute(
            "update ethics_pledges set signed_at = issued_at, text_sha256 = 'x',"
            " signer_id = person_id where person_id % 20 != 0"
        )
        raw.commit()
    finally:
        raw.close()
    clock.set(bureau_time(2026, 10, 8, 7))
    first, counts = _all(engine)
    clock.set(bureau_time(2026, 10, 9, 7))
    again, later = _all(engine)
    with db.connect() as conn:
        open_n = conn.execute(
            select(func.count()).where(table_of(ComplianceFinding).c.closed_at.is_(None))
        ).scalar_one()
    db.dispose()
    found = "，".join(f"{code} {c['found']}" for code, c in counts.items())
    print(f"compliance: {issued.get('issued', 0)} pledges issued; first run found {found}; "
          f"{open_n} open; second run found {sum(c['found'] for c in later.values())}")  # fmt: skip
    return {
        "pledge_issue_600k_s" if teachers >= 600_000 else "pledge_issue_s": round(issuing, 2),
        "checks_600k_s" if teachers >= 600_000 else "checks_s": round(first, 2),
        "checks_600k_again_s" if teachers >= 600_000 else "checks_again_s": round(again, 2),
    }


def figures(quick: bool) -> dict[str, float]:
    """``make bench``: 600,000 teachers (20,000 with ``--quick``)."""
    with tempfile.TemporaryDirectory(prefix="renshi-compliance-") as tmp:
        return run(Path(tmp) / "compliance.db", teachers=20_000 if quick else 600_000)
