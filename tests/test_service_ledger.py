"""The service ledger: terms of rural or weak-school service credited by the processes,
read by title review's rural-experience rule beside the imported years, shown on the
record's sealed history, never edited — a mistake is corrected by a new entry with a reason.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, insert, select, update

from states.clock import FrozenClock
from states.engine import CaseEngine
from states.errors import FormError, NotFound, PermissionDenied, RuleRefused
from states.registry import service
from states.registry.roster import history_of
from states.store.models import Case, ServiceCredit, table_of
from tests.world import DECLARE, World

cases_t = table_of(Case)


def _source_case(engine: Engine, world: World, teacher_id: int) -> int:
    """A case for the credit to name (the ledger keeps the case it came from)."""
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(cases_t)
                .values(
                    process="rotation", year=2026, state="returned",
                    closed_at=dt.datetime.now(dt.UTC),
                    org_unit_id=world.unit("rural"), org_path=world.units["rural"][1],
                    applicant_id=teacher_id, subject_id=teacher_id, data={}, version=1,
                    seq=1, audit_head="0" * 64, opened_at=dt.datetime.now(dt.UTC),
                    updated_at=dt.datetime.now(dt.UTC),
                )
                .returning(cases_t.c.id)
            ).scalar_one()
        )  # fmt: skip


def _credit(
    engine: Engine, world: World, teacher_id: int, case_id: int, clock: FrozenClock,
    start: dt.date, end: dt.date, assessment: str | None = "competent",
) -> int | None:  # fmt: skip
    with engine.begin() as conn:
        return service.credit(
            conn, teacher_id=teacher_id, kind=service.SUPPORT, source_case_id=case_id,
            school_id=world.unit("rural"), started_on=start, ended_on=end,
            assessment=assessment, actor=world.actors["county_officer"], at=clock.now(),
        )  # fmt: skip


def test_months_served_counts_whole_months_with_the_last_day() -> None:
    assert service.months_served(dt.date(2027, 9, 1), dt.date(2028, 8, 31)) == 12
    assert service.months_served(dt.date(2027, 9, 1), dt.date(2028, 8, 30)) == 11
    assert service.months_served(dt.date(2027, 9, 15), dt.date(2027, 12, 14)) == 3
    assert service.months_served(dt.date(2027, 9, 1), dt.date(2027, 9, 20)) == 0
    assert service.months_served(dt.date(2027, 9, 1), dt.date(2027, 8, 1)) == 0


def test_an_urban_teachers_declaration_counts_the_ledger(
    eng: CaseEngine, world: World, engine: Engine, clock: FrozenClock
) -> None:
    """Refused with what is missing before the term; accepted once it is credited."""
    teacher = world.teacher("沈老师", "urban", rural_years=0.5)
    with pytest.raises(RuleRefused) as refused:
        eng.start("title_review", teacher, DECLARE, submit=True)
    words = refused.value.message
    assert "现为0.5年（档案登记0.5年，支教及交流记录0年），尚缺0.5年" in words
    with engine.connect() as conn:  # nothing half-written: no stranded draft
        assert not conn.execute(
            select(cases_t.c.id).where(cases_t.c.applicant_id == teacher.person_id)
        ).all()

    source = _source_case(engine, world, teacher.person_id)
    # five months are not enough: the refusal says so in the ledger's own numbers
    assert _credit(engine, world, teacher.person_id, source, clock,
                   dt.date(2025, 9, 1), dt.date(2026, 1, 31))  # fmt: skip
    with pytest.raises(RuleRefused) as refused:
        eng.start("title_review", teacher, DECLARE, submit=True)
    assert "现为0.92年（档案登记0.5年，支教及交流记录0.42年），尚缺0.08年" in refused.value.message

    second = _source_case(engine, world, teacher.person_id)
    assert _credit(engine, world, teacher.person_id, second, clock,
                   dt.date(2026, 2, 1), dt.date(2026, 7, 31))  # fmt: skip
    result = eng.start("title_review", teacher, DECLARE, submit=True)
    assert result.to_state != "draft"


def test_one_credit_per_case_on_the_sealed_history(
    world: World, engine: Engine, clock: FrozenClock
) -> None:
    teacher = world.teacher("韩老师", "urban", rural_years=0)
    source = _source_case(engine, world, teacher.person_id)
    first = _credit(engine, world, teacher.person_id, source, clock,
                    dt.date(2025, 9, 1), dt.date(2026, 8, 31))  # fmt: skip
    again = _credit(engine, world, teacher.person_id, source, clock,
                    dt.date(2025, 9, 1), dt.date(2026, 8, 31))  # fmt: skip
    assert first is not None and again is None
    with engine.connect() as conn:
        [entry] = service.entries(conn, teacher.person_id)
        assert service.credited_years(conn, teacher.person_id) == 1.0
        found = history_of(conn, world.actors["county_officer"], teacher.person_id)
    assert entry.text() == (
        f"支教 东县乡村小学 2025-09-01至2026-08-31 12个月（1年） 考核称职 事项 {source}"
    )
    last = found.entries[-1]
    assert last.source == "case" and last.case_id == source
    assert last.changes["service_credit"][1] == entry.text()
    assert last.changes[service.HISTORY_FIELD] == [0, 1]
    assert found.verification.ok


def test_a_credit_is_corrected_by_a_new_entry_never_edited(
    world: World, engine: Engine, clock: FrozenClock
) -> None:
    teacher = world.teacher("秦老师", "urban", rural_years=0)
    source = _source_case(engine, world, teacher.person_id)
    credit_id = _credit(engine, world, teacher.person_id, source, clock,
                        dt.date(2025, 9, 1), dt.date(2026, 8, 31))  # fmt: skip
    assert credit_id is not None
    county, school = world.actors["county_officer"], world.actors["school_officer"]
    west = world.actors["west_officer"]

    def correct(actor: object, months: int, reason: str) -> int:
        with engine.begin() as conn:
            return service.correct_as(
                conn,
                actor,
                credit_id,
                months=months,
                reason=reason,
                at=clock.now(),  # type: ignore[arg-type]
            )

    with pytest.raises(FormError) as bad:
        correct(county, -2, "  ")
    assert bad.value.field == "reason"
    with pytest.raises(FormError) as bad:
        correct(county, -13, "考核材料核实后更正")
    assert bad.value.field == "months" and "不能少于0" in bad.value.message
    with pytest.raises(PermissionDenied):  # the school whose teacher it favours
        correct(school, -2, "考核材料核实后更正")
    with pytest.raises(NotFound):  # another county does not learn it exists
        correct(west, -2, "考核材料核实后更正")

    fixed = correct(county, -2, "病假两个月不计入支教时间")
    with engine.connect() as conn:
        entries = service.entries(conn, teacher.person_id)
        assert service.credited_years(conn, teacher.person_id) == 0.83
        found = history_of(conn, county, teacher.person_id)
        assert service.unproven(conn, teacher.person_id) == []
    assert [(e.id, e.kind, e.months, e.corrects_id) for e in entries] == [
        (credit_id, service.SUPPORT, 12, None),
        (fixed, service.CORRECTION, -2, credit_id),
    ]
    assert entries[1].text() == f"更正第{credit_id}条记录 -2个月：病假两个月不计入支教时间"
    assert found.entries[-1].changes[service.HISTORY_FIELD] == [1, 0.83]
    # a correction is not corrected: the entry is
    with pytest.raises(FormError), engine.begin() as conn:
        service.correct(conn, fixed, months=1, reason="再次更正试试", actor=county, at=clock.now())

    # an entry changed in the table no longer matches the sealed history's copy of it
    with engine.begin() as conn:
        conn.execute(
            update(table_of(ServiceCredit))
            .where(ServiceCredit.id == credit_id)
            .values(months=24, years=2.0)
        )
        assert service.unproven(conn, teacher.person_id) == [credit_id]
