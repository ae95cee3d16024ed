"""Support teaching (支教): an objection upheld during the selection's publicity undoes the
selection, and a need shows when it is full — on both databases, through the engine, the JSON
API and the pages.

The story: a need of one place, a teacher selected (the need moves to 已满额 by itself, in the
selection's transaction), a second candidate waiting and refused ("名额已满"); an objection
dismissed changes nothing; an objection upheld ends the term not dispatched, withdraws the
selection (撤销选派) with the county's reason, gives the place back (the need accepts again),
tells the teacher and the sending school, and lets the county select the waiting candidate;
whose selection stands (已选派) once their publicity is over. On PostgreSQL, selections racing
an upheld objection leave the places, the need's state and the selections in agreement."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from notifications.channels import SmsFile
from notifications.dispatch import dispatch
from states.clock import FrozenClock
from states.engine import CaseEngine
from states.org import PUBLIC_ACTOR, SCHOOL_OFFICER
from states.processes.support_teaching import applications, needs
from states.processes.support_teaching.machine import APPLICATION, NEED, TERM
from states.seed.builders import close_window, fire_current
from states.store.models import AuditEvent, Notification, Person, RoleBinding, table_of
from tests.live import Live, serve
from tests.test_pages import _check_page, _field_error, _sign_in
from tests.test_support_pages import NAMES, _county, _flash, _form, _press
from tests.test_support_pages import NEED as PAGE_NEED
from tests.test_support_teaching import (
    at,
    case,
    cases_t,
    declare,
    needs_t,
    notices,
    refused,
    term_of,
    urban_teacher,
)
from tests.world import Driver, World, undeclared_keys

audit_t, inbox_t, people_t = table_of(AuditEvent), table_of(Notification), table_of(Person)
bindings_t = table_of(RoleBinding)
OBJECTION = {"content": "该教师近期正接受师德问题调查", "contact_name": "王五"}


def filled(d: Driver, need: int) -> int:
    with d.eng.db.connect() as conn:
        return int(
            conn.execute(select(needs_t.c.filled).where(needs_t.c.case_id == need)).scalar_one()
        )


def moves(d: Driver, case_id: int) -> list[tuple[str, str | None]]:
    """The case's steps as its audit trail has them: (event, who; None for the system)."""
    with d.eng.db.connect() as conn:
        return [
            (str(e), who)
            for e, who in conn.execute(
                select(audit_t.c.event, audit_t.c.actor_id)
                .where(audit_t.c.case_id == case_id)
                .order_by(audit_t.c.id)
            )
        ]


def object_to(d: Driver, term: int, phone: str, content: str = OBJECTION["content"]) -> None:
    filed = {**OBJECTION, "content": content, "contact_phone": phone}
    d.fire(term, "raise_objection", PUBLIC_ACTOR, filed)


# --- through the engine ---------------------------------------------------------------------------
def test_an_upheld_objection_withdraws_the_selection_and_frees_the_place(
    d: Driver, world: World, clock: FrozenClock
) -> None:
    at(clock, dt.date(2025, 6, 3))
    teacher, waiting = urban_teacher(world, "被异议"), urban_teacher(world, "候补")
    need = declare(d, places=1)
    d.fire(need, "approve", "county_officer")
    app = applications.volunteer(d.eng, teacher, need, "愿意支教").case_id
    d.fire(app, "confirm", "school_officer")
    reserve = applications.nominate(
        d.eng, world.actors["school_officer"], need, waiting.person_id
    ).case_id

    # the last place taken: the need is full by itself, in the selection's own transaction
    d.fire(app, "select_teacher", "county_officer")
    term = term_of(d, app)
    assert (case(d, need).state, filled(d, need)) == ("filled_up", 1)
    assert moves(d, need)[-1] == ("fill_up", None)
    assert case(d, app).state == "selected" and case(d, app).closed_at is None
    with d.eng.db.connect() as conn:
        [row] = needs.needs(conn, world.actors["county_officer"], 2025)
        [line] = needs.board(conn, world.actors["county_officer"], 2025)
    assert (row.state_label, row.full, line.approved, line.filled) == ("已满额", True, 1, 1)
    # a full need refuses the waiting candidate's selection as before, and writes nothing
    refused("名额已满（共1名）", d.fire, reserve, "select_teacher", "county_officer")
    assert case(d, reserve).state == "selection" and filled(d, need) == 1

    # an objection dismissed changes nothing: the term back in publicity, the place taken
    object_to(d, term, "13800138001")
    assert case(d, term).state == "objection_review"
    d.fire(term, "dismiss_objection", "county_officer", {"reason": "经核查，调查已结束且无问题"})
    assert case(d, term).state == "publicity" and case(d, app).state == "selected"
    assert (case(d, need).state, filled(d, need)) == ("filled_up", 1)

    # an objection upheld: the term ends not dispatched, the selection is withdrawn with the
    # county's reason, the place comes back and the need takes selections again
    object_to(d, term, "13800138002", "该教师已被立案调查，尚未结论")
    d.fire(term, "uphold_objection", "county_officer", {"reason": "经核查，该教师正被立案调查"})
    spec = d.eng.processes
    assert case(d, term).state == "removed"
    assert spec[TERM].state_label("removed") == "异议成立，未派出"
    withdrawn = case(d, app)
    assert withdrawn.state == "revoked" and withdrawn.closed_at is not None
    assert spec[APPLICATION].state_label("revoked") == "撤销选派"
    assert (case(d, need).state, filled(d, need)) == ("approved", 0)
    assert [e for e, _ in moves(d, need)][-2:] == ["fill_up", "reopen_places"]
    assert moves(d, app)[-1] == ("revoke_selection", None)

    # the teacher and the sending school hear of the withdrawal once each, on the
    # application, with the county's reason: the dedicated notice, not the generic progress
    told = notices(d, "support_revoked")
    assert sorted(
        ((n.case_id, n.recipient_id, n.recipient_role, n.recipient_unit_id) for n in told),
        key=str,
    ) == sorted(
        [(app, teacher.person_id, None, None), (app, None, SCHOOL_OFFICER, world.unit("urban"))],
        key=str,
    )
    assert all(n.payload["support_reason"] == "经核查，该教师正被立案调查" for n in told)
    # and of nothing else: neither move (the term's, the application's) brings the teacher
    # the engine's generic progress notice as well
    assert not [
        n
        for n in notices(d, "case_update")
        if n.payload["event"] in ("revoke_selection", "uphold_objection")
    ]

    # the freed place goes to the waiting candidate: the need full again
    d.fire(reserve, "select_teacher", "county_officer")
    assert (case(d, need).state, filled(d, need)) == ("filled_up", 1)
    # the withdrawn teacher is free for another term at the same time
    again = declare(d, places=2)
    d.fire(again, "approve", "county_officer")
    assert applications.volunteer(d.eng, teacher, again).to_state == "school_review"

    # the new selection stands once its publicity is over: the application closes 已选派
    second = term_of(d, reserve)
    close_window(d.eng, clock, second)
    assert case(d, second).state == "to_dispatch"
    assert case(d, reserve).state == "confirmed" and case(d, reserve).closed_at is not None
    assert spec[APPLICATION].state_label("confirmed") == "已选派"
    # the county closes the full need: it ends as any need does
    d.fire(need, "close_need", "county_officer")
    assert case(d, need).state == "finished"
    missing = undeclared_keys(d.eng)
    assert not {p: missing[p] for p in (NEED, APPLICATION, TERM) if p in missing}, missing


def test_the_withdrawal_notice_reaches_the_teacher_and_the_sending_school_once_each(
    d: Driver, world: World, clock: FrozenClock, tmp_path: Path
) -> None:
    """Through the real dispatcher: the in-app inbox of the teacher and of each of the
    sending school's officers, and the teacher's text message (the short form)."""
    at(clock, dt.date(2025, 6, 3))
    teacher = urban_teacher(world, "撤销通知")
    need = declare(d, places=1)
    d.fire(need, "approve", "county_officer")
    app = applications.nominate(
        d.eng, world.actors["school_officer"], need, teacher.person_id
    ).case_id
    d.fire(app, "select_teacher", "county_officer")
    term = term_of(d, app)
    object_to(d, term, "13800138006", "该教师近期正接受师德问题调查")
    dispatch(d.eng.db, clock, {}, catalogue=d.eng.processes)  # what came before, delivered
    with d.eng.db.begin() as conn:
        before = conn.execute(select(func.max(inbox_t.c.id))).scalar() or 0
        conn.execute(
            update(people_t)
            .where(people_t.c.id == teacher.person_id)
            .values(phone="13900139006", notify_channels=["sms"])
        )
    texts = tmp_path / "sms.txt"
    d.fire(term, "uphold_objection", "county_officer", {"reason": "经核查，该教师正被立案调查"})
    report = dispatch(d.eng.db, clock, {"sms": SmsFile(str(texts))}, catalogue=d.eng.processes)
    assert report.failed == 0

    with d.eng.db.connect() as conn:
        officers = list(
            conn.execute(
                select(bindings_t.c.person_id).where(
                    bindings_t.c.role == SCHOOL_OFFICER,
                    bindings_t.c.org_unit_id == world.unit("urban"),
                )
            ).scalars()
        )
        got = {
            p: conn.execute(
                select(inbox_t.c.kind, inbox_t.c.title, inbox_t.c.body)
                .where(inbox_t.c.person_id == p, inbox_t.c.case_id == app, inbox_t.c.id > before)
                .order_by(inbox_t.c.id)
            ).all()
            for p in [teacher.person_id, *officers]
        }
    assert officers
    # one notice each about the application's withdrawal, the dedicated one
    for person, notes in got.items():
        assert [n.kind for n in notes] == ["support_revoked"], (person, notes)
        [note] = notes
        assert note.title == "【人事业务平台】支教选派已撤销：撤销通知（东县乡村小学）"
        for words in (
            "撤销通知到东县乡村小学支教（初中数学，支教期2025-09-01至2026-08-31）的选派",
            "经审批单位核查异议成立，已于2025年6月3日撤销选派",
            "理由：经核查，该教师正被立案调查",
            "该需求的名额已退回，审批单位可从其他候选人中另行选派",
            "当前环节：撤销选派",
        ):
            assert words in note.body, (words, note.body)
        assert "None" not in note.body
    # the teacher's phone: the short form, what matters first, one message and only that
    lines = [line.split("\t") for line in texts.read_text(encoding="utf-8").splitlines()]
    assert {phone for _, phone, _ in lines} == {"13900139006"}
    revoked = (
        "【人事业务平台】支教选派已撤销：撤销通知到东县乡村小学支教，公示期间异议成立；名额已退回。"
    )
    assert [short for _, _, short in lines if "支教选派已撤销" in short] == [revoked]
    assert len(revoked) <= 70
    assert [short for _, _, short in lines if short != revoked] == []


# --- PostgreSQL: selections racing an upheld objection ------------------------------------------
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_selections_racing_an_upheld_objection_keep_places_and_state_in_step(
    eng: CaseEngine, d: Driver, world: World, clock: FrozenClock
) -> None:
    at(clock, dt.date(2025, 6, 3))
    need = declare(d, places=2)
    d.fire(need, "approve", "county_officer")
    school = world.actors["school_officer"]
    apps = [
        applications.nominate(eng, school, need, urban_teacher(world, f"竞争{i}").person_id).case_id
        for i in range(5)
    ]
    for a in apps[:2]:
        d.fire(a, "select_teacher", "county_officer")
    assert case(d, need).state == "filled_up"
    term = term_of(d, apps[0])
    object_to(d, term, "13800138003")

    officer = world.actors["county_officer"]
    jobs: list[tuple[int, str, dict[str, Any]]] = [
        (term, "uphold_objection", {"reason": "异议属实"}),
        *((a, "select_teacher", {}) for a in apps[2:]),
    ]
    versions = [case(d, c).version for c, _, _ in jobs]
    start = threading.Barrier(len(jobs))
    outcome: list[BaseException | None] = [None] * len(jobs)

    def run(i: int) -> None:
        start.wait()
        c, event, payload = jobs[i]
        try:
            eng.fire(c, event, officer, payload, expected_version=versions[i])
        except BaseException as exc:
            outcome[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert outcome[0] is None, outcome  # the objection upheld whatever else ran
    assert case(d, apps[0]).state == "revoked"
    # every selection that ran either took a place or was refused as full, nothing else
    assert all("名额已满（共2名）" in str(e) for e in outcome[1:] if e is not None), outcome
    standing = [a for a in apps if case(d, a).state == "selected"]
    assert len(standing) == filled(d, need) <= 2
    assert case(d, need).state == ("filled_up" if filled(d, need) == 2 else "approved")


# --- the JSON API and the pages -------------------------------------------------------------------
@pytest.fixture
def county(world: World) -> World:
    return _county(world)


@pytest.fixture
def live(db_url: str, county: World, tmp_path: Path, clock: FrozenClock) -> Iterator[Live]:
    with serve(db_url, clock, tmp_path / "files") as server:
        yield server


def test_the_county_upholds_an_objection_on_the_terms_page_and_selects_again(
    live: Live, county: World
) -> None:
    eng, w = live.services.engine, county
    officer = w.actors["county_officer"]
    made = needs.declare_need(eng, w.actors["rural_officer"], {**PAGE_NEED, "places": 1})
    need = made.case_id
    fire_current(eng, need, "approve", officer)
    app = applications.volunteer(eng, w.actors["u1"], need).case_id
    fire_current(eng, app, "confirm", w.actors["school_officer"])
    reserve = applications.nominate(eng, w.actors["school_officer"], need, w.actors["u2"].person_id)
    fire_current(eng, app, "select_teacher", officer)
    term = int(data_of(live, app)["term_id"])

    # the full need as the county's board and the JSON API show it
    api = live.client("county_officer")
    shown = api.get(f"/api/v1/support/needs/{need}").json()
    assert (shown["state"], shown["state_label"], shown["filled"]) == ("filled_up", "已满额", 1)
    c, _ = _sign_in(live, "county_officer")
    board = c.get("/support/board").text
    _check_page(board)
    assert f'<span class="tag st-green" id="need-state-{need}">已满额</span>' in board
    page = c.get(f"/support/needs/{need}").text
    assert 'id="need-full"' in page

    # objections through the engine (the public's SMS code is another test's); the first
    # dismissed through the JSON API changes nothing
    fire_current(eng, term, "raise_objection", PUBLIC_ACTOR,
                 {**OBJECTION, "contact_phone": "13800138004"})  # fmt: skip
    version = api.get(f"/api/v1/cases/{term}").json()["version"]
    bare = api.post(f"/api/v1/cases/{term}/events",
                    json={"event": "uphold_objection", "expected_version": version,
                          "payload": {}})  # fmt: skip
    assert bare.status_code == 422 and bare.json()["field"] == "reason"
    kept = api.post(f"/api/v1/cases/{term}/events",
                    json={"event": "dismiss_objection", "expected_version": version,
                          "payload": {"reason": "调查已结束"}})  # fmt: skip
    assert kept.status_code == 200, kept.text
    assert api.get(f"/api/v1/support/needs/{need}").json()["state"] == "filled_up"

    # the second upheld on the term's own page (without a reason: refused beside the field)
    second = {**OBJECTION, "content": "已被立案调查", "contact_phone": "13800138005"}
    fire_current(eng, term, "raise_objection", PUBLIC_ACTOR, second)
    html = c.get(f"/cases/{term}").text
    form = _form(html, "event-uphold_objection")
    no_reason = c.post(f"/cases/{term}/fire", data=form)
    assert no_reason.status_code == 422
    assert "理由" in _field_error(no_reason.text, "uphold_objection-reason")
    done = c.post(f"/cases/{term}/fire", data={**form, "reason": "经核查属实"})
    assert done.status_code == 303, done.text

    # the need accepts again, the application shows the withdrawal, the place is free
    shown = api.get(f"/api/v1/support/needs/{need}").json()
    assert (shown["state"], shown["state_label"], shown["filled"]) == ("approved", "已批准", 0)
    own = live.client("u1").get("/api/v1/support/me").json()
    [mine] = [a for a in own["applications"] if a["case_id"] == app]
    assert (mine["state"], mine["state_label"]) == ("revoked", "撤销选派")
    assert [t["state_label"] for t in own["terms"]] == ["异议成立，未派出"]
    u1, _ = _sign_in(live, "u1")
    me = u1.get("/support/me").text
    _check_page(me)
    assert "撤销选派" in me and "异议成立，未派出" in me
    board = c.get("/support/board").text
    assert f'<span class="state" id="need-state-{need}">受理中</span>' in board

    # the county selects the waiting candidate on the need's page: full again
    page, said = _flash(c, _press(c, f"/support/needs/{need}", reserve.case_id, "select_teacher"))
    assert "选派" in said and NAMES["u2"] in page
    assert api.get(f"/api/v1/support/needs/{need}").json()["state_label"] == "已满额"
    assert api.get(f"/api/v1/cases/{reserve.case_id}").json()["state"] == "selected"


def data_of(live: Live, case_id: int) -> dict[str, Any]:
    with live.services.db.connect() as conn:
        found: dict[str, Any] = conn.execute(
            select(cases_t.c.data).where(cases_t.c.id == case_id)
        ).scalar_one()
    return found
