"""Teacher rotation (交流轮岗) on both databases: a county's campaign from opening to a
teacher's return, over the JSON API where an officer or a teacher acts and on the engine
where the public and the sweeps do; the bad input each step refuses; the eligibility
rules; the command line; and, on PostgreSQL, matchings and publications racing each other
without a teacher placed twice or a post over its places."""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from api.auth import hash_password
from api.cli import main
from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine
from states.errors import Conflict, RenshiError
from states.org import PRINCIPAL, PUBLIC_ACTOR, SCHOOL_OFFICER, Actor
from states.processes.rotation import campaigns, checks, lists
from states.processes.rotation.matching import Candidate, Post, match
from states.processes.rotation.tables import RotationPlacement, RotationPost
from states.registry import service
from states.seed.builders import bind, close_window, fire_current
from states.store.models import (
    Case,
    OrgUnit,
    OutboxMessage,
    Person,
    RecordChange,
    Task,
    Teacher,
    table_of,
)
from states.store.people import load_actor
from tests.live import PASSWORD, Live, serve
from tests.test_pages import _sign_in
from tests.world import DECLARE, World, undeclared_keys

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
teachers_t, people_t, cases_t = table_of(Teacher), table_of(Person), table_of(Case)
placements_t, posts_t = table_of(RotationPlacement), table_of(RotationPost)

CAMPAIGN = {
    "name": "东县2026学年教师交流轮岗",
    "year": 2026,
    "preferences_open": "2026-09-01",
    "preferences_close": "2026-09-10",
    "confirm_by": "2026-09-15",
}


# --- the county -------------------------------------------------------------------------------
@dataclass
class County:
    world: World
    urban: list[Actor]  # 21 at 东县实验中学; the last teaches 语文
    pilot: list[Actor]  # 10 at 东县自主评审试点中学


def _county(world: World) -> County:
    """东县 with a weak school beside its rural one; the teachers already in the world
    joined their schools last year (not eligible), then 21 teachers at the urban school
    and 10 at the pilot school who have been there since 2012."""
    with world.engine.begin() as conn:
        conn.execute(update(teachers_t).values(joined_school_on=dt.date(2025, 9, 1)))
        world.add_unit(conn, "weak", "school", "东县薄弱初中", "east", is_weak=True)
    world.officer("weak_officer", SCHOOL_OFFICER, "weak")
    urban = [
        world.teacher(f"u{i}", "urban", subject="语文" if i == 21 else "数学") for i in range(1, 22)
    ]
    pilot = [world.teacher(f"p{i}", "pilot") for i in range(1, 11)]
    with world.engine.begin() as conn:  # accounts to sign in with
        conn.execute(
            update(people_t)
            .where(people_t.c.id.in_([a.person_id for a in world.actors.values()]))
            .values(username=people_t.c.name, password_hash=hash_password(PASSWORD))
        )
    return County(world, urban, pilot)


@pytest.fixture
def county(world: World) -> County:
    return _county(world)


@pytest.fixture
def live(db_url: str, county: County, tmp_path: Path, clock: FrozenClock) -> Iterator[Live]:
    with serve(db_url, clock, tmp_path / "files") as server:
        yield server


class Api:
    """Signed-in clients by username, signed in again once the clock has moved (a token
    lasts half an hour)."""

    def __init__(self, live: Live) -> None:
        self.live, self.clients = live, dict[str, tuple[dt.datetime, httpx.Client]]()

    def __call__(self, who: str) -> httpx.Client:
        now = self.live.clock.now()
        if who not in self.clients or self.clients[who][0] != now:
            self.clients[who] = (now, self.live.client(who))
        return self.clients[who][1]


def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def _refused(r: httpx.Response, status: int, field: str, words: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body.get("field") == field, body
    assert words in body["message"], body
    return body


def _required(api: Api, cid: int) -> dict[str, Any]:
    return _ok(api("county_officer").get(f"/api/v1/rotation/campaigns/{cid}/required"))


def _school(found: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in found["schools"] if s["school"] == name)


def _step(api: Api, cid: int, step: str, status: int = 200, **body: Any) -> httpx.Response:
    r = api("county_officer").post(f"/api/v1/rotation/campaigns/{cid}/steps/{step}", json=body)
    if status == 200:
        _ok(r)
    return r


def _outbox(live: Live, kind: str) -> list[Any]:
    with live.services.db.connect() as conn:
        return list(
            conn.execute(
                select(
                    OutboxMessage.recipient_id,
                    OutboxMessage.recipient_role,
                    OutboxMessage.case_id,
                    OutboxMessage.payload,
                )
                .where(OutboxMessage.kind == kind)
                .order_by(OutboxMessage.id)
            )
        )


def _school_of(live: Live, person_id: int) -> int:
    with live.services.db.connect() as conn:
        return int(
            conn.execute(
                select(teachers_t.c.school_id).where(teachers_t.c.person_id == person_id)
            ).scalar_one()
        )


def _to(clock: FrozenClock, day: dt.date) -> None:
    clock.set(bureau_time(day.year, day.month, day.day))


# --- the story --------------------------------------------------------------------------------
def test_a_county_campaign_from_opening_to_return(live: Live, county: County) -> None:
    api, w, clock, eng = Api(live), county.world, live.clock, live.services.engine
    u1, u2 = county.urban[:2]
    p1 = county.pilot[0]
    rural, weak, urban, pilot = (w.unit(k) for k in ("rural", "weak", "urban", "pilot"))

    # 1. the county opens its campaign; a school officer cannot
    opened = _ok(api("county_officer").post("/api/v1/rotation/campaigns", json=CAMPAIGN), 201)
    cid = opened["id"]
    assert (opened["target_percent"], opened["backbone_percent"], opened["min_years"]) == (
        10,
        20,
        6,
    )
    assert opened["state_label"] == "已开启" and opened["exemption_kinds"][1] == "患病"
    r = api("school_officer").post("/api/v1/rotation/campaigns", json={**CAMPAIGN, "year": 2027})
    assert r.status_code == 403
    again = api("county_officer").post("/api/v1/rotation/campaigns", json=CAMPAIGN)
    _refused(again, 422, "year", "已有交流轮岗工作")

    # 2. receiving posts: the rural school two places, the weak school one, the pilot school
    # one; a school of another county is a row error and nothing is written
    posts = [
        {"school_code": "Urural", "subject": "数学", "level": "初中", "places": 2},
        {"school_code": "Uweak", "subject": "数学", "level": "junior", "places": 1},
        {"school_code": "Upilot", "subject": "数学", "level": "初中", "places": 1},
    ]
    bad = api("county_officer").post(
        f"/api/v1/rotation/campaigns/{cid}/posts",
        json={
            "posts": [
                *posts,
                {"school_code": "Uwest1", "subject": "数学", "level": "初中", "places": 1},
            ]
        },
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["column"] == "学校代码"
    assert bad.json()["written"] is False
    imported = _ok(
        api("county_officer").post(f"/api/v1/rotation/campaigns/{cid}/posts", json={"posts": posts})
    )
    assert imported["created"] == 3
    listed = _ok(api("u1").get(f"/api/v1/rotation/campaigns/{cid}/posts"))
    assert {(p["school"], p["rural_or_weak"]) for p in listed} >= {("东县乡村小学", True)}

    # 3. eligibility from the records: 21 + 10 teachers with 14 years at their school
    _step(api, cid, "eligibility")
    assert _required(api, cid)["schools"][0]["eligible"] in (21, 10)
    own = _ok(api("school_officer").get(f"/api/v1/rotation/campaigns/{cid}/eligible"))
    assert len(own) == 21 and {x["school"] for x in own} == {"东县实验中学"}
    everyone = _ok(api("county_officer").get(f"/api/v1/rotation/campaigns/{cid}/eligible"))
    assert len(everyone) == 31
    assert api("u1").get(f"/api/v1/rotation/campaigns/{cid}/eligible").status_code == 403
    # published: each teacher on the list is told, and sees that they are on it
    _step(api, cid, "open-preferences")
    assert len(_outbox(live, "rotation_eligible")) == 31
    mine = _ok(api("u1").get(f"/api/v1/rotation/campaigns/{cid}/me"))
    assert mine["eligible"] is True and mine["listed"]["years"] == 13

    # 4. preferences, and what they refuse
    prefs = f"/api/v1/rotation/campaigns/{cid}/preferences"
    four = api("u3").put(prefs, json={"schools": [rural, weak, pilot, urban]})
    _refused(four, 422, "schools", "最多填报3所学校")
    _refused(api("u3").put(prefs, json={"schools": [urban]}), 422, "schools", "现在任教的学校")
    no_post = api("u21").put(prefs, json={"schools": [rural]})
    _refused(no_post, 422, "schools", "东县乡村小学没有初中语文的接收岗位")
    refused = _ok(api("u3").get(f"/api/v1/rotation/campaigns/{cid}/me"))["listed"]
    assert refused["volunteered"] is False and refused["preferences"] == []  # nothing written
    assert _ok(api("u1").put(prefs, json={"schools": [rural]}))["schools"] == ["东县乡村小学"]
    _ok(api("u2").put(prefs, json={"schools": [rural, weak]}))

    # 5. an exemption: evidence required; school then county approve; off the count
    exemptions = f"/api/v1/rotation/campaigns/{cid}/exemptions"
    form = {"kind": "患病", "statement": "术后康复期，需定期复查"}
    _refused(api("u20").post(exemptions, data=form), 422, "evidence", "证明材料")
    wrong = api("u20").post(
        exemptions,
        data={**form, "kind": "想留在本校"},
        files={"evidence": ("诊断证明.pdf", PDF, "application/pdf")},
    )
    _refused(wrong, 422, "kind", "临近退休")
    with live.services.db.connect() as conn:
        assert (
            conn.execute(
                select(func.count()).where(cases_t.c.process == "rotation_exemption")
            ).scalar_one()
            == 0
        )
    applied = _ok(
        api("u20").post(
            exemptions, data=form, files={"evidence": ("诊断证明.pdf", PDF, "application/pdf")}
        ),
        201,
    )
    assert applied["state_label"] == "学校审核"
    ex = applied["case_id"]
    fire_current(eng, ex, "school_approve", w.actors["school_officer"])
    fire_current(eng, ex, "approve", w.actors["county_officer"])
    urban_count = _school(_required(api, cid), "东县实验中学")
    assert (urban_count["eligible"], urban_count["exempted"], urban_count["required"]) == (20, 1, 2)
    shown = _ok(api("school_officer").get(f"/api/v1/rotation/campaigns/{cid}/exemptions"))
    assert [(x["name"], x["state_label"]) for x in shown] == [("u20", "已批准免于交流")]

    # 6. no matching while preferences are open
    early = api("county_officer").post(f"/api/v1/rotation/campaigns/{cid}/steps/match", json={})
    _refused(early, 409, "preferences_close", "志愿填报尚未截止")
    _refused(_step(api, cid, "close-preferences", 422), 422, "preferences_close", "尚未截止")

    # 7. the deadline passes: a late preference is refused, the check closes preferences
    _to(clock, dt.date(2026, 9, 11))
    _refused(api("u3").put(prefs, json={"schools": [weak]}), 422, "schools", "已截止")
    assert checks.close_preferences(eng) == {"closed": 1}
    # the urban school confirms its list (the pilot school sends nobody yet)
    _refused(_step(api, cid, "start-matching", 422), 422, "confirm_by", "东县实验中学")
    confirmed = api("school_officer").post(
        f"/api/v1/rotation/campaigns/{cid}/confirmations", json={"school_id": urban}
    )
    assert _ok(confirmed)["selected"] == 2
    _step(api, cid, "start-matching")

    # 8. the first run: u1 and u2 by preference; the pilot school short of its 10%, and no
    # backbone teacher among the three — each shown with its shortfall
    _step(api, cid, "match")
    found = _ok(api("county_officer").get(f"/api/v1/rotation/campaigns/{cid}/result"))
    assert found["run"] == 1 and found["seed"] is not None
    lines = {x["name"]: x for x in found["lines"]}
    assert lines["u1"]["to_school"] == "东县乡村小学" and lines["u1"]["reason"].startswith(
        "第1志愿录取"
    )
    assert lines["u2"]["to_school"] == "东县乡村小学"
    assert lines["u1"]["id_number"].count("*") >= 8  # masked for the county too
    short = {(s["code"], s["short"]) for s in found["shortfalls"]}
    assert short == {("school", 1), ("backbone", 1)}
    assert _school(found, "东县自主评审试点中学")["required"] == 1
    with live.services.db.connect() as conn:
        seed_row = conn.execute(
            select(table_of(Case).c.id).where(Case.process == "rotation_campaign")
        ).scalar_one()
    trail = _ok(api("county_officer").get(f"/api/v1/cases/{seed_row}/audit"))
    run_event = next(e for e in trail if e["event"] == "run_match")
    assert run_event["payload"]["seed"] == found["seed"] and run_event["payload"]["run"] == 1

    # 9. the pilot school nominates p1 (no preference): the result is out of date until a
    # new run, which places p1 by 调剂 on the weak school (never their own)
    nominated = api("pilot_officer").post(
        f"/api/v1/rotation/campaigns/{cid}/nominations", json={"person_id": p1.person_id}
    )
    assert _ok(nominated)["status"] == "学校推荐"
    stale = _step(api, cid, "publish", 422, shortfall_reason="试点学校")
    _refused(stale, 422, "run", "请重新运行匹配")
    _step(api, cid, "match")
    found = _ok(api("county_officer").get(f"/api/v1/rotation/campaigns/{cid}/result"))
    p1_line = next(x for x in found["lines"] if x["name"] == "p1")
    assert p1_line["to_school"] == "东县薄弱初中"
    assert p1_line["reason"].startswith("调剂：未填报志愿") and "第2次匹配" in p1_line["reason"]
    assert {s["code"] for s in found["shortfalls"]} == {"backbone"}
    assert _school(found, "东县自主评审试点中学")["short"] == 0

    # 10. publication: refused with a target unmet and no reason, then published with one
    no_reason = _step(api, cid, "publish", 422)
    _refused(no_reason, 422, "shortfall_reason", "骨干教师应占交流人数的20%以上")
    _step(api, cid, "publish", shortfall_reason="本县骨干教师均已在上一轮交流")
    placed = _outbox(live, "rotation_placed")
    assert {r.recipient_id for r in placed} == {u1.person_id, u2.person_id, p1.person_id}
    with live.services.db.connect() as conn:
        cases = {
            int(r.applicant_id): r
            for r in conn.execute(
                select(cases_t.c.id, cases_t.c.state, cases_t.c.applicant_id).where(
                    cases_t.c.process == "rotation"
                )
            )
        }
        windows = (
            conn.execute(select(Task.due_on).where(Task.kind == "window", Task.status == "open"))
            .scalars()
            .all()
        )
    assert {c.state for c in cases.values()} == {"publicity"}
    assert set(windows) == {dt.date(2026, 9, 18)}  # five working days from 11 September
    mine = _ok(api("u1").get(f"/api/v1/rotation/campaigns/{cid}/me"))
    assert mine["placement"]["to_school"] == "东县乡村小学"
    assert "*" not in mine["placement"]["id_number"]  # the teacher reads their own in full
    sheet = api("county_officer").get(f"/api/v1/rotation/campaigns/{cid}/result.xlsx")
    assert sheet.status_code == 200
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    assert rows[0][:2] == ("姓名", "身份证号") and len(rows) == 4
    assert all("*" in str(row[1]) for row in rows[1:])

    # the county's page lists its campaign, and the navigation links to it
    page, _ = _sign_in(live, "county_officer")
    html = page.get("/rotation").text
    assert "东县2026学年教师交流轮岗" in html and "已公布" in html and 'href="/rotation"' in html

    # 11. an objection suspends u1's publicity; found unfounded, it resumes
    u1_case = cases[u1.person_id].id
    fire_current(
        eng,
        u1_case,
        "raise_objection",
        PUBLIC_ACTOR,
        {"content": "该教师不愿交流", "contact_name": "张三", "contact_phone": "13800138000"},
    )
    fire_current(
        eng,
        u1_case,
        "dismiss_objection",
        w.actors["county_officer"],
        {"reason": "经核实本人自愿交流"},
    )
    assert _data(live, u1_case)["objections"][0]["outcome"] == "dismissed"
    with live.services.db.connect() as conn:
        back_in = conn.execute(select(cases_t.c.state).where(cases_t.c.id == u1_case)).scalar()
    assert back_in == "publicity"
    for case in cases.values():
        close_window(eng, clock, case.id)

    # 12. dispatch: the roster moves u1 to the rural school, with the case on the history;
    # the school-review task handed to u1 at the urban school goes back to its role
    with live.services.db.begin() as conn:
        bind(conn, u1.person_id, SCHOOL_OFFICER, w.units["urban"])
    declarer = w.teacher("tr", "urban")
    title_case = eng.start("title_review", declarer, DECLARE, submit=True).case_id
    [task] = [t for t in _open_tasks(live, title_case)]
    eng.transfer(
        task.id,
        u1.person_id,
        w.actors["school_officer"],
        expected_version=_version(live, title_case),
    )
    assert _open_tasks(live, title_case)[0].assignee_id == u1.person_id
    today = clock.now().date().isoformat()
    events = f"/api/v1/cases/{u1_case}/events"
    future = api("county_officer").post(
        events,
        json={
            "event": "dispatch_teacher",
            "expected_version": _version(live, u1_case),
            "payload": {"on": "2027-01-01"},
        },
    )
    _refused(future, 422, "on", "不能晚于今天")
    _ok(
        api("county_officer").post(
            events,
            json={
                "event": "dispatch_teacher",
                "expected_version": _version(live, u1_case),
                "payload": {"on": today, "doc_number": "东教人〔2026〕31号"},
            },
        )
    )
    assert _school_of(live, u1.person_id) == rural
    with live.services.db.connect() as conn:
        entry = conn.execute(
            select(RecordChange)
            .where(RecordChange.subject_id == u1.person_id)
            .order_by(RecordChange.seq.desc())
        ).first()
    assert entry is not None and entry.source == "case" and entry.case_id == u1_case
    assert f'"school_id":[{urban},{rural}]' in entry.changes
    assert _open_tasks(live, title_case)[0].assignee_id is None
    assert _outbox(live, "rotation_dispatched")[-1].recipient_id == u1.person_id

    # 13. the term: a reminder before it ends, an extension, then the return
    ends = dt.date.fromisoformat(_data(live, u1_case)["term_ends_on"])
    assert ends.year == 2029
    _to(clock, ends - dt.timedelta(days=10))
    assert checks.term_ending(eng) == {"reminded": 1}
    assert checks.term_ending(eng) == {}  # once per end date
    told = _outbox(live, "rotation_term_ending")
    assert {r.recipient_id for r in told} == {u1.person_id, None}
    assert {r.recipient_role for r in told} == {None, "county_officer"}
    too_long = api("county_officer").post(
        events,
        json={
            "event": "extend",
            "expected_version": _version(live, u1_case),
            "payload": {"new_end": "2034-01-01", "reason": "毕业班教学需要"},
        },
    )
    _refused(too_long, 422, "new_end", "不超过3年")
    new_end = (ends + dt.timedelta(days=300)).isoformat()
    _ok(
        api("county_officer").post(
            events,
            json={
                "event": "extend",
                "expected_version": _version(live, u1_case),
                "payload": {"new_end": new_end, "reason": "毕业班教学需要"},
            },
        )
    )
    assert _data(live, u1_case)["term_ends_on"] == new_end
    assert _outbox(live, "rotation_extended")[-1].payload["rotation_date"] == new_end
    _to(clock, dt.date.fromisoformat(new_end))
    back = api("county_officer").post(
        events,
        json={
            "event": "return_home",
            "expected_version": _version(live, u1_case),
            "payload": {"on": new_end},
        },
    )
    assert _ok(back)["to_state"] == "returned"
    assert _school_of(live, u1.person_id) == urban
    # 14. the years at the rural school are on the service ledger, naming this case, and the
    # county reads them on the teacher's record (title review counts them)
    served = _data(live, u1_case)
    with live.services.db.connect() as conn:
        credits = service.entries(conn, u1.person_id)
    assert [(c.kind, c.source_case_id, c.school_id) for c in credits] == [
        (service.ROTATION, u1_case, rural)
    ]
    assert credits[0].started_on == dt.date.fromisoformat(served["dispatched_on"])
    assert credits[0].ended_on == dt.date.fromisoformat(new_end) - dt.timedelta(days=1)
    assert credits[0].months >= 36
    ledger = _ok(api("county_officer").get(f"/api/v1/teachers/{u1.person_id}/service-credits"))
    assert ledger["entries"][0]["source_case_id"] == u1_case
    assert ledger["credited_years"] == credits[0].years
    # never edited: a correction is a new entry with its reason, the county's to make
    fix = f"/api/v1/teachers/{u1.person_id}/service-credits/{credits[0].id}/corrections"
    _refused(api("county_officer").post(fix, json={"months": -1, "reason": " "}), 422,
             "reason", "更正理由")  # fmt: skip
    fixed = _ok(
        api("county_officer").post(fix, json={"months": -1, "reason": "病假一个月不计入"}), 201
    )
    assert [e["kind"] for e in fixed["entries"]] == [service.ROTATION, service.CORRECTION]
    assert fixed["credited_years"] == service.years_of(credits[0].months - 1)
    assert fixed["unproven"] == []
    assert not undeclared_keys(eng)


def _open_tasks(live: Live, case_id: int) -> list[Any]:
    with live.services.db.connect() as conn:
        return list(
            conn.execute(
                select(table_of(Task)).where(Task.case_id == case_id, Task.status == "open")
            )
        )


def _version(live: Live, case_id: int) -> int:
    with live.services.db.connect() as conn:
        return int(
            conn.execute(select(cases_t.c.version).where(cases_t.c.id == case_id)).scalar_one()
        )


def _data(live: Live, case_id: int) -> dict[str, Any]:
    with live.services.db.connect() as conn:
        data: dict[str, Any] = conn.execute(
            select(cases_t.c.data).where(cases_t.c.id == case_id)
        ).scalar_one()
    return data


# --- the eligibility rules --------------------------------------------------------------------
def test_the_navigation_reads_whether_the_persons_county_runs_a_campaign(
    eng: CaseEngine, world: World
) -> None:
    """What decides 交流轮岗 in the navigation (``campaigns.concerns``), on both databases:
    a 东县 teacher or school officer once 东县 has a campaign of this school year or the
    last, a 西县 one never; a county officer always, without asking the database."""
    teacher = world.teacher("nav_teacher", "urban")
    west_teacher = world.teacher("nav_west", "west1")
    school, west_school = world.actors["school_officer"], world.actors["west_school_officer"]

    def concerns(actor: Actor, day: dt.date) -> bool:
        """As the pages ask: for the signed-in person (the teacher role from the record)."""
        with eng.db.connect() as conn:
            signed_in = load_actor(conn, person_id=actor.person_id)
            return campaigns.concerns(conn, signed_in, day)

    today = dt.date(2026, 9, 1)
    assert not concerns(teacher, today) and not concerns(school, today)
    assert concerns(world.actors["west_officer"], today)
    assert concerns(world.actors["province_officer"], today)
    campaigns.open_campaign(eng, world.actors["county_officer"], CAMPAIGN)
    assert concerns(teacher, today) and concerns(school, today)
    assert not concerns(west_teacher, today) and not concerns(west_school, today)
    assert concerns(teacher, dt.date(2028, 8, 31))  # the 2027 school year: last year's
    assert not concerns(teacher, dt.date(2028, 9, 1))
    assert concerns(teacher, dt.date(2026, 3, 1))  # opened ahead for the coming year


def test_eligibility_reads_years_principals_status_and_the_county(
    eng: CaseEngine, world: World
) -> None:
    """Six full years at the school by the counted day (31 August), principals after two
    terms of the campaign's length, only teachers in service at open schools of the county;
    computed again, the list is replaced, not added to."""
    with world.engine.begin() as conn:
        conn.execute(update(teachers_t).values(joined_school_on=dt.date(2025, 9, 1)))
        world.add_unit(conn, "shut", "school", "东县已撤销小学", "east")
    joined = {
        "six": ("urban", dt.date(2020, 8, 31)),
        "five": ("urban", dt.date(2020, 9, 1)),
        "head_recent": ("rural", dt.date(2019, 9, 1)),  # 7 years: a principal needs 8
        "head_long": ("rural", dt.date(2015, 9, 1)),
        "gone": ("urban", dt.date(2010, 9, 1)),
        "shut_in": ("shut", dt.date(2010, 9, 1)),
        "west": ("west1", dt.date(2010, 9, 1)),
    }
    people = {k: world.teacher(k, school) for k, (school, _) in joined.items()}
    with world.engine.begin() as conn:
        for key, (_, on) in joined.items():
            conn.execute(
                update(teachers_t)
                .where(teachers_t.c.person_id == people[key].person_id)
                .values(joined_school_on=on)
            )
        for key in ("head_recent", "head_long"):
            bind(conn, people[key].person_id, PRINCIPAL, world.units["rural"])
        conn.execute(
            update(teachers_t)
            .where(teachers_t.c.person_id == people["gone"].person_id)
            .values(status="left", status_since=dt.date(2026, 7, 1))
        )
        conn.execute(
            update(table_of(OrgUnit))
            .where(OrgUnit.id == world.unit("shut"))
            .values(closed_on=dt.date(2026, 7, 1))
        )
    officer = world.actors["county_officer"]
    cid = campaigns.open_campaign(eng, officer, {**CAMPAIGN, "principal_term_years": 4})
    first = campaigns.step(eng, officer, cid, "compute_eligibility")
    again = campaigns.step(eng, officer, cid, "compute_eligibility")
    assert (first.to_state, again.version) == ("opened", first.version + 1)
    listed = {x.name: x for x in lists.eligible_list(eng, officer, cid)}
    assert set(listed) == {"six", "head_long"}
    assert listed["head_long"].principal and not listed["six"].principal
    assert listed["six"].years == 6
    with eng.db.connect() as conn:
        case_id = campaigns.load_row(conn, cid).case_id
        from states.store.models import AuditEvent

        payloads = (
            conn.execute(
                select(AuditEvent.payload).where(
                    AuditEvent.case_id == case_id, AuditEvent.event == "compute_eligibility"
                )
            )
            .scalars()
            .all()
        )
    assert all('"eligible":2' in p and '"principals":1' in p for p in payloads)
    # the rural school's officer reads its own line only; the west county reads nothing
    assert [x.name for x in lists.eligible_list(eng, world.actors["rural_officer"], cid)] == [
        "head_long"
    ]
    with pytest.raises(RenshiError):
        lists.eligible_list(eng, world.actors["west_officer"], cid)


def test_a_teacher_never_rotates_onto_their_own_school() -> None:
    """调剂 skips the sending school's own places, even when they cost the least."""
    posts = [
        Post(1, school_id=10, subject="数学", level="junior", places=1, priority=True),
        Post(2, school_id=11, subject="数学", level="junior", places=1),
    ]
    people = [Candidate(1, "数学", "junior", school_id=10), Candidate(2, "数学", "junior")]
    placed = match(people, posts, 7).by_candidate()
    assert placed[1].post == 2 and placed[2].post == 1
    alone = match([Candidate(1, "数学", "junior", school_id=10)], posts[:1], 7)
    assert alone.unplaced == (1,)


# --- the command line -------------------------------------------------------------------------
def _renshi(db_url: str, *args: str) -> Result:
    """In-process (a subprocess per command costs seconds of imports)."""
    env = {"RENSHI_DATABASE_URL": db_url}
    return CliRunner().invoke(main, ["--at", "2026-09-01T09:00", *args], env=env)


def test_the_command_line_opens_imports_computes_and_refuses_an_early_matching(
    db_url: str, county: County, tmp_path: Path
) -> None:
    opened = _renshi(
        db_url,
        "rotation",
        "open",
        "--as",
        "county_officer",
        "--name",
        "东县2026学年交流",
        "--year",
        "2026",
        "--preferences-open",
        "2026-09-01",
        "--preferences-close",
        "2026-09-10",
        "--confirm-by",
        "2026-09-15",
    )
    assert opened.exit_code == 0, opened.output
    cid = opened.stdout.split("编号")[1].split("）")[0]
    sheet = tmp_path / "接收岗位.csv"
    sheet.write_text(
        "学校代码,学科,学段,接收名额,骨干预留名额\nUrural,数学,初中,2,1\nUweak,数学,初中,3,5\n"
    )
    bad = _renshi(db_url, "rotation", "posts", "import", cid, str(sheet), "--as", "county_officer")
    assert bad.exit_code == 1 and "骨干预留名额（5）不能多于接收名额（3）" in bad.stderr
    assert "未导入任何数据" in bad.stdout
    sheet.write_text("学校代码,学科,学段,接收名额\nUrural,数学,初中,2\nUweak,数学,初中,3\n")
    good = _renshi(db_url, "rotation", "posts", "import", cid, str(sheet), "--as", "county_officer")
    assert good.exit_code == 0 and "新增2条" in good.stdout, good.output
    computed = _renshi(db_url, "rotation", "eligibility", cid, "--as", "county_officer")
    assert computed.exit_code == 0 and "已计算" in computed.stdout, computed.output
    _renshi(db_url, "rotation", "step", cid, "open-preferences", "--as", "county_officer")
    early = _renshi(db_url, "rotation", "match", cid, "--as", "county_officer")
    assert early.exit_code == 1
    assert "[preferences_close] 志愿填报尚未截止" in early.stderr


# --- PostgreSQL: racing matchings and publications --------------------------------------------
def _race(n: int, work: Any) -> list[BaseException | None]:
    """``work`` in ``n`` threads released together; what each raised (None: it worked)."""
    start = threading.Barrier(n)
    out: list[BaseException | None] = [None] * n

    def run(i: int) -> None:
        start.wait()
        try:
            work(i)
        except BaseException as exc:
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return out


def _invariants(db: Engine) -> tuple[int, int]:
    """(placement lines, teachers placed); fails on a teacher placed twice or a post over."""
    with db.connect() as conn:
        twice = conn.execute(
            select(placements_t.c.person_id)
            .group_by(placements_t.c.campaign_id, placements_t.c.person_id)
            .having(func.count() > 1)
        ).all()
        over = conn.execute(
            select(posts_t.c.id)
            .join(placements_t, placements_t.c.post_id == posts_t.c.id)
            .group_by(posts_t.c.id, posts_t.c.places)
            .having(func.count() > posts_t.c.places)
        ).all()
        lines = conn.execute(select(func.count()).select_from(placements_t)).scalar_one()
        placed = conn.execute(
            select(func.count()).where(placements_t.c.post_id.is_not(None))
        ).scalar_one()
    assert not twice and not over, (twice, over)
    return int(lines), int(placed)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_racing_runs_and_publications_never_place_twice_nor_overfill(
    eng: CaseEngine, county: County, clock: FrozenClock
) -> None:
    world = county.world
    officer = world.actors["county_officer"]
    cid = campaigns.open_campaign(eng, officer, CAMPAIGN)
    from states.processes.rotation import posts as posts_mod

    table = posts_mod.table_of_rows(
        [
            {"school_code": "Urural", "subject": "数学", "level": "初中", "places": 3},
            {"school_code": "Uweak", "subject": "数学", "level": "初中", "places": 2},
        ]
    )
    assert posts_mod.import_posts(eng, officer, cid, table).written
    for event in ("compute_eligibility", "open_preferences"):
        campaigns.step(eng, officer, cid, event)
    for t in county.urban[:20] + county.pilot:  # every 数学 teacher nominated
        lists.nominate(eng, officer, cid, int(t.person_id))
    _to(clock, dt.date(2026, 9, 16))  # past the confirmation date
    for event in ("close_preferences", "start_matching"):
        campaigns.step(eng, officer, cid, event)
    with eng.db.connect() as conn:
        version = int(
            conn.execute(
                select(cases_t.c.version).where(cases_t.c.process == "rotation_campaign")
            ).scalar_one()
        )

    # the same version, six times at once: one run wins, the others are told to refresh
    same = _race(
        6, lambda i: campaigns.step(eng, officer, cid, "run_match", expected_version=version)
    )
    assert sum(e is None for e in same) == 1
    assert all(isinstance(e, Conflict) for e in same if e is not None)
    assert _invariants(eng.db) == (30, 5)

    # each reading the current version: runs queue on the campaign's lock, each replacing
    # the last result whole
    def rerun(i: int) -> None:
        for _ in range(20):
            try:
                campaigns.step(eng, officer, cid, "run_match")
                return
            except Conflict:
                continue
        raise AssertionError("never ran")

    assert _race(6, rerun) == [None] * 6
    assert _invariants(eng.db) == (30, 5)

    # four publications at once: one publishes, five cases open, no more
    published = _race(
        4,
        lambda i: campaigns.step(
            eng, officer, cid, "publish", {"shortfall_reason": "本县骨干教师不足"}
        ),
    )
    assert sum(e is None for e in published) == 1, published
    assert all(isinstance(e, RenshiError) for e in published if e is not None)
    with eng.db.connect() as conn:
        opened = (
            conn.execute(select(cases_t.c.applicant_id).where(cases_t.c.process == "rotation"))
            .scalars()
            .all()
        )
    assert len(opened) == len(set(opened)) == 5
    assert _invariants(eng.db) == (30, 5)

    # and the database itself refuses a second line for a teacher
    with pytest.raises(IntegrityError), eng.db.begin() as conn:
        row = conn.execute(select(placements_t).limit(1)).one()._asdict()
        conn.execute(insert(placements_t).values({**row, "id": None, "run": 99}))
