"""The rotation pages (交流轮岗) over a real server: the county opens a campaign through its
form, imports the receiving posts, presses the steps, sees each school's numbers with the
targets' status, runs the matching and publishes with a reason; a teacher states
preferences and applies for an exemption on their own page; a school nominates and
confirms on its page; what each reader's pages carry (never another school's teachers);
and a real browser at phone width on the teacher's page and the board."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openpyxl import Workbook, load_workbook
from playwright.sync_api import expect
from sqlalchemy import select, update

from states.clock import FrozenClock, local_date
from states.identity import mask_id_number
from states.processes.rotation import campaigns, lists, posts
from states.seed.builders import close_window, fire_current
from states.store.models import Case, Person, Teacher, table_of
from tests.browser import PHONE, chromium, console_errors, offline, shot, sign_in
from tests.live import Live, serve
from tests.test_pages import _check_page, _client, _field_error, _sign_in
from tests.test_rotation import CAMPAIGN, County, _county, _to
from tests.world import World

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
POSTS = [
    ("Urural", "数学", "初中", 2),
    ("Uweak", "数学", "初中", 1),
    ("Upilot", "数学", "初中", 1),
]
people_t, cases_t, teachers_t = table_of(Person), table_of(Case), table_of(Teacher)


def urban_name(i: int) -> str:
    return f"实验{i}号教师"


def pilot_name(i: int) -> str:
    return f"试点{i}号教师"


@pytest.fixture
def county(world: World) -> County:
    """东县 as the rotation tests build it (21 teachers at the urban school since 2012, 10
    at the pilot school), each teacher with a name of their own school's kind: a page that
    shows another school's teachers shows a name it should not."""
    found = _county(world)
    with world.engine.begin() as conn:
        for i, a in enumerate(found.urban, start=1):
            conn.execute(
                update(people_t).where(people_t.c.id == a.person_id).values(name=urban_name(i))
            )
        for i, a in enumerate(found.pilot, start=1):
            conn.execute(
                update(people_t).where(people_t.c.id == a.person_id).values(name=pilot_name(i))
            )
    return found


@pytest.fixture
def live(db_url: str, county: County, tmp_path: Path, clock: FrozenClock) -> Iterator[Live]:
    with serve(db_url, clock, tmp_path / "files") as server:
        yield server


def _sheet(rows: list[tuple[str, str, str, int]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["学校代码", "学科", "学段", "接收名额", "骨干预留名额"])
    for code, subject, level, places in rows:
        sheet.append([code, subject, level, places, 0])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _version(html: str, step: str) -> str:
    found = re.search(rf'id="step-{step}".*?name="expected_version" value="(\d+)"', html, re.S)
    assert found, f"no {step} button on the page"
    return found[1]


def _press(c: httpx.Client, csrf: str, cid: int, step: str, **form: str) -> httpx.Response:
    """Press a step's button as it is on the board (the version the page was drawn with)."""
    board = c.get(f"/rotation/{cid}").text
    data = {"csrf": csrf, "expected_version": _version(board, step), **form}
    return c.post(f"/rotation/{cid}/steps/{step}", data=data)


def _flash(c: httpx.Client, r: httpx.Response) -> tuple[str, str]:
    """Where a POST that worked went, and what the next page says it did."""
    assert r.status_code == 303, r.text
    page = c.get(r.headers["location"])
    found = re.search(r'<div class="notice ok" role="status">([^<]*)</div>', page.text)
    assert found, "a step that worked says what it did"
    return page.text, found[1]


def _row(html: str, row_id: str) -> str:
    found = re.search(rf'<tr id="{row_id}"[^>]*>.*?</tr>', html, re.S)
    assert found, f"no row {row_id}"
    return found[0]


def _line(html: str, name: str) -> str:
    """The result's row of one teacher."""
    found = [r for r in re.findall(r'<tr id="placement-\d+">.*?</tr>', html, re.S) if name in r]
    assert len(found) == 1, f"{name}: {len(found)} rows"
    return found[0]


def _ids(live: Live) -> list[str]:
    with live.services.db.connect() as conn:
        return [str(x) for x in conn.execute(select(people_t.c.id_number)).scalars() if x]


# --- the whole campaign through the pages -----------------------------------------------------
@SQLITE
def test_a_campaign_through_the_pages(live: Live, county: County) -> None:
    w, clock, eng = county.world, live.clock, live.services.engine
    rural, weak, urban, pilot = (w.unit(k) for k in ("rural", "weak", "urban", "pilot"))
    officer, csrf = _sign_in(live, "county_officer")

    # 1. the county opens its campaign through the form; a bad field is refused beside it,
    # with everything typed kept
    listing = officer.get("/rotation").text
    assert 'href="/rotation/new"' in listing
    form = officer.get("/rotation/new")
    assert form.status_code == 200
    _check_page(form.text)
    bad = officer.post(
        "/rotation/new", data={"csrf": csrf, **CAMPAIGN, "target_percent": "0", "min_years": "6"}
    )
    assert bad.status_code == 422
    _check_page(bad.text)
    assert "交流比例" in _field_error(bad.text, "campaign-target_percent")
    assert 'value="东县2026学年教师交流轮岗"' in bad.text
    opened = officer.post("/rotation/new", data={"csrf": csrf, **CAMPAIGN, "target_percent": "10"})
    assert opened.status_code == 303
    where = re.fullmatch(r"/rotation/(\d+)", opened.headers["location"])
    assert where is not None
    cid = int(where[1])
    board, said = _flash(officer, opened)
    assert "已开启" in said and "已开启" in board

    # 2. receiving posts: the template, a file with a school of another county (the row
    # report, nothing written), then the right file
    template = officer.get(f"/rotation/{cid}/posts-template")
    assert template.status_code == 200 and template.headers["content-type"] == XLSX
    assert next(load_workbook(io.BytesIO(template.content)).active.iter_rows(values_only=True))[0]
    wrong = officer.post(
        f"/rotation/{cid}/posts",
        data={"csrf": csrf},
        files={"file": ("岗位.xlsx", _sheet([*POSTS, ("Uwest1", "数学", "初中", 1)]), XLSX)},
    )
    assert wrong.status_code == 422
    _check_page(wrong.text)
    assert "未导入任何数据" in wrong.text and "不存在或不在东县" in wrong.text
    assert "尚未导入接收岗位" in wrong.text
    right = officer.post(
        f"/rotation/{cid}/posts",
        data={"csrf": csrf},
        files={"file": ("岗位.xlsx", _sheet(POSTS), XLSX)},
    )
    board, said = _flash(officer, right)
    assert "新增3条" in said
    assert len(re.findall(r'id="post-\d+"', board)) == 3 and "农村或薄弱学校" in board

    # 3. the list from the records, published
    board, said = _flash(officer, _press(officer, csrf, cid, "eligibility"))
    assert "共31人" in said
    board, said = _flash(officer, _press(officer, csrf, cid, "open-preferences"))
    assert "志愿填报" in said

    # 4. a teacher's page: on the list and why; four preferences refused beside the field,
    # nothing written; then three, and the page says which
    teacher, tcsrf = _sign_in(live, "u3")
    assert 'href="/rotation"' in teacher.get("/inbox").text  # the navigation's way in
    for way_in in ("/rotation", "/rotation/me"):
        r = teacher.get(way_in)
        assert r.status_code == 303 and r.headers["location"] == f"/rotation/{cid}/me"
    assert f'href="/rotation/{cid}/me"' in teacher.get("/rotation?full=1").text
    mine = teacher.get(f"/rotation/{cid}/me").text
    _check_page(mine)
    assert "已列入" in mine and "任教 13 年" in mine and "2026年9月1日至2026年9月10日" in mine
    prefs = f"/rotation/{cid}/preferences"
    four = teacher.post(
        prefs, data={"csrf": tcsrf, "school": [str(rural), str(weak), str(pilot), str(urban)]}
    )
    assert four.status_code == 422
    assert "最多填报3所学校" in _field_error(four.text, "pref-schools")
    assert f'<option value="{weak}" selected>' in four.text  # the attempt kept
    assert "未填报" in four.text
    _, said = _flash(teacher, teacher.post(prefs, data={"csrf": tcsrf, "school": [str(weak)]}))
    assert said == "已填报志愿：第1志愿东县薄弱初中"
    for who, schools in (("u1", [rural]), ("u2", [rural, weak])):
        c, t = _sign_in(live, who)
        r = c.post(prefs, data={"csrf": t, "school": [str(s) for s in schools]})
        assert r.status_code == 303, r.text
    # and withdraws again: u3 stays off the list of volunteers
    _, said = _flash(teacher, teacher.post(prefs, data={"csrf": tcsrf, "withdraw": "1"}))
    assert said == "已撤回志愿"

    # an exemption: no evidence refused beside the field; with it, into the school's review
    u20, u20csrf = _sign_in(live, "u20")
    apply = f"/rotation/{cid}/exemption"
    no_file = u20.post(apply, data={"csrf": u20csrf, "kind": "患病", "statement": "术后康复期"})
    assert no_file.status_code == 422
    assert "证明材料" in _field_error(no_file.text, "ex-evidence")
    assert "术后康复期" in no_file.text
    applied = u20.post(
        apply,
        data={"csrf": u20csrf, "kind": "患病", "statement": "术后康复期"},
        files={"evidence": ("诊断证明.pdf", PDF, "application/pdf")},
    )
    page, said = _flash(u20, applied)
    assert "免于交流申请已提交" in said and "学校审核" in page

    # 5. before matching the board counts who the schools send: the urban school short of
    # its 10% (3 of 21; two volunteers), in red
    board = officer.get(f"/rotation/{cid}").text
    _check_page(board)
    row = _row(board, f"school-{urban}")
    assert 'class="short"' in row and "差1人" in row and "st-red" in row

    # 6. the deadline passes: a late preference is refused; the county closes preferences
    _to(clock, dt.date(2026, 9, 11))
    teacher, tcsrf = _sign_in(live, "u3")
    late = teacher.post(prefs, data={"csrf": tcsrf, "school": [str(weak)]})
    assert late.status_code == 422 and "已截止" in late.text
    assert "志愿填报已截止" in late.text and 'id="preferences-form"' not in late.text
    officer, csrf = _sign_in(live, "county_officer")
    _flash(officer, _press(officer, csrf, cid, "close-preferences"))

    # 7. the schools: the pilot school nominates one of its teachers; both confirm
    pilot_c, pcsrf = _sign_in(live, "pilot_officer")
    assert pilot_c.get(f"/rotation/{cid}").headers["location"] == f"/rotation/{cid}/school"
    school = pilot_c.get(f"/rotation/{cid}/school").text
    _check_page(school)
    p1 = county.pilot[0].person_id
    nominated = pilot_c.post(
        f"/rotation/{cid}/nominations",
        data={"csrf": pcsrf, "person_id": str(p1), "nominated": "1", "school": str(pilot)},
    )
    page, said = _flash(pilot_c, nominated)
    assert said == f"已推荐{pilot_name(1)}参加交流"
    assert "学校推荐" in _row(page, f"teacher-{p1}")
    _, said = _flash(
        pilot_c,
        pilot_c.post(f"/rotation/{cid}/confirmations", data={"csrf": pcsrf, "school": str(pilot)}),
    )
    assert said == "已确认东县自主评审试点中学交流名单，共1人"
    urban_c, ucsrf = _sign_in(live, "school_officer")
    _, said = _flash(
        urban_c,
        urban_c.post(f"/rotation/{cid}/confirmations", data={"csrf": ucsrf, "school": str(urban)}),
    )
    assert said == "已确认东县实验中学交流名单，共2人"

    # 8. matching: the result page with every placement's reason, the run and its seed
    _flash(officer, _press(officer, csrf, cid, "start-matching"))
    ran = _press(officer, csrf, cid, "match")
    assert ran.headers["location"] == f"/rotation/{cid}/result"
    result, said = _flash(officer, ran)
    _check_page(result)
    assert said.startswith("已完成第1次匹配：安排3人")
    assert re.search(r'id="seed">\d+<', result)
    for i in (1, 2):
        line = _line(result, urban_name(i))
        assert "东县乡村小学" in line and "第1志愿录取" in line and "第1次匹配" in line
    p1_line = _line(result, pilot_name(1))
    assert "东县薄弱初中" in p1_line and "调剂：未填报志愿" in p1_line
    assert not any(x in result for x in _ids(live)), "the county reads the ID numbers masked"
    assert 'href="/rotation/' + str(cid) + '/result.xlsx"' in result
    sheet = officer.get(f"/rotation/{cid}/result.xlsx")
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    assert rows[0][:2] == ("姓名", "身份证号") and len(rows) == 4
    assert all("*" in str(r[1]) for r in rows[1:])
    # the board: the urban school still short (2 of 3), and no backbone teacher among three
    board = officer.get(f"/rotation/{cid}").text
    assert "差1人" in _row(board, f"school-{urban}")
    assert "st-green" in _row(board, f"school-{pilot}")
    assert "骨干教师应占交流人数的20%以上" in board and 'class="rot-short-text"' in board

    assert "重新匹配" in result[result.index('id="step-match"') :][:2000]
    # 9. a re-run from the result page; publication refused without the reason, beside the
    # field; then published with it
    again = officer.post(
        f"/rotation/{cid}/steps/match",
        data={"csrf": csrf, "expected_version": _version(result, "match"), "back": "result"},
    )
    result, said = _flash(officer, again)
    assert said.startswith("已完成第2次匹配") and "第2次匹配" in result
    refused = officer.post(
        f"/rotation/{cid}/steps/publish",
        data={"csrf": csrf, "expected_version": _version(result, "publish"), "back": "result"},
    )
    assert refused.status_code == 422
    _check_page(refused.text)
    assert "须填写未达标情况说明" in _field_error(refused.text, "publish-shortfall_reason")
    published = officer.post(
        f"/rotation/{cid}/steps/publish",
        data={
            "csrf": csrf,
            "expected_version": _version(refused.text, "publish"),
            "back": "result",
            "shortfall_reason": "本县骨干教师均已在上一轮交流",
        },
    )
    result, said = _flash(officer, published)
    assert "当前环节：已公布" in said and 'id="step-match"' not in result
    board = officer.get(f"/rotation/{cid}").text
    assert "本县骨干教师均已在上一轮交流" in board and 'id="import-posts"' not in board

    # 10. the teacher reads where they go and why; once dispatched, their term
    u1, _ = _sign_in(live, "u1")
    mine = u1.get(f"/rotation/{cid}/me").text
    assert "东县乡村小学（初中数学）" in mine and "第1志愿录取" in mine
    with live.services.db.connect() as conn:
        case_id = conn.execute(
            select(cases_t.c.id).where(
                cases_t.c.process == "rotation",
                cases_t.c.applicant_id == county.urban[0].person_id,
            )
        ).scalar_one()
    close_window(eng, clock, case_id)
    today = local_date(clock.now())
    fire_current(
        eng, case_id, "dispatch_teacher", w.actors["county_officer"], {"on": today.isoformat()}
    )
    u1, _ = _sign_in(live, "u1")
    mine = u1.get(f"/rotation/{cid}/me").text
    assert f'id="dispatched-on">{today.isoformat()}' in mine
    assert f'id="term-ends">{today.replace(year=today.year + 3).isoformat()}' in mine


# --- what each reader's pages carry -----------------------------------------------------------
def _matched(live: Live, county: County) -> int:
    """A campaign matched and published through the package (what the pages above do):
    an urban and a pilot teacher by preference, a pilot teacher nominated."""
    eng, w = live.services.engine, county.world
    officer = w.actors["county_officer"]
    rural, weak = w.unit("rural"), w.unit("weak")
    cid = campaigns.open_campaign(eng, officer, CAMPAIGN)
    rows = [
        {"school_code": code, "subject": s, "level": lv, "places": n} for code, s, lv, n in POSTS
    ]
    assert posts.import_posts(eng, officer, cid, posts.table_of_rows(rows)).written
    campaigns.step(eng, officer, cid, "compute_eligibility")
    campaigns.step(eng, officer, cid, "open_preferences")
    lists.set_preferences(eng, county.urban[0], cid, [rural])
    lists.set_preferences(eng, county.pilot[1], cid, [weak, rural])
    lists.nominate(eng, w.actors["pilot_officer"], cid, county.pilot[0].person_id)
    _to(live.clock, dt.date(2026, 9, 11))
    campaigns.step(eng, officer, cid, "close_preferences")
    lists.confirm_list(eng, w.actors["school_officer"], cid, w.unit("urban"))
    lists.confirm_list(eng, w.actors["pilot_officer"], cid, w.unit("pilot"))
    campaigns.step(eng, officer, cid, "start_matching")
    campaigns.step(eng, officer, cid, "run_match")
    campaigns.step(eng, officer, cid, "publish", {"shortfall_reason": "试点"})
    return cid


def test_no_page_shows_a_school_another_schools_teachers(live: Live, county: County) -> None:
    """Each reader's pages, read as a whole: the urban school's officer sees the urban
    school's teachers and no pilot teacher's name, on every rotation page they reach (the
    other school asked for by address included); a teacher sees no other teacher; nobody
    outside the county's office reads the result or its export; no page shows an ID number
    in full."""
    cid = _matched(live, county)
    urban, pilot = county.world.unit("urban"), county.world.unit("pilot")
    ids = _ids(live)
    urban_names = [urban_name(i) for i in range(1, 22)]
    pilot_names = [pilot_name(i) for i in range(1, 11)]

    officer, _ = _sign_in(live, "school_officer")
    assert officer.get(f"/rotation/{cid}").headers["location"] == f"/rotation/{cid}/school"
    assert officer.get(f"/rotation/{cid}/me").headers["location"] == f"/rotation/{cid}/school"
    for path in ("/result", "/result.xlsx", "/posts-template"):
        assert officer.get(f"/rotation/{cid}{path}").status_code == 404, path
    for wrong in ("/rotation/abc", f"/rotation/{cid + 1000}", f"/rotation/{cid + 1000}/me"):
        r = officer.get(wrong)
        assert r.status_code == 404 and "<!doctype html>" in r.text, wrong
    pages = [
        officer.get("/rotation").text,
        officer.get(f"/rotation/{cid}/school").text,
        officer.get(f"/rotation/{cid}/school?school={pilot}").text,  # not theirs: their own
    ]
    for html in pages:
        _check_page(html)
        assert not [n for n in pilot_names if n in html], "another school's teacher shown"
        assert not [x for x in ids if x in html]
    school = pages[1]
    assert all(n in school for n in urban_names)  # their own list, whole
    assert pages[2].count('id="teacher-') == 21
    assert urban_name(1) in _row(school, f"teacher-{county.urban[0].person_id}")
    assert "东县乡村小学" in school  # where their own teacher goes

    pilot_c, _ = _sign_in(live, "pilot_officer")
    theirs = pilot_c.get(f"/rotation/{cid}/school?school={urban}").text
    assert theirs.count('id="teacher-') == 10
    assert not [n for n in urban_names if n in theirs]

    teacher, _ = _sign_in(live, "u1")
    for path in ("", "/school", "/result", "/result.xlsx"):
        r = teacher.get(f"/rotation/{cid}{path}")
        assert r.status_code in (303, 404), path
        if r.status_code == 303:
            assert r.headers["location"] == f"/rotation/{cid}/me"
    mine = teacher.get(f"/rotation/{cid}/me").text
    _check_page(mine)
    others = [n for n in urban_names[1:] + pilot_names if n in mine]
    assert not others and not [x for x in ids if x in mine]
    assert "东县乡村小学" in mine

    # a county next door: nothing of this campaign at all, for its officer or its teacher
    west, _ = _sign_in(live, "west_officer")
    assert west.get(f"/rotation/{cid}").status_code == 404
    assert "东县" not in west.get("/rotation").text
    west_teacher, _ = _sign_in(live, "expert5")  # teaches at 西县一中
    assert west_teacher.get(f"/rotation/{cid}/me").status_code == 404
    assert "目前没有交流轮岗工作" in west_teacher.get("/rotation").text
    assert "目前没有交流轮岗工作" in west_teacher.get("/rotation/me").text
    # the city reads the board and the result, without the buttons
    city, _ = _sign_in(live, "city_officer")
    board = city.get(f"/rotation/{cid}").text
    assert (
        'id="schools"' in board and 'id="steps"' not in board and 'id="import-posts"' not in board
    )
    result = city.get(f"/rotation/{cid}/result").text
    assert pilot_name(1) in result and not [x for x in ids if x in result]
    with live.services.db.connect() as conn:
        p1_id = conn.execute(
            select(people_t.c.id_number).where(people_t.c.id == county.pilot[0].person_id)
        ).scalar_one()
    assert mask_id_number(p1_id) in result  # the line is there, its ID number masked
    assert _client(live).get(f"/rotation/{cid}").status_code == 303  # signed out: to sign in


# --- a real browser at phone width ------------------------------------------------------------
@SQLITE
def test_the_teacher_and_the_board_at_phone_width(live: Live, county: County) -> None:
    eng, w = live.services.engine, county.world
    officer = w.actors["county_officer"]
    cid = campaigns.open_campaign(eng, officer, CAMPAIGN)
    rows = [
        {"school_code": code, "subject": s, "level": lv, "places": n} for code, s, lv, n in POSTS
    ]
    posts.import_posts(eng, officer, cid, posts.table_of_rows(rows))
    campaigns.step(eng, officer, cid, "compute_eligibility")
    campaigns.step(eng, officer, cid, "open_preferences")
    with chromium() as browser:
        context = browser.new_context(
            viewport=PHONE, device_scale_factor=2, is_mobile=True, locale="zh-CN"
        )
        page = context.new_page()
        escaped = offline(page, live.url)
        errors = console_errors(page)
        sign_in(page, live.url, "u1")
        page.goto(f"{live.url}/rotation/me")
        expect(page.get_by_role("heading", name="我的交流轮岗")).to_be_visible()
        page.get_by_label("第1志愿").select_option(label="东县乡村小学（农村或薄弱学校），名额2")
        page.get_by_label("第2志愿").select_option(label="东县薄弱初中（农村或薄弱学校），名额1")
        page.get_by_role("button", name="提交志愿").click()
        expect(page.locator(".notice.ok")).to_contain_text("已填报志愿：第1志愿东县乡村小学")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the teacher's page scrolls sideways ({width}px)"
        shot(page, "rotation-01-teacher-phone")
        page.context.clear_cookies()
        sign_in(page, live.url, "county_officer")
        page.goto(f"{live.url}/rotation/{cid}")
        expect(page.locator("#schools")).to_be_visible()
        urban = page.locator(f"#school-{w.unit('urban')}")
        expect(urban).to_contain_text("差2人")
        # the table folds into cards: each cell says what it is
        label = urban.locator('td[data-label="达标情况"]')
        before = label.evaluate("e => getComputedStyle(e, '::before').content")
        assert "达标情况" in before
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the board scrolls sideways ({width}px)"
        shot(page, "rotation-02-board-phone")
        context.close()
    assert escaped == [], f"pages loaded from the network: {escaped}"
    assert errors == [], f"the pages reported errors: {errors}"


# --- the navigation: 交流轮岗 for those it concerns --------------------------------------------
def _nav_has_rotation(live: Live, username: str) -> bool:
    """Whether the person's navigation bar (on their inbox) links to 交流轮岗."""
    c, _ = _sign_in(live, username)
    found = re.search(r'<nav aria-label="主导航">.*?</nav>', c.get("/inbox").text, re.S)
    assert found
    return 'href="/rotation"' in found[0]


@SQLITE
def test_the_navigation_shows_rotation_only_where_a_county_runs_one(
    live: Live, county: County
) -> None:
    """No campaign anywhere: the county's, the city's officers see 交流轮岗 (they open
    campaigns), a teacher and a school's officer do not, yet reach the page by its address.
    东县 opens its 2026 campaign: its teachers and schools see it, 西县's still do not. Two
    school years on, the campaign no longer puts it in 东县 teachers' navigation."""
    assert _nav_has_rotation(live, "county_officer")
    assert _nav_has_rotation(live, "city_officer")
    assert _nav_has_rotation(live, "west_officer")
    assert not _nav_has_rotation(live, "u1")
    assert not _nav_has_rotation(live, "school_officer")
    teacher, _ = _sign_in(live, "u1")
    assert "没有交流轮岗工作" in teacher.get("/rotation/me").text

    campaigns.open_campaign(live.services.engine, county.world.actors["county_officer"], CAMPAIGN)
    assert _nav_has_rotation(live, "u1")  # 东县实验中学
    assert _nav_has_rotation(live, "p1")  # 东县自主评审试点中学
    assert _nav_has_rotation(live, "school_officer")
    assert not _nav_has_rotation(live, "expert2")  # a teacher of 西县一中
    assert not _nav_has_rotation(live, "west_school_officer")
    assert _nav_has_rotation(live, "west_officer")

    _to(live.clock, dt.date(2027, 12, 1))  # the 2027 school year: 2026's is the last one
    assert _nav_has_rotation(live, "u1")
    _to(live.clock, dt.date(2028, 9, 1))  # the 2028 school year
    assert not _nav_has_rotation(live, "u1")
    assert _nav_has_rotation(live, "county_officer")


# --- the campaign's settings on the board ------------------------------------------------------
def _settings_form(html: str) -> str:
    found = re.search(r'<form[^>]*id="settings-form".*?</form>', html, re.S)
    assert found, "no settings form on the board"
    return found[0]


@SQLITE
def test_the_county_changes_the_campaign_settings_on_the_board(live: Live, county: County) -> None:
    """The board carries the settings form for the county's officer: a wrong date is named
    beside its field with the input kept and nothing saved; a right change is saved (the
    JSON API reads it, with a new settings version); a form drawn before that change is
    refused as stale. Once the list is published only the late fields are offered, and a
    city officer never gets the form."""
    eng, w = live.services.engine, county.world
    cid = campaigns.open_campaign(eng, w.actors["county_officer"], CAMPAIGN)
    officer, csrf = _sign_in(live, "county_officer")
    board = officer.get(f"/rotation/{cid}").text
    _check_page(board)
    form = _settings_form(board)
    assert 'name="target_percent"' in form and 'name="exemption_kinds"' in form
    assert 'name="year"' not in form
    assert 'id="settings-confirm_by" name="confirm_by" type="date" value="2026-09-15"' in form
    version = re.search(r'name="settings_version" value="(\d+)"', form)
    assert version
    sent = {"csrf": csrf, "settings_version": version[1], **CAMPAIGN}
    sent.pop("year")

    bad = officer.post(
        f"/rotation/{cid}/settings", data={**sent, "confirm_by": "2026-09-05", "min_years": "8"}
    )
    assert bad.status_code == 422
    _check_page(bad.text)
    assert "不能早于志愿填报截止日期" in _field_error(bad.text, "settings-confirm_by")
    assert 'id="settings-problem"' in bad.text and '<details class="more" open>' in bad.text
    assert 'name="min_years" type="number" value="8"' in bad.text  # the input kept
    api = live.client("county_officer")
    assert api.get(f"/api/v1/rotation/campaigns/{cid}").json()["min_years"] == 6

    good = officer.post(
        f"/rotation/{cid}/settings",
        data={
            **sent,
            "confirm_by": "2026-09-18",
            "min_years": "8",
            "exemption_kinds": "患病\n孕期",
        },
    )
    page, said = _flash(officer, good)
    assert said == "已调整工作设置：学校确认截止日期、同校任教年限（年）、免于交流情形"
    assert "2026-09-18" in page and "同一学校任教满 8 年" in page
    got = api.get(f"/api/v1/rotation/campaigns/{cid}").json()
    assert (got["confirm_by"], got["min_years"], got["exemption_kinds"]) == (
        "2026-09-18",
        8,
        ["患病", "孕期"],
    )
    assert got["settings_version"] == int(version[1]) + 1
    stale = officer.post(f"/rotation/{cid}/settings", data={**sent, "publicity_days": "7"})
    assert stale.status_code == 409 and "已被他人修改" in stale.text
    assert api.get(f"/api/v1/rotation/campaigns/{cid}").json()["publicity_days"] == 5

    # the list published: only the name, the dates and the terms remain
    rows = [
        {"school_code": code, "subject": s, "level": lv, "places": n} for code, s, lv, n in POSTS
    ]
    assert posts.import_posts(eng, w.actors["county_officer"], cid, posts.table_of_rows(rows))
    campaigns.step(eng, w.actors["county_officer"], cid, "compute_eligibility")
    campaigns.step(eng, w.actors["county_officer"], cid, "open_preferences")
    late = _settings_form(officer.get(f"/rotation/{cid}").text)
    assert 'name="publicity_days"' in late and 'name="confirm_by"' in late
    assert 'name="target_percent"' not in late and 'name="exemption_kinds"' not in late
    city, _ = _sign_in(live, "city_officer")
    assert 'id="settings-form"' not in city.get(f"/rotation/{cid}").text
