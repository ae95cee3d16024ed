"""The recruitment pages over a real server, on both databases: registration without an
account (SMS code, errors at the field, one application per ID number), the officers' imports
with their validation report, the round-level buttons, the progress table and its scope, and
one real browser registering at phone width."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from states.org import COUNTY_OFFICER
from states.processes.recruitment import seed as recruitment
from states.processes.recruitment.tables import Applicant
from states.sheets import read_table
from states.store.models import Case, OrgUnit
from tests import test_pages
from tests.browser import PHONE, chromium, console_errors, offline, shot
from tests.live import Live, add_account
from tests.test_dispatch import robot  # noqa: F401 - the fixture
from tests.test_pages import _check_page, _client, _field_error, _sign_in
from tests.test_recruitment_api import (
    _actor,
    _broken,
    _id_number,
    _people,
    _round_with_plan,
    _sms_code,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cookieless(monkeypatch: pytest.MonkeyPatch, round_id: int) -> None:
    """The page checker asks every POST form for a CSRF token except those of pages without
    a session; the public registration form is one of those, like the objection form."""
    allowed = (*test_pages.NO_SESSION_FORMS, f"/recruitment/{round_id}/register")
    monkeypatch.setattr(test_pages, "NO_SESSION_FORMS", allowed)


def _form(n: int, **over: str) -> dict[str, str]:
    return {
        "id_number": _id_number(n),
        "name": f"网报{n}",
        "phone": f"1391234{n:04d}",
        "code": "",
        "education": "bachelor",
        "cert_level": "primary",
        "post_code": "Z-01",
        **over,
    }


def _applicants(live: Live) -> int:
    with live.services.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Applicant)).scalar_one())


def _states(live: Live) -> dict[str, int]:
    with live.services.db.connect() as conn:
        rows = conn.execute(
            select(Case.state, func.count())
            .join(Applicant, Applicant.case_id == Case.id)
            .group_by(Case.state)
        ).all()
    return {s: int(n) for s, n in rows}


def _upload(
    c: httpx.Client, csrf: str, round_id: int, kind: str, sheet: bytes, **extra: str
) -> httpx.Response:
    return c.post(
        f"/recruitment/{round_id}/imports/{kind}",
        data={"csrf": csrf, **extra},
        files={"file": (f"{kind}.xlsx", sheet, XLSX)},
    )


def _flash(c: httpx.Client, r: httpx.Response) -> str:
    assert r.status_code == 303, r.text
    page = c.get(r.headers["location"]).text
    found = re.search(r'<div class="notice ok" role="status">([^<]*)</div>', page)
    assert found, "a step that worked says what it did"
    return found[1]


def _progress(html: str) -> dict[str, dict[str, int]]:
    """Post code → the progress row's numbers, as the officer reads them."""
    out: dict[str, dict[str, int]] = {}
    for post, row in re.findall(r'<tr data-post="([^"]+)">(.*?)</tr>', html, re.S):
        cells = re.findall(r'class="num (\w+)">(\d+)<', row)
        out[post] = {k: int(v) for k, v in cells}
    return out


# --- public registration -----------------------------------------------------------------
def test_public_registration_through_the_page(
    live: Live,
    robot: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    round_id, _ = _round_with_plan(live)
    _cookieless(monkeypatch, round_id)
    url = f"/recruitment/{round_id}/register"
    anon = _client(live)
    page = anon.get(url)
    assert page.status_code == 200
    _check_page(page.text)
    assert 'data-post="Z-01"' in page.text and "须持小学及以上教师资格证" in page.text
    assert f'formaction="/recruitment/{round_id}/register/code"' in page.text

    # 获取验证码 without a script: the page comes back with what was typed.
    form = _form(1)
    sent = anon.post(f"{url}/code", data=form)
    assert sent.status_code == 200, sent.text
    _check_page(sent.text)
    assert "验证码已发送至139****0001" in sent.text
    assert f'value="{form["id_number"]}"' in sent.text and 'value="网报1"' in sent.text
    again = anon.post(f"{url}/code", data=form)
    assert again.status_code == 422
    assert "1分钟" in _field_error(again.text, "reg-phone")
    bad_phone = anon.post(f"{url}/code", data={**form, "phone": "12345"})
    assert "手机号码无效" in _field_error(bad_phone.text, "reg-phone")
    code = _sms_code(live, robot, form["phone"])

    cross = anon.post(url, data={**form, "code": code}, headers={"Origin": "https://evil.cn"})
    assert cross.status_code == 403 and _applicants(live) == 0
    wrong = anon.post(url, data={**form, "code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 422
    assert _field_error(wrong.text, "reg-code") == "验证码错误"
    assert 'value="网报1"' in wrong.text, "the person's input is kept"
    bad_id = anon.post(url, data={**form, "code": code, "id_number": "110101199905010010"})
    assert "校验码错误" in _field_error(bad_id.text, "reg-id_number")
    refused = anon.post(url, data={**form, "code": code, "cert_level": "kindergarten"})
    assert refused.status_code == 422
    assert "教师资格证" in _field_error(refused.text, "reg-cert_level")
    assert _applicants(live) == 0

    ok = anon.post(url, data={**form, "code": code})
    assert ok.status_code == 303, ok.text
    found = re.fullmatch(
        rf"/recruitment/{round_id}/register/done\?no=(\d+)", ok.headers["location"]
    )
    assert found
    done = anon.get(ok.headers["location"])
    _check_page(done.text)
    assert f'id="application-number">{found[1]}<' in done.text and "资格审查" in done.text
    assert _states(live) == {"registered": 1}

    # The same ID number again, with a fresh code: refused beside the ID number.
    live.clock.advance(minutes=2)
    assert anon.post(f"{url}/code", data=form).status_code == 200
    code2 = _sms_code(live, robot, form["phone"])
    twice = anon.post(url, data={**form, "code": code2})
    assert twice.status_code == 422
    assert "已报名" in _field_error(twice.text, "reg-id_number")
    assert _applicants(live) == 1
    assert anon.get("/recruitment/999999/register").status_code == 404


# --- officers ----------------------------------------------------------------------------
def test_import_report_then_valid_rows_only(live: Live) -> None:
    round_id, _ = _round_with_plan(live)
    people = _people(5)
    sheet = recruitment.applicant_sheet([*people[:4], _broken(people[4])])
    province, csrf = _sign_in(live, "province_officer")
    page = province.get(f"/recruitment/{round_id}")
    assert page.status_code == 200
    _check_page(page.text)
    assert 'id="import-applicants"' in page.text and 'href="/recruitment"' in page.text

    refused = _upload(province, csrf, round_id, "applicants", sheet)
    assert refused.status_code == 422
    _check_page(refused.text)
    assert "未导入任何数据" in refused.text
    report = re.search(
        r'<table class="list" id="report-applicants">(.*?)</table>', refused.text, re.S
    )
    assert report, "the validation report is shown as a table"
    rows = re.findall(r"<tr>\s*<td[^>]*>([^<]*)</td>\s*<td[^>]*>([^<]*)</td>", report[1])
    assert rows == [("6", "身份证号")] and "校验码" in report[1]
    assert _applicants(live) == 0, "a file with errors imports nothing"

    no_file = province.post(f"/recruitment/{round_id}/imports/applicants", data={"csrf": csrf})
    assert no_file.status_code == 422
    assert "请选择" in _field_error(no_file.text, "import-applicants-file")

    partial = _upload(province, csrf, round_id, "applicants", sheet, valid_only="1")
    assert partial.status_code == 200
    assert "已导入 4 行" in partial.text and 'id="report-applicants"' in partial.text
    assert _applicants(live) == 4

    county, ccsrf = _sign_in(live, "county_officer")
    assert 'id="import-applicants"' not in county.get(f"/recruitment/{round_id}").text
    forbidden = _upload(county, ccsrf, round_id, "applicants", sheet)
    assert forbidden.status_code == 403 and "省教育厅导入" in forbidden.text
    no_token = province.post(
        f"/recruitment/{round_id}/imports/applicants",
        files={"file": ("a.xlsx", sheet, XLSX)},
    )
    assert no_token.status_code == 403 and _applicants(live) == 4


def test_steps_by_button_and_the_progress_table(live: Live) -> None:
    round_id, _ = _round_with_plan(live)
    people = _people(4)
    province, pcsrf = _sign_in(live, "province_officer")
    sheet = recruitment.applicant_sheet(people)
    assert _flash(province, _upload(province, pcsrf, round_id, "applicants", sheet)) == (
        "报名人员已导入4行"
    )

    recruitment.qualify_each(live.services.engine, _actor(live, "county_officer"))
    county, ccsrf = _sign_in(live, "county_officer")
    too_early = county.post(f"/recruitment/{round_id}/steps/shortlist", data={"csrf": ccsrf})
    assert too_early.status_code == 403 and "市教育局人事处" in too_early.text

    written = recruitment.score_sheet(
        "written", [(p["id_number"], 90 - i) for i, p in enumerate(people)]
    )
    assert _flash(province, _upload(province, pcsrf, round_id, "written", written)) == (
        "笔试成绩已导入4行"
    )
    city, tcsrf = _sign_in(live, "city_officer")
    round_page = city.get(f"/recruitment/{round_id}").text
    _check_page(round_page)
    assert 'id="action-shortlist"' in round_page and 'id="action-ranking"' in round_page
    shortlisted = city.post(f"/recruitment/{round_id}/steps/shortlist", data={"csrf": tcsrf})
    assert _flash(city, shortlisted) == "已办理「确定入围面试人选」：入围3人，未入围1人"
    interview = recruitment.score_sheet(
        "interview", [(p["id_number"], 80 + i) for i, p in enumerate(people[:3])]
    )
    assert _flash(city, _upload(city, tcsrf, round_id, "interview", interview)) == (
        "面试成绩已导入3行"
    )
    ranked = city.post(f"/recruitment/{round_id}/steps/ranking", data={"csrf": tcsrf})
    assert _flash(city, ranked) == "已办理「计算综合成绩并排名」：进入体检1人，列为候补2人"
    assert _states(live) == {"not_shortlisted": 1, "physical": 1, "reserve": 2}

    progress = city.get(f"/recruitment/{round_id}/progress")
    assert progress.status_code == 200
    _check_page(progress.text)
    expected = {"registered": 4, "qualified": 4, "shortlisted": 3, "hired": 0}
    assert _progress(progress.text) == {"Z-01": expected, "total": expected}

    exported = city.get(f"/recruitment/{round_id}/exports/ranking")
    assert exported.status_code == 200 and exported.headers["content-type"] == XLSX
    table = read_table(exported.content, "排名.xlsx")
    # The composites tie at 85: the higher written score ranks first.
    assert [r["姓名"] for _, r in table.rows] == ["导入0", "导入1", "导入2"]
    assert all("*" in r["身份证号"] for _, r in table.rows)


def test_qualification_button(live: Live) -> None:
    round_id, _ = _round_with_plan(live)
    province, pcsrf = _sign_in(live, "province_officer")
    sheet = recruitment.applicant_sheet(_people(2))
    assert _upload(province, pcsrf, round_id, "applicants", sheet).status_code == 303
    county, ccsrf = _sign_in(live, "county_officer")
    assert 'id="action-qualify"' in county.get(f"/recruitment/{round_id}").text
    qualified = county.post(f"/recruitment/{round_id}/steps/qualify", data={"csrf": ccsrf})
    assert _flash(county, qualified) == "已办理「资格审查」：通过2人，不通过0人"
    assert _states(live) == {"qualified": 2}


def test_county_officer_sees_only_their_county(live: Live) -> None:
    round_id, _ = _round_with_plan(live)
    province, csrf = _sign_in(live, "province_officer")
    sheet = recruitment.applicant_sheet(_people(2))
    assert _upload(province, csrf, round_id, "applicants", sheet).status_code == 303
    home = _actor(live, "county_officer").bindings[0].unit_id
    with live.services.db.connect() as conn:
        county_name = conn.execute(select(OrgUnit.name).where(OrgUnit.id == home)).scalar_one()
        other = conn.execute(
            select(OrgUnit.id).where(OrgUnit.tier == "county", OrgUnit.id != home).limit(1)
        ).scalar_one()
    add_account(live, "county_other", COUNTY_OFFICER, other)

    own, _ = _sign_in(live, "county_officer")
    mine = own.get(f"/recruitment/{round_id}/progress").text
    assert _progress(mine)["Z-01"]["registered"] == 2 and county_name in mine
    assert "招聘</a>" in own.get("/inbox").text, "officers get the link in the navigation"
    waiting = own.get(f"/recruitment/{round_id}/choice")
    assert waiting.status_code == 200 and "没有待选岗的考生" in waiting.text
    _check_page(waiting.text)

    stranger, _ = _sign_in(live, "county_other")
    theirs = stranger.get(f"/recruitment/{round_id}/progress")
    assert theirs.status_code == 200
    _check_page(theirs.text)
    assert "Z-01" not in theirs.text and county_name not in theirs.text
    assert "没有招聘岗位" in theirs.text
    assert "共 0 人报名" in stranger.get(f"/recruitment/{round_id}").text
    export = stranger.get(f"/recruitment/{round_id}/exports/shortlist")
    assert export.status_code == 200 and read_table(export.content, "x.xlsx").rows == []

    teacher, _ = _sign_in(live, "teacher")
    assert teacher.get(f"/recruitment/{round_id}").status_code == 404
    assert "招聘</a>" not in teacher.get("/inbox").text
    assert _client(live).get(f"/recruitment/{round_id}").status_code == 303


# --- a real browser, at phone width --------------------------------------------------------
def test_browser_registers_at_phone_width(live: Live, robot: str) -> None:  # noqa: F811
    round_id, _ = _round_with_plan(live)
    form = _form(7)
    with chromium() as browser:
        context = browser.new_context(
            viewport=PHONE, device_scale_factor=2, is_mobile=True, locale="zh-CN"
        )
        page = context.new_page()
        escaped = offline(page, live.url)
        errors = console_errors(page)
        page.goto(f"{live.url}/recruitment/{round_id}/register")
        expect(page.get_by_role("heading", name="招聘岗位")).to_be_visible()
        page.get_by_label("身份证号").fill(form["id_number"])
        page.get_by_label("姓名").fill(form["name"])
        page.get_by_label("手机号码").fill(form["phone"])
        page.get_by_role("button", name="获取验证码").click()
        expect(page.locator("#code-sent")).to_contain_text("验证码已发送")
        expect(page.get_by_label("姓名")).to_have_value(form["name"])
        code = _sms_code(live, robot, form["phone"])
        page.get_by_label("短信验证码").fill(code)
        page.get_by_label("学历").select_option(value="bachelor")
        page.get_by_label("教师资格证学段").select_option(value="primary")
        page.get_by_role("radio", name=re.compile(r"^Z-01 ")).check()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the form scrolls sideways at phone width ({width}px)"
        shot(page, "recruitment-01-register-phone")
        page.get_by_role("button", name="提交报名").click()
        expect(page.get_by_role("heading", name="报名成功")).to_be_visible()
        number = page.locator("#application-number").inner_text()
        shot(page, "recruitment-02-registered-phone")
        context.close()
    assert escaped == [], f"pages loaded from the network: {escaped}"
    assert errors == [], f"the pages reported errors: {errors}"
    with live.services.db.connect() as conn:
        name = conn.execute(
            select(Applicant.name).where(Applicant.case_id == int(number))
        ).scalar_one()
    assert name == form["name"]
