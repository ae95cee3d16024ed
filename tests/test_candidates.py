"""Recruitment as candidates and officers live it, over a real server on both databases: a
candidate looks up where they stand with their ID number and an SMS code (and learns nothing
about anyone else's registration), the bulk steps refuse to run out of order through the API,
the page and the CLI without writing anything, the import templates go round trip, and the
applicant's registration beside their case is cut to each reader."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import func, select

from api.cli import main as cli
from api.processes.recruitment.record import applicant_record
from states.identity import make_id_number
from states.org import COUNTY_OFFICER, PRINCIPAL
from states.processes.recruitment import steps as rec
from states.processes.recruitment.sheets import SCHEMAS
from states.processes.recruitment.tables import Applicant
from states.store.models import AuditEvent, Case, OrgUnit, OutboxMessage
from tests import test_pages
from tests.live import Live, add_account
from tests.test_pages import _check_page, _client, _field_error, _sign_in
from tests.test_recruitment_api import _actor, _round_with_plan

STATUS = "/api/v1/recruitment/status"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _person(n: int) -> dict[str, Any]:
    """Applicant ``n`` as a validated import row (post Z-01: primary, bachelor, certificate)."""
    born = dt.date(1999, 5, 1)
    return {
        "row": n + 2,
        "id_number": make_id_number("110101", born, 2 * n + 1, "M"),
        "name": f"考生{n}",
        "phone": f"1381234{n:04d}",
        "gender": "M",
        "birth_date": born,
        "education": "bachelor",
        "cert_level": "primary",
        "post_code": "Z-01",
    }


def _register(live: Live, round_id: int, people: list[dict[str, Any]]) -> list[int]:
    report = rec.register_many(
        live.services.engine, _actor(live, "province_officer"), round_id, people
    )
    assert report.errors == [], report.errors
    return report.case_ids


def _code(live: Live, phone: str, *, id_number: str | None = None, address: str) -> str:
    """A fresh status code on ``phone``, as the SMS delivers it (a minute after the last)."""
    live.clock.advance(minutes=2)
    body = {"phone": phone} | ({"id_number": id_number} if id_number else {})
    sent = live.client().post(f"{STATUS}/code", json=body, headers={"X-Forwarded-For": address})
    assert sent.status_code == 202, sent.text
    return _latest_code(live, phone)


def _latest_code(live: Live, phone: str) -> str:
    with live.services.db.connect() as conn:
        payloads = conn.execute(
            select(OutboxMessage.payload)
            .where(OutboxMessage.kind == "verification_code")
            .order_by(OutboxMessage.id.desc())
        ).scalars()
        return str(next(p["code"] for p in payloads if p["phone"] == phone))


def _look_up(live: Live, id_number: str, phone: str, code: str) -> httpx.Response:
    return live.client().post(STATUS, json={"id_number": id_number, "phone": phone, "code": code})


def _wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def _states(live: Live, round_id: int) -> dict[int, tuple[str, int]]:
    """Each applicant's state and version, and (key 0) how many audit rows there are."""
    with live.services.db.connect() as conn:
        rows = conn.execute(
            select(Case.id, Case.state, Case.version)
            .join(Applicant, Applicant.case_id == Case.id)
            .where(Applicant.round_id == round_id)
        ).all()
        audit = conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    return {int(r.id): (r.state, int(r.version)) for r in rows} | {0: ("audit", int(audit))}


# --- the candidate's status -----------------------------------------------------------------
def test_a_candidate_looks_up_where_they_stand(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    round_id, _ = _round_with_plan(live)
    me = _person(1)
    [case_id] = _register(live, round_id, [me])
    here = "10.1.0.1"

    code = _code(live, me["phone"], id_number=me["id_number"], address=here)
    wrong = _look_up(live, me["id_number"], me["phone"], _wrong(code))
    assert wrong.status_code == 422, wrong.text
    assert wrong.json()["field"] == "code"
    assert wrong.json()["message"].endswith("验证码错误，还可再试4次")
    bad_id = _look_up(live, me["id_number"][:-1] + "0", me["phone"], code)
    assert bad_id.status_code == 422 and bad_id.json()["field"] == "id_number"

    found = _look_up(live, me["id_number"], me["phone"], code)
    assert found.status_code == 200, found.text
    [mine] = found.json()["registrations"]
    assert (mine["case_id"], mine["round"], mine["step"]) == (case_id, "2026年招聘", "报名待审核")
    assert mine["post"].startswith("Z-01") and "资格审查" in mine["next"]
    assert mine["due_on"] is not None and mine["due_on"] in mine["next"]
    record = {r["label"]: r["value"] for r in mine["record"]}
    assert record["姓名"] == "考生1" and record["学历"] == "本科"
    assert record["身份证号"] != me["id_number"] and "*" in record["身份证号"]
    assert me["id_number"] not in found.text, "the ID number is masked in the answer"
    assert "笔试成绩" not in record, "no score before one is recorded"
    again = _look_up(live, me["id_number"], me["phone"], code)
    assert again.status_code == 422 and "重新获取" in again.json()["message"], (
        "one code, one answer"
    )

    # The qualification check and the written exam: the step and the score, in plain words.
    engine = live.services.engine
    rec.qualify_all(engine, _actor(live, "county_officer"), round_id)
    rec.record_scores(
        engine, _actor(live, "province_officer"), round_id, "written", [(me["id_number"], 88.5)]
    )
    code = _code(live, me["phone"], address=here)
    [mine] = _look_up(live, me["id_number"], me["phone"], code).json()["registrations"]
    assert mine["step"] == "笔试成绩 88.5 分" and "入围面试" in mine["next"]
    assert {r["label"]: r["value"] for r in mine["record"]}["笔试成绩"] == "88.5"

    # The page: no account; 获取验证码 keeps what was typed; the answer on the page.
    monkeypatch.setattr(
        test_pages, "NO_SESSION_FORMS", (*test_pages.NO_SESSION_FORMS, "/recruitment/status")
    )
    anon = _client(live)
    register_page = anon.get(f"/recruitment/{round_id}/register").text
    assert 'href="/recruitment/status"' in register_page, "the public round page links to it"
    page = anon.get("/recruitment/status")
    assert page.status_code == 200
    _check_page(page.text)
    form = {"id_number": me["id_number"], "phone": me["phone"], "code": ""}
    live.clock.advance(minutes=2)
    sent = anon.post("/recruitment/status/code", data=form, headers={"X-Forwarded-For": here})
    assert sent.status_code == 200, sent.text
    _check_page(sent.text)
    assert "验证码已发送至138****0001" in sent.text and f'value="{me["id_number"]}"' in sent.text
    code = _latest_code(live, me["phone"])
    wrong_page = anon.post("/recruitment/status", data={**form, "code": _wrong(code)})
    assert wrong_page.status_code == 422
    assert _field_error(wrong_page.text, "status-code") == "验证码错误，还可再试4次"
    shown = anon.post("/recruitment/status", data={**form, "code": code})
    assert shown.status_code == 200, shown.text
    _check_page(shown.text)
    assert re.search(r'<strong class="step">笔试成绩 88.5 分</strong>', shown.text)
    assert "考生1" in shown.text and me["id_number"] not in shown.text
    assert shown.headers["cache-control"] == "no-store"
    cross = anon.post(
        "/recruitment/status", data={**form, "code": code}, headers={"Origin": "https://evil.cn"}
    )
    assert cross.status_code == 403


def test_nothing_tells_whether_someone_elses_id_number_is_registered(live: Live) -> None:
    """A stranger with their own phone asks about a registered ID number and an unregistered
    one: every answer, before and after their code, is the same for both."""
    round_id, _ = _round_with_plan(live)
    victim = _person(2)
    _register(live, round_id, [victim])
    unregistered = make_id_number("110101", dt.date(1998, 3, 3), 7, "M")
    phone, there = "13998760001", "10.2.0.1"
    anon = live.client()

    def ask(number: str) -> httpx.Response:
        live.clock.advance(minutes=2)
        body = {"id_number": number, "phone": phone}
        return anon.post(f"{STATUS}/code", json=body, headers={"X-Forwarded-For": there})

    first, second = ask(victim["id_number"]), ask(unregistered)
    assert (
        (first.status_code, first.json())
        == (second.status_code, second.json())
        == (
            202,
            {"result": {"sent": 1}},
        )
    )
    # a wrong code, each time on a fresh code
    wrong_a = _look_up(live, victim["id_number"], phone, _wrong(_latest_code(live, phone)))
    ask(unregistered)
    wrong_b = _look_up(live, unregistered, phone, _wrong(_latest_code(live, phone)))
    assert (wrong_a.status_code, wrong_a.json()) == (wrong_b.status_code, wrong_b.json())
    # the right code: the stranger's phone registered neither
    right_b = _look_up(live, unregistered, phone, _latest_code(live, phone))
    ask(victim["id_number"])
    right_a = _look_up(live, victim["id_number"], phone, _latest_code(live, phone))
    assert right_a.status_code == right_b.status_code == 404
    assert right_a.json() == right_b.json()
    assert "没有找到该身份证号以该手机号报名的记录" in right_a.json()["message"]
    # and no code ever went to the registered applicant's phone
    with live.services.db.connect() as conn:
        sent_to = {
            p["phone"]
            for p in conn.execute(
                select(OutboxMessage.payload).where(OutboxMessage.kind == "verification_code")
            ).scalars()
        }
    assert victim["phone"] not in sent_to


# --- bulk steps in their order ------------------------------------------------------------
def test_bulk_steps_refuse_to_run_out_of_order(
    live: Live, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    round_id, _ = _round_with_plan(live)
    people = [_person(10 + i) for i in range(4)]
    _register(live, round_id, people)
    engine = live.services.engine
    rec.qualify_all(engine, _actor(live, "county_officer"), round_id)
    province = _actor(live, "province_officer")
    ids = [p["id_number"] for p in people]
    rec.record_scores(
        engine, province, round_id, "written", [(i, 90.0 - n) for n, i in enumerate(ids[:3])]
    )

    city = live.client("city_officer")
    before = _states(live, round_id)
    refused = city.post(f"/api/v1/recruitment/{round_id}/shortlist")
    assert refused.status_code == 409, refused.text
    said = refused.json()["message"]
    assert said.startswith("不能确定入围面试人选：还有1人没有笔试成绩（岗位Z-01）"), said
    assert "缺考" in said
    early_rank = city.post(f"/api/v1/recruitment/{round_id}/ranking")
    assert early_rank.status_code == 409 and "还有1人没有笔试成绩" in early_rank.json()["message"]
    early_fill = city.post(f"/api/v1/recruitment/{round_id}/replacements")
    assert early_fill.status_code == 409
    assert "尚未计算综合成绩并排名" in early_fill.json()["message"]

    # the CLI says the same and exits non-zero
    monkeypatch.setenv("RENSHI_DATABASE_URL", db_url)
    city_id = f"#{_actor(live, 'city_officer').person_id}"
    run = CliRunner()
    cli_refused = run.invoke(
        cli, ["recruitment", "step", "shortlist", str(round_id), "--as", city_id]
    )
    assert cli_refused.exit_code == 1
    assert "还有1人没有笔试成绩（岗位Z-01）" in cli_refused.output

    # and the page, beside the button before it is pressed and in its refusal after
    page, csrf = _sign_in(live, "city_officer")
    round_page = page.get(f"/recruitment/{round_id}").text
    assert "还有1人没有笔试成绩" in round_page and 'id="action-shortlist"' in round_page
    pressed = page.post(f"/recruitment/{round_id}/steps/shortlist", data={"csrf": csrf})
    assert pressed.status_code == 409 and "还有1人没有笔试成绩" in pressed.text
    _check_page(pressed.text)
    assert _states(live, round_id) == before, "a refused step writes nothing"

    # The last candidate absent: the written scores are in; the shortlist runs.
    rec.record_scores(engine, province, round_id, "written", [(ids[3], None)])
    done = run.invoke(cli, ["recruitment", "step", "shortlist", str(round_id), "--as", city_id])
    assert done.exit_code == 0, done.output
    assert done.output.strip() == "已办理「确定入围面试人选」：入围3人，未入围1人"
    twice = city.post(f"/api/v1/recruitment/{round_id}/shortlist")
    assert twice.status_code == 409 and "不能重复办理" in twice.json()["message"]

    # Interview scores for two of the three: no ranking yet.
    rec.record_scores(
        engine,
        _actor(live, "city_officer"),
        round_id,
        "interview",
        [(ids[0], 80.0), (ids[1], 85.0)],
    )
    before = _states(live, round_id)
    short = city.post(f"/api/v1/recruitment/{round_id}/ranking")
    assert short.status_code == 409, short.text
    assert "还有1人没有面试成绩（岗位Z-01）" in short.json()["message"]
    by_cli = run.invoke(cli, ["recruitment", "step", "ranking", str(round_id), "--as", city_id])
    assert by_cli.exit_code == 1 and "还有1人没有面试成绩" in by_cli.output
    assert _states(live, round_id) == before
    rec.record_scores(engine, _actor(live, "city_officer"), round_id, "interview", [(ids[2], 70.0)])
    ranked = city.post(f"/api/v1/recruitment/{round_id}/ranking")
    assert ranked.json() == {"result": {"to_physical": 1, "reserve": 2}}
    assert city.post(f"/api/v1/recruitment/{round_id}/replacements").json() == {
        "result": {"moved_up": 0}
    }
    # the CLI writes an import's template too
    out = tmp_path / "面试.xlsx"
    wrote = run.invoke(cli, ["recruitment", "template", "interview", str(round_id), "-o", str(out)])
    assert wrote.exit_code == 0, wrote.output
    assert _fill(out.read_bytes(), [])[0] == [c.label for c in SCHEMAS["interview"].columns]


# --- import templates -----------------------------------------------------------------------
def _fill(template: bytes, rows: list[list[Any]]) -> tuple[list[str], bytes]:
    """The template's headers, and the template filled in as an officer does in Excel."""
    book = load_workbook(io.BytesIO(template))
    sheet = book.worksheets[0]
    headers = [c.value for c in sheet[2]]
    for n, row in enumerate(rows, start=3):
        for col, value in enumerate(row, start=1):
            sheet.cell(row=n, column=col, value=value)
    out = io.BytesIO()
    book.save(out)
    return headers, out.getvalue()


def test_import_templates_round_trip(live: Live) -> None:
    round_id, _ = _round_with_plan(live)
    province = live.client("province_officer")
    got = province.get(f"/api/v1/recruitment/{round_id}/imports/applicants/template")
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == XLSX
    assert "attachment" in got.headers["content-disposition"]
    book = load_workbook(io.BytesIO(got.content))
    assert book.sheetnames[1] == "填写说明"
    notes = [c for row in book["填写说明"].iter_rows(values_only=True) for c in row if c]
    assert "Z-01" in notes, "the applicants' template lists the round's posts"
    people = [_person(30), _person(31)]
    headers, filled = _fill(
        got.content,
        [[p["id_number"], p["name"], p["phone"], None, None, "本科", None, "小学", "Z-01"]
         for p in people],
    )  # fmt: skip
    assert headers == [c.label for c in SCHEMAS["applicants"].columns]
    files = {"file": ("报名.xlsx", filled, XLSX)}
    imported = province.post(f"/api/v1/recruitment/{round_id}/imports/applicants", files=files)
    assert imported.status_code == 200, imported.text
    assert (imported.json()["imported"], imported.json()["errors"]) == (2, [])

    rec.qualify_all(live.services.engine, _actor(live, "county_officer"), round_id)
    # from the round page's link, as the officer clicks it
    page, _ = _sign_in(live, "province_officer")
    link = f"/recruitment/{round_id}/imports/written/template"
    assert f'href="{link}"' in page.get(f"/recruitment/{round_id}").text
    written = page.get(link)
    assert written.status_code == 200 and written.headers["content-type"] == XLSX
    headers, filled = _fill(
        written.content, [[people[0]["id_number"], "91.5"], [people[1]["id_number"], "缺考"]]
    )
    assert headers == [c.label for c in SCHEMAS["written"].columns]
    files = {"file": ("笔试.xlsx", filled, XLSX)}
    scored = province.post(f"/api/v1/recruitment/{round_id}/imports/written", files=files)
    assert scored.status_code == 200, scored.text
    assert (scored.json()["imported"], scored.json()["errors"]) == (2, [])
    with live.services.db.connect() as conn:
        scores = dict(conn.execute(select(Applicant.name, Applicant.written_score)).all())
    assert scores == {"考生30": 91.5, "考生31": None}

    interview = province.get(f"/api/v1/recruitment/{round_id}/imports/interview/template")
    assert interview.status_code == 200
    assert _fill(interview.content, [])[0] == [c.label for c in SCHEMAS["interview"].columns]
    teacher = live.client("teacher").get(f"/api/v1/recruitment/{round_id}/imports/written/template")
    assert teacher.status_code == 403
    unknown = province.get("/api/v1/recruitment/999999/imports/written/template")
    assert unknown.status_code == 404


# --- the applicant beside their case ------------------------------------------------------
def test_the_applicants_registration_beside_the_case_per_reader(live: Live) -> None:
    round_id, _ = _round_with_plan(live)
    me = _person(40)
    [case_id] = _register(live, round_id, [me])
    engine = live.services.engine
    rec.qualify_all(engine, _actor(live, "county_officer"), round_id)
    rec.record_scores(
        engine, _actor(live, "province_officer"), round_id, "written", [(me["id_number"], 77.0)]
    )
    home = _actor(live, "county_officer").bindings[0].unit_id
    with live.services.db.connect() as conn:
        other = conn.execute(
            select(OrgUnit.id).where(OrgUnit.tier == "county", OrgUnit.id != home).limit(1)
        ).scalar_one()
    add_account(live, "county_elsewhere", COUNTY_OFFICER, other)
    # a role over the county that is not an officer's reads the case, not the person
    add_account(live, "county_reader", PRINCIPAL, home)

    # what each reader is given beside the case (the hook the case page and API call)
    def record(username: str) -> dict[str, str] | None:
        with live.services.db.connect() as conn:
            panel = applicant_record(conn, _actor(live, username), {"id": case_id})
        if panel is None:
            return None
        assert panel.title == "报名信息"
        return dict(panel.rows)

    full = record("county_officer")
    assert full is not None
    assert list(full) == ["姓名", "身份证号", "性别", "年龄", "学历", "教师资格证", "报考岗位",
                          "笔试成绩"]  # fmt: skip
    assert full["姓名"] == "考生40" and full["性别"] == "男" and full["笔试成绩"] == "77"
    assert full["身份证号"] == me["id_number"][:6] + "*" * 8 + me["id_number"][-4:]
    assert full["年龄"] == "27周岁（报名时）" and full["教师资格证"] == "小学教师资格证"
    assert full["报考岗位"].startswith("Z-01（")
    for reader in ("city_officer", "province_officer", "inspector"):
        assert record(reader) == full, reader
    assert record("county_reader") == {"姓名": "考生40", "报考岗位": full["报考岗位"]}
    assert record("county_elsewhere") is None
    assert record("teacher") is None

    # the same rows in the case's JSON and on its page; nothing for the public
    got = live.client("county_officer").get(f"/api/v1/cases/{case_id}")
    assert got.status_code == 200, got.text
    assert {r["label"]: r["value"] for r in got.json()["record"]["rows"]} == full
    assert live.client().get(f"/api/v1/cases/{case_id}").status_code == 401
    page, _ = _sign_in(live, "county_officer")
    html = page.get(f"/cases/{case_id}").text
    assert "报名信息" in html and full["身份证号"] in html and me["id_number"] not in html
