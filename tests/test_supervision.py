"""Supervision (督查) on both databases: a county's unannounced inspection campaign drawn
"双随机" and drawn again from its seeds to the same result; findings recorded with their
evidence; one rectification accepted on re-inspection, one reported (通报), one overdue and
escalated once; the bad input each step refuses, with nothing half-written; what an
inspector, the organiser, the target's officer and another unit's officer each receive;
and the same campaign over the JSON API and the pages."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from api.auth import hash_password
from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine
from states.engine.visibility import case_file
from states.errors import EventNotAllowed, PermissionDenied, RuleRefused
from states.org import COUNTY_OFFICER, INSPECTOR, SCHOOL_OFFICER, Actor
from states.processes.supervision import campaigns, findings, report, store
from states.processes.supervision.draw import digest, redraw
from states.processes.supervision.findings import Evidence
from states.seed.builders import bind
from states.store import queries
from states.store.models import Attachment, AuditEvent, Case, OutboxMessage, Person, Task, table_of
from states.sweeps import checks_sweep, deadline_sweep
from tests.cli import renshi_here as here
from tests.cli import renshi_process
from tests.live import PASSWORD, Live, serve
from tests.test_pages import _sign_in
from tests.world import World, undeclared_keys

CHECKLIST = [
    {"code": "A1", "text": "在职教师有偿补课", "evidence": True},
    {"code": "A2", "text": "师德承诺书签订", "evidence": False},
]
FORM: dict[str, Any] = {
    "title": "在职教师有偿补课专项督查",
    "year": 2026,
    "visit_from": "2026-09-07",
    "visit_to": "2026-09-11",
    "ratio_percent": 50,
    "per_target": 2,
    "rectify_days": 10,
    "checklist": CHECKLIST,
}
PHOTO = Evidence("现场照片.jpg", "image/jpeg", 2048, "ab" * 32)
PROOF = Evidence("整改报告.pdf", "application/pdf", 4096, "cd" * 32)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81"
    b"\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CLUE = "家长来电举报，电话记录编号0917"


# --- the county -------------------------------------------------------------------------------
@dataclass
class County:
    world: World
    organiser: Actor  # 东县's personnel section
    inspectors: list[Actor]  # bound at 东县
    part_timer: Actor  # a teacher at 东县实验中学, inspector at 东县 (兼职督学)
    school_inspector: Actor  # inspector bound at 东县乡村小学

    def actor(self, person_id: int) -> Actor:
        return next(a for a in self.world.actors.values() if a.person_id == person_id)


def _county(world: World) -> County:
    """东县 with eight schools, three inspectors at the bureau, a part-time inspector who
    teaches at 东县实验中学 and one bound at 东县乡村小学; every person can sign in."""
    with world.engine.begin() as conn:
        for i in range(5):
            world.add_unit(conn, f"s{i}", "school", f"东县第{i + 1}小学", "east")
    inspectors = [world.officer(f"督查员{i}", INSPECTOR, "east") for i in range(1, 4)]
    part_timer = world.teacher("兼职督学", "urban")
    with world.engine.begin() as conn:
        binding = bind(conn, part_timer.person_id or 0, INSPECTOR, world.units["east"])
    part_timer = Actor(part_timer.person_id, part_timer.name, (*part_timer.bindings, binding))
    world.actors["兼职督学"] = part_timer
    school_inspector = world.officer("乡村督查员", INSPECTOR, "rural")
    with world.engine.begin() as conn:
        conn.execute(
            update(table_of(Person))
            .where(Person.id.in_([a.person_id for a in world.actors.values()]))
            .values(username=Person.name, password_hash=hash_password(PASSWORD))
        )
    return County(world, world.actors["county_officer"], inspectors, part_timer, school_inspector)


@pytest.fixture
def county(world: World) -> County:
    return _county(world)


def _case_of(eng: CaseEngine, campaign_id: int) -> int:
    with eng.db.connect() as conn:
        return int(
            conn.execute(
                select(store.campaigns_t.c.case_id).where(store.campaigns_t.c.id == campaign_id)
            ).scalar_one()
        )


def _payloads(eng: CaseEngine, case_id: int, event: str) -> list[dict[str, Any]]:
    with eng.db.connect() as conn:
        return [
            json.loads(p)
            for p in conn.execute(
                select(AuditEvent.payload)
                .where(AuditEvent.case_id == case_id, AuditEvent.event == event)
                .order_by(AuditEvent.seq)
            ).scalars()
        ]


def _count(eng: CaseEngine, query: Any) -> int:
    with eng.db.connect() as conn:
        return int(conn.execute(query).scalar_one())


def _outbox(eng: CaseEngine, kind: str) -> list[Any]:
    with eng.db.connect() as conn:
        return list(conn.execute(select(OutboxMessage).where(OutboxMessage.kind == kind)))


def _drawn(eng: CaseEngine, k: County, form: dict[str, Any] | None = None) -> int:
    cid = campaigns.open_campaign(eng, k.organiser, form or FORM)
    campaigns.step(eng, k.organiser, cid, "draw_lots")
    return cid


# --- the draw ---------------------------------------------------------------------------------
def test_a_campaign_is_drawn_and_drawn_again_from_its_seeds(
    eng: CaseEngine, county: County
) -> None:
    k = county
    cid = _drawn(eng, k)
    case_id = _case_of(eng, cid)
    [drawn] = _payloads(eng, case_id, "draw_lots")
    record = drawn["draw"]
    assert len(record["targets"]) == 4, "50% of 东县's eight schools"
    assert record["units"] == 8 and record["pool"] == 5
    # Anyone with the seeds and the stored inputs draws the same targets and inspectors,
    # whatever order the inputs come in.
    with eng.db.connect() as conn:
        units, pool = store.stored_inputs(conn, cid)
    assert digest(units, pool) == record["inputs_digest"]
    for u, p in ((units, pool), (units[::-1], pool[::-1])):
        again = redraw(u, p, 50, 2, record["target_seed"], record["inspector_seed"])
        assert again.as_record() == {
            "targets": record["targets"],
            "assignments": record["assignments"],
        }
    checked = campaigns.verify_draw(eng, k.organiser, cid)
    assert checked.same and checked.inputs_intact
    # each target has two inspectors, never one of its own
    urban, rural = k.world.unit("urban"), k.world.unit("rural")
    for seed in range(25):
        every = redraw(units, pool, 100, 2, seed, seed + 1000)
        for unit, people in every.assignments:
            assert len(people) == 2
            assert not (unit == urban and k.part_timer.person_id in people)
            assert not (unit == rural and k.school_inspector.person_id in people)
    # the drawn inspectors each hold a task; the unannounced targets hear nothing yet
    with eng.db.connect() as conn:
        tasked = set(
            conn.execute(
                select(Task.assignee_id).where(
                    Task.case_id == case_id, Task.role == INSPECTOR, Task.status == "open"
                )
            ).scalars()
        )
    assigned = {p for people in record["assignments"].values() for p in people}
    assert tasked == assigned
    assert _outbox(eng, "supervision_visit") == []
    assert campaigns.campaigns_for(eng, k.world.actors["school_officer"]) == []
    # an announced campaign tells its targets at the draw
    told = _drawn(eng, k, {**FORM, "announced": True})
    drawn_too = _payloads(eng, _case_of(eng, told), "draw_lots")[0]["draw"]["targets"]
    visits = _outbox(eng, "supervision_visit")
    assert sorted(m.recipient_unit_id for m in visits) == sorted(drawn_too)


# --- the whole road ---------------------------------------------------------------------------
def test_findings_rectified_reported_and_overdue(
    eng: CaseEngine, county: County, clock: FrozenClock
) -> None:
    k, w = county, county.world
    urban = w.unit("urban")
    cid = _drawn(eng, k, {**FORM, "ratio_percent": 100})
    school_officer = w.actors["school_officer"]  # 东县实验中学's personnel officer
    # before the visit date the target knows nothing: no notice, no task, no case
    with eng.db.connect() as conn:
        assert queries.inbox_counts(conn, school_officer, clock.now().date())["todo"] == 0
        assert queries.list_cases(conn, school_officer).total == 0
    assert _outbox(eng, "supervision_visit") == []
    with pytest.raises(EventNotAllowed, match="不能执行「记录发现的问题」"):
        findings.record_finding(eng, k.inspectors[0], cid, target_id=urban, item="A2", text="x")
    # the visit date: the scheduled check starts the visits and tells every target
    clock.set(bureau_time(2026, 9, 7))
    assert checks_sweep(eng).counts["supervision_visits:started"] == 1
    assert checks_sweep(eng).counts.get("supervision_visits:started") is None
    told = _outbox(eng, "supervision_visit")
    assert len(told) == 8 and {m.recipient_role for m in told} == {SCHOOL_OFFICER}
    # three findings at 东县实验中学 by one of its inspectors
    targets = campaigns.targets(eng, k.organiser, cid)
    at_urban = next(t for t in targets if t.unit_id == urban)
    finder = k.actor(at_urban.inspectors[0][0])
    made = [
        findings.made_by(
            eng,
            findings.record_finding(
                eng, finder, cid, target_id=urban, item=item, text=text, clue=clue,
                evidence=files,
            ),
        )[1]
        for item, text, clue, files in (
            ("A1", "两名教师在校外培训机构兼职授课", CLUE, [PHOTO]),
            ("A2", "三名教师未签订本年度师德承诺书", "", []),
            ("A1", "一名教师在家中组织有偿补课", "", [PHOTO]),
        )
    ]  # fmt: skip
    accepted, reported, overdue = made
    case = _case(eng, accepted)
    assert case.org_unit_id == urban and case.parent_id == _case_of(eng, cid)
    assert case.data["evidence"] == [{"filename": "现场照片.jpg", "sha256": "ab" * 32,
                                      "size": 2048}]  # fmt: skip
    with eng.db.connect() as conn:
        copied = conn.execute(select(Attachment.sha256).where(Attachment.case_id == accepted))
        assert list(copied.scalars()) == ["ab" * 32], "the same bytes on the unit's case"
        due = conn.execute(
            select(Task.due_on).where(Task.case_id == accepted, Task.status == "open")
        ).scalar_one()
    # ten working days from 7 September: the make-up working Sunday, 20 September, counts
    assert due == dt.date(2026, 9, 20)
    assert len(_outbox(eng, "supervision_finding")) == 3
    # the unit reports with its evidence; the finder re-inspects and accepts
    findings.report_rectification(eng, school_officer, accepted, "两名教师已辞去兼职", [PROOF])
    findings.reinspect(eng, finder, accepted, "accept")
    assert _case(eng, accepted).state == "rectified"
    # the second is not done: re-inspection reports it (通报) to the unit and the county
    findings.report_rectification(eng, school_officer, reported, "已补签", [PROOF])
    findings.reinspect(eng, finder, reported, "escalate", "仍有一名教师未签订，弄虚作假")
    assert _case(eng, reported).state == "publicized"
    sent = {m.recipient_role: m for m in _outbox(eng, "supervision_publicized")}
    to_unit, to_county = sent[SCHOOL_OFFICER], sent[COUNTY_OFFICER]
    assert (to_county.recipient_role, to_county.recipient_unit_id) == (
        COUNTY_OFFICER, w.unit("east"),
    )  # fmt: skip
    assert "弄虚作假" in to_county.payload["supervision_detail"]
    assert to_unit.recipient_unit_id == urban
    # the third runs past its deadline: escalated to the county once, however often swept
    clock.set(bureau_time(2026, 9, 22))
    deadline_sweep(eng)
    deadline_sweep(eng)
    with eng.db.connect() as conn:
        supervise = conn.execute(
            select(Task.role, Task.org_unit_id).where(
                Task.case_id == overdue, Task.kind == "supervise"
            )
        ).all()
    assert supervise == [(COUNTY_OFFICER, w.unit("east"))]
    assert len([m for m in _outbox(eng, "escalation") if m.case_id == overdue]) == 1
    # the campaign's report counts each outcome, by item and by unit
    campaigns.step(eng, k.organiser, cid, "finish_visits")
    r = report.report(eng, k.organiser, cid)
    assert (r.total.findings, r.total.rectified, r.total.publicized, r.total.overdue) == (
        3, 1, 1, 1,
    )  # fmt: skip
    assert len(r.units) == 8
    line = next(u for u in r.units if u.unit_id == urban)
    assert (line.tally.findings, line.tally.open) == (3, 1)
    a1 = next(i for i in r.items if i.code == "A1")
    assert (a1.tally.findings, len(a1.units)) == (2, 1)
    # a campaign closes only once every rectification is closed
    with pytest.raises(RuleRefused, match="尚有1项下级事项未办结"):
        campaigns.step(eng, k.organiser, cid, "conclude_campaign")
    # the overdue one: the organiser reports it (通报)
    eng.fire(overdue, "report_overdue", k.organiser, {"reason": "逾期未整改"},
             expected_version=_case(eng, overdue).version)  # fmt: skip
    campaigns.step(eng, k.organiser, cid, "conclude_campaign")
    assert undeclared_keys(eng) == {}


def _case(eng: CaseEngine, case_id: int) -> Any:
    with eng.db.connect() as conn:
        return conn.execute(select(table_of(Case)).where(Case.id == case_id)).one()


# --- bad input --------------------------------------------------------------------------------
def test_bad_input_is_refused_with_its_reason_and_nothing_half_written(
    eng: CaseEngine, county: County, clock: FrozenClock
) -> None:
    k, w = county, county.world
    scope_rows = select(func.count()).select_from(store.scope_t)
    # a ratio that draws no school: refused, the campaign still in preparation
    small = campaigns.open_campaign(eng, k.organiser, {**FORM, "ratio_percent": 10})
    with pytest.raises(RuleRefused, match=r"应抽取0所；请将抽取比例提高到13%以上"):
        campaigns.step(eng, k.organiser, small, "draw_lots")
    # a pool too small once the units' own inspectors are recused: the shortfall named
    with eng.db.begin() as conn:
        conn.execute(update(table_of(Person)).where(
            Person.id.in_([a.person_id for a in k.inspectors])).values(active=False))  # fmt: skip
    many = campaigns.open_campaign(eng, k.organiser, {**FORM, "ratio_percent": 100})
    with pytest.raises(RuleRefused, match=r"需要2名检查人员，督查员库共2人，回避1人后仅1人可抽取"):
        campaigns.step(eng, k.organiser, many, "draw_lots")
    assert _count(eng, scope_rows) == 0
    for c in (small, many):
        assert _case(eng, _case_of(eng, c)).state == "preparing"
        assert _payloads(eng, _case_of(eng, c), "draw_lots") == []
    with eng.db.begin() as conn:
        conn.execute(update(table_of(Person)).values(active=True))
    # a finding without the evidence its checklist item requires
    cid = _drawn(eng, k, {**FORM, "ratio_percent": 100})
    clock.set(bureau_time(2026, 9, 7))
    checks_sweep(eng)
    urban = w.unit("urban")
    finder = k.actor(
        next(t for t in campaigns.targets(eng, k.organiser, cid) if t.unit_id == urban).inspectors[
            0
        ][0]
    )
    case_id = _case_of(eng, cid)
    before = _case(eng, case_id).version
    with pytest.raises(RuleRefused, match="检查项目「在职教师有偿补课」须附佐证材料") as refused:
        findings.record_finding(eng, finder, cid, target_id=urban, item="A1", text="有偿补课")
    assert refused.value.field == "evidence"
    # …nor at a unit the inspector was not drawn for, with files: nothing kept of either
    other = next(t for t in campaigns.targets(eng, k.organiser, cid)
                 if all(p != finder.person_id for p, _ in t.inspectors))  # fmt: skip
    with pytest.raises(RuleRefused, match="您未被抽取检查该单位"):
        findings.record_finding(eng, finder, cid, target_id=other.unit_id, item="A1",
                                text="有偿补课", evidence=[PHOTO])  # fmt: skip
    assert _case(eng, case_id).version == before
    assert _count(eng, select(func.count()).select_from(store.findings_t)) == 0
    assert _count(eng, select(func.count()).where(Attachment.case_id == case_id)) == 0
    # a rectification report after it was closed
    found = findings.record_finding(eng, finder, cid, target_id=urban, item="A1",
                                    text="有偿补课", evidence=[PHOTO])  # fmt: skip
    rect = findings.made_by(eng, found)[1]
    officer = w.actors["school_officer"]
    findings.report_rectification(eng, officer, rect, "已整改", [PROOF])
    # re-inspection by the inspected unit's own: refused, whoever hands it to them
    with pytest.raises(RuleRefused, match=r"兼职督学是被检查单位（东县实验中学）的人员，应当回避"):
        findings.assign_reinspector(eng, k.organiser, rect, k.part_timer.person_id or 0)
    with pytest.raises(RuleRefused, match="须为本次督查督查员库中的督查员"):
        findings.assign_reinspector(eng, k.organiser, rect, officer.person_id or 0)
    [task] = [t for t in _open_tasks(eng, rect) if t.role == INSPECTOR]
    eng.transfer(task.id, k.part_timer.person_id or 0, finder,
                 expected_version=_case(eng, rect).version)  # fmt: skip
    with pytest.raises(RuleRefused, match=r"您是被检查单位（东县实验中学）的人员，应当回避"):
        findings.reinspect(eng, k.part_timer, rect, "accept")
    # the engine's one authorization says it in supervision's words (By.panel_label)
    with pytest.raises(
        PermissionDenied, match="您不是本事项的复查人员，或已办理「复查通过，整改到位」"
    ):
        findings.reinspect(eng, k.inspectors[2], rect, "accept")
    with pytest.raises(PermissionDenied, match="只有被抽取的检查人员可以记录发现的问题"):
        findings.record_finding(eng, k.organiser, cid, target_id=urban, item="A2", text="x")
    assert _case(eng, rect).state == "reinspection"
    other_inspector = next(a for a in k.inspectors if a.person_id != finder.person_id)
    findings.assign_reinspector(eng, k.organiser, rect, other_inspector.person_id or 0)
    findings.reinspect(eng, other_inspector, rect, "accept")
    files = _count(eng, select(func.count()).where(Attachment.case_id == rect))
    with pytest.raises(EventNotAllowed, match="当前状态「整改到位」不能执行「报告整改情况」"):
        findings.report_rectification(eng, officer, rect, "再报一次", [PROOF])
    assert _count(eng, select(func.count()).where(Attachment.case_id == rect)) == files
    assert _case(eng, rect).state == "rectified"


def _open_tasks(eng: CaseEngine, case_id: int) -> list[Any]:
    with eng.db.connect() as conn:
        return list(
            conn.execute(
                select(table_of(Task)).where(Task.case_id == case_id, Task.status == "open")
            )
        )


# --- who receives what ------------------------------------------------------------------------
def test_each_reader_receives_what_is_declared_for_them(
    eng: CaseEngine, county: County, clock: FrozenClock
) -> None:
    k, w = county, county.world
    urban = w.unit("urban")
    cid = _drawn(eng, k, {**FORM, "ratio_percent": 100})
    campaign_case = _case_of(eng, cid)
    west_officer = w.actors["west_officer"]  # another county's personnel section
    school_officer = w.actors["school_officer"]
    finder_id = next(
        t for t in campaigns.targets(eng, k.organiser, cid) if t.unit_id == urban
    ).inspectors[0][0]
    finder = k.actor(finder_id)
    # before the visits: the draw for the organiser; a drawn inspector reads only their own
    with eng.db.connect() as conn:
        org_view = case_file(conn, eng.processes, k.organiser, campaign_case, with_trail=True)
        ins_view = case_file(conn, eng.processes, finder, campaign_case, with_trail=True)
        assert case_file(conn, eng.processes, school_officer, campaign_case) is None
        assert case_file(conn, eng.processes, west_officer, campaign_case) is None
    assert org_view is not None and ins_view is not None
    assert "draw" in _event(org_view.trail, "draw_lots")
    assert "draw" not in _event(ins_view.trail, "draw_lots")
    mine = campaigns.targets(eng, finder, cid)
    assert mine and all(any(p == finder_id for p, _ in t.inspectors) for t in mine)
    assert len(campaigns.targets(eng, k.organiser, cid)) == 8
    with pytest.raises(Exception, match="专项督查不存在"):
        campaigns.targets(eng, school_officer, cid)
    clock.set(bureau_time(2026, 9, 7))
    checks_sweep(eng)
    found = findings.record_finding(eng, finder, cid, target_id=urban, item="A1",
                                    text="有偿补课", clue=CLUE, evidence=[PHOTO])  # fmt: skip
    rect = findings.made_by(eng, found)[1]
    # after: the draw is published to everyone on the campaign
    with eng.db.connect() as conn:
        ins_view = case_file(conn, eng.processes, finder, campaign_case, with_trail=True)
    assert ins_view is not None
    assert _event(ins_view.trail, "start_visits")["published"]["targets"]
    views = {}
    with eng.db.connect() as conn:
        for name, actor in (
            ("inspector", finder),
            ("organiser", k.organiser),
            ("target", school_officer),
            ("other", west_officer),
        ):
            views[name] = case_file(conn, eng.processes, actor, rect, with_trail=True)
    assert views["other"] is None, "another unit's officer learns nothing"
    for name in ("inspector", "organiser"):
        v = views[name]
        assert v is not None and v.data["clue"] == CLUE, name
    target = views["target"]
    assert target is not None
    assert "clue" not in target.data, "the 线索来源 never reaches the inspected unit"
    assert target.data["text"] == "有偿补课" and target.data["found_by"] == finder.name
    assert target.data["evidence"][0]["sha256"] == "ab" * 32
    # the report: the organiser's and inspectors' (with the clue); not the target's
    assert report.report(eng, k.organiser, cid).findings[0].clue == CLUE
    assert report.report(eng, finder, cid).findings[0].clue == CLUE
    for outsider in (school_officer, west_officer):
        with pytest.raises(Exception, match="专项督查不存在"):
            report.report(eng, outsider, cid)


def _event(trail: list[dict[str, Any]], event: str) -> dict[str, Any]:
    payload: dict[str, Any] = next(e for e in trail if e["event"] == event)["payload"]
    return payload


# --- over HTTP --------------------------------------------------------------------------------
@pytest.fixture
def live(db_url: str, county: County, tmp_path: Path, clock: FrozenClock) -> Iterator[Live]:
    with serve(db_url, clock, tmp_path / "files") as server:
        yield server


def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def test_a_campaign_over_the_api(live: Live, county: County) -> None:
    w = county.world
    urban = w.unit("urban")
    officer = live.client("county_officer")
    bad = officer.post("/api/v1/supervision/campaigns", json={**FORM, "checklist": []})
    assert bad.status_code == 422 and bad.json()["field"] == "checklist"
    cid = _ok(officer.post("/api/v1/supervision/campaigns",
                           json={**FORM, "ratio_percent": 100}), 201)["id"]  # fmt: skip
    step = _ok(officer.post(f"/api/v1/supervision/campaigns/{cid}/steps/draw", json={}))
    assert step["state_label"] == "已抽取"
    got = _ok(officer.get(f"/api/v1/supervision/campaigns/{cid}"))
    assert len(got["targets"]) == 8 and got["target_seed"] is not None
    assert _ok(officer.get(f"/api/v1/supervision/campaigns/{cid}/draw"))["same"] is True
    finder = next(t for t in got["targets"] if t["unit_id"] == urban)["inspectors"][0]["name"]
    # the target's officer and another county's officer: not found, not even the campaign
    for login in ("school_officer", "west_officer"):
        assert live.client(login).get(f"/api/v1/supervision/campaigns/{cid}").status_code == 404
    live.clock.set(bureau_time(2026, 9, 7))  # signed in again: the clock moved on
    officer, inspector, school = (live.client(n) for n in ("county_officer", finder,
                                                            "school_officer"))  # fmt: skip
    mine = _ok(inspector.get(f"/api/v1/supervision/campaigns/{cid}/mine"))
    assert urban in [t["unit_id"] for t in mine]
    _ok(officer.post(f"/api/v1/supervision/campaigns/{cid}/steps/start-visits", json={}))
    refused = inspector.post(
        f"/api/v1/supervision/campaigns/{cid}/findings",
        data={"target_id": str(urban), "item": "A1", "text": "有偿补课"},
    )
    assert refused.status_code == 422 and refused.json()["field"] == "evidence"
    made = _ok(inspector.post(
        f"/api/v1/supervision/campaigns/{cid}/findings",
        data={"target_id": str(urban), "item": "A1", "text": "两名教师校外兼职授课",
              "clue": CLUE},
        files=[("evidence", ("现场.png", PNG, "image/png"))],
    ), 201)  # fmt: skip
    rect = made["rectification_case_id"]
    seen = _ok(school.get(f"/api/v1/cases/{rect}"))
    assert "clue" not in seen["data"] and seen["data"]["text"] == "两名教师校外兼职授课"
    assert _ok(inspector.get(f"/api/v1/cases/{rect}"))["data"]["clue"] == CLUE
    done = _ok(school.post(
        f"/api/v1/supervision/rectifications/{rect}/report",
        data={"text": "已整改"}, files=[("evidence", ("整改.pdf", PDF, "application/pdf"))],
    ))  # fmt: skip
    assert done["state_label"] == "待复查"
    out = _ok(inspector.post(f"/api/v1/supervision/rectifications/{rect}/reinspection",
                             json={"decision": "accept"}))  # fmt: skip
    assert out["state_label"] == "整改到位"
    late = school.post(
        f"/api/v1/supervision/rectifications/{rect}/report",
        data={"text": "再报"}, files=[("evidence", ("整改.pdf", PDF, "application/pdf"))],
    )  # fmt: skip
    assert late.status_code == 409 and "不能执行「报告整改情况」" in late.json()["message"]
    body = _ok(officer.get(f"/api/v1/supervision/campaigns/{cid}/report"))
    assert body["total"]["rectified"] == 1 and "整改到位1个" in body["summary"]
    assert body["findings"][0]["clue"] == CLUE
    sheet = officer.get(f"/api/v1/supervision/campaigns/{cid}/report.xlsx")
    ws = load_workbook(io.BytesIO(sheet.content)).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert rows[1][rows[0].index("整改状态")] == "整改到位"
    assert rows[1][rows[0].index("线索来源")] == CLUE
    # the pages: the organiser's campaign and report, the inspector's targets
    pages, _ = _sign_in(live, "county_officer")
    page = pages.get(f"/supervision/{cid}").text
    assert "抽取检查对象随机种子" in page and "东县实验中学" in page
    assert "按检查项目" in pages.get(f"/supervision/{cid}/report").text
    mine_page, _ = _sign_in(live, finder)
    assert "我记录的问题" in mine_page.get(f"/supervision/{cid}/mine").text


def _files(*named: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("evidence", (name, data, "application/octet-stream")) for name, data in named]


def _evidence_rows(eng: CaseEngine, case_id: int) -> list[tuple[str, str]]:
    with eng.db.connect() as conn:
        return [
            (r.filename, r.sha256)
            for r in conn.execute(
                select(Attachment.filename, Attachment.sha256)
                .where(Attachment.case_id == case_id)
                .order_by(Attachment.id)
            )
        ]


def test_the_pages_take_several_evidence_files_in_one_submit(live: Live, county: County) -> None:
    """The finding form and the rectification report take several files in one submit
    (``multiple``), each checked as the API checks it: a refused file is named and nothing
    of the submit is kept — no finding, no rectification, no file on any case — with the
    form kept; the files accepted go onto the case in the finding's (the report's) own
    transaction."""
    eng, urban = live.services.engine, county.world.unit("urban")
    cid = campaigns.open_campaign(eng, county.organiser, {**FORM, "ratio_percent": 100})
    campaigns.step(eng, county.organiser, cid, "draw_lots")
    live.clock.set(bureau_time(2026, 9, 7))
    campaigns.step(eng, county.organiser, cid, "start_visits")
    case_id = _case_of(eng, cid)
    finder = next(
        t for t in campaigns.targets(eng, county.organiser, cid) if t.unit_id == urban
    ).inspectors[0][1]
    pages, csrf = _sign_in(live, finder)
    form = pages.get(f"/supervision/{cid}/mine").text
    assert (
        f'id="evidence-{urban}" name="evidence" type="file" accept="image/*,.pdf" multiple' in form
    )
    assert "一次最多20个，每个不超过10MB" in form
    url = f"/supervision/{cid}/findings"
    data = {"csrf": csrf, "target_id": str(urban), "item": "A1", "text": "两名教师校外兼职授课",
            "clue": CLUE}  # fmt: skip
    version = _case(eng, case_id).version

    def nothing_kept() -> None:
        assert _count(eng, select(func.count()).select_from(store.findings_t)) == 0
        assert _evidence_rows(eng, case_id) == []
        assert _case(eng, case_id).version == version

    # one file of three is not what its name says: named, nothing of the three kept
    bad = pages.post(url, data=data, files=_files(
        ("现场1.png", PNG), ("伪装照片.png", PDF), ("记录.pdf", PDF)))  # fmt: skip
    assert bad.status_code == 422, bad.text
    assert "佐证材料“伪装照片.png”：文件内容与扩展名.png不符" in bad.text
    assert (
        f'id="evidence-{urban}-error"' in bad.text and "两名教师校外兼职授课</textarea>" in bad.text
    )
    nothing_kept()
    many = pages.post(url, data=data, files=_files(*[(f"照片{i}.png", PNG) for i in range(21)]))
    assert many.status_code == 422 and "一次最多上传20个佐证材料，本次选择了21个" in many.text
    flood = pages.post(url, data=data, files=_files(*[(f"p{i}.png", PNG) for i in range(101)]))
    assert flood.status_code == 413 and "一次最多上传20个佐证材料" in flood.text
    nothing_kept()
    # a finding the rules refuse: its files stay off the campaign too
    wrong = pages.post(url, data={**data, "item": "Z9"}, files=_files(("现场1.png", PNG)))
    assert wrong.status_code == 422 and "检查项目应为检查清单中的一项：A1、A2" in wrong.text
    nothing_kept()

    made = pages.post(url, data=data, files=_files(("现场1.png", PNG), ("记录.pdf", PDF)))
    assert made.status_code == 303, made.text
    shas = [hashlib.sha256(PNG).hexdigest(), hashlib.sha256(PDF).hexdigest()]
    with eng.db.connect() as conn:
        finding = conn.execute(select(store.findings_t)).one()
    assert [e["sha256"] for e in finding.evidence] == shas
    rect = int(finding.case_id)
    assert [h for _, h in _evidence_rows(eng, rect)] == shas  # the rectification holds both
    assert _evidence_rows(eng, case_id) == [("现场1.png", shas[0]), ("记录.pdf", shas[1])]

    # the school's rectification report, several files at once
    school, s_csrf = _sign_in(live, "school_officer")
    page = school.get(f"/supervision/rectifications/{rect}").text
    assert 'id="report-evidence" name="evidence" type="file"' in page and " multiple" in page
    report_url = f"/supervision/rectifications/{rect}"
    said = {"csrf": s_csrf, "text": "已责令两名教师停止兼职并作出书面检查"}
    refused = school.post(report_url, data=said, files=_files(
        ("整改报告.pdf", PDF), ("检讨书.exe", b"MZ\x90\x00")))  # fmt: skip
    assert refused.status_code == 422
    assert "佐证材料“检讨书.exe”：文件类型不允许" in refused.text
    assert 'id="report-evidence-error"' in refused.text and said["text"] in refused.text
    assert len(_evidence_rows(eng, rect)) == 2 and _case(eng, rect).state == "to_rectify"
    done = school.post(report_url, data=said, files=_files(
        ("整改报告.pdf", PDF), ("整改后照片.png", PNG)))  # fmt: skip
    assert done.status_code == 303, done.text
    assert _case(eng, rect).state == "reinspection"
    assert [n for n, _ in _evidence_rows(eng, rect)][2:] == ["整改报告.pdf", "整改后照片.png"]
    assert "佐证材料2个" in school.get(f"/supervision/rectifications/{rect}").text


def test_the_catalogue_names_the_inspectors_and_the_reinspectors(live: Live) -> None:
    """Who acts at each step, as the process catalogue says it: supervision's steps name
    the inspectors drawn and the re-inspector; title review's committee is still named."""
    client = live.client("county_officer")

    def who(process: str) -> dict[str, str]:
        body = _ok(client.get(f"/api/v1/processes/{process}"))
        return {e["id"]: e["who"] for e in body["events"]}

    campaign, rectification = who("inspection_campaign"), who("rectification")
    assert campaign["record_finding"] == "检查人员（抽取的督查员）"
    for event in ("accept_rectification", "return_rectification", "escalate_rectification"):
        assert rectification[event] == "当前环节的办理人：复查人员", event
    assert rectification["report_rectification"] == "当前环节的办理人：学校人事干部"
    said = {w for p in ("inspection_campaign", "rectification") for w in who(p).values()}
    assert not [w for w in said if "评审专家" in w or "评委" in w], said
    title = who("title_review")
    assert "评审专家（抽取的评委会）" in title.values(), title


def test_the_command_line_opens_draws_verifies_and_reports(
    db_url: str, county: County, tmp_path: Path
) -> None:
    """What a county's personnel section does from the command line: open a campaign with its
    checklist, draw, verify the draw from the record (a real ``renshi`` process), and read
    the report; a bad ratio is refused naming the field, with nothing opened."""
    who = ("--as", county.organiser.name)
    at = ("--at", "2026-09-01T09:00")
    opening = [
        *at, "supervision", "open", *who, "--title", "有偿补课专项督查", "--year", "2026",
        "--visit-from", "2026-09-07", "--visit-to", "2026-09-11",
        "--item", "A1|在职教师有偿补课|是", "--item", "A2|师德承诺书签订",
    ]  # fmt: skip
    bad = here(db_url, *opening, "--ratio", "0")
    assert bad.returncode != 0 and "抽取比例" in bad.stderr, bad.stderr
    assert "没有专项督查" in here(db_url, *at, "supervision", "list", *who).stdout
    opened = here(db_url, *opening, "--ratio", "50")
    assert opened.returncode == 0, opened.stderr
    cid = int(re.search(r"编号(\d+)", opened.stdout).group(1))  # type: ignore[union-attr]
    listed = here(db_url, *at, "supervision", "list", *who).stdout
    assert f"{cid}\t" in listed and "有偿补课专项督查" in listed
    drawn = here(db_url, *at, "supervision", "step", str(cid), "draw", *who)
    assert drawn.returncode == 0 and "已完成双随机抽取" in drawn.stdout, drawn.stderr
    checked = renshi_process(db_url, *at, "supervision", "redraw", str(cid), *who)
    assert checked.returncode == 0, checked.stderr
    assert "重新抽取结果与记录一致：检查对象4所" in checked.stdout
    out = tmp_path / "督查问题清单.xlsx"
    reported = here(db_url, *at, "supervision", "report", str(cid), *who, "--xlsx", str(out))
    assert reported.returncode == 0, reported.stderr
    assert "检查对象4所，发现问题0个" in reported.stdout and out.stat().st_size > 0
