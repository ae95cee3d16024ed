"""What the service ledger costs title review's ``fire``: the declaration (提交申报), whose
rural-experience rule reads the teacher's imported years plus the ledger's credited months,
against the same declaration reading the imported years alone — the teacher query as it was
before the ledger — in one run, interleaved rounds, the order turned each round.

A third of the teachers hold ledger entries (one or two terms each), so the ledger side's
sum reads real index entries, not an empty table.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, insert

from benchmarks.common import fresh_db
from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine
from states.engine.context import CaseContext
from states.engine.statements import LOAD_TEACHER
from states.errors import NotFound
from states.process.rules import TeacherFacts
from states.processes import installed
from states.processes.title_review import seed as title_review
from states.seed import seed
from states.store.bulk import FastOne
from states.store.models import OrgUnit, ServiceCredit, table_of
from states.store.people import load_actor

credits_t = table_of(ServiceCredit)
WARM = 40

# The teacher's record without the ledger's sum: the query before the ledger existed.
PLAIN_TEACHER = FastOne(
    LOAD_TEACHER.with_only_columns(
        *(c for c in LOAD_TEACHER.selected_columns if c.name != "credited_months")
    )
)


def plain_teacher_facts(conn: Connection, ctx: CaseContext) -> TeacherFacts:
    rows = PLAIN_TEACHER.all(conn, {"person_id": ctx.case.subject_id})
    if not rows:
        raise NotFound("教师档案不存在")
    r = rows[0]
    return TeacherFacts(
        person_id=r.person_id, name=r.name, school_id=r.school_id, school_is_rural=r.is_rural,
        school_is_weak=r.is_weak, subject=r.subject, title=r.title, title_date=r.title_date,
        education=r.education, rural_years=r.rural_years, birth_date=r.birth_date,
        ethics_dates=tuple(x.occurred_on for x in rows if x.occurred_on is not None),
    )  # fmt: skip


def _ledger(conn: Connection, teacher_ids: list[int], school_id: int) -> None:
    """One or two credited terms for every third teacher."""
    now = bureau_time(2026, 8, 31)
    rows = []
    for n, tid in enumerate(teacher_ids[::3]):
        for term in range(1 + n % 2):
            start = dt.date(2023 + term, 9, 1)
            rows.append(
                {
                    "teacher_id": tid, "kind": "support_teaching", "source_case_id": None,
                    "corrects_id": None, "school_id": school_id, "school_name": "乡村学校",
                    "started_on": start, "ended_on": dt.date(start.year + 1, 8, 31),
                    "months": 12, "years": 1.0, "assessment": "competent", "reason": None,
                    "recorded_at": now, "recorded_by": None,
                }
            )  # fmt: skip
    conn.execute(insert(credits_t), rows)


def run(path: Path, *, teachers: int, cases: int, rounds: int = 20) -> dict[str, float]:
    db = fresh_db(path)
    seed(db, teachers)
    clock = FrozenClock(bureau_time(2026, 9, 1))
    ledger = CaseEngine(db, installed(), clock)
    plain = CaseEngine(db, installed(), clock)
    plain.processes.fact_loaders[TeacherFacts] = plain_teacher_facts
    with db.begin() as conn:
        chosen = title_review.eligible(conn, cases)
        school = conn.execute(
            table_of(OrgUnit).select().where(OrgUnit.is_rural.is_(True)).limit(1)
        ).first()
        assert school is not None
        _ledger(conn, [t.person_id for t in chosen], school.id)
        actors = {t.person_id: load_actor(conn, person_id=t.person_id) for t in chosen}
    drafts = []
    for t in chosen:
        started = ledger.start("title_review", actors[t.person_id],
                               title_review.declaration(t.subject))  # fmt: skip
        drafts.append((started.case_id, actors[t.person_id]))
    warm, drafts = drafts[:WARM], drafts[WARM:]
    engines = {"ledger": ledger, "plain": plain}
    sides = {name: drafts[i :: len(engines)] for i, name in enumerate(engines)}
    per_round = max(1, min(len(v) for v in sides.values()) // rounds)

    def submit(eng: CaseEngine) -> Callable[[tuple[int, object]], object]:
        return lambda c: eng.fire(c[0], "submit", c[1], expected_version=1)  # type: ignore[arg-type]

    for i, case in enumerate(warm):
        submit(ledger if i % 2 else plain)(case)
    spent = dict.fromkeys(engines, 0.0)
    done = dict.fromkeys(engines, 0)
    for r in range(rounds):
        for name in engines if r % 2 == 0 else reversed(list(engines)):
            step = submit(engines[name])
            batch = sides[name][r * per_round : (r + 1) * per_round]
            t0 = time.perf_counter()
            for case in batch:
                step(case)
            spent[name] += time.perf_counter() - t0
            done[name] += len(batch)
    db.dispose()
    rate = {name: done[name] / spent[name] for name in engines}
    return {
        "fire_ledger_per_s": round(rate["ledger"], 1),
        "fire_plain_rule_per_s": round(rate["plain"], 1),
        "fire_ledger_vs_plain": round(rate["ledger"] / rate["plain"], 3),
    }
