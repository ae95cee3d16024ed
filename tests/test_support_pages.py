"""The support-teaching pages (支教) and JSON API over a real server: a rural school declares a
need through its form (a school that is neither rural, weak nor in a paired region is refused
beside the form), the county approves it on the board, a teacher volunteers and the school
confirms, the school nominates a second, the county selects with the records beside them (the
second refused: no place left), the selected teacher stands on the public board, is
dispatched, and the rural school files a month's check-in on its inbox (a bad number refused
beside its field, a month outside the term refused by the API naming the month); the teacher
reads their term. Then what each reader receives — the receiving school's officer, another
school's officer, the sending school, the teacher, the county — in the pages and the masked
dispatch spreadsheet: no other school's teachers, no full ID number but the teacher's own."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from api.auth import hash_password
from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine
from states.identity import mask_id_number
from states.org import SCHOOL_OFFICER, Actor
from states.processes.support_teaching import applications, checkins, needs
from states.seed.builders import close_window, fire_current
from states.store.models import Case, Person, table_of
from tests.live import PASSWORD, Live, serve
from tests.test_pages import _check_page, _field_error, _sign_in
from tests.world import World

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
people_t, cases_t = table_of(Person), table_of(Case)
# Names no page would show by accident: a page that shows one shows a teacher it should not.
NAMES = {"u1": "实验甲老师", "u2": "实验乙老师", "u3": "实验丙老师", "p1": "试点甲老师"}
NEED = {
    "subject": "数学",
    "level": "junior",
    "places": "1",
    "starts_on": "2026-10-09",
    "ends_on": "2027-07-09",
    "note": "初三数学缺一名教师",
}


def _county(world: World) -> World:
    """东县 of the test world with a weak school beside its rural one; three teachers at the
    urban school and one at the pilot school, each with a login of their own."""
    with world.engine.begin() as conn:
        world.add_unit(conn, "weak", "school", "东县薄弱初中", "east", is_weak=True)
    world.officer("weak_officer", SCHOOL_OFFICER, "weak")
    for key in ("u1", "u2", "u3"):
        world.teacher(key, "urban")
    world.teacher("p1", "pilot")
    with world.engine.begin() as conn:
        hashed = hash_password(PASSWORD)
        for key, actor in world.actors.items():
            conn.execute(
                update(people_t)
                .where(people_t.c.id == actor.person_id)
                .values(username=key, password_hash=hashed, name=NAMES.get(key, key))
            )
    return world


@pytest.fixture
def county(world: World) -> World:
    return _county(world)


@pytest.fixture
def live(db_url: str, county: World, tmp_path: Path, clock: FrozenClock) -> Iterator[Live]:
    with serve(db_url, clock, tmp_path / "files") as server:
        yield server


def _to(clock: FrozenClock, day: dt.date) -> None:
    clock.set(bureau_time(day.year, day.month, day.day, 9))


def _flash(c: httpx.Client, r: httpx.Response) -> tuple[str, str]:
    """Where a POST that worked went, and what the next page says it did."""
    assert r.status_code == 303, r.text
    page = c.get(r.headers["location"])
    found = re.search(r'<div class="notice ok" role="status">([^<]*)</div>', page.text)
    assert found, "a step that worked says what it did"
    return page.text, found[1]


def _form(html: str, form_id: str) -> dict[str, str]:
    """The hidden fields of one form as the page drew it (version, CSRF, once …)."""
    found = re.search(rf'<form[^>]*id="{re.escape(form_id)}".*?</form>', html, re.S)
    assert found, f"no form {form_id} on the page"
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', found[0]))


def _press(c: httpx.Client, page: str, case_id: int, event: str, **extra: str) -> httpx.Response:
    """Press a button as the page shows it (the version it was drawn at)."""
    html = c.get(page).text
    data = {**_form(html, f"step-{case_id}-{event}"), **extra}
    return c.post(f"/support/cases/{case_id}/steps/{event}", data=data)


def _only(live: Live, process: str, **data: int) -> int:
    with live.services.db.connect() as conn:
        rows = conn.execute(
            select(cases_t.c.id, cases_t.c.data).where(cases_t.c.process == process)
        )
        found = [i for i, d in rows if all(d.get(k) == v for k, v in data.items())]
    assert len(found) == 1, (process, data, found)
    return int(found[0])


def _ids(live: Live) -> list[str]:
    with live.services.db.connect() as conn:
        return [str(x) for x in conn.execute(select(people_t.c.id_number)).scalars() if x]


# --- the whole way through the pages ------------------------------------------------------------
@SQLITE
def test_a_need_through_the_pages_to_a_months_check_in(live: Live, county: World) -> None:
    w, clock, eng = county, live.clock, live.services.engine
    rural = w.unit("rural")

    # 1. the rural school declares through its form: a bad field refused beside it, the input
    # kept; then the need, into the county's review
    school, csrf = _sign_in(live, "rural_officer")
    assert school.get("/support").headers["location"] == "/support/school"
    page = school.get("/support/school")
    _check_page(page.text)
    assert "本校为农村学校" in page.text and 'id="need-form"' in page.text
    bad = school.post("/support/needs", data={"csrf": csrf, **NEED, "places": "0"})
    assert bad.status_code == 422
    _check_page(bad.text)
    assert "需求人数" in _field_error(bad.text, "need-places")
    assert "初三数学缺一名教师" in bad.text
    late = school.post("/support/needs", data={"csrf": csrf, **NEED, "ends_on": "2026-10-20"})
    assert late.status_code == 422 and "不能少于1个月" in _field_error(late.text, "need-ends_on")
    _, said = _flash(school, school.post("/support/needs", data={"csrf": csrf, **NEED}))
    assert said.startswith("支教需求已提交") and "待审批" in said
    need = _only(live, "support_need")

    # an urban school has no form, and its declaration is refused in the rule's words
    urban_c, ucsrf = _sign_in(live, "school_officer")
    mine = urban_c.get("/support/school").text
    assert 'id="not-receiving"' in mine and 'id="need-form"' not in mine
    refused = urban_c.post("/support/needs", data={"csrf": ucsrf, **NEED})
    assert refused.status_code == 422
    assert "东县实验中学不是农村学校、薄弱学校或对口支援地区学校" in refused.text

    # 2. the county's board: the need waiting, a rejection without a reason refused beside
    # its field, then approved from the board
    officer, _ = _sign_in(live, "county_officer")
    assert officer.get("/support").headers["location"] == "/support/board"
    board = officer.get("/support/board").text
    _check_page(board)
    assert f'id="need-{need}"' in board and "东县乡村小学" in board
    # the inbox says what the need asks for
    assert (
        "支教需求：东县乡村小学初中数学1名（2026-10-09至2027-07-09）" in officer.get("/inbox").text
    )
    no_reason = _press(officer, "/support/board", need, "reject")
    assert no_reason.status_code == 422
    assert "理由" in _field_error(no_reason.text, f"f-{need}-reject")
    board, said = _flash(officer, _press(officer, "/support/board", need, "approve"))
    assert "批准需求" in said and "已批准" in said
    row = re.search(rf'<tr id="school-{rural}">.*?</tr>', board, re.S)
    assert row and [int(n) for n in re.findall(r'class="num">(\d+)<', row[0])] == [1, 1, 1, 0, 0]

    # 3. a teacher volunteers from their own page; the school confirms on its page and
    # nominates a second teacher on the need's page
    u1, u1csrf = _sign_in(live, "u1")
    assert u1.get("/support").headers["location"] == "/support/me"
    me = u1.get("/support/me").text
    _check_page(me)
    assert f'href="/support/needs/{need}#volunteer"' in me
    need_page = u1.get(f"/support/needs/{need}").text
    _check_page(need_page)
    assert 'id="volunteer-form"' in need_page and 'id="candidate-list"' not in need_page
    me, said = _flash(
        u1, u1.post(f"/support/needs/{need}/volunteer", data={"csrf": u1csrf, "statement": "愿意"})
    )
    assert said.startswith("已报名东县乡村小学初中数学支教") and "学校确认" in me
    first = _only(live, "support_application", need_id=need)
    assert "报名支教：东县乡村小学初中数学（2026-10-09至2027-07-09）" in urban_c.get("/inbox").text
    school_page = urban_c.get("/support/school").text
    _check_page(school_page)
    assert NAMES["u1"] in school_page
    _, said = _flash(urban_c, _press(urban_c, "/support/school", first, "confirm"))
    assert "学校同意" in said and "县级遴选" in said
    picks = urban_c.get(f"/support/needs/{need}").text
    assert f'<option value="{w.actors["u2"].person_id}">{NAMES["u2"]}</option>' in picks
    _, said = _flash(
        urban_c,
        urban_c.post(
            f"/support/needs/{need}/nominations",
            data={"csrf": ucsrf, "teacher_id": str(w.actors["u2"].person_id)},
        ),
    )
    assert said.startswith(f"已推荐{NAMES['u2']}")
    with live.services.db.connect() as conn:
        second = conn.execute(
            select(cases_t.c.id).where(
                cases_t.c.process == "support_application",
                cases_t.c.subject_id == w.actors["u2"].person_id,
            )
        ).scalar_one()

    # 4. the county selects with the records beside: the first in, the second refused beside
    # its button (the one place is taken), nothing written for it
    candidates = officer.get(f"/support/needs/{need}").text
    _check_page(candidates)
    line = re.search(rf'<tr id="candidate-{first}">.*?</tr>', candidates, re.S)
    assert line and NAMES["u1"] in line[0] and "一级教师" in line[0] and "本人报名" in line[0]
    _, said = _flash(officer, _press(officer, f"/support/needs/{need}", first, "select_teacher"))
    assert "选派" in said and "公示" in said
    full = _press(officer, f"/support/needs/{need}", second, "select_teacher")
    assert full.status_code == 422 and "名额已满（共1名）" in full.text
    assert re.search(rf'id="step-{second}-select_teacher".*?名额已满', full.text, re.S)
    term = _only(live, "support_term", need_id=need)
    public = httpx.get(f"{live.url}/public/publicity").text
    assert NAMES["u1"][0] in public and "拟派往东县乡村小学支教（初中数学" in public

    # 5. publicity over, dispatched; the month's check-ins opened by the sweep
    close_window(eng, clock, term)
    _to(clock, dt.date(2026, 10, 9))
    fire_current(eng, term, "dispatch_teacher", w.actors["county_officer"], {"on": "2026-10-09"})
    _to(clock, dt.date(2026, 11, 2))
    assert checkins.open_checkins(eng)["opened"] == 2  # October, and November begun

    # 6. the rural school's inbox: a form per open month; a bad number refused beside its
    # field with the input kept, then filed
    school, csrf = _sign_in(live, "rural_officer")
    inbox = school.get("/support/checkins").text
    _check_page(inbox)
    assert inbox.count('class="card checkin"') == 2 and NAMES["u1"] in inbox
    form = _form(inbox, f"checkin-form-{term}-2026-10")
    sent = {**form, "attendance_days": "40", "teaching_hours": "60", "assessment": "认真负责"}
    wrong = school.post("/support/checkins", data=sent)
    assert wrong.status_code == 422
    assert "出勤天数" in _field_error(wrong.text, f"ci-{term}-2026-10-attendance_days")
    assert "认真负责" in wrong.text
    inbox, said = _flash(
        school, school.post("/support/checkins", data={**sent, "attendance_days": "20"})
    )
    assert said == f"已填报{NAMES['u1']}2026-10的月度考勤"
    assert inbox.count('class="card checkin"') == 1 and 'id="done-list"' in inbox

    # the JSON API: a month outside the term refused naming the month; the inbox as JSON
    api = live.client("rural_officer")
    listed = api.get("/api/v1/support/checkins").json()
    assert [(c["month"], c["status"]) for c in listed] == [
        ("2026-11", "open"),
        ("2026-10", "submitted"),
    ]
    outside = api.post(
        f"/api/v1/support/terms/{term}/checkins",
        json={"month": "2027-09", "attendance_days": 20, "teaching_hours": 60,
              "assessment": "好", "expected_version": listed[0]["version"]},
    )  # fmt: skip
    assert outside.status_code == 422 and outside.json()["field"] == "month"
    assert "2027-09不在支教期内（2026-10至2027-07）" in outside.json()["message"]

    # 7. the teacher reads their term: where, dispatched when, the month filed
    u1, _ = _sign_in(live, "u1")
    me = u1.get("/support/me").text
    _check_page(me)
    assert f'id="dispatched-{term}">2026-10-09<' in me and "在岗支教" in me
    assert re.search(r"2026-10</td>\s*<td[^>]*>已填报</td>\s*<td[^>]*>20<", me)
    mine = u1.get("/api/v1/support/me")  # the JSON twin, with a token
    assert mine.status_code == 401
    own = live.client("u1").get("/api/v1/support/me").json()
    assert own["terms"][0]["term_id"] == term and own["terms"][0]["dispatched_on"] == "2026-10-09"


# --- the JSON API's refusals --------------------------------------------------------------------
@SQLITE
def test_the_api_names_the_field_of_every_refusal(live: Live, county: World) -> None:
    school = live.client("rural_officer")
    body = {"subject": "数学", "level": "junior", "places": 1,
            "starts_on": "2026-10-09", "ends_on": "2027-07-09"}  # fmt: skip
    for change, field, words in (
        ({"level": "kindergarten"}, "level", "学段"),
        ({"places": 51}, "places", "需求人数"),
        ({"starts_on": "2026-08-01"}, "starts_on", "早于今天"),
        ({"ends_on": "2030-07-09"}, "ends_on", "不能超过3年"),
        ({"subject": ""}, "subject", "学科"),
    ):
        r = school.post("/api/v1/support/needs", json={**body, **change})
        assert r.status_code == 422, (change, r.text)
        assert r.json()["field"] == field and words in r.json()["message"], r.json()
    assert school.post("/api/v1/support/needs", json={**body, "extra": 1}).status_code == 422
    created = school.post("/api/v1/support/needs", json=body)
    assert created.status_code == 201 and created.json()["state_label"] == "待审批"
    need = created.json()["case_id"]
    urban = live.client("school_officer")
    no = urban.post("/api/v1/support/needs", json=body)
    assert no.status_code == 422 and "不能申报支教需求" in no.json()["message"]
    # not approved yet: a teacher of the county cannot see it, let alone volunteer
    teacher = live.client("u1")
    assert teacher.get(f"/api/v1/support/needs/{need}").status_code == 404
    assert teacher.post(f"/api/v1/support/needs/{need}/volunteer", json={}).status_code == 404
    county_api = live.client("county_officer")
    board = county_api.get("/api/v1/support/board").json()
    assert (board["declared"], board["approved"]) == (1, 0)
    assert county_api.get("/api/v1/support/board?year=1999").status_code == 422
    west = live.client("west_officer")
    assert west.get(f"/api/v1/support/needs/{need}").status_code == 404
    assert west.get(f"/api/v1/support/needs/{need}/candidates").status_code == 404
    assert west.get("/api/v1/support/board").json()["declared"] == 0


# --- what each reader receives --------------------------------------------------------------------
def _two_terms(live: Live, county: World) -> tuple[int, int]:
    """Two teachers dispatched through the package: u1 of the urban school to the rural
    school, p1 of the pilot school to the weak school."""
    eng: CaseEngine = live.services.engine
    w = county
    officer = w.actors["county_officer"]
    out = []
    for school, teacher in (("rural_officer", "u1"), ("weak_officer", "p1")):
        fired = needs.declare_need(eng, w.actors[school], {**NEED, "places": 1})
        fire_current(eng, fired.case_id, "approve", officer)
        app = applications.volunteer(eng, w.actors[teacher], fired.case_id)
        confirmer = w.actors["school_officer" if teacher == "u1" else "pilot_officer"]
        fire_current(eng, app.case_id, "confirm", confirmer)
        fire_current(eng, app.case_id, "select_teacher", officer)
        out.append(_only(live, "support_term", need_id=fired.case_id))
    for term in out:
        close_window(eng, live.clock, term)
    _to(live.clock, dt.date(2026, 10, 9))
    for term in out:
        fire_current(eng, term, "dispatch_teacher", officer, {"on": "2026-10-09"})
    _to(live.clock, dt.date(2026, 11, 2))
    checkins.open_checkins(eng)
    return out[0], out[1]


def _sheet(c: httpx.Client, path: str = "/support/dispatch.xlsx?year=2026") -> list[tuple]:
    r = c.get(path)
    assert r.status_code == 200 and r.headers["content-type"] == XLSX, r.text
    return list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))


def _id_of(live: Live, actor: Actor) -> str:
    with live.services.db.connect() as conn:
        return str(
            conn.execute(
                select(people_t.c.id_number).where(people_t.c.id == actor.person_id)
            ).scalar_one()
        )


def test_each_reader_gets_their_own_lines_and_no_full_id_number(live: Live, county: World) -> None:
    rural_term, weak_term = _two_terms(live, county)
    w = county
    u1_id, p1_id = _id_of(live, w.actors["u1"]), _id_of(live, w.actors["p1"])
    ids = _ids(live)

    def reads(username: str, pages: list[str]) -> tuple[httpx.Client, list[str], list[tuple]]:
        c, _ = _sign_in(live, username)
        html = []
        for p in pages:
            r = c.get(p)
            assert r.status_code == 200, (username, p, r.status_code)
            _check_page(r.text)
            html.append(r.text)
        return c, html, _sheet(c)

    # the receiving school's officer: their teacher (masked), nobody of the other school; the
    # term's own page (theirs to assess) with no full ID number either
    _, html, rows = reads(
        "rural_officer", ["/support/school", "/support/checkins", f"/cases/{rural_term}"]
    )
    assert [r[0] for r in rows[1:]] == [NAMES["u1"]]
    assert rows[0][:2] == ("姓名", "身份证号") and rows[1][1] == mask_id_number(u1_id)
    for page in html:
        assert NAMES["u1"] in page and NAMES["p1"] not in page
        assert not [x for x in ids if x in page], "a full ID number on a page"
    # another school's officer (the weak school): their own teacher only, whatever school the
    # address asks for; the other school's term not found
    weak, html, rows = reads(
        "weak_officer", ["/support/school", f"/support/checkins?school={w.unit('rural')}"]
    )
    assert [r[0] for r in rows[1:]] == [NAMES["p1"]] and rows[1][1] == mask_id_number(p1_id)
    assert all(NAMES["u1"] not in page and NAMES["p1"] in page for page in html)
    assert weak.get(f"/cases/{rural_term}").status_code == 404
    assert weak.get(f"/cases/{weak_term}").status_code == 200
    api = live.client("weak_officer")
    assert api.get(f"/api/v1/support/checkins?school_id={w.unit('rural')}").status_code == 404
    dispatched = api.get("/api/v1/support/dispatch?year=2026").json()
    assert [(x["name"], x["id_number"]) for x in dispatched] == [
        (NAMES["p1"], mask_id_number(p1_id))
    ]
    # the sending school: the teacher it sent, not the pilot school's
    _, html, rows = reads("school_officer", ["/support/school"])
    assert [r[0] for r in rows[1:]] == [NAMES["u1"]] and NAMES["p1"] not in html[0]
    # the teacher: their own line, their own ID number in full; nobody else on their page
    _, html, rows = reads("u1", ["/support/me"])
    assert [(r[0], r[1]) for r in rows[1:]] == [(NAMES["u1"], u1_id)]
    assert NAMES["p1"] not in html[0] and NAMES["u2"] not in html[0]
    assert p1_id not in html[0]
    # the county: both lines, both masked; the county next door: none
    _, _, rows = reads("county_officer", ["/support/board"])
    assert sorted(r[0] for r in rows[1:]) == sorted([NAMES["u1"], NAMES["p1"]])
    assert {r[1] for r in rows[1:]} == {mask_id_number(u1_id), mask_id_number(p1_id)}
    _, _, rows = reads("west_officer", ["/support/board"])
    assert rows[1:] == []


# --- paired regions on the board ----------------------------------------------------------------
def _choices(html: str) -> list[tuple[str, str]]:
    """The units the region form offers to register: (value, text), the "new unit" first."""
    found = re.search(r'<select id="region-unit_id" name="unit_id".*?</select>', html, re.S)
    assert found, "no choice of existing units on the board"
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', found[0])


@SQLITE
def test_the_city_registers_an_existing_county_or_a_new_unit_as_a_paired_region(
    live: Live, county: World
) -> None:
    w, eng = county, live.services.engine
    city, csrf = _sign_in(live, "city_officer")
    board = city.get("/support/board").text
    _check_page(board)
    east, west = str(w.unit("east")), str(w.unit("west"))
    # the units the city may pair, as the API's rule has it: its county-tier units
    new = ("", "不选：新建县级单位")
    assert _choices(board) == [new, (east, "东县（Ueast）"), (west, "西县（Uwest）")]

    def post(**values: str) -> httpx.Response:
        return city.post("/support/regions", data={"csrf": csrf, "year": "2026", **values})

    # refusals beside the field they are about, what was typed kept
    wrong = post(unit_id="abc", name="")
    assert wrong.status_code == 422
    _check_page(wrong.text)
    assert "请从列表中选择本市的县级单位" in _field_error(wrong.text, "region-unit_id")
    school = post(unit_id=str(w.unit("rural")))
    assert school.status_code == 422
    assert "东县乡村小学不是本市直属的县级单位" in _field_error(school.text, "region-unit_id")
    coded = post(unit_id=west, code="XJ-01")
    assert coded.status_code == 422
    assert "登记已有单位时不填单位代码" in _field_error(coded.text, "region-code")
    assert 'value="XJ-01"' in coded.text and f'<option value="{west}" selected>' in coded.text
    nothing = post()
    assert nothing.status_code == 422 and "地区名称" in _field_error(nothing.text, "region-name")

    # 西县 registered as it stands in the org tree: listed, no longer offered
    board, said = _flash(city, post(unit_id=west))
    assert said == "已登记对口支援地区：西县"
    _check_page(board)
    listed = re.search(r'<ul class="plain" id="region-list">.*?</ul>', board, re.S)
    assert listed and "西县（单位代码 Uwest，示范市，学校 1 所）" in listed[0]
    assert _choices(board) == [new, (east, "东县（Ueast）")]
    # a second try (a stale page) refused beside the field: already registered
    again = post(unit_id=west)
    assert again.status_code == 409
    assert "西县已登记为对口支援地区" in _field_error(again.text, "region-unit_id")
    # its school now declares needs the city approves
    made = needs.declare_need(eng, w.actors["west_school_officer"], {**NEED, "places": 1})
    with live.services.db.connect() as conn:
        data = conn.execute(select(cases_t.c.data).where(cases_t.c.id == made.case_id)).scalar()
    assert data["paired"] is True and data["region"] == "西县"

    # a new unit still made from a name, as before
    board, said = _flash(city, post(name="西藏林芝（对口支援）"))
    assert said == "已登记对口支援地区：西藏林芝（对口支援）"
    assert "西藏林芝（对口支援）（单位代码 Ucity-ZY02" in board

    # a county's board has no registration form and no choice of units
    county_board = _sign_in(live, "county_officer")[0].get("/support/board").text
    assert 'id="region-form"' not in county_board and 'id="region-unit_id"' not in county_board
