"""Recruitment over HTTP: open posts, an SMS code through the real dispatcher and a local
gateway, registration, the officers' steps and the progress view."""

from __future__ import annotations

import datetime as dt
from typing import Any

from notifications.channels import SmsGateway
from notifications.dispatch import dispatch
from states.identity import make_id_number
from states.org import Actor
from states.processes.recruitment import seed as recruitment
from states.store.people import load_actor
from tests.live import Live
from tests.test_dispatch import Robot, robot  # noqa: F401 - the fixture


def _actor(live: Live, username: str) -> Actor:
    with live.services.db.connect() as conn:
        return load_actor(conn, username=username)


def _round_with_plan(live: Live) -> tuple[int, str]:
    """A round open today with one approved post, Z-01, each officer firing their step."""
    road = [_actor(live, who) for who in ("county_officer", "city_officer", "province_officer")]
    round_id = recruitment.round_with_post(
        live.services.engine, road[0], name="2026年招聘", code="Z-01", seats=1, officers=road
    )
    return round_id, "Z-01"


def _id_number(n: int) -> str:
    return make_id_number("110101", dt.date(1999, 5, 1), 1 + 2 * n, "M")


def _people(n: int, post: str = "Z-01") -> list[dict[str, str]]:
    """``n`` applicants as an officer's import sheet lists them."""
    return [
        {
            "id_number": _id_number(50 + i),
            "name": f"导入{i}",
            "phone": f"1371234{i:04d}",
            "education": "本科",
            "cert_level": "小学",
            "post_code": post,
        }
        for i in range(n)
    ]


def _broken(person: dict[str, str]) -> dict[str, str]:
    """The same row with a wrong check digit."""
    number = person["id_number"]
    return {**person, "id_number": number[:-1] + ("0" if number[-1] != "0" else "1")}


def _form(n: int, code: str, **over: Any) -> dict[str, Any]:
    return {
        "id_number": _id_number(n),
        "name": f"报名{n}",
        "phone": f"1391234{n:04d}",
        "code": code,
        "education": "bachelor",
        "cert_level": "primary",
        "post_code": "Z-01",
        **over,
    }


def _sms_code(live: Live, gateway: str, phone: str) -> str:
    report = dispatch(
        live.services.db,
        live.clock,
        {"sms": SmsGateway(gateway)},
        catalogue=live.services.engine.processes,
    )
    assert report.sent.get("sms", 0) >= 1, report
    text = next(r["json"]["text"] for r in reversed(Robot.received) if r["json"]["phone"] == phone)
    return "".join(c for c in text if c.isdigit())[:6]


def test_public_registration_with_an_sms_code(live: Live, robot: str) -> None:  # noqa: F811
    round_id, _ = _round_with_plan(live)
    anon = live.client()
    posts = anon.get(f"/api/v1/public/recruitment/{round_id}/posts")
    assert posts.status_code == 200, posts.text
    [post] = posts.json()
    assert post["code"] == "Z-01" and post["count"] == 1

    phone = "13912340001"
    assert (
        anon.post(
            "/api/v1/public/recruitment/verification-codes", json={"phone": phone}
        ).status_code
        == 202
    )
    again = anon.post("/api/v1/public/recruitment/verification-codes", json={"phone": phone})
    assert again.status_code == 429 and "1分钟" in again.json()["message"]
    assert 0 < int(again.headers["Retry-After"]) <= 60
    code = _sms_code(live, robot, phone)
    wrong = anon.post(
        f"/api/v1/public/recruitment/{round_id}/registrations",
        json=_form(1, "000000" if code != "000000" else "111111"),
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "code"
    bad_id = anon.post(
        f"/api/v1/public/recruitment/{round_id}/registrations",
        json={**_form(1, code), "id_number": "110101199905010010"},
    )
    assert bad_id.status_code == 422 and bad_id.json()["field"] == "id_number"
    ineligible = anon.post(
        f"/api/v1/public/recruitment/{round_id}/registrations",
        json={**_form(1, code), "cert_level": "kindergarten"},
    )
    assert ineligible.status_code == 422 and ineligible.json()["field"] == "cert_level"
    # A refused registration keeps its code: the corrected one goes through with it.
    ok = anon.post(f"/api/v1/public/recruitment/{round_id}/registrations", json=_form(1, code))
    assert ok.status_code == 201, ok.text
    reused = anon.post(
        f"/api/v1/public/recruitment/{round_id}/registrations",
        json={**_form(2, code), "phone": phone},
    )
    assert reused.status_code == 422 and reused.json()["field"] == "code"

    live.clock.advance(minutes=2)
    assert (
        anon.post(
            "/api/v1/public/recruitment/verification-codes", json={"phone": phone}
        ).status_code
        == 202
    )
    code2 = _sms_code(live, robot, phone)
    twice = anon.post(f"/api/v1/public/recruitment/{round_id}/registrations", json=_form(1, code2))
    assert twice.status_code == 422 and "已报名" in twice.json()["message"]

    city = live.client("city_officer")
    got = city.get(f"/api/v1/recruitment/{round_id}/progress")
    assert got.status_code == 200, got.text
    [row] = got.json()
    assert (row["registered"], row["qualified"], row["hired"]) == (1, 0, 0)
    county = live.client("county_officer")
    refused = county.post(f"/api/v1/recruitment/{round_id}/shortlist")
    assert refused.status_code == 403
    # A shortlist before the qualification check and the written scores is refused.
    early = city.post(f"/api/v1/recruitment/{round_id}/shortlist")
    assert early.status_code == 409, early.text
    assert "还有1人未完成资格审查" in early.json()["message"]

    # The applicant hears of the qualification check by SMS, at the number they confirmed.
    case_id = ok.json()["case_id"]
    version = county.get(f"/api/v1/cases/{case_id}").json()["version"]
    fired = county.post(
        f"/api/v1/cases/{case_id}/events", json={"event": "qualify", "expected_version": version}
    )
    assert fired.status_code == 200, fired.text
    report = dispatch(
        live.services.db,
        live.clock,
        {"sms": SmsGateway(robot)},
        catalogue=live.services.engine.processes,
    )
    assert report.sent.get("sms") == 1, report
    sms = Robot.received[-1]["json"]
    assert sms["phone"] == phone
    assert "资格审查通过" in sms["text"] and "新任教师招聘" in sms["text"]


def test_import_applicants_and_scores_then_export(live: Live) -> None:
    from states.sheets import read_table

    round_id, post = _round_with_plan(live)
    people = _people(5, post)
    sheet = recruitment.applicant_sheet([*people[:4], _broken(people[4])])
    province = live.client("province_officer")
    files = {
        "file": (
            "报名.xlsx",
            sheet,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    }
    refused = province.post(f"/api/v1/recruitment/{round_id}/imports/applicants", files=files)
    assert refused.status_code == 422, refused.text
    errors = refused.json()["errors"]
    assert len(errors) == 1, errors
    [error] = errors
    assert (error["row"], error["column"]) == (6, "身份证号") and "校验码" in error["reason"]
    assert refused.json()["imported"] == 0
    county = live.client("county_officer")
    assert (
        county.post(f"/api/v1/recruitment/{round_id}/imports/applicants", files=files).status_code
        == 403
    )
    partial = province.post(
        f"/api/v1/recruitment/{round_id}/imports/applicants?valid_only=true", files=files
    )
    assert partial.status_code == 200 and partial.json()["imported"] == 4
    # The same people again: each refused row shows the number refused, not a blank cell.
    again = recruitment.applicant_sheet(people[:2])
    twice = province.post(
        f"/api/v1/recruitment/{round_id}/imports/applicants",
        files={"file": ("报名.xlsx", again, "application/octet-stream")},
    )
    assert twice.status_code == 422, twice.text
    assert [(e["value"], "今年已报名" in e["reason"]) for e in twice.json()["errors"]] == [
        (p["id_number"], True) for p in people[:2]
    ]
    not_a_sheet = province.post(
        f"/api/v1/recruitment/{round_id}/imports/applicants",
        files={"file": ("报名.xlsx", b"\x89PNG\r\n", "image/png")},
    )
    assert not_a_sheet.status_code == 422 and not_a_sheet.json()["field"] == "file"

    # Qualify them, import written scores, shortlist, export the shortlist masked.
    recruitment.qualify_each(live.services.engine, _actor(live, "county_officer"))
    # A score for nobody registered, or for the wrong step, is an error row: never dropped.
    stranger = make_id_number("110101", dt.date(1998, 3, 3), 999, "F")
    typo = recruitment.score_sheet("written", [(people[0]["id_number"], 88), (stranger, 75)])
    unknown = province.post(
        f"/api/v1/recruitment/{round_id}/imports/written",
        files={"file": ("笔试.xlsx", typo, "application/octet-stream")},
    )
    assert unknown.status_code == 422 and unknown.json()["imported"] == 0, unknown.text
    assert [(e["row"], e["value"], e["reason"]) for e in unknown.json()["errors"]] == [
        (3, stranger, "本轮招聘没有该身份证号的报名")
    ]
    early = recruitment.score_sheet("interview", [(people[0]["id_number"], 80)])
    too_soon = live.client("city_officer").post(
        f"/api/v1/recruitment/{round_id}/imports/interview",
        files={"file": ("面试.xlsx", early, "application/octet-stream")},
    )
    assert too_soon.status_code == 422, too_soon.text
    assert "不能录入面试成绩" in too_soon.json()["errors"][0]["reason"]
    scores = recruitment.score_sheet(
        "written", [(p["id_number"], 90 - i) for i, p in enumerate(people[:4])]
    )
    written = province.post(
        f"/api/v1/recruitment/{round_id}/imports/written",
        files={"file": ("笔试.xlsx", scores, "application/octet-stream")},
    )
    assert written.status_code == 200 and written.json()["imported"] == 4
    city = live.client("city_officer")
    assert city.post(f"/api/v1/recruitment/{round_id}/shortlist").json()["result"] == {
        "shortlisted": 3,
        "not_shortlisted": 1,
    }
    exported = city.get(f"/api/v1/recruitment/{round_id}/exports/shortlist")
    assert exported.status_code == 200
    table = read_table(exported.content, "入围.xlsx")
    assert [r["姓名"] for _, r in table.rows] == ["导入0", "导入1", "导入2"]
    assert all("*" in r["身份证号"] and "****" in r["手机号"] for _, r in table.rows)
