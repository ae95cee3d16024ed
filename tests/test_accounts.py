"""Accounts and roles over the API, the pages and the CLI, on a seeded province: an officer
opens accounts one by one and from a sheet, the person sets their own password at first
sign-in, an officer resets and disables within their county and nobody else's (404), and
the delegation and the leaving (离职转办) of the engine tests are reachable from every door."""

from __future__ import annotations

import datetime as dt
import html
import re

import httpx
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from api.cli import main
from api.signin import MUST_CHANGE
from states.identity import make_id_number
from states.sheets import read_table
from states.store.models import OrgUnit, Person, RoleBinding, Teacher
from tests.live import PASSWORD, Live, add_account
from tests.test_api import _ids
from tests.test_pages import _check_page, _client, _sign_in

NEW_PASSWORD = "my-own-secret-2026"


def _token(live: Live, username: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=live.url, timeout=30) as c:
        return c.post("/api/v1/auth/token", json={"username": username, "password": password})


def _code(live: Live, unit_id: int) -> str:
    with live.services.db.connect() as conn:
        return str(conn.execute(select(OrgUnit.code).where(OrgUnit.id == unit_id)).scalar_one())


def test_an_account_is_opened_used_reset_and_disabled_within_the_county(live: Live) -> None:
    ids = _ids(live)
    county = live.client("county_officer")
    made = county.post(
        "/api/v1/accounts",
        json={
            "name": "新干部", "username": "xin_ganbu", "unit_id": ids["school"],
            "roles": ["学校人事干部"], "phone": "13800138000",
        },
    )  # fmt: skip
    assert made.status_code == 201, made.text
    person, first = made.json()["person_id"], made.json()["initial_password"]
    assert len(first) == 12

    # the handed-over password opens nothing until the person sets their own
    refused = _token(live, "xin_ganbu", first)
    assert refused.status_code == 403 and refused.json()["message"] == MUST_CHANGE
    with httpx.Client(base_url=live.url, timeout=30) as c:
        same = c.post(
            "/api/v1/auth/initial-password",
            json={"username": "xin_ganbu", "current_password": first, "new_password": first},
        )
        assert same.status_code == 422 and same.json()["field"] == "new_password"
        done = c.post(
            "/api/v1/auth/initial-password",
            json={"username": "xin_ganbu", "current_password": first, "new_password": NEW_PASSWORD},
        )
        assert done.status_code == 200, done.text
        me = c.get("/api/v1/me", headers={"Authorization": f"Bearer {done.json()['access_token']}"})
    assert [r["role"] for r in me.json()["roles"]] == ["school_officer"]
    assert _token(live, "xin_ganbu", NEW_PASSWORD).status_code == 200

    # bad input names the field
    twice = county.post(
        "/api/v1/accounts",
        json={"name": "重名", "username": "XIN_GANBU", "unit_id": ids["school"],
              "roles": ["principal"]},
    )  # fmt: skip
    assert twice.status_code == 422 and twice.json()["field"] == "username"
    wrong_tier = county.post(
        f"/api/v1/accounts/{person}/roles",
        json={"role": "county_officer", "unit_id": ids["school"]},
    )
    assert wrong_tier.status_code == 422 and wrong_tier.json()["field"] == "role"

    # another county's officer: the account does not exist for them
    add_account(live, "other_county", "county_officer", ids["other_county"])
    other = live.client("other_county")
    for method, path, body in (
        ("get", f"/api/v1/accounts/{person}", None),
        ("post", f"/api/v1/accounts/{person}/password", None),
        ("post", f"/api/v1/accounts/{person}/disable", None),
        ("post", f"/api/v1/accounts/{person}/enable", None),
        ("post", f"/api/v1/accounts/{person}/handover", {}),
        ("post", f"/api/v1/accounts/{person}/roles",
         {"role": "principal", "unit_id": ids["other_county"]}),
        ("post", f"/api/v1/accounts/{person}/roles/remove",
         {"role": "school_officer", "unit_id": ids["school"]}),
        ("post", f"/api/v1/accounts/{person}/delegations",
         {"acting_id": 1, "starts_on": "2026-09-01", "ends_on": "2026-09-02"}),
    ):  # fmt: skip
        r = other.request(method, path, json=body)
        assert r.status_code == 404, (path, r.status_code, r.text)
    assert other.get("/api/v1/accounts", params={"q": "新干部"}).json()["total"] == 0
    listed = county.get("/api/v1/accounts", params={"q": "新干部"}).json()
    assert [i["username"] for i in listed["items"]] == ["xin_ganbu"]

    # a reset ends the person's tokens and hands over a temporary password again
    token = _token(live, "xin_ganbu", NEW_PASSWORD).json()["access_token"]
    reset = county.post(f"/api/v1/accounts/{person}/password")
    assert reset.status_code == 200, reset.text
    with httpx.Client(base_url=live.url, timeout=30) as c:
        ended = c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert ended.status_code == 401
    assert _token(live, "xin_ganbu", reset.json()["initial_password"]).status_code == 403

    disabled = county.post(f"/api/v1/accounts/{person}/disable")
    assert disabled.status_code == 200 and disabled.json()["cases_moved"] == 0
    assert _token(live, "xin_ganbu", reset.json()["initial_password"]).json()["message"] == (
        "账号已停用"
    )
    detail = county.get(f"/api/v1/accounts/{person}").json()
    assert detail["active"] is False and detail["phone"] == "138****8000"
    assert [h["source_label"] for h in detail["history"]][-1] == "页面修改"
    assert not any("hash" in str(h["changes"]) for h in detail["history"])


def _sheet(rows: list[list[str]]) -> bytes:
    head = "身份证号,姓名,手机号,用户名,角色,单位代码,学科"
    return ("\n".join([head, *(",".join(r) for r in rows)]) + "\n").encode("utf-8")


def test_a_sheet_of_accounts_matches_the_roster_and_reports_each_row(live: Live) -> None:
    ids = _ids(live)
    county = live.client("county_officer")
    school, county_code = _code(live, ids["school"]), _code(live, ids["county"])
    with live.services.db.connect() as conn:
        known = conn.execute(
            select(Person.id, Person.id_number, Person.name)
            .join(Teacher, Teacher.person_id == Person.id)
            .where(Teacher.school_id == ids["school"], Person.username.is_(None))
            .limit(1)
        ).one()
    rows = [
        [
            make_id_number("110101", dt.date(1990, 1, 1), 123, "M"),
            "新校长",
            "13900139000",
            "new_principal",
            "校长",
            school,
            "",
        ],
        [known.id_number, known.name, "", "roster_expert", "评委", county_code, "数学"],
        [
            make_id_number("110101", dt.date(1992, 2, 2), 124, "M"),
            "外县人",
            "",
            "outsider1",
            "学校人事干部",
            "NO-SUCH",
            "",
        ],
    ]
    files = {"file": ("账号.csv", _sheet(rows), "text/csv")}
    refused = county.post("/api/v1/accounts/import", files=files)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["imported"] == 0 and body["created"] == []
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(4, "单位代码")]
    assert _token(live, "new_principal", "whatever-it-is").status_code == 401, "nothing written"

    done = county.post("/api/v1/accounts/import", params={"valid_only": "true"}, files=files)
    assert done.status_code == 200, done.text
    created = {c["username"]: c for c in done.json()["created"]}
    assert set(created) == {"new_principal", "roster_expert"}
    assert created["roster_expert"]["matched"] and created["roster_expert"]["person_id"] == known.id
    with live.services.db.connect() as conn:
        same = conn.execute(
            select(func.count()).select_from(Person).where(Person.id_number == known.id_number)
        ).scalar_one()
        expert = conn.execute(
            select(RoleBinding.role, RoleBinding.subject).where(RoleBinding.person_id == known.id)
        ).one()
    assert same == 1, "the roster's teacher got the account; no second person"
    assert tuple(expert) == ("review_expert", "数学")
    first = created["new_principal"]["initial_password"]
    assert _token(live, "new_principal", first).status_code == 403  # must change first
    again = county.post("/api/v1/accounts/import", files=files).json()
    assert {e["column"] for e in again["errors"]} >= {"用户名", "身份证号"}


def test_the_pages_open_an_account_and_the_person_sets_their_password(live: Live) -> None:
    ids = _ids(live)
    c, csrf = _sign_in(live, "county_officer")
    listing = c.get("/admin/accounts")
    assert listing.status_code == 200 and "账号与角色" in listing.text
    _check_page(listing.text)
    form = {
        "csrf": csrf, "name": "页面新人", "username": "page_new", "unit_code":
        _code(live, ids["school"]), "role": "principal", "id_number": "", "phone": "",
        "subject": "",
    }  # fmt: skip
    bad = c.post("/admin/accounts", data={**form, "username": "x"})
    assert bad.status_code == 422 and 'id="create-username-error"' in bad.text
    shown = c.post("/admin/accounts", data=form)
    assert shown.status_code == 200, shown.text
    _check_page(shown.text)
    found = re.search(r'<code id="password">([^<]+)</code>', shown.text)
    assert found, "the initial password is shown once"
    person = re.search(r'action="/admin/accounts/(\d+)/password"', shown.text)
    assert person

    # the new person's first sign-in goes to setting their own password
    new = _client(live)
    r = new.post("/login", data={"username": "page_new", "password": found[1], "next": "/cases"})
    assert r.status_code == 303 and r.headers["location"].startswith("/account/first-password")
    page = new.get(r.headers["location"])
    assert page.status_code == 200 and 'value="page_new"' in page.text
    set_ = new.post(
        "/account/first-password",
        data={"username": "page_new", "current_password": found[1], "new_password":
              NEW_PASSWORD, "confirm_password": NEW_PASSWORD, "next": "/cases"},
    )  # fmt: skip
    assert set_.status_code == 303 and set_.headers["location"] == "/cases"
    assert new.get("/cases").status_code == 200

    # the officer sets a leave for the new principal, with the county officer acting
    pid = person[1]
    leave = c.post(
        f"/admin/accounts/{pid}/delegations",
        data={"csrf": csrf, "acting": "county_officer", "starts_on": "2026-09-01",
              "ends_on": "2026-09-03", "reason": "外出培训"},
    )  # fmt: skip
    assert leave.status_code == 303, leave.text
    after = c.get(f"/admin/accounts/{pid}")
    _check_page(after.text)
    assert "外出培训" in after.text and "代理中" in after.text
    own = new.get("/account/delegation")
    assert own.status_code == 200 and "外出培训" in own.text
    _check_page(own.text)

    # a sheet through the page: the initial passwords come as a file to download
    row = [make_id_number("110101", dt.date(1991, 3, 3), 125, "F"), "表格新人", "", "sheet_new",
           "校长", _code(live, ids["school"]), ""]  # fmt: skip
    files = {"file": ("账号.csv", _sheet([row]), "text/csv")}
    result = c.post("/admin/accounts/import", data={"csrf": csrf}, files=files)
    assert result.status_code == 200 and "sheet_new" in result.text
    _check_page(result.text)
    made = re.search(r'name="made" value="([^"]+)"', result.text)
    assert made
    sheet = c.post("/admin/accounts/passwords", data={"csrf": csrf, "made": html.unescape(made[1])})
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith(
        "application/vnd.openxmlformats"
    )
    listed = read_table(sheet.content, "初始密码.xlsx")
    [(_, only)] = listed.rows
    assert only["用户名"] == "sheet_new" and len(only["初始密码"]) == 12

    # a teacher does not manage accounts; another county's officer does not see this one
    t, _ = _sign_in(live, "teacher")
    assert t.get("/admin/accounts").status_code == 404
    add_account(live, "west_pages", "county_officer", ids["other_county"])
    w, _ = _sign_in(live, "west_pages")
    assert w.get(f"/admin/accounts/{pid}").status_code == 404


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_command_line_opens_delegates_and_hands_over(live: Live, db_url: str) -> None:
    ids = _ids(live)
    school = _code(live, ids["school"])

    def renshi(*args: str) -> Result:
        """In-process (a subprocess per command costs seconds of imports)."""
        env = {"RENSHI_DATABASE_URL": db_url}
        return CliRunner().invoke(main, ["--at", "2026-09-01T09:00", "user", *args], env=env)

    made = renshi(
        "create", "cli_officer", "--name", "命令行干部", "--role", "school_officer",
        "--unit", school, "--as", "county_officer",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert re.search(r"初始密码（[^）]*）：(\S+)", made.stdout)
    outside = renshi(
        "create", "cli_other", "--name", "外县", "--role", "principal", "--unit", school,
        "--as", "other_cli",
    )  # fmt: skip
    assert outside.exit_code == 1 and "用户不存在" in outside.stderr
    leave = renshi("delegate", "cli_officer", "county_officer", "--from", "2026-09-01",
                   "--to", "2026-09-05", "--reason", "年休假")  # fmt: skip
    assert leave.exit_code == 0, leave.output
    shown = renshi("show", "cli_officer")
    assert "代理中" in shown.stdout
    gone = renshi("handover", "cli_officer", "--to", "school_officer")
    assert gone.exit_code == 0, gone.output
    assert "离职转办已完成" in gone.stdout and "账号已停用" in gone.stdout
    assert _token(live, "cli_officer", PASSWORD).status_code == 401
