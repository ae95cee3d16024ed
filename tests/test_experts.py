"""Expert pools: members per unit and subject, whether each sits this year, the conflicts
they declared; the committee draw leaves out the unavailable and the conflicted as it leaves
out the applicant's school. Imported with a row report, kept in the pages and the API."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, select

from states.clock import bureau_time
from states.errors import Conflict, FormError, NotFound, RuleRefused
from states.registry import experts as ex
from states.registry import history
from states.sheets import read_table
from states.store.models import AuditEvent, OrgUnit, PanelSeat, Person, RoleBinding
from tests.live import Live
from tests.world import Driver, World

AT = bureau_time(2026, 9, 1)


def _id_number(engine: Engine, person_id: int | None) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(select(Person.id_number).where(Person.id == person_id)).scalar_one()
        )


def test_the_draw_leaves_out_the_unavailable_and_the_conflicted(
    engine: Engine, world: World, d: Driver
) -> None:
    city, pool = world.actors["city_officer"], world.unit("city")
    applicant = world.teacher("applicant", "urban")
    case_id = d.declare(applicant)
    d.through_school(case_id)
    away, by_unit, by_person = (world.actors[f"expert{i}"].person_id or 0 for i in (2, 3, 4))
    number = _id_number(engine, applicant.person_id)
    with engine.begin() as conn:
        ex.set_availability(conn, city, unit_id=pool, person_id=away, year=2026,
                            available=False, note="借调外省", expected_version=0,
                            at=AT)  # fmt: skip
        county_conflict = ex.declare_conflict(conn, city, expert_id=by_unit, at=AT,
                                              unit_code="Ueast", note="配偶在东县任教")  # fmt: skip
        person_conflict = ex.declare_conflict(
            conn, city, expert_id=by_person, at=AT, id_number=number
        )
    assert county_conflict.what == "单位：东县（Ueast）"
    # Ten members: two colleagues of the applicant, one away, two conflicted: five left.
    with pytest.raises(RuleRefused, match="回避4人、本年度不参加评审1人后仅有5人可抽取"):
        d.fire(case_id, "qualify", "county_officer")
    with engine.begin() as conn:
        for c in (county_conflict, person_conflict):
            ex.withdraw_conflict(conn, city, expert_id=c.expert_id, conflict_id=c.id, at=AT)
    d.fire(case_id, "qualify", "county_officer")
    with engine.connect() as conn:
        seated = set(
            conn.execute(select(PanelSeat.expert_id).where(PanelSeat.case_id == case_id)).scalars()
        )
        payload = conn.execute(
            select(AuditEvent.payload).where(
                AuditEvent.case_id == case_id, AuditEvent.event == "qualify"
            )
        ).scalar_one()
        trail = history.entries_of(conn, history.PERSON, by_unit)
    assert len(seated) == 7 and away not in seated and {by_unit, by_person} <= seated
    assert json.loads(payload)["panel"]["unavailable"] == 1
    assert [next(iter(e.changes.values()))[1] for e in trail] == ["单位：东县（Ueast）", None]
    # Stale and foreign changes are refused.
    with engine.begin() as conn, pytest.raises(Conflict):
        ex.set_availability(conn, city, unit_id=pool, person_id=away, year=2026,
                            available=True, note=None, expected_version=0, at=AT)  # fmt: skip
    with engine.begin() as conn, pytest.raises(NotFound):
        ex.set_availability(conn, world.actors["county_officer"], unit_id=pool, person_id=away,
                            year=2026, available=True, note=None, expected_version=1,
                            at=AT)  # fmt: skip


def test_import_pools_and_their_size_against_the_committee(engine: Engine, world: World) -> None:
    county = world.actors["county_officer"]
    people = [world.teacher(f"t{i}", "rural", subject="语文") for i in range(3)]
    numbers = [_id_number(engine, p.person_id) for p in people]
    rows = [
        (numbers[0], "Ueast", "语文", "", "", ""),
        (numbers[1], "Ueast", "语文", "2026", "否", "病休"),
        (numbers[2], "Upilot", "语文", "", "", ""),
        ("110101199001011237", "Ueast", "语文", "", "", ""),
        (numbers[0], "Uurban", "语文", "", "", ""),
        (numbers[0], "Uwest", "语文", "", "", ""),
        (numbers[1], "Ueast", "书法", "", "", ""),
        (numbers[2], "Ueast", "语文", "", "否", ""),
    ]
    head = "身份证号,单位代码,学科,年度,本年度可用,说明"
    text = "\n".join([head, *(",".join(r) for r in rows)])
    table = read_table(text.encode(), "评委.csv", schema=ex.EXPERTS)
    with engine.begin() as conn:
        report = ex.import_experts(conn, table, actor=county, at=AT)
    assert report.refused
    said = {e.row: (e.column, e.reason) for e in report.errors}
    assert said[5][0] == "身份证号" and "未登记" in said[5][1]
    assert said[6] == (
        "单位代码",
        "“东县实验中学”是学校，评委库设在县（区）、市、省教育部门或自主评审试点学校",
    )
    assert said[7] == ("单位代码", "单位代码“Uwest”不存在或不在您的管理范围内")
    assert said[8][0] == "学科" and said[9] == ("年度", "填写了“本年度可用”须同时填写年度")
    with engine.begin() as conn:
        partial = ex.import_experts(conn, table, actor=county, at=AT, valid_only=True)
        lines = {(p.unit.code, p.subject): p for p in ex.pools(conn, county, year=2026, needed=7)}
        members = ex.members(conn, county, unit_id=world.unit("east"), subject="语文", year=2026)
    assert partial.written and partial.created == 3
    east = lines[("Ueast", "语文")]
    assert (east.members, east.available, east.status_label) == (2, 1, "不足")
    assert lines[("Upilot", "语文")].members == 1
    assert ("Ucity", "数学") not in lines, "the city's pool is not the county's"
    sick = next(m for m in members if m.person_id == people[1].person_id)
    assert (sick.available, sick.note) == (False, "病休") and "*" in sick.id_number
    with engine.begin() as conn, pytest.raises(Conflict, match="已在东县"):
        ex.add_member(conn, county, unit_id=world.unit("east"), subject="数学",
                      id_number=numbers[0], at=AT)  # fmt: skip
    with engine.begin() as conn, pytest.raises(FormError) as not_a_pool:
        ex.add_member(conn, county, unit_id=world.unit("urban"), subject="数学",
                      id_number=numbers[0], at=AT)  # fmt: skip
    assert not_a_pool.value.field == "unit_id"


def test_the_api_keeps_a_pool(live: Live) -> None:
    county = live.client("county_officer")
    pools = county.get("/api/v1/expert-pools", params={"year": 2026}).json()
    mine = next(p for p in pools if p["subject"] == "数学" and p["tier_label"] == "县（区）")
    unit = mine["unit_id"]
    members = county.get(
        f"/api/v1/expert-pools/{unit}/members", params={"subject": "数学", "year": 2026}
    ).json()
    assert len(members) == mine["members"] and all("*" in m["id_number"] for m in members)
    expert = members[0]["person_id"]
    url = f"/api/v1/expert-pools/{unit}/members/{expert}/availability"
    away = county.put(url, json={"year": 2026, "available": False, "note": "病休",
                                 "expected_version": 0})  # fmt: skip
    assert away.status_code == 200 and away.json()["version"] == 1
    stale = county.put(url, json={"year": 2026, "available": True, "expected_version": 0})
    assert stale.status_code == 409
    reasonless = county.put(url, json={"year": 2026, "available": False, "expected_version": 1})
    assert reasonless.status_code == 422 and reasonless.json()["field"] == "note"
    after = county.get("/api/v1/expert-pools", params={"year": 2026, "unit_id": unit}).json()
    assert next(p for p in after if p["subject"] == "数学")["available"] == mine["available"] - 1
    declared = county.post(f"/api/v1/experts/{expert}/conflicts", json={"unit_code": "NOPE"})
    assert declared.status_code == 422 and declared.json()["field"] == "unit_code"
    with live.services.db.connect() as conn:
        far_pool = conn.execute(
            select(RoleBinding.org_unit_id)
            .join(OrgUnit, OrgUnit.id == RoleBinding.org_unit_id)
            .where(OrgUnit.tier == "county", OrgUnit.id != unit)
        ).scalar()
    foreign = county.get(f"/api/v1/expert-pools/{far_pool}/members", params={"subject": "数学"})
    assert foreign.status_code == 404
    removed = county.delete(f"/api/v1/expert-pools/{unit}/members/{expert}")
    assert removed.status_code == 204
    assert county.delete(f"/api/v1/expert-pools/{unit}/members/{expert}").status_code == 404
