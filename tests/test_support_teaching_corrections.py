"""Support teaching (支教): the receiving school corrects a monthly check-in it filed, with a
reason, until the term's end-of-term assessment is recorded — on both databases, through the
engine, the JSON API and the check-in page.

A correction is an event of the term (``correct_checkin``): the month's values rewritten, the
old ones kept beside the new on the audit row and in the corrections the lists show. Refused,
naming the field: a month not filed (or missed), no reason, nothing changed, another school,
a term already assessed."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from api import dossier
from api.processes import load
from states.clock import FrozenClock
from states.engine import FireResult
from states.errors import EventNotAllowed, FormError, NotFound, RuleRefused
from states.org import INSPECTOR, Actor
from states.process.visibility import Audience, Shown, Visibility
from states.processes.support_teaching import applications, checkins, needs
from states.processes.support_teaching.machine import TERM
from states.processes.support_teaching.tables import SupportCheckinCorrection
from states.seed.builders import close_window, fire_current
from states.store.models import AuditEvent, Case, table_of
from tests.live import Live, serve
from tests.test_pages import _check_page, _field_error, _sign_in
from tests.test_support_pages import NAMES, _county, _flash, _form, _to
from tests.test_support_pages import NEED as PAGE_NEED
from tests.test_support_teaching import (
    at,
    case,
    checkin_rows,
    dispatch,
    file,
    refused,
    selected,
    urban_teacher,
)
from tests.test_title_documents import pdf_text
from tests.world import Driver, World, undeclared_keys

audit_t, corrections_t = table_of(AuditEvent), table_of(SupportCheckinCorrection)


def correct(d: Driver, term: int, officer: str = "rural_officer", **form: object) -> FireResult:
    return checkins.correct(
        d.eng, d.world.actors[officer], term, form, expected_version=case(d, term).version
    )


def last_payload(d: Driver, term: int, event: str) -> dict[str, object]:
    with d.eng.db.connect() as conn:
        raw = conn.execute(
            select(audit_t.c.payload)
            .where(audit_t.c.case_id == term, audit_t.c.event == event)
            .order_by(audit_t.c.id.desc())
        ).first()
    assert raw is not None
    found: dict[str, object] = json.loads(raw[0])
    return found


# --- through the engine ---------------------------------------------------------------------------
def test_a_filed_month_is_corrected_with_a_reason_until_the_term_is_assessed(
    d: Driver, world: World, clock: FrozenClock
) -> None:
    teacher = urban_teacher(world, "更正")
    at(clock, dt.date(2025, 6, 3))
    _, _, term = selected(d, teacher, starts_on="2025-09-01", ends_on="2025-10-31")
    dispatch(d, term, dt.date(2025, 9, 1))
    at(clock, dt.date(2025, 10, 2))
    checkins.open_checkins(d.eng)  # September and October
    file(d, term, "2025-09")  # 21 days, 64 hours

    # refusals, each naming the field, nothing written
    e = refused("2025-10的月度考勤尚未填报，不能更正", correct, d, term, month="2025-10",
                attendance_days=20, reason="误填")  # fmt: skip
    assert isinstance(e, RuleRefused) and e.field == "month"
    e = refused("更正原因为必填项", correct, d, term, month="2025-09", attendance_days=20)
    assert isinstance(e, FormError) and e.field == "reason"
    e = refused("请填写要更正的", correct, d, term, month="2025-09", reason="误填")
    assert e.field == "attendance_days"
    e = refused("与2025-09已填报的相同", correct, d, term, month="2025-09",
                attendance_days=21, teaching_hours=64, reason="误填")  # fmt: skip
    assert e.field == "attendance_days"
    e = refused("出勤天数不能大于31", correct, d, term, month="2025-09", attendance_days=40,
                reason="误填")  # fmt: skip
    assert e.field == "attendance_days"
    with pytest.raises(NotFound):  # the sending school does not correct the receiving's months
        correct(d, term, "school_officer", month="2025-09", attendance_days=20, reason="误填")
    with d.eng.db.connect() as conn:
        assert conn.execute(select(corrections_t.c.id)).first() is None
    assert checkin_rows(d, term)[0].attendance_days == 21

    # corrected: the month rewritten, the old value beside the new on the audit row (what was
    # given unchanged is left out), the term where it was
    version = case(d, term).version
    done = correct(d, term, month="2025-09", attendance_days=19, teaching_hours=64,
                   reason="两天病假漏记")  # fmt: skip
    assert case(d, term).state == "on_site" and case(d, term).version == version + 1
    assert done.event == "correct_checkin"
    [sep, _] = checkin_rows(d, term)
    assert (sep.status, sep.attendance_days, sep.teaching_hours) == ("submitted", 19, 64)
    said = last_payload(d, term, "correct_checkin")
    assert said["before"] == {"attendance_days": 21} and said["attendance_days"] == 19
    assert "teaching_hours" not in said and said["reason"] == "两天病假漏记"

    # the term ends; corrections still taken while it is assessed, then no more
    at(clock, dt.date(2025, 11, 20))
    checkins.open_checkins(d.eng)
    checkins.end_terms(d.eng)
    assert case(d, term).state == "assessing"
    correct(d, term, month="2025-09", assessment="按时到岗，两天病假", reason="补充说明")
    with d.eng.db.connect() as conn:
        [row] = [r for r in checkins.term_checkins(conn, term) if r.month_label == "2025-09"]
    assert [x.changes for x in row.corrections] == [
        "出勤天数 21→19",
        "表现评价 “按时到岗，教学认真”→“按时到岗，两天病假”",
    ]
    assert [x.reason for x in row.corrections] == ["两天病假漏记", "补充说明"]
    assert row.correctable and row.corrections[0].by == "rural_officer"
    d.fire(term, "assess", "rural_officer", {"grade": "competent", "comments": "良好"})
    e = refused("已完成期满考核（称职），月度考勤不能再更正", correct, d, term,
                month="2025-09", attendance_days=18, reason="再改")  # fmt: skip
    assert e.field == "month"
    with pytest.raises(EventNotAllowed):  # the engine itself has no such step any more
        d.fire(term, "correct_checkin", "rural_officer",
               {"month": "2025-09", "attendance_days": 18, "reason": "再改"})  # fmt: skip
    with d.eng.db.connect() as conn:
        [row] = [r for r in checkins.term_checkins(conn, term) if r.month_label == "2025-09"]
    assert not row.correctable and row.attendance_days == 19
    assert TERM not in undeclared_keys(d.eng)


# --- the JSON API and the check-in page -----------------------------------------------------------
@pytest.fixture
def county(world: World) -> World:
    return _county(world)


@pytest.fixture
def live(db_url: str, county: World, tmp_path: Path, clock: FrozenClock) -> Iterator[Live]:
    with serve(db_url, clock, tmp_path / "files") as server:
        yield server


def value_of(term: int) -> str:
    """October's attendance input on the check-in page, up to its value."""
    return f'id="cc-{term}-2026-10-attendance_days" name="attendance_days" type="number" value'


def _on_site(live: Live, county: World) -> int:
    """u1 of the urban school on site at the rural school since 9 October 2026, October
    filed (20 days, 60 hours), November open: the term's case id."""
    eng, w = live.services.engine, county
    officer = w.actors["county_officer"]
    need = needs.declare_need(eng, w.actors["rural_officer"], {**PAGE_NEED, "places": 1}).case_id
    fire_current(eng, need, "approve", officer)
    app = applications.volunteer(eng, w.actors["u1"], need).case_id
    fire_current(eng, app, "confirm", w.actors["school_officer"])
    fire_current(eng, app, "select_teacher", officer)
    with eng.db.connect() as conn:
        term = int(conn.execute(select(Case.data).where(Case.id == app)).scalar_one()["term_id"])
    close_window(eng, live.clock, term)
    _to(live.clock, dt.date(2026, 10, 9))
    fire_current(eng, term, "dispatch_teacher", officer, {"on": "2026-10-09"})
    _to(live.clock, dt.date(2026, 11, 2))
    checkins.open_checkins(eng)
    filed = {"month": "2026-10", "attendance_days": 20, "teaching_hours": 60,
             "assessment": "认真负责"}  # fmt: skip
    fire_current(eng, term, "check_in", w.actors["rural_officer"], filed)
    return term


def test_the_school_corrects_a_month_on_its_check_in_page_and_through_the_api(
    live: Live, county: World
) -> None:
    term = _on_site(live, county)
    school, _ = _sign_in(live, "rural_officer")

    # the page: a 更正 form beside the filed month, drawn with what it says now
    inbox = school.get("/support/checkins").text
    _check_page(inbox)
    form = _form(inbox, f"correct-form-{term}-2026-10")
    assert f'{value_of(term)}="20"' in inbox
    sent = {**form, "attendance_days": "18", "teaching_hours": "60", "assessment": "认真负责"}
    # no reason: refused beside the reason, the input kept
    bare = school.post("/support/checkins/corrections", data=sent)
    assert bare.status_code == 422
    _check_page(bare.text)
    assert "更正原因为必填项" in _field_error(bare.text, f"cc-{term}-2026-10-reason")
    assert f'{value_of(term)}="18"' in bare.text
    page, said = _flash(
        school,
        school.post("/support/checkins/corrections", data={**sent, "reason": "两天事假误记为出勤"}),
    )
    assert said == f"已更正{NAMES['u1']}2026-10的月度考勤"
    row = re.search(r'<tr id="done-\d+">.*?</tr>', page, re.S)
    assert row and "已更正1次" in row[0] and "出勤天数 20→18" in row[0]
    assert "两天事假误记为出勤" in row[0]
    # the term's case history: the month as filed and as corrected, with the reason
    history = school.get(f"/cases/{term}").text
    _check_page(history)
    assert "更正月度考勤" in history and "两天事假误记为出勤" in history
    # …and the correction's own row says what it changed, before → after
    assert "<dt>出勤天数</dt><dd>20 → 18</dd>" in history

    # the JSON API: each refusal names its field; a correction; the list with its history
    api = live.client("rural_officer")
    version = api.get(f"/api/v1/cases/{term}").json()["version"]
    url = "/api/v1/support/checkins/corrections"
    for month, body, field, words in (
        ("2026-11", {"attendance_days": 20, "reason": "误填"}, "month", "尚未填报"),
        ("2026-10", {"attendance_days": 19}, "reason", "更正原因"),
        ("2026-10", {"attendance_days": 18, "reason": "误填"}, "attendance_days", "相同"),
        ("2026-10", {"teaching_hours": 300, "reason": "误填"}, "teaching_hours", "授课课时"),
    ):
        r = api.post(url, json={**body, "term_id": term, "month": month,
                                "expected_version": version})  # fmt: skip
        assert r.status_code == 422, r.text
        assert r.json()["field"] == field and words in r.json()["message"], r.json()
    hours = {"term_id": term, "month": "2026-10", "teaching_hours": 58, "reason": "课时统计有误"}
    stale = api.post(url, json={**hours, "expected_version": version - 1})
    assert stale.status_code == 409
    ok = api.post(url, json={**hours, "expected_version": version})
    assert ok.status_code == 200 and ok.json()["message"] == "已更正2026-10月度考勤", ok.text
    listed = api.get("/api/v1/support/checkins").json()
    [october] = [c for c in listed if c["month"] == "2026-10"]
    assert (october["attendance_days"], october["teaching_hours"]) == (18, 58)
    assert october["correctable"] is True
    assert [(x["changes"], x["reason"]) for x in october["corrections"]] == [
        ("出勤天数 20→18", "两天事假误记为出勤"),
        ("授课课时 60→58", "课时统计有误"),
    ]
    trail = api.get(f"/api/v1/cases/{term}/audit").json()
    fixed = [e["payload"] for e in trail if e["event"] == "correct_checkin"]
    assert [(p["before"], p.get("attendance_days"), p.get("teaching_hours")) for p in fixed] == [
        ({"attendance_days": 20}, 18, None),
        ({"teaching_hours": 60}, None, 58),
    ]
    # the county's audit dossier prints each correction as the history shows it
    printed = pdf_text(live.client("county_officer").get(f"/api/v1/cases/{term}/dossier").content)
    # (the PDF's text comes back without its spaces)
    assert "出勤天数：20→18" in printed and "授课课时：60→58" in printed, printed
    # another school's officer cannot correct it; the teacher reads the corrected month
    other = live.client("weak_officer").post(
        url,
        json={"term_id": term, "month": "2026-10", "attendance_days": 1, "reason": "x",
              "expected_version": version + 1},
    )  # fmt: skip
    assert other.status_code == 404
    own = live.client("u1").get("/api/v1/support/me").json()
    assert own["terms"][0]["term_id"] == term

    # an early end approved and the term assessed: the month can no longer be corrected
    eng, w = live.services.engine, county
    fire_current(eng, term, "request_termination", w.actors["rural_officer"],
                 {"kind": "illness", "statement": "因病需治疗"})  # fmt: skip
    fire_current(eng, term, "approve_termination", w.actors["county_officer"],
                 {"ended_on": "2026-10-31"})  # fmt: skip
    fire_current(eng, term, "assess", w.actors["rural_officer"],
                 {"grade": "excellent", "comments": "表现优秀"})  # fmt: skip
    version = api.get(f"/api/v1/cases/{term}").json()["version"]
    again = {"term_id": term, "month": "2026-10", "attendance_days": 17, "reason": "再改"}
    late = api.post(url, json={**again, "expected_version": version})
    assert late.status_code == 422 and late.json()["field"] == "month"
    assert "已完成期满考核（优秀），月度考勤不能再更正" in late.json()["message"]
    inbox = school.get("/support/checkins").text
    assert f'id="correct-form-{term}-2026-10"' not in inbox and "出勤天数 20→18" in inbox


# --- who may not read a field reads neither of its values -----------------------------------------
def test_the_old_value_of_a_correction_is_cut_as_its_field_is(
    d: Driver, world: World, clock: FrozenClock
) -> None:
    """Support teaching shows the attendance to everyone who may open the term; were it
    declared for the inspectors only, the county's officer would read neither the days as
    filed nor as corrected — not on the history, not in the dossier, not in ``before``."""
    teacher = urban_teacher(world, "保密")
    at(clock, dt.date(2025, 6, 3))
    _, _, term = selected(d, teacher, starts_on="2025-09-01", ends_on="2025-10-31")
    dispatch(d, term, dt.date(2025, 9, 1))
    at(clock, dt.date(2025, 10, 2))
    checkins.open_checkins(d.eng)
    file(d, term, "2025-09")  # 21 days, 64 hours
    correct(d, term, month="2025-09", attendance_days=19, teaching_hours=60, reason="漏记病假")
    inspector = world.officer("inspector", INSPECTOR, "east")
    county = world.actors["county_officer"]
    spec = d.eng.processes[TERM]
    secret = Visibility(payload={"attendance_days": Shown(frozenset({Audience.INSPECTOR}))})
    narrowed = {**d.eng.processes, TERM: replace(spec, visibility=spec.visibility | secret)}
    web = load(d.eng.processes)

    def said(processes: Any, actor: Actor) -> tuple[str, dict[str, Any]]:
        """The correction's row in the dossier's words, and its payload, as ``actor`` reads."""
        found = dossier.build(d.eng.db, processes, web, actor, term, clock.now())
        [step] = [s for s in found.steps if s.label == "更正月度考勤"]
        [row] = [e for e in found.case.trail if e["event"] == "correct_checkin"]
        return step.notes, row["payload"]

    # as declared: the officer reads both changes, before → after
    notes, payload = said(d.eng.processes, county)
    assert "出勤天数：21 → 19" in notes and "授课课时：64 → 60" in notes, notes
    assert payload["before"] == {"attendance_days": 21, "teaching_hours": 64}
    # the days declared for inspectors: the officer reads the hours' change only
    notes, payload = said(narrowed, county)
    assert "出勤天数" not in notes and "21" not in notes and "授课课时：64 → 60" in notes, notes
    assert payload["before"] == {"teaching_hours": 64} and "attendance_days" not in payload
    assert "21→19" not in pdf_text(dossier.pdf(dossier.build(
        d.eng.db, narrowed, web, county, term, clock.now())))  # fmt: skip
    # the inspector, for whom they are declared, reads both
    notes, payload = said(narrowed, inspector)
    assert "出勤天数：21 → 19" in notes and payload["before"]["attendance_days"] == 21
