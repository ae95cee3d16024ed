"""Compliance findings explained and closed by hand, on both databases: an officer of the
answering unit (or above) records a 情况说明; an officer of a unit above closes the finding
by hand (人工销号) with a reason; both are kept with who and when, shown on the finding's own
page and on the board, where closings by the data and by hand are counted apart; the same
check leaves a finding closed by hand closed for the rest of the school year and checks the
subject afresh from 1 September. Each refusal names its field, or answers 403/404 as the
board does. The same over the JSON API, the pages and the command line."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import literal, select, update

from notifications.dispatch import dispatch
from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine
from states.errors import Conflict, FormError, NotFound, PermissionDenied
from states.org import INSPECTOR, LEADER, TEACHER, Actor, Binding
from states.process.package import ComplianceRule, Schedule
from states.processes.compliance import checks, findings, notes, notify, records
from states.processes.compliance.tables import ComplianceFinding
from states.store.models import Notification, OutboxMessage, Person, Teacher, table_of
from tests.cli import renshi_here
from tests.live import Live
from tests.test_pages import _sign_in
from tests.world import World

findings_t, teachers_t, people_t = (
    table_of(ComplianceFinding),
    table_of(Teacher),
    table_of(Person),
)
RULE = records.REGISTRATION_RULE
SICK = "该教师长期病假，待返岗后办理注册"
LABEL = "教师资格定期注册即将期满"


def _lapsed(eng: CaseEngine, world: World, name: str, school: str) -> Actor:
    """A teacher whose qualification registration lapsed in 2026."""
    who = world.teacher(name, school)
    with eng.db.begin() as conn:
        conn.execute(
            update(teachers_t)
            .where(teachers_t.c.person_id == who.person_id)
            .values(cert_no=f"C-{name}", cert_registered_on=dt.date(2021, 3, 1))
        )
    return who


def _finding_of(eng: CaseEngine, who: Actor, *, open_only: bool = True) -> int:
    f = findings_t
    query = select(f.c.id).where(f.c.rule == RULE, f.c.subject_id == who.person_id)
    if open_only:
        query = query.where(f.c.closed_at.is_(None))
    with eng.db.connect() as conn:
        return int(conn.execute(query.order_by(f.c.id.desc())).scalars().first() or 0)


def _page(eng: CaseEngine, actor: Actor, finding_id: int) -> findings.FindingPage:
    with eng.db.connect() as conn:
        return findings.finding(conn, actor, eng.processes.compliance_rules(), finding_id)


def _rules_board(eng: CaseEngine, actor: Actor) -> dict[str, findings.RuleCount]:
    with eng.db.connect() as conn:
        b = findings.board(
            conn, actor, eng.processes.compliance_rules(), findings.Filters(), eng.clock.now()
        )
    return {r.code: r for r in b.rules}


def test_explained_then_closed_by_hand_and_kept_closed_for_the_school_year(
    eng: CaseEngine, world: World, clock: FrozenClock
) -> None:
    a = _lapsed(eng, world, "甲", "urban")
    b = _lapsed(eng, world, "乙", "urban")
    c = _lapsed(eng, world, "丙", "rural")
    clock.set(bureau_time(2026, 10, 8, 7))
    assert checks.run_rule(eng, _registration(eng))["found"] == 3
    fa, fb, fc = (_finding_of(eng, x) for x in (a, b, c))
    school, rural = world.actors["school_officer"], world.actors["rural_officer"]
    county, west = world.actors["county_officer"], world.actors["west_officer"]
    city = world.actors["city_officer"]
    teacher = Actor(a.person_id, a.name, (Binding(TEACHER, world.unit("urban"),
                                                  world.units["urban"].path),))  # fmt: skip
    leader = world.officer("领导", LEADER, "city")
    inspector = world.officer("督查员", INSPECTOR, "province")

    # 情况说明: the school itself, or a unit above; refused by name, or as the board refuses
    with pytest.raises(FormError) as blank:
        notes.note(eng, school, fa, "   ")
    assert blank.value.field == "text" and "请填写情况说明" in blank.value.reason
    with pytest.raises(FormError) as long_:
        notes.note(eng, school, fa, "说" * 501)
    assert long_.value.field == "text" and "不能超过500字" in long_.value.reason
    with pytest.raises(FormError) as past:
        notes.note(eng, school, fa, "待注册", dt.date(2026, 10, 7))
    assert past.value.field == "until" and "不能早于今天" in past.value.reason
    with pytest.raises(NotFound):  # another school's officer does not see it at all
        notes.note(eng, rural, fa, "不是本校")
    with pytest.raises(NotFound):  # nor another county's
        notes.note(eng, west, fa, "不是本县")
    with pytest.raises(PermissionDenied):  # a teacher reads no board
        notes.note(eng, teacher, fa, "本人说明")
    for reader in (leader, inspector):  # they read the board, they do not answer for it
        with pytest.raises(PermissionDenied, match="人事干部填写"):
            notes.note(eng, reader, fa, "代为说明")
    with pytest.raises(NotFound):
        notes.note(eng, school, 10**9, "不存在")
    notes.note(eng, school, fa, SICK, dt.date(2026, 12, 31))
    clock.advance(hours=1)
    notes.note(eng, county, fa, "县局已督促，返岗后一周内办理")
    notes.note(eng, school, fb, "已报名本月注册")
    assert _rules_board(eng, county)[RULE].explained == 2

    # 人工销号: a unit above only, never the answering unit itself
    with pytest.raises(PermissionDenied, match="上级单位人事干部"):
        notes.close(eng, school, fa, "本校认为无需整改")
    with pytest.raises(PermissionDenied):
        notes.close(eng, leader, fa, "领导同意")
    with pytest.raises(NotFound):
        notes.close(eng, west, fa, "不是本县")
    with pytest.raises(FormError) as no_reason:
        notes.close(eng, county, fa, "")
    assert no_reason.value.field == "reason" and "请填写销号理由" in no_reason.value.reason
    assert _finding_of(eng, a) == fa  # nothing half-written: still open
    notes.close(eng, county, fa, "该教师已办理病休，返岗后重新注册，本学年不再督办")
    with pytest.raises(Conflict, match="已于2026-10-08销号（人工销号）"):
        notes.close(eng, city, fa, "再次销号")
    with pytest.raises(Conflict, match="不能再填写情况说明"):
        notes.note(eng, school, fa, "补充说明")

    # the finding's own page: the line as the board cuts it, every note, the closing
    page = _page(eng, school, fa)
    x = page.line
    assert (page.may_note, page.may_close) == (False, False)
    assert x["by_hand"] and x["closed_how"] == findings.BY_HAND_HOW
    assert (x["closed_by"], x["closed_unit"]) == ("county_officer", "东县")
    assert x["close_reason"] == "该教师已办理病休，返岗后重新注册，本学年不再督办"
    assert [(n["author"], n["author_unit"], n["text"], n["until"]) for n in x["notes"]] == [
        ("school_officer", "东县实验中学", SICK, dt.date(2026, 12, 31)),
        ("county_officer", "东县", "县局已督促，返岗后一周内办理", None),
    ]
    assert x["name"] == "甲" and "*" in x["id_number"]  # an officer: the ID number masked
    assert "*" not in _page(eng, inspector, fa).line["id_number"]
    led = _page(eng, leader, fb)
    assert led.line["name"] == "乙"[:1] and (led.may_note, led.may_close) == (False, False)
    assert led.line["note"] == "已报名本月注册"  # the latest explanation, on the board too
    assert (_page(eng, school, fb).may_note, _page(eng, school, fb).may_close) == (True, False)
    assert (_page(eng, county, fb).may_note, _page(eng, county, fb).may_close) == (True, True)
    with pytest.raises(NotFound):
        _page(eng, rural, fa)
    with pytest.raises(PermissionDenied):
        _page(eng, teacher, fa)

    # the next run: the finding closed by hand stays closed, the others go on as before
    clock.set(bureau_time(2026, 10, 9, 7))
    again = checks.run_rule(eng, _registration(eng))
    assert again == {"open": 2, "found": 0, "closed": 0, "notified": 0, "waived": 1}
    assert _finding_of(eng, a) == 0
    # b mended by the data: closed by the data, counted apart from the one closed by hand
    with eng.db.begin() as conn:
        conn.execute(
            update(teachers_t).where(teachers_t.c.person_id == b.person_id)
            .values(cert_registered_on=dt.date(2026, 10, 9))
        )  # fmt: skip
    assert checks.run_rule(eng, _registration(eng))["closed"] == 1
    counted = _rules_board(eng, county)[RULE]
    assert (counted.open, counted.explained) == (1, 0)
    assert (counted.closed_recently, counted.closed_by_data, counted.closed_by_hand) == (2, 1, 1)
    with eng.db.connect() as conn:
        b_ = findings.board(conn, county, eng.processes.compliance_rules(),
                            findings.Filters(status="closed"), eng.clock.now())  # fmt: skip
    closed = {x["id"]: x for x in b_.lines}
    assert closed[fa]["by_hand"] and closed[fa]["closed_unit"] == "东县"
    assert not closed[fb]["by_hand"] and closed[fb]["closed_how"] == checks.CLOSED_HOW
    assert _finding_of(eng, c) == fc  # c untouched

    # the last day of the school year: still closed; from 1 September checked afresh
    clock.set(bureau_time(2027, 8, 31, 7))
    assert checks.run_rule(eng, _registration(eng))["waived"] == 1
    clock.set(bureau_time(2027, 9, 1, 7))
    fresh = checks.run_rule(eng, _registration(eng))
    assert fresh["found"] == 1 and "waived" not in fresh
    assert _finding_of(eng, a) not in (0, fa)  # a new finding; the old one stays closed
    assert _page(eng, county, fa).line["by_hand"]


def _registration(eng: CaseEngine) -> ComplianceRule:
    return next(r for r in eng.processes.compliance_rules() if r.code == RULE)


# --- telling the unit ----------------------------------------------------------------------------
def _inbox(eng: CaseEngine, who: Actor, kind: str) -> list[Any]:
    """What reached ``who``'s inbox of ``kind``, oldest first."""
    n = table_of(Notification)
    with eng.db.connect() as conn:
        return list(
            conn.execute(
                select(n.c.title, n.c.body)
                .where(n.c.person_id == who.person_id, n.c.kind == kind)
                .order_by(n.c.id)
            )
        )


def _outbox(eng: CaseEngine, kind: str) -> list[Any]:
    o = table_of(OutboxMessage)
    with eng.db.connect() as conn:
        return list(conn.execute(select(o).where(o.c.kind == kind).order_by(o.c.id)))


def test_the_unit_hears_of_a_closing_by_hand_and_of_an_explanation_from_above(
    eng: CaseEngine, world: World, clock: FrozenClock
) -> None:
    """Through the real dispatcher into the inbox: an explanation by a unit above and every
    closing by hand tell the answering unit's officers, once per act (one outbox row for the
    unit, one inbox notice each officer); the unit's own explanation and a refused act tell
    nobody."""
    a = _lapsed(eng, world, "甲", "urban")
    c = _lapsed(eng, world, "丙", "rural")
    clock.set(bureau_time(2026, 10, 8, 7))
    checks.run_rule(eng, _registration(eng))
    fa, fc = _finding_of(eng, a), _finding_of(eng, c)
    school, county = world.actors["school_officer"], world.actors["county_officer"]
    rural = world.actors["rural_officer"]
    notes.note(eng, school, fa, SICK, dt.date(2026, 12, 31))  # the school's own: nobody told
    assert _outbox(eng, notify.NOTED_NOTICE) == []
    clock.advance(hours=2)
    notes.note(eng, county, fa, "县局已督促，返岗后一周内办理", dt.date(2026, 11, 30))
    with pytest.raises(FormError):
        notes.close(eng, county, fc, " ")  # refused: nothing written, nobody told
    notes.close(eng, county, fc, "该教师已调离教学岗位，本学年不再督办")
    noted, closed = _outbox(eng, notify.NOTED_NOTICE), _outbox(eng, notify.CLOSED_NOTICE)
    assert [(r.recipient_role, r.recipient_unit_id) for r in noted] == [
        ("school_officer", world.unit("urban"))
    ]
    assert [(r.recipient_role, r.recipient_unit_id) for r in closed] == [
        ("school_officer", world.unit("rural"))
    ]
    sent = dispatch(eng.db, clock, {}, catalogue=eng.processes)
    assert sent.failed == 0
    for officer in (school, world.actors["school_officer2"]):  # each officer of the school
        (told,) = _inbox(eng, officer, notify.NOTED_NOTICE)
        assert told.title == f"【人事业务平台】上级单位填写了合规检查问题情况说明：{LABEL}"
        assert "county_officer（东县）于2026年10月8日对贵单位" in told.body
        assert "（教师甲：教师资格定期注册已于2026-03-01期满" in told.body
        assert "县局已督促，返岗后一周内办理" in told.body
        assert "预计整改日期：2026年11月30日" in told.body
        assert f"问题编号：{fa}" in told.body
    (shut,) = _inbox(eng, rural, notify.CLOSED_NOTICE)
    assert shut.title == f"【人事业务平台】合规检查问题已人工销号：{LABEL}"
    assert "已由county_officer（东县）于2026年10月8日人工销号" in shut.body
    assert "销号理由：该教师已调离教学岗位，本学年不再督办" in shut.body and "教师丙：" in shut.body
    assert _inbox(eng, rural, notify.NOTED_NOTICE) == []
    assert _inbox(eng, school, notify.CLOSED_NOTICE) == []
    assert _inbox(eng, county, notify.CLOSED_NOTICE) == []  # the one who closed it is not told
    again = dispatch(eng.db, clock, {}, catalogue=eng.processes)
    assert again.sent.get("inapp", 0) == 0


def test_an_expected_date_passed_is_reminded_once(
    eng: CaseEngine, world: World, clock: FrozenClock
) -> None:
    """The rule's daily run reminds the unit once when the expected date of a finding's
    latest dated explanation has passed and the finding is still open: one notice per unit
    and run listing its findings, not again on the same day's or the next day's run, again
    when a new date passes (even with runs missed in between); a finding the data mended in
    the same run is not reminded."""
    a = _lapsed(eng, world, "甲", "urban")
    b = _lapsed(eng, world, "乙", "urban")
    c = _lapsed(eng, world, "丙", "rural")
    clock.set(bureau_time(2026, 10, 8, 7))
    rule = _registration(eng)
    checks.run_rule(eng, rule)
    fa, fb, fc = (_finding_of(eng, x) for x in (a, b, c))
    school, rural = world.actors["school_officer"], world.actors["rural_officer"]
    clock.advance(hours=3)
    twentieth = dt.date(2026, 10, 20)
    notes.note(eng, school, fa, SICK, twentieth)
    notes.note(eng, school, fb, "已报名本月注册", twentieth)
    notes.note(eng, school, fb, "注册材料已报县局")  # no date: the promised one still stands
    notes.note(eng, rural, fc, "已报名本月注册", twentieth)

    clock.set(bureau_time(2026, 10, 20, 7))  # the day itself: not yet passed
    assert "reminded" not in checks.run_rule(eng, rule)
    with eng.db.begin() as conn:  # 丙 registers on the last day: mended, not reminded
        conn.execute(
            update(teachers_t).where(teachers_t.c.person_id == c.person_id)
            .values(cert_registered_on=twentieth)
        )  # fmt: skip
    clock.set(bureau_time(2026, 10, 21, 7))
    ran = checks.run_rule(eng, rule)
    assert (ran["closed"], ran["reminded"]) == (1, 2)
    assert "预计整改日期已过提醒2" in checks.count_words(ran)
    (due,) = _outbox(eng, notify.DUE_NOTICE)
    assert (due.recipient_role, due.recipient_unit_id) == ("school_officer", world.unit("urban"))
    assert due.payload["findings"] == sorted([fa, fb])
    clock.advance(hours=1)  # run again the same day, and the next day: nothing more
    assert "reminded" not in checks.run_rule(eng, rule)
    clock.set(bureau_time(2026, 10, 22, 7))
    assert "reminded" not in checks.run_rule(eng, rule)
    assert len(_outbox(eng, notify.DUE_NOTICE)) == 1

    # a new date: reminded when it passes, the first run after it however late
    clock.advance(hours=2)
    notes.note(eng, school, fa, "返岗推迟，月底前办理", dt.date(2026, 10, 30))
    clock.set(bureau_time(2026, 11, 2, 7))
    assert checks.run_rule(eng, rule)["reminded"] == 1
    assert "reminded" not in checks.run_rule(eng, rule)

    dispatch(eng.db, clock, {}, catalogue=eng.processes)
    first, second = _inbox(eng, school, notify.DUE_NOTICE)
    assert first.title == f"【人事业务平台】合规检查问题已过预计整改日期：{LABEL}"
    assert "2026年10月21日的合规检查" in first.body and "贵单位有2项问题" in first.body
    assert "教师甲：" in first.body and "教师乙：" in first.body
    assert first.body.count("（预计整改日期2026年10月20日）") == 2
    assert "贵单位有1项问题" in second.body and "（预计整改日期2026年10月30日）" in second.body
    assert "教师乙" not in second.body
    assert _inbox(eng, rural, notify.DUE_NOTICE) == []


def test_a_finding_of_the_province_itself_has_nobody_above_to_close_it(
    eng: CaseEngine, world: World
) -> None:
    who = world.teacher("省直", "urban")
    province = world.unit("province")
    probe = ComplianceRule(
        "probe", "测试检查", "teacher",
        lambda conn, today: select(
            teachers_t.c.person_id, literal(province), literal("省直管教师的问题")
        ).where(teachers_t.c.person_id == who.person_id),
        "请整改", Schedule("测试检查", "测试", "0 7 * * *"),
    )  # fmt: skip
    assert checks.run_rule(eng, probe)["found"] == 1
    with eng.db.connect() as conn:
        fid = int(conn.execute(select(findings_t.c.id).where(findings_t.c.rule == "probe"))
                  .scalar_one())  # fmt: skip
    officer = world.actors["province_officer"]
    notes.note(eng, officer, fid, "省级牵头，正在协调")  # the province answers for it
    with pytest.raises(PermissionDenied, match="没有上级单位"):
        notes.close(eng, officer, fid, "省级自行销号")


def test_the_command_line_shows_explains_and_closes(db_url: str, world: World) -> None:
    who = world.teacher("命令行", "urban")
    with world.engine.begin() as conn:
        conn.execute(
            update(teachers_t).where(teachers_t.c.person_id == who.person_id)
            .values(cert_no="C1", cert_registered_on=dt.date(2021, 3, 1))
        )  # fmt: skip
        for key in ("school_officer", "county_officer", "rural_officer"):
            conn.execute(
                update(people_t).where(people_t.c.id == world.actors[key].person_id)
                .values(username=key)
            )  # fmt: skip

    def renshi(*args: str) -> Any:
        return renshi_here(db_url, "--at", "2026-10-08T07:00", *args)

    assert renshi("compliance", "run", "--rule", RULE).returncode == 0
    listed = renshi("compliance", "findings", "--as", "school_officer")
    fid = re.search(r"^(\d+)\t教师资格定期注册即将期满\t东县实验中学\t命令行", listed.stdout, re.M)
    assert fid, listed.stdout
    number = fid[1]
    empty = renshi("compliance", "note", number, "--as", "school_officer", "--text", " ")
    assert empty.returncode == 1 and "[text] 请填写情况说明" in empty.stderr
    other = renshi("compliance", "show", number, "--as", "rural_officer")
    assert other.returncode == 1 and "问题不存在或不在您的查看范围内" in other.stderr
    noted = renshi("compliance", "note", number, "--as", "school_officer",
                   "--text", "本人病休", "--until", "2026-12-31")  # fmt: skip
    assert noted.returncode == 0, noted.stderr
    said = "2026-10-08 07:00 school_officer（东县实验中学）：本人病休（预计2026-12-31整改）"
    assert f"情况说明：{said}" in noted.stdout
    own = renshi("compliance", "close", number, "--as", "school_officer", "--reason", "自行销号")
    assert own.returncode == 1 and "上级单位人事干部" in own.stderr
    closed = renshi("compliance", "close", number, "--as", "county_officer", "--reason", "已核实")
    assert closed.returncode == 0, closed.stderr
    assert "状态：已于2026-10-08 07:00人工销号，county_officer（东县）：已核实" in closed.stdout
    rerun = renshi("compliance", "run", "--rule", RULE)
    assert "本学年已人工销号不再登记1" in rerun.stdout and "新发现0" in rerun.stdout


# --- over HTTP ------------------------------------------------------------------------------------
def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def test_the_api_and_the_pages_explain_close_and_show_a_finding(live: Live) -> None:
    live.clock.set(bureau_time(2026, 9, 1, 7))
    checks.run_all(live.services.engine)
    live.clock.set(bureau_time(2026, 10, 8, 7))
    checks.run_all(live.services.engine, "ethics_pledge")
    api = {n: live.client(n) for n in ("school_officer", "county_officer", "inspector",
                                       "leader", "teacher")}  # fmt: skip
    ours = _ok(api["school_officer"].get(
        "/api/v1/compliance/findings", params={"rule": "ethics_pledge", "limit": "3"}
    ))["items"]  # fmt: skip
    school_id = ours[0]["unit_id"]
    theirs = next(
        x for x in _ok(api["inspector"].get(
            "/api/v1/compliance/findings", params={"rule": "ethics_pledge", "limit": "1000"}
        ))["items"] if x["unit_id"] != school_id
    )  # fmt: skip
    fid, gid = ours[0]["id"], ours[1]["id"]
    url = f"/api/v1/compliance/findings/{fid}"

    seen = _ok(api["school_officer"].get(url))
    assert (seen["may_note"], seen["may_close"], seen["notes"]) == (True, False, [])
    assert seen["summary"].startswith("师德承诺书未签署：") and "未整改" in seen["summary"]
    assert api["teacher"].get(url).status_code == 403
    elsewhere = f"/api/v1/compliance/findings/{theirs['id']}"
    assert api["school_officer"].get(elsewhere).status_code == 404
    assert api["school_officer"].get("/api/v1/compliance/findings/0").status_code == 422

    blank = api["school_officer"].post(f"{url}/notes", json={"text": " "})
    assert blank.status_code == 422 and blank.json()["field"] == "text"
    past = api["school_officer"].post(f"{url}/notes", json={"text": "病假", "until": "2026-10-01"})
    assert past.status_code == 422 and past.json()["field"] == "until"
    assert api["leader"].post(f"{url}/notes", json={"text": "领导说明"}).status_code == 403
    noted = _ok(api["school_officer"].post(
        f"{url}/notes", json={"text": "该教师产假中，返岗后签署", "until": "2026-12-01"}
    ), 201)  # fmt: skip
    assert [n["text"] for n in noted["notes"]] == ["该教师产假中，返岗后签署"]
    assert noted["note"] == "该教师产假中，返岗后签署" and noted["note_until"] == "2026-12-01"
    assert api["school_officer"].post(f"{url}/close", json={"reason": "x"}).status_code == 403
    no_reason = api["county_officer"].post(f"{url}/close", json={"reason": ""})
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    done = _ok(api["county_officer"].post(f"{url}/close", json={"reason": "产假期间，本学年免签"}))
    assert done["by_hand"] and done["close_reason"] == "产假期间，本学年免签"
    assert done["summary"].endswith("已于2026-10-08销号（人工销号）")
    again = api["county_officer"].post(f"{url}/close", json={"reason": "再次"})
    assert again.status_code == 409
    # each reader as the board: the leader sees the surname, the inspector the full number
    led = _ok(api["leader"].get(url))
    assert led["name"].endswith("*") and led["close_reason"] == "产假期间，本学年免签"
    assert "*" not in _ok(api["inspector"].get(url))["id_number"]
    board = _ok(api["county_officer"].get("/api/v1/compliance/findings",
                                          params={"rule": "ethics_pledge"}))  # fmt: skip
    pledge_rule = next(r for r in board["rules"] if r["code"] == "ethics_pledge")
    assert (pledge_rule["closed_by_hand"], pledge_rule["closed_by_data"]) == (1, 0)
    assert "（数据更新0项、人工销号1项）" in board["summary"]
    ran = _ok(live.client("province_officer").post("/api/v1/compliance/run",
                                                   json={"rule": "ethics_pledge"}))  # fmt: skip
    assert ran["results"][0]["counts"]["waived"] == 1
    assert fid not in {x["id"] for x in _ok(api["county_officer"].get(
        "/api/v1/compliance/findings", params={"rule": "ethics_pledge", "limit": "1000"}
    ))["items"]}  # fmt: skip

    # the pages: the board links each finding to its page; the forms to those who may
    c, csrf = _sign_in(live, "school_officer")
    board_page = c.get("/compliance?rule=ethics_pledge").text
    assert f'href="/compliance/findings/{gid}"' in board_page
    assert "近30天销号：人工销号" in board_page
    page = c.get(f"/compliance/findings/{gid}")
    assert page.status_code == 200 and 'id="note-form"' in page.text
    assert 'id="close-form"' not in page.text  # the school does not close its own
    missing = c.post(f"/compliance/findings/{gid}/notes",
                     data={"csrf": csrf, "text": "", "until": "2026-12-01"})  # fmt: skip
    assert missing.status_code == 422 and 'id="n-text-error"' in missing.text
    assert "请填写情况说明" in missing.text and 'value="2026-12-01"' in missing.text
    bad_day = c.post(f"/compliance/findings/{gid}/notes",
                     data={"csrf": csrf, "text": "病假", "until": "2026-13-01"})  # fmt: skip
    assert bad_day.status_code == 422 and 'id="n-until-error"' in bad_day.text
    assert "日期无效" in bad_day.text and ">病假</textarea>" in bad_day.text
    forged = c.post(f"/compliance/findings/{gid}/notes", data={"text": "无令牌"})
    assert forged.status_code == 403
    posted = c.post(f"/compliance/findings/{gid}/notes",
                    data={"csrf": csrf, "text": "已电话督促", "until": ""})  # fmt: skip
    assert posted.status_code == 303 and posted.headers["location"] == f"/compliance/findings/{gid}"
    shown = c.get(f"/compliance/findings/{gid}").text
    assert "已填写情况说明" in shown and "已电话督促" in shown
    closed_page = c.get(f"/compliance/findings/{fid}").text
    assert "产假期间，本学年免签" in closed_page and "该教师产假中，返岗后签署" in closed_page
    assert 'id="note-form"' not in closed_page
    assert c.get(f"/compliance/findings/{theirs['id']}").status_code == 404
    k, k_csrf = _sign_in(live, "county_officer")
    assert 'id="close-form"' in k.get(f"/compliance/findings/{gid}").text
    shut = k.post(f"/compliance/findings/{gid}/close", data={"csrf": k_csrf, "reason": ""})
    assert shut.status_code == 422 and 'id="c-reason-error"' in shut.text
    shut = k.post(f"/compliance/findings/{gid}/close", data={"csrf": k_csrf, "reason": "已核实"})
    assert shut.status_code == 303
    assert "已人工销号" in k.get(f"/compliance/findings/{gid}").text
    lead, _ = _sign_in(live, "leader")
    led_page = lead.get(f"/compliance/findings/{gid}").text
    assert "已电话督促" in led_page and 'id="note-form"' not in led_page
    t, t_csrf = _sign_in(live, "teacher")
    assert t.get(f"/compliance/findings/{gid}").status_code == 404
    assert t.post(f"/compliance/findings/{gid}/notes",
                  data={"csrf": t_csrf, "text": "x"}).status_code == 404  # fmt: skip
