"""The roster through its doors: the JSON API (import report, a stale edit refused with 409,
who reads a record's history), the pages (search, the record, its history), a real browser
importing a bad file then the corrected one, and ``renshi roster`` on the command line."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import Engine, select

from states.org import COUNTY_OFFICER
from states.store.models import OrgUnit, Person, Teacher
from tests.browser import DESKTOP, chromium, console_errors, offline, shot, sign_in
from tests.cli import renshi_here
from tests.live import Live, add_account
from tests.test_pages import _check_page, _sign_in
from tests.test_roster import sheet, teacher_row
from tests.world import World

RENSHI = str(Path(sys.executable).parent / "renshi")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _places(live: Live) -> dict[str, Any]:
    """The demo teacher's school (in the county officer's county) and a school elsewhere."""
    with live.services.db.connect() as conn:
        school = conn.execute(
            select(OrgUnit.id, OrgUnit.code, OrgUnit.path)
            .join(Teacher, Teacher.school_id == OrgUnit.id)
            .join(Person, Person.id == Teacher.person_id)
            .where(Person.username == "teacher")
        ).one()
        county = school.path.strip("/").split("/")[-2]
        elsewhere = (
            conn.execute(
                select(OrgUnit.code)
                .where(OrgUnit.tier == "school", ~OrgUnit.path.contains(f"/{county}/"))
                .order_by(OrgUnit.id)
            )
            .scalars()
            .first()
        )
        other_county = (
            conn.execute(
                select(OrgUnit.id).where(OrgUnit.tier == "county", OrgUnit.id != int(county))
            )
            .scalars()
            .first()
        )
        teacher = conn.execute(select(Person.id).where(Person.username == "teacher")).scalar_one()
    return {
        "code": school.code,
        "elsewhere": elsewhere,
        "other_county": other_county,
        "teacher": teacher,
    }


def _person(live: Live, id_number: str) -> int:
    with live.services.db.connect() as conn:
        return int(
            conn.execute(select(Person.id).where(Person.id_number == id_number)).scalar_one()
        )


def test_api_import_report_conflict_and_who_reads_the_history(live: Live) -> None:
    at = _places(live)
    officer = live.client("county_officer")
    template = officer.get("/api/v1/roster/template")
    assert template.status_code == 200 and template.headers["content-type"] == XLSX

    rows = [teacher_row(1, at["code"]), teacher_row(2, at["elsewhere"])]
    files = {"file": ("名册.xlsx", sheet(rows), XLSX)}
    refused = officer.post("/api/v1/roster/imports", files=files)
    assert refused.status_code == 422
    body = refused.json()
    assert (body["created"], body["error_count"]) == (0, 1)
    assert body["errors"] == [
        {
            "row": 3,
            "column": "学校代码",
            "value": at["elsewhere"],
            "reason": "学校不在您的管理范围内",
        }
    ]
    done = officer.post(
        "/api/v1/roster/imports", files={"file": ("名册.xlsx", sheet(rows[:1]), XLSX)}
    )
    assert done.status_code == 200 and done.json()["created"] == 1
    assert done.json()["source"].startswith("名册.xlsx sha256:")

    pid = _person(live, rows[0]["id_number"])
    record = officer.get(f"/api/v1/teachers/{pid}").json()
    assert (record["status"], record["version"], record["title"]) == ("active", 1, "grade1")

    school = live.client("school_officer")
    first = officer.patch(
        f"/api/v1/teachers/{pid}", json={"expected_version": 1, "title": "高级教师"}
    )
    assert first.status_code == 200 and first.json()["version"] == 2
    second = school.patch(
        f"/api/v1/teachers/{pid}", json={"expected_version": 1, "phone": "13912345678"}
    )
    assert second.status_code == 409 and "他人修改" in second.json()["message"]
    bad = school.patch(
        f"/api/v1/teachers/{pid}", json={"expected_version": 2, "title_date": "2099-01-01"}
    )
    assert bad.status_code == 422 and bad.json()["field"] == "title_date"

    retired = officer.post(
        f"/api/v1/teachers/{pid}/moves",
        json={"kind": "retire", "on": "2026-08-31", "expected_version": 2},
    )
    assert retired.status_code == 200
    assert (retired.json()["status"], retired.json()["status_label"]) == ("retired", "退休")

    trail = officer.get(f"/api/v1/teachers/{pid}/history").json()
    assert [e["source_label"] for e in trail["entries"]] == ["导入", "页面修改", "人事变动"]
    assert trail["entries"][1]["changes"]["title"] == ["grade1", "senior"]
    assert trail["verification"] == {"ok": True, "entries": 3, "broken_at": None, "reason": None}
    assert live.client("inspector").get(f"/api/v1/teachers/{pid}/history").status_code == 200
    add_account(live, "east_outsider", COUNTY_OFFICER, at["other_county"])
    outsider = live.client("east_outsider")
    assert outsider.get(f"/api/v1/teachers/{pid}/history").status_code == 404
    assert (
        outsider.patch(
            f"/api/v1/teachers/{pid}", json={"expected_version": 3, "name": "某"}
        ).status_code
        == 404
    )
    mine = live.client("teacher").get(f"/api/v1/teachers/{at['teacher']}/history")
    assert mine.status_code == 200 and mine.json()["verification"]["ok"]
    assert live.client("teacher").get(f"/api/v1/teachers/{pid}/history").status_code == 404


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_pages_search_the_record_and_its_history(live: Live) -> None:
    at = _places(live)
    row = teacher_row(1, at["code"], name="页面教师")
    officer = live.client("county_officer")
    officer.post("/api/v1/roster/imports", files={"file": ("名册.xlsx", sheet([row]), XLSX)})
    pid = _person(live, row["id_number"])
    c, csrf = _sign_in(live, "county_officer")
    listing = c.get("/admin/roster", params={"q": "页面"})
    assert listing.status_code == 200 and "页面教师" in listing.text
    assert row["id_number"] not in listing.text, "ID numbers are masked on the list"
    _check_page(listing.text)
    page = c.get(f"/admin/roster/{pid}")
    assert page.status_code == 200 and "导入" in page.text and "校验封印一致" in page.text
    _check_page(page.text)
    stale = c.post(
        f"/admin/roster/{pid}/edit",
        data={"csrf": csrf, "expected_version": "9", "name": "页面教师", "subject": "数学",
              "school_level": "junior", "title": "grade1", "education": "bachelor",
              "started_teaching_on": "2002-09-01"},
    )  # fmt: skip
    assert stale.status_code == 409 and "已被他人修改" in stale.text
    moved = c.post(
        f"/admin/roster/{pid}/move",
        data={
            "csrf": csrf,
            "expected_version": "1",
            "kind": "leave",
            "on": "2026-08-31",
            "note": "辞职",
        },
    )
    assert moved.status_code == 303
    page = c.get(f"/admin/roster/{pid}")
    assert "离职" in page.text and "人事变动" in page.text
    export = c.get("/admin/roster/export", params={"q": "页面"})
    assert export.status_code == 200 and export.headers["content-type"] == XLSX
    school = live.client("school_officer")
    assert school.get("/api/v1/roster/export").status_code == 200
    principal, _ = _sign_in(live, "principal")
    assert principal.get(f"/admin/roster/{pid}").status_code == 404


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_browser_import_errors_then_the_corrected_file(live: Live, tmp_path: Path) -> None:
    at = _places(live)
    wrong = teacher_row(2, at["code"])
    wrong["id_number"] = wrong["id_number"][:17] + ("1" if wrong["id_number"][17] != "1" else "2")
    rows = [teacher_row(1, at["code"]), wrong, teacher_row(3, "NO-SUCH-SCHOOL")]
    bad_file, good_file = tmp_path / "教师名册.xlsx", tmp_path / "教师名册（改正）.xlsx"
    bad_file.write_bytes(sheet(rows))
    fixed = [rows[0], teacher_row(2, at["code"]), teacher_row(3, at["code"])]
    good_file.write_bytes(sheet(fixed))
    with chromium() as browser:
        context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
        page = context.new_page()
        escaped = offline(page, live.url)
        errors = console_errors(page)
        sign_in(page, live.url, "province_officer")
        page.get_by_role("link", name="教师名册").click()
        page.get_by_label("名册文件（.xlsx 或 .csv）").set_input_files(str(bad_file))
        page.get_by_role("button", name="导入").click()
        expect(page.locator("#report-summary")).to_contain_text("未导入任何数据")
        report = page.locator("#report")
        lines = report.locator("tbody tr")
        expect(lines).to_have_count(2)
        for n, (line, column, reason) in enumerate(
            ((3, "身份证号", "校验码错误：最后一位应为"), (4, "学校代码", "学校代码不存在"))
        ):
            cells = lines.nth(n).locator("td")
            expect(cells.nth(0)).to_have_text(str(line))
            expect(cells.nth(1)).to_have_text(column)
            expect(cells.nth(3)).to_contain_text(reason)
        expect(page.locator("#roster-total")).to_contain_text("共 300 人")
        shot(page, "roster-01-import-report")
        page.get_by_label("名册文件（.xlsx 或 .csv）").set_input_files(str(good_file))
        page.get_by_role("button", name="导入").click()
        expect(page.get_by_role("status")).to_contain_text("新增3人")
        expect(page.locator("#roster-total")).to_contain_text("共 303 人")
        page.get_by_label("姓名或身份证号").fill("名册教师2")
        page.get_by_role("button", name="查询").click()
        page.get_by_role("link", name="名册教师2").click()
        expect(page.locator("#history")).to_contain_text("教师名册（改正）.xlsx sha256:")
        expect(page.locator("#history-check")).to_contain_text("校验封印一致")
        shot(page, "roster-02-teacher")
        context.close()
    # the refused import answers 422 by design; nothing else may go wrong on the pages
    refused = "the server responded with a status of 422"
    assert escaped == [] and [e for e in errors if refused not in e] == [], (escaped, errors)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_command_line_imports_and_prints_the_history(
    db_url: str, engine: Engine, world: World, tmp_path: Path
) -> None:
    env = {**os.environ, "RENSHI_DATABASE_URL": db_url}
    bad, good = tmp_path / "bad.xlsx", tmp_path / "名册.xlsx"
    row = teacher_row(1)
    bad.write_bytes(sheet([row, teacher_row(2, "U404")]))
    good.write_bytes(sheet([row]))
    # the import runs as a real process; the refusal and the history in this one (tests/cli.py)
    refused = renshi_here(db_url, "--at", "2026-09-01T09:00", "roster", "import", str(bad))
    assert refused.returncode == 1
    assert "第3行【学校代码】“U404”：学校代码不存在：U404" in refused.stderr
    assert "未导入任何数据" in refused.stderr
    done = subprocess.run(
        [RENSHI, "--at", "2026-09-01T09:00", "roster", "import", str(good)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0 and "新增1人" in done.stdout, done.stderr
    trail = renshi_here(db_url, "roster", "history", row["id_number"])
    assert trail.returncode == 0, trail.stderr
    assert (
        "导入：名册.xlsx sha256:" in trail.stdout and "现专业技术职务：— → 一级教师" in trail.stdout
    )
    assert "共1条变更记录，校验通过" in trail.stdout
    assert dt.date(2026, 9, 1).isoformat() in trail.stdout
