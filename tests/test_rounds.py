"""Rounds, on both databases: the title-review year whose window a declaration must fall in,
a recruitment round opened with every bad field named, a county declaring its posts on the
page, and the demo's SMS file carrying the code that finishes a registration."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from api.cli import main as cli
from notifications.config import build_channels, from_env
from notifications.dispatch import dispatch
from states.clock import bureau_time
from states.errors import NotFound, RuleRefused
from states.processes.recruitment import seed as recruitment
from states.processes.recruitment.tables import RecruitmentRound
from states.processes.title_review import years
from states.processes.title_review.tables import TitleReviewYear
from states.store.models import Case, OrgUnit
from tests.live import Live
from tests.test_pages import _check_page, _client, _sign_in
from tests.test_recruitment_api import _actor, _form
from tests.world import DECLARE, Driver


def _cases(d: Driver) -> int:
    with d.eng.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Case)).scalar_one())


def _year_id(d: Driver) -> int:
    with d.eng.db.connect() as conn:
        return int(conn.execute(select(TitleReviewYear.id)).scalar_one())


# --- the title-review year ----------------------------------------------------------------------
def test_a_declaration_outside_the_window_is_refused_with_the_dates(d: Driver) -> None:
    teacher = d.world.teacher("t1")
    province = d.world.actors["province_officer"]
    year_id = _year_id(d)
    # a city sets no window of its own; the province moves its own (the clock: 1 September)
    with pytest.raises(NotFound):
        years.set_window(d.eng, d.world.actors["city_officer"], year_id,
                         opens_on=dt.date(2026, 10, 1), closes_on=dt.date(2026, 10, 5))  # fmt: skip
    years.set_window(
        d.eng, province, year_id, opens_on=dt.date(2026, 10, 1), closes_on=dt.date(2026, 10, 31)
    )
    with pytest.raises(
        RuleRefused, match="本年度职称申报时间为2026年10月1日至10月31日，申报尚未开始"
    ):
        d.eng.start("title_review", teacher, DECLARE, submit=True)
    assert _cases(d) == 0, "a refused declaration leaves no draft behind"

    d.clock.set(bureau_time(2026, 11, 2))
    with pytest.raises(RuleRefused, match="2026年10月1日至10月31日，申报已截止"):
        d.eng.start("title_review", teacher, DECLARE, submit=True)

    d.clock.set(bureau_time(2026, 10, 15))
    declared = d.eng.start("title_review", teacher, DECLARE, submit=True)
    assert declared.to_state == "school_review"

    years.close_year(d.eng, province, year_id)
    other = d.world.teacher("t2")
    with pytest.raises(RuleRefused, match="本年度职称申报已于2026年10月15日截止"):
        d.eng.start("title_review", other, DECLARE, submit=True)
    # the declaration made in time goes on
    d.fire(declared.case_id, "school_approve", "school_officer")
    with pytest.raises(NotFound):  # the province's office closes it, nobody else
        years.close_year(d.eng, d.world.actors["county_officer"], year_id)


def test_no_year_open_no_declarations_and_the_cli_opens_one(
    d: Driver, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with d.eng.db.begin() as conn:
        conn.execute(TitleReviewYear.__table__.delete())
    teacher = d.world.teacher("t1")
    with pytest.raises(RuleRefused, match="2026年度职称评审尚未开始申报"):
        d.eng.start("title_review", teacher, DECLARE, submit=True)

    monkeypatch.setenv("RENSHI_DATABASE_URL", db_url)
    who = f"#{d.world.actors['province_officer'].person_id}"
    run = CliRunner()
    opened = run.invoke(cli, ["--at", "2026-09-01T09:00", "title-review", "year", "open",
                              "--as", who, "--year", "2026", "--opens", "2026-09-01",
                              "--closes", "2026-09-30"])  # fmt: skip
    assert opened.exit_code == 0, opened.output
    assert "申报时间为2026年9月1日至9月30日" in opened.output
    again = run.invoke(cli, ["title-review", "year", "open", "--as", who, "--year", "2026",
                             "--opens", "2026-09-01", "--closes", "2026-12-31"])  # fmt: skip
    assert again.exit_code == 1 and "2026年度职称评审已开启" in again.output
    wrong = run.invoke(cli, ["--at", "2026-09-01T09:00", "title-review", "year", "open",
                             "--as", who, "--year", "2027", "--opens", "2027-03-01",
                             "--closes", "2027-02-01"])  # fmt: skip
    assert wrong.exit_code == 1 and "[closes_on]" in wrong.output
    assert d.eng.start("title_review", teacher, DECLARE, submit=True).to_state == "school_review"


def test_the_year_through_the_api(live: Live) -> None:
    province, city = live.client("province_officer"), live.client("city_officer")
    [seeded] = province.get("/api/v1/title-review/years").json()
    assert seeded["status"] == "申报中" and seeded["window"] == "2026年9月1日至12月31日"
    assert city.get("/api/v1/title-review/years").json() == [seeded], "officers below read it"
    body = {"year": 2027, "opens_on": "2027-03-01", "closes_on": "2026-03-31"}
    r = province.post("/api/v1/title-review/years", json=body)
    assert r.status_code == 422 and r.json()["field"] == "closes_on", r.text
    r = city.post("/api/v1/title-review/years", json={**body, "closes_on": "2027-03-31"})
    assert r.status_code == 403, r.text
    r = province.post("/api/v1/title-review/years", json={**body, "closes_on": "2027-03-31"})
    assert r.status_code == 201 and r.json()["status"] == "未开始", r.text
    closed = province.post(f"/api/v1/title-review/years/{seeded['id']}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "已截止"
    # the teacher's declaration page is refused with the words of the rule
    teacher = live.client("teacher")
    form = {"target_title": "senior", "subject": "数学", "statement": "任教以来认真履职。"}
    r = teacher.post("/api/v1/cases", json={"process": "title_review", "form": form,
                                            "submit": True})  # fmt: skip
    assert r.status_code == 422 and "本年度职称申报已于2026年9月1日截止" in r.json()["message"]


# --- the recruitment round ----------------------------------------------------------------------
GOOD_ROUND: dict[str, Any] = {
    "name": "2026年秋季新任教师公开招聘",
    "announcement": "招聘小学、初中教师。\n咨询电话：0000-12345678",
    "registration_opens": "2026-09-01",
    "registration_closes": "2026-09-20",
    "written_weight": 40,
    "interview_weight": 60,
    "shortlist_ratio": 3,
    "replacement_deadline": "2027-03-31",
}


def test_a_round_opened_through_the_api_names_each_bad_field(live: Live) -> None:
    province = live.client("province_officer")
    bad = {
        **GOOD_ROUND,
        "name": " ",
        "registration_closes": "2026-08-20",  # before it opens
        "written_weight": 60,  # 60 + 60
        "shortlist_ratio": 0,
        "replacement_deadline": "2026-08-01",
    }
    r = province.post("/api/v1/recruitment/rounds", json=bad)
    assert r.status_code == 422, r.text
    named = {e["field"]: e["reason"] for e in r.json()["errors"]}
    assert set(named) == {
        "name", "registration_closes", "interview_weight", "shortlist_ratio",
        "replacement_deadline",
    }  # fmt: skip
    assert "60%+60%" in named["interview_weight"] and "100%" in named["interview_weight"]
    assert "早于报名开始日期" in named["registration_closes"]
    assert "不能小于1" in named["shortlist_ratio"]
    assert province.get("/api/v1/recruitment/rounds").json() == [], "nothing was written"

    assert live.client("city_officer").post(
        "/api/v1/recruitment/rounds", json=GOOD_ROUND
    ).status_code == 403, "the province opens rounds"  # fmt: skip
    r = province.post("/api/v1/recruitment/rounds", json=GOOD_ROUND)
    assert r.status_code == 201, r.text
    rnd = r.json()
    assert (rnd["status"], rnd["written_weight"], rnd["interview_weight"]) == ("报名中", 40, 60)
    public = _client(live).get(f"/api/v1/public/recruitment/{rnd['id']}").json()
    assert public["announcement"] == GOOD_ROUND["announcement"]
    again = province.post("/api/v1/recruitment/rounds", json=GOOD_ROUND)
    assert again.status_code == 422 and again.json()["field"] == "name"

    closed = province.post(f"/api/v1/recruitment/rounds/{rnd['id']}/close-registration")
    assert closed.status_code == 200 and closed.json()["status"] == "已截止"
    r = _client(live).post(
        f"/api/v1/public/recruitment/{rnd['id']}/registrations", json=_form(1, "123456")
    )
    assert r.status_code == 422 and "本轮报名已于2026-09-01截止" in r.json()["message"]
    r = live.client("county_officer").post(
        f"/api/v1/recruitment/rounds/{rnd['id']}/plans",
        json={"posts": [{"code": "A-1", "subject": "数学", "school_level": "primary",
                         "min_education": "bachelor", "seats": [{"school_id": 1, "seats": 1}]}]},
    )  # fmt: skip
    assert r.status_code == 409 and "报名已截止" in r.json()["message"]


def _schools(live: Live) -> list[tuple[int, str]]:
    county = _actor(live, "county_officer").bindings[0]
    with live.services.db.connect() as conn:
        return [
            (int(i), n)
            for i, n in conn.execute(
                select(OrgUnit.id, OrgUnit.name)
                .where(OrgUnit.tier == "school", OrgUnit.path.startswith(county.unit_path))
                .order_by(OrgUnit.id)
                .limit(2)
            )
        ]


def test_a_county_declares_posts_through_the_page(live: Live) -> None:
    rid = live.client("province_officer").post("/api/v1/recruitment/rounds", json=GOOD_ROUND)
    rid = rid.json()["id"]
    (a, a_name), (b, b_name) = _schools(live)
    c, csrf = _sign_in(live, "county_officer")
    page = c.get(f"/recruitment/{rid}/plans")
    assert page.status_code == 200 and "申报岗位" in page.text
    _check_page(page.text)
    rows = {
        "code_1": "XX-01", "subject_1": "数学", "level_1": "primary", "education_1": "bachelor",
        "school_1": str(a), "seats_1": "2",
        # the same post, its other school
        "code_2": "XX-01", "subject_2": "数学", "level_2": "primary", "education_2": "bachelor",
        "school_2": str(b), "seats_2": "1",
        # a junior post asking too little
        "code_3": "XX-02", "subject_3": "语文", "level_3": "junior", "education_3": "associate",
        "school_3": str(a), "seats_3": "1",
    }  # fmt: skip
    r = c.post(f"/recruitment/{rid}/plans", data={"csrf": csrf, "submit": "1", **rows})
    assert r.status_code == 422
    _check_page(r.text)
    error = re.search(r'<p class="error" id="education_3-error">([^<]*)</p>', r.text)
    assert error and error[1] == "初中岗位学历要求不能低于本科"
    assert 'value="XX-01"' in r.text, "what was typed is kept"
    assert live.client("county_officer").get(f"/api/v1/recruitment/rounds/{rid}/plans").json() == []

    r = c.post(
        f"/recruitment/{rid}/plans",
        data={"csrf": csrf, "submit": "1", **rows, "education_3": "bachelor"},
    )
    assert r.status_code == 303, r.text
    listed = c.get(r.headers["location"]).text
    assert "2个岗位）已报送市教育局审核" in listed and f"{a_name}（2人）、{b_name}（1人）" in listed
    [plan] = live.client("city_officer").get(f"/api/v1/recruitment/rounds/{rid}/plans").json()
    assert plan["state_label"] == "市级审核" and [p["count"] for p in plan["posts"]] == [3, 1]
    # the city passes it, the province approves: the posts open for registration
    for who, event in (("city_officer", "city_pass"), ("province_officer", "approve")):
        version = live.client(who).get(f"/api/v1/cases/{plan['case_id']}").json()["version"]
        r = live.client(who).post(
            f"/api/v1/cases/{plan['case_id']}/events",
            json={"event": event, "expected_version": version},
        )
        assert r.status_code == 200, r.text
    posts = _client(live).get(f"/api/v1/public/recruitment/{rid}/posts").json()
    assert [(p["code"], p["count"]) for p in posts] == [("XX-01", 3), ("XX-02", 1)]
    # a code taken is named at its row
    again = c.post(
        f"/recruitment/{rid}/plans", data={"csrf": csrf, **rows, "education_3": "bachelor"}
    )
    assert again.status_code == 422 and "岗位代码XX-01本轮已被使用" in again.text


# --- the demo's SMS file ------------------------------------------------------------------------
def test_the_sms_file_receives_a_code_that_completes_a_registration(
    live: Live, tmp_path: Path
) -> None:
    round_id, post = recruitment_round(live)
    phone = "13912340007"
    # without an SMS channel the page says so, and sends nothing
    live.services.sms = False
    page = _client(live).get(f"/recruitment/{round_id}/register")
    assert "暂未开通短信验证码" in page.text and 'id="send-code"' not in page.text
    r = _client(live).post("/api/v1/public/recruitment/verification-codes", json={"phone": phone})
    assert r.status_code == 409 and "暂未开通短信验证码" in r.json()["message"]

    live.services.sms = True
    sms = tmp_path / "var" / "sms.log"
    sms.parent.mkdir()
    channels = build_channels(from_env({"RENSHI_SMS_FILE": str(sms)}))
    r = _client(live).post("/api/v1/public/recruitment/verification-codes", json={"phone": phone})
    assert r.status_code == 202, r.text
    report = dispatch(
        live.services.db, live.clock, channels, catalogue=live.services.engine.processes
    )
    assert report.sent.get("sms") == 1, report
    [line] = sms.read_text(encoding="utf-8").splitlines()
    at, to, text = line.split("\t")
    assert to == phone and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", at)
    code = re.search(r"\d{6}", text)
    assert code, text
    r = _client(live).post(
        f"/api/v1/public/recruitment/{round_id}/registrations",
        json=_form(7, code[0], phone=phone, post_code=post),
    )
    assert r.status_code == 201, r.text


def recruitment_round(live: Live) -> tuple[int, str]:
    """A round open today with one approved post."""
    county = _actor(live, "county_officer")
    rid = recruitment.round_with_post(
        live.services.engine, county, name="演示招聘", code="Z-01", seats=1
    )
    with live.services.db.connect() as conn:
        assert conn.execute(select(RecruitmentRound.id)).scalar_one() == rid
    return rid, "Z-01"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_pages_of_the_year_and_the_round(live: Live) -> None:
    """The province's office runs both from the pages; officers below read them."""
    c, csrf = _sign_in(live, "province_officer")
    page = c.get("/title-review/years")
    assert "2026年9月1日至12月31日" in page.text and "开启新年度" in page.text
    _check_page(page.text)
    bad = {"csrf": csrf, "year": "2027", "opens_on": "2027-03-01", "closes_on": "2027-02-01"}
    r = c.post("/title-review/years", data=bad)
    assert r.status_code == 422 and "申报截止日期不能早于开始日期" in r.text
    _check_page(r.text)
    r = c.post("/title-review/years", data={**bad, "closes_on": "2027-03-31"})
    assert r.status_code == 303 and "2027年3月1日至3月31日" in c.get("/title-review/years").text
    city, _ = _sign_in(live, "city_officer")
    assert "开启新年度" not in city.get("/title-review/years").text

    new = c.get("/recruitment/rounds/new")
    _check_page(new.text)
    form = {**GOOD_ROUND, "written_weight": "70", "shortlist_ratio": "0", "csrf": csrf}
    r = c.post("/recruitment/rounds/new", data=form)
    assert r.status_code == 422 and "有2处需要修改" in r.text
    _check_page(r.text)
    for field in ("interview_weight", "shortlist_ratio"):
        assert re.search(rf'id="round-{field}-error">[^<]+<', r.text), field
    r = c.post("/recruitment/rounds/new", data={**GOOD_ROUND, "csrf": csrf})
    assert r.status_code == 303, r.text
    round_page = c.get(r.headers["location"]).text
    rid = int(r.headers["location"].rsplit("/", 1)[1])
    assert "咨询电话：0000-12345678" in round_page and 'id="close-registration"' in round_page
    assert "/recruitment/rounds/new" not in city.get("/recruitment").text
    assert city.get("/recruitment/rounds/new").status_code == 404
    r = c.post(f"/recruitment/{rid}/close-registration", data={"csrf": csrf})
    assert r.status_code == 303
    register = _client(live).get(f"/recruitment/{rid}/register").text
    assert "本轮报名已截止" in register and "招聘公告" in register


def test_the_cli_opens_a_round_and_declares_posts(
    d: Driver, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RENSHI_DATABASE_URL", db_url)
    province = f"#{d.world.actors['province_officer'].person_id}"
    county = f"#{d.world.actors['county_officer'].person_id}"
    at = ["--at", "2026-09-01T09:00"]
    dates = ["--opens", "2026-09-01", "--closes", "2026-09-20"]
    base = [*at, "recruitment", "round", "open", "--as", province, "--name", "秋季招聘",
            "--announcement", "公告", *dates]  # fmt: skip
    run = CliRunner()
    bad = run.invoke(cli, [*base, "--written-weight", "70", "--ratio", "0"])
    assert bad.exit_code == 1
    assert "[interview_weight]" in bad.output and "[shortlist_ratio]" in bad.output
    ok = run.invoke(cli, base)
    assert ok.exit_code == 0 and "/recruitment/1/register" in ok.output, ok.output
    posts = (
        '[{"code": "E-1", "subject": "数学", "school_level": "junior", '
        f'"min_education": "bachelor", "seats": [{{"school_id": {d.world.unit("urban")}, '
        '"seats": 2}]}]'
    )
    declared = run.invoke(cli, [*at, "recruitment", "plan", "declare", "1", "--as", county,
                                "--posts", posts])  # fmt: skip
    assert declared.exit_code == 0 and "已报送市教育局审核" in declared.output, declared.output
    west = f"#{d.world.actors['west_officer'].person_id}"
    listed = run.invoke(cli, ["recruitment", "plan", "list", "1", "--as", west])
    assert listed.output.strip() == "暂无岗位计划", "another county does not see it"
    listed = run.invoke(cli, ["recruitment", "plan", "list", "1", "--as", province])
    assert "东县" in listed.output and "E-1" in listed.output and "市级审核" in listed.output
