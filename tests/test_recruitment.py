"""A recruitment round from post plan to confirmation, on both databases.

The process is described in docs/processes/recruitment.md."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from states.clock import bureau_time
from states.errors import EventNotAllowed, FormError, RuleRefused
from states.identity import make_id_number
from states.org import PUBLIC_ACTOR, SYSTEM_ACTOR
from states.processes.recruitment import seed as recruitment
from states.processes.recruitment import steps as rec
from states.processes.recruitment.tables import Applicant, PostSeat
from states.seed.builders import walk
from states.store.audit_store import verify_trail
from states.store.models import Case, OutboxMessage
from tests.world import Driver, World, undeclared_keys


def _round(d: Driver, world: World) -> int:
    with d.eng.db.begin() as conn:
        return recruitment.new_round(
            conn, world.unit("province"), "2026年新任教师公开招聘", recruitment.SPRING
        )


def _applicant(n: int, post: str = "DX-SX-01", **over: Any) -> dict[str, Any]:
    birth = dt.date(1998, 1, 1) + dt.timedelta(days=n)
    return {
        "row": n + 2,
        "id_number": make_id_number("110101", birth, n, "F"),
        "name": f"考生{n}",
        "phone": f"1380000{n:04d}",
        "gender": "F",
        "birth_date": birth,
        "education": "bachelor",
        "cert_level": "junior",
        "post_code": post,
        **over,
    }


def _notices(d: Driver) -> list[Any]:
    with d.eng.db.connect() as conn:
        return list(
            conn.execute(select(OutboxMessage).where(OutboxMessage.kind == "case_update")).all()
        )


def _state(d: Driver, case_id: int) -> str:
    return str(d.case(case_id).state)


def _plan(d: Driver, world: World, round_id: int) -> int:
    """The county's plan, passed by the city: waiting for the province."""
    seats = {world.unit("urban"): 1, world.unit("rural"): 1}
    plan = rec.declare_plan(
        d.eng,
        world.actors["county_officer"],
        round_id,
        world.unit("east"),
        [recruitment.post("DX-SX-01", seats, subject="数学", level="junior")],
    )
    road = zip(recruitment.PLAN_ROAD[:2], ("county_officer", "city_officer"), strict=True)
    walk(d.eng, plan, [(event, world.actors[who]) for event, who in road])
    return plan


def test_a_round_from_plan_to_confirmation(d: Driver, world: World) -> None:
    d.clock.set(bureau_time(2026, 3, 2))
    round_id = _round(d, world)
    plan = _plan(d, world, round_id)
    early = rec.register_many(d.eng, world.actors["county_officer"], round_id, [_applicant(0)])
    assert early.errors and "未批准" in early.errors[0][2], "no registration before approval"
    d.fire(plan, "approve", "province_officer")

    # Registration: only inside the window, eligibility at the door, one per ID number.
    d.clock.set(bureau_time(2026, 3, 11, 0, 1))
    with pytest.raises(RuleRefused, match="报名时间为2026-03-01至2026-03-10"):
        rec.register(d.eng, round_id, _applicant(60))
    d.clock.set(bureau_time(2026, 3, 2))
    with pytest.raises(FormError) as young:
        rec.register(d.eng, round_id, _applicant(50, birth_date=dt.date(1980, 1, 1)))
    assert young.value.field == "birth_date" and "年龄" in young.value.message
    with pytest.raises(FormError) as cert:
        rec.register(d.eng, round_id, _applicant(51, cert_level="primary"))
    assert cert.value.field == "cert_level"
    cases = [rec.register(d.eng, round_id, _applicant(i)) for i in range(9)]
    with pytest.raises(FormError, match="已报名"):
        rec.register(d.eng, round_id, _applicant(0))
    assert {_state(d, c) for c in cases} == {"registered"}

    for c in cases:
        d.fire(c, "qualify", "county_officer")
    ids = {c: _applicant(i)["id_number"] for i, c in enumerate(cases)}
    # Written: 2 posts x 3 = 6 through; two tied with the 6th at 80 both go through.
    written = [95, 90, 88, 85, 82, 80, 80, 70, None]
    rec.record_scores(
        d.eng,
        world.actors["province_officer"],
        round_id,
        "written",
        [(ids[c], s) for c, s in zip(cases, written, strict=True)],
    )
    result = rec.shortlist(d.eng, world.actors["city_officer"], round_id)
    assert result == {"shortlisted": 7, "not_shortlisted": 2}
    assert [_state(d, c) for c in cases[5:]] == [
        "shortlisted",
        "shortlisted",
        "not_shortlisted",
        "not_shortlisted",
    ]

    # Each applicant hears of the step on the mobile they registered, bulk step or not.
    phones = {c: _applicant(i)["phone"] for i, c in enumerate(cases)}
    notices = _notices(d)
    assert {n.case_id: n.payload["to"] for n in notices if n.payload["event"] == "shortlist"} == {
        c: "shortlisted" for c in cases[:7]
    }
    assert {n.payload["phone"] for n in notices if n.payload["event"] == "not_shortlist"} == {
        phones[c] for c in cases[7:]
    }
    assert all(n.recipient_id is None and n.payload["name"].startswith("考生") for n in notices)

    interview = [70, 80, 90, 60, 85, 88, 86]
    rec.record_scores(
        d.eng,
        world.actors["city_officer"],
        round_id,
        "interview",
        [(ids[c], s) for c, s in zip(cases, interview, strict=False)],
    )
    assert rec.rank(d.eng, world.actors["city_officer"], round_id) == {
        "to_physical": 2,
        "reserve": 5,
    }
    with d.eng.db.connect() as conn:
        ranks = dict(conn.execute(select(Applicant.case_id, Applicant.rank)).all())
    # composites: 82.5, 85, 89, 72.5, 83.5, 84, 83 -> 89, 85, 84, 83.5, 83, 82.5, 72.5
    assert [ranks[c] for c in cases[:7]] == [6, 2, 1, 7, 4, 3, 5]
    first, second, third = cases[2], cases[1], cases[5]
    assert _state(d, first) == _state(d, second) == "physical"

    # A dropout after the physical is replaced by the next-ranked in reserve.
    d.fire(second, "fail_physical", "county_officer", {"reason": "体检不合格"})
    assert rec.fill_vacancies(d.eng, world.actors["city_officer"], round_id) == 1
    assert _state(d, third) == "physical"
    assert rec.fill_vacancies(d.eng, world.actors["city_officer"], round_id) == 0
    [failed] = [n for n in _notices(d) if n.payload["event"] == "fail_physical"]
    assert failed.payload["phone"] == phones[second]
    assert failed.payload["reason"] == "体检不合格"

    for c in (first, third):
        d.fire(c, "pass_physical", "county_officer")
        d.fire(c, "pass_background", "county_officer")
    [window] = d.open_tasks(first)
    assert window.due_on == dt.date(2026, 3, 11)  # 7 working days from Mon 2 March

    # An objection during the publicity stops that candidate's clock until the county has
    # looked into it; a dismissed objection resumes it with the days that were left.
    d.clock.set(bureau_time(2026, 3, 4, 10))
    objection = {"content": "学历证书存疑", "contact_name": "张三", "contact_phone": "13800138000"}
    d.fire(third, "raise_objection", PUBLIC_ACTOR, objection)
    assert _state(d, third) == "objection_review"
    with pytest.raises(EventNotAllowed):
        d.fire(third, "close_publicity", SYSTEM_ACTOR)
    d.clock.set(bureau_time(2026, 3, 6, 10))
    d.fire(third, "dismiss_objection", "county_officer", {"reason": "经核查学历证书真实有效"})
    assert _state(d, third) == "publicity"
    [resumed] = d.open_tasks(third)
    assert resumed.due_on > window.due_on, "the days of the suspension are not counted"
    assert d.case(third).data["objections"][0]["contact_name"] == "张三"
    # The publicity block's rules hold here too: one objection per mobile per window.
    assert d.case(third).data["objections"][0]["receipt"] == f"YY-{third}-1"
    with pytest.raises(RuleRefused) as again:
        d.fire(third, "raise_objection", PUBLIC_ACTOR, {**objection, "content": "另有问题"})
    assert again.value.field == "contact_phone"

    # the window is not cut short, not even by the system: only after its last day
    d.clock.set(bureau_time(2026, 3, 11, 23, 55))
    with pytest.raises(RuleRefused, match="公示期未满，公示至2026-03-11（含）"):
        d.fire(first, "close_publicity", SYSTEM_ACTOR)
    d.clock.set(bureau_time(2026, 3, 12, 0, 5))
    d.fire(first, "close_publicity", SYSTEM_ACTOR)
    end = resumed.due_on + dt.timedelta(days=1)
    d.clock.set(bureau_time(end.year, end.month, end.day, 0, 5))
    d.fire(third, "close_publicity", SYSTEM_ACTOR)

    # Post choice in rank order; skipping sends the first to the end; no school overfilled.
    with d.eng.db.connect() as conn:
        seats = dict(conn.execute(select(PostSeat.school_id, PostSeat.id)).all())
    urban, rural = seats[world.unit("urban")], seats[world.unit("rural")]
    county = world.actors["county_officer"]
    with pytest.raises(RuleRefused, match="尚未轮到"):
        rec.choose_post(d.eng, county, third, urban, expected_version=d.case(third).version)
    rec.skip_choice(d.eng, county, first, expected_version=d.case(first).version)
    rec.choose_post(d.eng, county, third, urban, expected_version=d.case(third).version)
    with pytest.raises(RuleRefused, match="名额已满"):
        rec.choose_post(d.eng, county, first, urban, expected_version=d.case(first).version)
    rec.choose_post(d.eng, county, first, rural, expected_version=d.case(first).version)
    assert _state(d, first) == _state(d, third) == "probation"
    d.clock.set(bureau_time(2026, 12, 1))
    with pytest.raises(RuleRefused, match="试用期未满"):
        d.fire(first, "confirm", "county_officer")
    d.clock.set(bureau_time(2027, 3, 15))
    d.fire(first, "confirm", "county_officer")
    assert _state(d, first) == "confirmed"
    # Every step, bulk or single, left chains that an inspector's verification accepts.
    with d.eng.db.connect() as conn:
        assert list(verify_trail(conn)) == []
    # and nothing on the record whose readers nobody declared
    assert undeclared_keys(d.eng) == {}


def test_one_application_per_id_number_a_year_whichever_round(d: Driver, world: World) -> None:
    """DOMAIN: one application per ID number per year. A spring round and an autumn round of
    the same year do not take the same person twice, online or by an officer's import."""
    d.clock.set(bureau_time(2026, 3, 2))
    spring = _round(d, world)
    d.fire(_plan(d, world, spring), "approve", "province_officer")
    rec.register(d.eng, spring, _applicant(0))
    county = world.actors["county_officer"]
    autumn = recruitment.round_with_post(
        d.eng, county, name="2026年秋季新任教师招聘", code="DX-YW-01", seats=1
    )
    d.clock.set(bureau_time(2026, 9, 1))
    again = _applicant(0, post="DX-YW-01")  # from the phone that registered in spring
    with pytest.raises(FormError, match="今年已报名") as online:
        rec.register(d.eng, autumn, again)
    assert online.value.field == "id_number"
    imported = rec.register_many(d.eng, county, autumn, [again])
    assert imported.errors == [
        (again["row"], "id_number", "该身份证号今年已报名，每人每年限报一个岗位")
    ]
    assert rec.register(d.eng, autumn, _applicant(1, post="DX-YW-01")), "anyone else may"


def test_bulk_steps_refuse_wrong_actor_and_write_nothing(d: Driver, world: World) -> None:
    d.clock.set(bureau_time(2026, 3, 2))
    round_id = _round(d, world)
    plan = _plan(d, world, round_id)
    d.fire(plan, "approve", "province_officer")
    cases = [rec.register(d.eng, round_id, _applicant(i)) for i in range(3)]
    for c in cases:
        d.fire(c, "qualify", "county_officer")
    before = [d.case(c).version for c in cases]
    with pytest.raises(FormError, match="省"):
        rec.record_scores(
            d.eng,
            world.actors["county_officer"],
            round_id,
            "written",
            [(_applicant(i)["id_number"], 90.0) for i in range(3)],
        )
    assert [d.case(c).version for c in cases] == before
    with d.eng.db.connect() as conn:
        assert conn.execute(select(Applicant.written_score)).scalars().all() == [None] * 3
        assert (
            conn.execute(select(Case.state).where(Case.id.in_(cases))).scalars().all()
            == ["qualified"] * 3
        )
