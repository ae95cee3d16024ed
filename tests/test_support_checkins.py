"""The monthly check-in sweep of support teaching (支教月度考勤) on both databases: each on-site
term gets one check-in a month with one task for its receiving school, and each school one
notice, however often the sweep runs; a sweep that missed months catches up; sweeps racing on
PostgreSQL leave one check-in and one task per month; and the scheduled deployment's flow,
run twice under the Prefect test harness, opens each check-in once."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from states.clock import FrozenClock
from states.engine import CaseEngine
from states.org import SCHOOL_OFFICER
from states.processes.support_teaching import applications, checkins
from states.processes.support_teaching.tables import SupportCheckin
from states.store.models import OutboxMessage, Task, table_of
from tests.test_flows import prefect_server  # noqa: F401 - fixture
from tests.test_support_teaching import at, declare, dispatch, term_of, urban_teacher
from tests.world import Driver, World

checkins_t, tasks_t, outbox_t = table_of(SupportCheckin), table_of(Task), table_of(OutboxMessage)


def on_site(d: Driver, world: World, clock: FrozenClock, per_school: int = 3) -> list[int]:
    """``per_school`` teachers of the urban school on site at each of two receiving schools
    (the rural school and a weak one) since 1 September 2025: their term case ids."""
    with world.engine.begin() as conn:
        world.add_unit(conn, "weak", "school", "东县薄弱初中", "east", is_weak=True)
    world.officer("weak_officer", SCHOOL_OFFICER, "weak")
    at(clock, dt.date(2025, 6, 3))
    terms = []
    for officer in ("rural_officer", "weak_officer"):
        need = declare(d, officer, places=per_school)
        d.fire(need, "approve", "county_officer")
        for i in range(per_school):
            teacher = urban_teacher(world, f"{officer}{i}")
            app = applications.nominate(
                d.eng, world.actors["school_officer"], need, teacher.person_id
            ).case_id
            d.fire(app, "select_teacher", "county_officer")
            terms.append(term_of(d, app))
    for term in terms:
        dispatch(d, term, dt.date(2025, 9, 1))
    return terms


def rows(eng: CaseEngine) -> list[Any]:
    with eng.db.connect() as conn:
        return list(
            conn.execute(
                select(
                    checkins_t.c.term_case_id, checkins_t.c.month, checkins_t.c.task_id
                ).order_by(checkins_t.c.term_case_id, checkins_t.c.month)
            )
        )


def checkin_tasks(eng: CaseEngine) -> int:
    """Open tasks of terms on site: every one of them is a month's check-in."""
    with eng.db.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(
                    tasks_t.c.state == "on_site",
                    tasks_t.c.kind == "act",
                    tasks_t.c.status == "open",
                )
            ).scalar_one()
        )


def due_notices(eng: CaseEngine) -> list[Any]:
    with eng.db.connect() as conn:
        return list(
            conn.execute(
                select(outbox_t.c.recipient_role, outbox_t.c.recipient_unit_id, outbox_t.c.payload)
                .where(outbox_t.c.kind == "support_checkin_due")
                .order_by(outbox_t.c.id)
            )
        )


def test_the_sweep_opens_each_month_once_and_tells_each_school_once(
    d: Driver, world: World, clock: FrozenClock
) -> None:
    terms = on_site(d, world, clock)
    at(clock, dt.date(2025, 9, 1))
    assert checkins.open_checkins(d.eng) == {"opened": 6, "schools": 2}
    assert checkins.open_checkins(d.eng) == {}
    at(clock, dt.date(2025, 9, 20))
    assert checkins.open_checkins(d.eng) == {}
    found = rows(d.eng)
    assert [(r.term_case_id, r.month) for r in found] == [(t, dt.date(2025, 9, 1)) for t in terms]
    assert len({r.task_id for r in found}) == 6 == checkin_tasks(d.eng)
    told = due_notices(d.eng)
    assert sorted(n.recipient_unit_id for n in told) == sorted(
        [world.unit("rural"), world.unit("weak")]
    )
    assert all(n.recipient_role == SCHOOL_OFFICER for n in told)
    assert told[0].payload["support_detail"] == "3名支教教师2025-09的月度考勤待填报"

    # a sweep that did not run for two months opens both at once, each with its deadline
    at(clock, dt.date(2025, 11, 3))
    assert checkins.open_checkins(d.eng) == {"opened": 12, "schools": 2}
    assert checkins.open_checkins(d.eng) == {}
    with d.eng.db.connect() as conn:
        dues = dict(
            conn.execute(
                select(checkins_t.c.month, func.min(tasks_t.c.due_on))
                .join(tasks_t, tasks_t.c.id == checkins_t.c.task_id)
                .group_by(checkins_t.c.month)
            )
            .tuples()
            .all()
        )
    # five working days after each month's end: 1–8 October are off, Saturday 11 October is
    # a make-up working day, so September's are 9, 10, 11, 13 and 14 October
    assert dues == {
        dt.date(2025, 9, 1): dt.date(2025, 10, 14),
        dt.date(2025, 10, 1): dt.date(2025, 11, 7),
        dt.date(2025, 11, 1): dt.date(2025, 12, 5),
    }
    assert len(rows(d.eng)) == 18 == checkin_tasks(d.eng)
    assert "2025-10至2025-11" in due_notices(d.eng)[-1].payload["support_detail"]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_sweeps_racing_open_each_month_once(d: Driver, world: World, clock: FrozenClock) -> None:
    on_site(d, world, clock, per_school=4)
    at(clock, dt.date(2025, 10, 8))
    start = threading.Barrier(4)
    reports: list[Any] = [None] * 4

    def run(i: int) -> None:
        start.wait()
        try:
            reports[i] = checkins.open_checkins(d.eng)
        except BaseException as exc:
            reports[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not [r for r in reports if isinstance(r, BaseException)], reports
    # the months of eight terms opened once in all: no month twice, no task without its month
    assert sum(r.get("opened", 0) for r in reports) == 16, reports
    found = rows(d.eng)
    assert len(found) == 16 == len({(r.term_case_id, r.month) for r in found})
    assert checkin_tasks(d.eng) == 16
    assert len(due_notices(d.eng)) == 2


# One backend: the harness costs a Prefect server's start-up; the sweep it runs is the one
# the tests above hold on both.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_deployment_run_twice_under_the_prefect_harness_opens_each_checkin_once(
    prefect_server: None,  # noqa: F811
    d: Driver,
    world: World,
    clock: FrozenClock,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.serve import deployments
    from flows.sweeps import process_check_flow

    # the monthly deployment, as flows.serve (and deploy/prefect.yaml) declare it
    [monthly] = [dep for dep in deployments() if dep.name == "support-checkins"]
    assert monthly.schedules[0].schedule.cron == "30 6 1 * *"
    assert monthly.parameters == {"key": "support-checkins"}
    terms = on_site(d, world, clock, per_school=1)
    monkeypatch.setenv("RENSHI_DATABASE_URL", db_url)
    first = process_check_flow(**monthly.parameters, at="2025-10-01T06:30:00+08:00")
    assert first["opened"] == 4 and first["schools"] == 2
    again = process_check_flow(**monthly.parameters, at="2025-10-01T06:30:00+08:00")
    assert not again.get("opened"), again
    found = rows(d.eng)
    assert [(r.term_case_id, r.month) for r in found] == [
        (t, m) for t in terms for m in (dt.date(2025, 9, 1), dt.date(2025, 10, 1))
    ]
    assert checkin_tasks(d.eng) == 4
