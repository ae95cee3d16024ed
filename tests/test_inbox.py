"""The inbox and the notices, on both databases: a reminder, an urge or an escalation is
settled once its task is closed (or handed on), opening a notice marks it read, 全部已读,
every notice reachable and stamped with the time of what it tells; the inbox searched by
name, full ID number or case number and filtered by process, step, unit and deadline, with
columns that say what is asked and when it was submitted; and, in a real browser at phone
width, 全选 and 全部已读."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from api import inbox_pages
from api.processes import load as load_web
from notifications.dispatch import dispatch
from states.clock import BUREAU_TZ, bureau_time, local_date
from states.errors import RenshiError
from states.store import queries
from states.store.models import Person, Teacher
from states.store.people import load_actor
from states.sweeps import reminder_sweep
from tests.browser import DESKTOP, PHONE, chromium, console_errors, offline, shot, sign_in
from tests.live import Live
from tests.test_api import _ids
from tests.test_pages import _check_page, _declared, _sign_in
from tests.world import Driver, World


def _dispatch(d: Driver) -> None:
    dispatch(d.eng.db, d.clock, {}, catalogue=d.eng.processes)


def _notes(d: Driver, who: str, *, unread: bool = False) -> list[dict[str, Any]]:
    with d.eng.db.connect() as conn:
        return queries.notifications(conn, d.world.actors[who], unread=unread, page_size=100).items


def _unread(d: Driver, who: str) -> int:
    with d.eng.db.connect() as conn:
        return queries.unread_notifications(conn, d.world.actors[who])


# --- notices settled with their task ----------------------------------------------------------
def test_reminders_and_urges_are_settled_when_the_task_is_done(d: Driver, world: World) -> None:
    d.clock.set(bureau_time(2026, 9, 28, 10))
    case_id = d.declare(world.teacher("提醒办结"))
    d.eng.urge(case_id, world.actors["county_officer"], "请尽快审核")
    d.clock.set(bureau_time(2026, 10, 8, 8, 30))  # two working days before the deadline
    reminder_sweep(d.eng)
    _dispatch(d)
    kinds = {n["kind"]: n for n in _notes(d, "school_officer")}
    assert set(kinds) == {"task_assigned", "urge", "reminder_due_soon"}
    assert _unread(d, "school_officer") == 3
    urge = kinds["urge"]
    assert urge["at"] == bureau_time(2026, 9, 28, 10), "stamped with the urge, not its delivery"
    assert urge["created_at"] == bureau_time(2026, 10, 8, 8, 30)

    d.clock.set(bureau_time(2026, 10, 10, 8, 30))  # due today: written, not yet delivered
    reminder_sweep(d.eng)
    d.clock.set(bureau_time(2026, 10, 10, 9, 15))
    d.fire(case_id, "school_approve", "school_officer")
    _dispatch(d)
    notes = {n["kind"]: n for n in _notes(d, "school_officer")}
    assert len(notes) == 4, "settled notices stay in the list"
    for kind in ("urge", "reminder_due_soon", "reminder_due_today"):
        assert notes[kind]["settled"] == "done", kind
        assert notes[kind]["settled_at"] == bureau_time(2026, 10, 10, 9, 15)
    assert notes["task_assigned"]["settled"] is None
    assert _unread(d, "school_officer") == 1, "only the notice about no task is unread work"
    assert [n["kind"] for n in _notes(d, "school_officer", unread=True)] == ["task_assigned"]
    # the colleague who holds the same role is told the same, and is cleared the same
    assert _unread(d, "school_officer2") == 1


def test_handed_to_a_colleague_and_read_all(d: Driver, world: World) -> None:
    case_id = d.declare(world.teacher("转交催办"))
    d.eng.urge(case_id, world.actors["county_officer"])
    _dispatch(d)
    [task] = d.open_tasks(case_id)
    one, two = world.actors["school_officer"], world.actors["school_officer2"]
    assert two.person_id is not None
    d.eng.transfer(task.id, two.person_id, one, expected_version=d.case(case_id).version)
    urges = {
        who: next(n for n in _notes(d, who) if n["kind"] == "urge")
        for who in ("school_officer", "school_officer2")
    }
    assert urges["school_officer"]["settled"] == "handed", "no longer theirs to do"
    assert urges["school_officer2"]["settled"] is None, "the colleague holds it now"
    assert _unread(d, "school_officer") == 1 and _unread(d, "school_officer2") == 2

    # 全部已读: the reader's own, counted as the inbox showed them; nobody else's
    assert d.eng.read_all_notifications(one) == 1
    assert d.eng.read_all_notifications(one) == 0
    assert _unread(d, "school_officer") == 0 and _unread(d, "school_officer2") == 2
    assert all(n["read_at"] is not None for n in _notes(d, "school_officer"))
    assert not d.eng.read_notification(urges["school_officer"]["id"], two)


# --- search and filters -----------------------------------------------------------------------
def _id_number(d: Driver, actor: Any) -> str:
    with d.eng.db.connect() as conn:
        number = conn.execute(
            select(Person.id_number).where(Person.id == actor.person_id)
        ).scalar_one()
    return str(number)


def test_search_filters_and_what_is_asked(d: Driver, world: World) -> None:
    d.clock.set(bureau_time(2026, 9, 1, 9))
    zhang, li = world.teacher("张老师"), world.teacher("李老师", subject="语文")
    wang = world.teacher("王老师", "rural")
    started = d.eng.start("title_review", zhang, {**_declare("数学")})
    d.clock.set(bureau_time(2026, 9, 2, 15))  # saved one day, sent the next
    d.fire(started.case_id, "submit", zhang)
    ids = {"zhang": started.case_id, "li": d.declare(li, _declare("语文"))}
    ids["wang"] = d.declare(wang)
    schools = {
        ids["zhang"]: "school_officer",
        ids["li"]: "school_officer",
        ids["wang"]: "rural_officer",
    }
    for cid, officer in schools.items():
        d.fire(cid, "school_approve", officer)
    for cid in schools:  # the windows run out together: the county's deadlines are one day
        d.close_window(cid)
    for cid, officer in schools.items():
        d.fire(cid, "recommend", officer)
    outsider = world.teacher("西县老师", "west1")
    d.declare(outsider)  # at another county's school: never in this inbox
    draft = d.eng.start("title_review", world.teacher("草稿老师"), _declare("数学")).case_id

    county, today = world.actors["county_officer"], local_date(d.clock.now())
    drafts = queries.draft_states(d.eng.processes.values())
    web = load_web(d.eng.processes)

    def found(**f: Any) -> list[int]:
        with d.eng.db.connect() as conn:
            page = queries.inbox(
                conn, county, "todo", today, filters=queries.InboxFilter(**f), drafts=drafts
            )
        return sorted(i["case_id"] for i in page.items)

    everyone = sorted(ids.values())
    assert found() == everyone
    assert found(search="张") == [ids["zhang"]]
    assert found(search=_id_number(d, li)) == [ids["li"]]
    assert found(search=_id_number(d, li).lower()) == [ids["li"]]
    assert found(search=_id_number(d, li)[:17]) == [], "a part of an ID number finds nobody"
    assert found(search=_id_number(d, outsider)) == [], "nor anybody outside the inbox"
    assert found(search=str(ids["wang"])) == [ids["wang"]]
    with pytest.raises(ValueError, match="校验码"):
        queries.InboxFilter(search=_miswritten(_id_number(d, li))).terms()
    assert found(process="title_review") == everyone and found(process="recruitment") == []
    assert found(state="county_check") == everyone and found(state="school_review") == []
    assert found(unit_id=world.unit("rural")) == [ids["wang"]]
    assert found(unit_id=world.unit("east")) == everyone, "a unit takes in the units below it"
    assert found(unit_id=world.unit("west")) == []
    with d.eng.db.connect() as conn:
        [due] = {i["due_on"] for i in queries.inbox(conn, county, "todo", today).items}
        units = queries.inbox_units(conn, county, "todo")
    assert [name for _, name in units] == ["东县实验中学", "东县乡村小学"]
    assert found(due_before=due) == everyone
    assert found(due_before=due - dt.timedelta(days=1)) == []
    assert found(overdue=True) == []
    with d.eng.db.connect() as conn:
        late = queries.inbox(
            conn, county, "todo", due + dt.timedelta(days=1),
            filters=queries.InboxFilter(overdue=True, search="王"),
        )  # fmt: skip
    assert [i["case_id"] for i in late.items] == [ids["wang"]] and late.items[0]["overdue"]

    with d.eng.db.connect() as conn:
        items = queries.inbox(conn, county, "todo", today, drafts=drafts).items
        asks = inbox_pages.what_is_asked(web, conn, items)
        own = queries.inbox(conn, world.actors["草稿老师"], "todo", today, drafts=drafts).items
    submitted = {i["case_id"]: i["submitted_at"] for i in items}
    assert submitted[ids["zhang"]] == bureau_time(2026, 9, 2, 15), "sent, not saved"
    assert asks == {
        ids["zhang"]: "申报高级教师（数学）",
        ids["li"]: "申报高级教师（语文）",
        ids["wang"]: "申报高级教师（数学）",
    }
    assert [(i["case_id"], i["submitted_at"]) for i in own] == [(draft, None)]


def _declare(subject: str) -> dict[str, str]:
    return {"target_title": "senior", "subject": subject, "statement": "任教十八年。"}


def _miswritten(number: str) -> str:
    """The same ID number with a wrong check character."""
    return number[:17] + ("1" if number[17] != "1" else "2")


# --- the pages and the API over a real server ---------------------------------------------
def _colleagues(live: Live, school: int, n: int) -> list[int]:
    """Declarations by ``n`` colleagues of the seeded teacher who may declare 高级."""
    svc = live.services
    with svc.db.connect() as conn:
        rows = conn.execute(
            select(Teacher.person_id, Teacher.subject)
            .join(Person, Person.id == Teacher.person_id)
            .where(Teacher.school_id == school, Teacher.title == "grade1")
            .where(Person.username.is_(None))
            .order_by(Teacher.person_id)
        ).all()
    cases = []
    for row in rows:
        with svc.db.connect() as conn:
            actor = load_actor(conn, person_id=row.person_id)
        try:
            started = svc.engine.start("title_review", actor, _declare(row.subject), submit=True)
        except RenshiError:  # a colleague the rules turn away is not needed
            continue
        if started.to_state == "school_review":
            cases.append(started.case_id)
        if len(cases) == n:
            break
    assert len(cases) == n, "the seeded school has colleagues who may declare"
    return cases


def _ticked(live: Live) -> None:
    dispatch(live.services.db, live.clock, {}, catalogue=live.services.engine.processes)


def test_notices_and_inbox_pages_and_api(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _ids(live)
    teacher, tcsrf = _sign_in(live, "teacher")
    mine = _declared(teacher, tcsrf, ids["subject"])
    cases = [mine, *_colleagues(live, ids["school"], 2)]
    county, ccsrf = _sign_in(live, "county_officer")
    live.clock.advance(hours=1)
    urged_at = live.clock.now()
    for cid in cases:
        assert county.post(f"/cases/{cid}/urge", data={"csrf": ccsrf}).status_code == 303
    live.clock.advance(hours=2)
    _ticked(live)  # 3 notices of new work and 3 urges, delivered two hours later

    officer, ocsrf = _sign_in(live, "school_officer")
    page = officer.get("/inbox")
    _check_page(page.text)
    assert len(re.findall(r'<li class="note">', page.text)) == 5, "the unread few"
    assert "全部通知（6）" in page.text
    assert f"申报高级教师（{ids['subject']}）" in page.text
    assert re.search(r'class="submitted">2026-09-01<', page.text)

    notices = officer.get("/notifications")
    _check_page(notices.text)
    assert len(re.findall(r'class="notice-item', notices.text)) == 6, "every notice reachable"
    local = urged_at.astimezone(BUREAU_TZ).strftime("%Y-%m-%d %H:%M")
    assert notices.text.count(f">{local}</time>") == 3, "stamped with the urge's time"

    api = live.client("school_officer")
    listed = api.get("/api/v1/notifications", params={"page_size": 50}).json()
    assert listed["total"] == 6 and listed["unread"] == 6
    urge = next(n for n in listed["items"] if n["kind"] == "urge" and n["case_id"] == mine)
    assert dt.datetime.fromisoformat(urge["at"]) == urged_at
    assert urge["settled"] is None and urge["task_id"]

    # opening a notice marks it read and shows its case; someone else's is not there
    opened = officer.get(f"/notifications/{urge['id']}")
    assert opened.status_code == 303 and opened.headers["location"] == f"/cases/{mine}"
    assert api.get("/api/v1/notifications").json()["unread"] == 5
    other, _ = _sign_in(live, "county_officer")
    assert other.get(f"/notifications/{urge['id']}").status_code == 404
    assert officer.get("/notifications/999999999").status_code == 404

    # the school approves one case: its urge is settled, greyed, no longer unread work
    colleague = cases[1]
    current = api.get(f"/api/v1/cases/{colleague}").json()["version"]
    approved = api.post(
        f"/api/v1/cases/{colleague}/events",
        json={"event": "school_approve", "payload": {}, "expected_version": current},
    )
    assert approved.status_code == 200, approved.text
    after = api.get("/api/v1/notifications", params={"page_size": 50}).json()
    settled = [n for n in after["items"] if n["settled"] == "done"]
    assert [(n["kind"], n["case_id"]) for n in settled] == [("urge", colleague)]
    assert after["unread"] == 4
    assert "已办结" in officer.get("/notifications").text

    # 全部已读: refused without the form's token, then done, on the page and over the API
    refused = officer.post("/notifications/read-all", data={"back": "/notifications"})
    assert refused.status_code == 403
    done = officer.post("/notifications/read-all", data={"csrf": ocsrf, "back": "/notifications"})
    assert done.status_code == 303 and done.headers["location"] == "/notifications"
    assert "已将4条通知标为已读" in officer.get("/notifications").text
    assert api.post("/api/v1/notifications/read-all").json() == {"read": 0, "unread": 0}
    assert "没有未读通知" in officer.get("/inbox").text

    # the inbox searched and filtered over the API, bad input named at the field
    with live.services.db.connect() as conn:
        number = conn.execute(
            select(Person.id_number).where(Person.id == ids["teacher"])
        ).scalar_one()
    by_id = api.get("/api/v1/tasks", params={"q": number}).json()
    assert [i["case_id"] for i in by_id["items"]] == [mine]
    assert by_id["items"][0]["asks"] == f"申报高级教师（{ids['subject']}）"
    assert by_id["items"][0]["submitted_at"].startswith("2026-09-01")
    assert api.get("/api/v1/tasks", params={"q": number[:17]}).json()["total"] == 0
    assert api.get("/api/v1/tasks", params={"q": str(mine)}).json()["total"] == 1
    for params, field in (
        ({"process": "nothing"}, "process"),
        ({"state": "nowhere"}, "state"),
        ({"q": _miswritten(number)}, "q"),
        ({"due_before": "2026-02-30"}, "due_before"),
        ({"unit_id": "0"}, "unit_id"),
    ):
        bad = api.get("/api/v1/tasks", params=params)
        assert bad.status_code == 422 and bad.json()["field"] == field, (params, bad.text)

    # on the page: the filters stay in the pager's links; a bad ID number is named at the box
    monkeypatch.setattr(inbox_pages, "INBOX_PAGE", 1)
    paged = officer.get("/inbox", params={"process": "title_review", "overdue": ""})
    assert 'href="/inbox?box=todo&amp;process=title_review&amp;page=2"' in paged.text
    nobody = officer.get("/inbox", params={"q": "查无此人"})
    assert nobody.status_code == 200 and "没有符合条件的事项" in nobody.text
    broken = officer.get("/inbox", params={"q": _miswritten(number)})
    assert broken.status_code == 422 and "校验码错误" in broken.text
    _check_page(broken.text)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_browser_select_all_and_read_all_at_phone_width(live: Live) -> None:
    ids = _ids(live)
    _colleagues(live, ids["school"], 3)
    _ticked(live)
    with chromium() as browser:
        context = browser.new_context(viewport=PHONE, is_mobile=True, locale="zh-CN")
        page = context.new_page()
        escaped = offline(page, live.url)
        errors = console_errors(page)
        sign_in(page, live.url, "school_officer")
        boxes = page.locator('input[name="item"]')
        expect(boxes).to_have_count(3)
        pick_all = page.get_by_label("全选本页")
        expect(pick_all).to_be_visible()
        pick_all.check()
        for i in range(3):
            expect(boxes.nth(i)).to_be_checked()
        boxes.nth(0).uncheck()
        expect(pick_all).not_to_be_checked()
        boxes.nth(0).check()
        expect(pick_all).to_be_checked()
        shot(page, "inbox-select-all-phone")
        page.set_viewport_size(DESKTOP)  # wide: the table's own header box, no bar
        expect(pick_all).not_to_be_visible()
        expect(page.get_by_label("全选", exact=True)).to_be_checked()
        shot(page, "inbox-desktop")
        page.set_viewport_size(PHONE)

        expect(page.locator("#notes-h .count")).to_have_text("3")
        page.get_by_role("button", name="全部已读").click()
        expect(page.get_by_role("status")).to_contain_text("已将3条通知标为已读")
        expect(page.locator("#notes-h .count")).to_have_text("0")
        page.get_by_role("link", name="全部通知（3）").click()
        expect(page.locator(".notice-item")).to_have_count(3)
        expect(page.locator("#unread-count")).to_have_text("0")
        shot(page, "notifications-phone")
        context.close()
    assert escaped == [], f"pages loaded from the network: {escaped}"
    assert errors == [], f"the pages reported errors: {errors}"
