"""Rotation's compliance check per school (交流轮岗学校比例), on both databases: once a
county's result is published, each sending school placed below its own required count is a
finding for that school — exactly the schools the result page lists as short — a school
meeting its quota and a school with every eligible teacher exempted are not; a second run
opens nothing new; the finding closes by itself once the numbers change."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update

from states.clock import FrozenClock
from states.engine import CaseEngine
from states.processes.compliance import checks
from states.processes.compliance.tables import ComplianceFinding
from states.processes.rotation import campaigns, lists, results
from states.processes.rotation import posts as posts_mod
from states.processes.rotation.compliance import SCHOOL_TARGETS
from states.processes.rotation.tables import RotationEligible, RotationPlacement
from states.store.models import OutboxMessage, table_of
from tests.test_rotation import CAMPAIGN, _county, _to
from tests.world import World

findings_t, outbox_t = table_of(ComplianceFinding), table_of(OutboxMessage)
eligible_t, placements_t = table_of(RotationEligible), table_of(RotationPlacement)
RULE = SCHOOL_TARGETS.code


def _run(eng: CaseEngine) -> dict[str, int]:
    """The rule as its scheduled job runs it."""
    return dict(eng.processes.compliance_check(RULE).run(eng))


def _findings(eng: CaseEngine, *, closed: bool = False) -> dict[int, tuple[int, str]]:
    """Open (or closed) findings: school → (unit answering, detail or how it closed)."""
    f = findings_t.c
    with eng.db.connect() as conn:
        rows = conn.execute(
            select(f.subject_id, f.unit_id, f.closed_how if closed else f.detail).where(
                f.rule == RULE,
                f.subject_kind == "unit",
                f.closed_at.is_not(None) if closed else f.closed_at.is_(None),
            )
        ).all()
    return {int(r[0]): (int(r[1]), str(r[2])) for r in rows}


def _published(eng: CaseEngine, world: World, clock: FrozenClock) -> Any:
    """东县's campaign published with 2 of 东县实验中学's 21 eligible nominated (3 required)
    and 2 of the pilot school's 10 (1 required): 4 candidates on 5 places, all placed."""
    county = _county(world)
    officer = world.actors["county_officer"]
    cid = campaigns.open_campaign(eng, officer, CAMPAIGN)
    table = posts_mod.table_of_rows(
        [
            {"school_code": "Urural", "subject": "数学", "level": "初中", "places": 3},
            {"school_code": "Uweak", "subject": "数学", "level": "初中", "places": 2},
        ]
    )
    assert posts_mod.import_posts(eng, officer, cid, table).written
    for event in ("compute_eligibility", "open_preferences"):
        campaigns.step(eng, officer, cid, event)
    for t in county.urban[:2] + county.pilot[:2]:
        lists.nominate(eng, officer, cid, int(t.person_id))
    _to(clock, dt.date(2026, 9, 16))
    for event in ("close_preferences", "start_matching", "run_match"):
        campaigns.step(eng, officer, cid, event)
    assert _run(eng)["open"] == 0  # matched, not yet published: nothing stands
    campaigns.step(eng, officer, cid, "publish", {"shortfall_reason": "本校符合条件的教师不愿交流"})
    with eng.db.connect() as conn:
        return campaigns.load_row(conn, cid)


def _exempt(eng: CaseEngine, c: Any, school: int, n: int | None = None) -> None:
    """Exemptions approved for ``n`` (all: None) unplaced teachers of the school."""
    e = eligible_t.c
    placed = select(placements_t.c.person_id).where(
        placements_t.c.campaign_id == c.id, placements_t.c.post_id.is_not(None)
    )
    with eng.db.begin() as conn:
        query = select(e.person_id).where(e.campaign_id == c.id, e.school_id == school)
        if n is not None:
            query = query.where(e.person_id.not_in(placed))
        people = conn.execute(query.order_by(e.person_id)).scalars().all()
        conn.execute(
            update(eligible_t)
            .where(e.campaign_id == c.id, e.person_id.in_(people[:n] if n else people))
            .values(exempt_case_id=c.case_id, exempt_kind="患病")
        )


def test_a_school_below_its_quota_is_found_and_closed_once_it_meets_it(
    eng: CaseEngine, world: World, clock: FrozenClock
) -> None:
    c = _published(eng, world, clock)
    urban, pilot = world.unit("urban"), world.unit("pilot")
    done = _run(eng)
    assert (done["open"], done["found"], done["closed"]) == (1, 1, 0)
    # the school answers for it, in the words of the result page's shortfall
    assert _findings(eng) == {
        urban: (urban, "2026学年交流轮岗：应交流3人（符合条件21人的10%），已交流2人，差1人")
    }  # the pilot school placed 2 of its 1 required: not found
    with eng.db.connect() as conn:  # exactly the schools the result page lists as short
        _, missed, _ = results.check(conn, c)
    assert {s.school_id for s in missed if s.code == "school"} == set(_findings(eng))
    with eng.db.connect() as conn:
        told = conn.execute(
            select(outbox_t.c.recipient_unit_id, outbox_t.c.payload).where(
                outbox_t.c.kind == checks.NOTICE
            )
        ).all()
    assert [(r[0], r[1]["task_title"]) for r in told] == [(urban, "交流轮岗学校比例未达标")]

    # run again: the same finding stands, nothing new, nobody told twice
    again = _run(eng)
    assert (again["open"], again["found"], again["closed"]) == (1, 0, 0)
    assert list(_findings(eng)) == [urban]

    # a school whose every eligible teacher is exempted requires none: never short
    _exempt(eng, c, pilot)
    assert _run(eng)["found"] == 0 and pilot not in _findings(eng)

    # two more exemptions at the urban school: 19 eligible, 2 required, 2 placed — closed
    _exempt(eng, c, urban, 2)
    closed = _run(eng)
    assert (closed["open"], closed["closed"]) == (0, 1)
    assert _findings(eng) == {} and _findings(eng, closed=True) == {
        urban: (urban, checks.CLOSED_HOW)
    }


def test_only_published_results_of_this_school_year_count(
    eng: CaseEngine, world: World, clock: FrozenClock
) -> None:
    _published(eng, world, clock)
    assert _run(eng)["found"] == 1
    _to(clock, dt.date(2027, 9, 1))  # the next school year: last year's result no longer
    urban = world.unit("urban")
    assert _run(eng)["open"] == 0
    assert _findings(eng, closed=True) == {urban: (urban, checks.CLOSED_HOW)}
