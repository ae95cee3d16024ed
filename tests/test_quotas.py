"""Posts per school, title and year: imported and edited, shown with what the cases hold
(used), what is free, and the teachers 30 years in rural schools counted apart. A second
officer saving a stale line is refused; a school outside the county is not found. The
browser test walks a county officer through setting a quota and filling an expert pool."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import Engine, delete, select

from states.clock import bureau_time
from states.engine import CaseEngine
from states.errors import Conflict, FormError, NotFound
from states.registry import history
from states.registry import quotas as qu
from states.sheets import Table, read_table
from states.store.models import OrgUnit, Person, RoleBinding, Teacher
from tests.browser import DESKTOP, chromium, console_errors, offline, shot, sign_in
from tests.live import Live
from tests.world import Driver, World

AT = bureau_time(2026, 9, 1)


def sheet(*rows: tuple[str, ...]) -> Table:
    text = "\n".join(",".join(r) for r in (("学校代码", "年度", "职称", "岗位数"), *rows))
    return read_table(text.encode(), "岗位.csv", schema=qu.QUOTAS)


def _line(engine: Engine, world: World, school: str, title: str, ended: Any) -> qu.QuotaLine:
    with engine.connect() as conn:
        return qu.quota_line(
            conn, world.actors["county_officer"], unit_id=world.unit(school), year=2026,
            title=title, ended=ended,
        )  # fmt: skip


def test_used_free_and_the_thirty_year_exemption_counted_apart(
    engine: Engine, world: World, d: Driver, eng: CaseEngine
) -> None:
    ended = qu.ended_states(eng.processes)
    holder = world.teacher("holder", "urban")
    veteran = world.teacher("veteran", "urban", rural_years=31)
    for teacher in (holder, veteran):
        d.through_school(d.declare(teacher))
    line = _line(engine, world, "urban", "senior", ended)
    assert (line.posts, line.used, line.exempt, line.free) == (2, 1, 1, 1)
    county = world.actors["county_officer"]
    with engine.begin() as conn, pytest.raises(FormError, match="不能少于已推荐占用的1个"):
        qu.set_quota(conn, county, unit_id=world.unit("urban"), year=2026, title="senior",
                     posts=0, expected_version=1, at=AT, ended=ended)  # fmt: skip
    with engine.begin() as conn:
        done = qu.set_quota(conn, county, unit_id=world.unit("urban"), year=2026,
                            title="senior", posts=3, expected_version=1, at=AT)  # fmt: skip
    assert (done.posts, done.free, done.version) == (3, 2, 2)
    # Two officers on the same page: the one still holding version 1 is refused.
    with engine.begin() as conn, pytest.raises(Conflict, match="已被他人修改"):
        qu.set_quota(conn, county, unit_id=world.unit("urban"), year=2026, title="senior",
                     posts=5, expected_version=1, at=AT, ended=ended)  # fmt: skip
    with engine.begin() as conn, pytest.raises(NotFound):
        qu.set_quota(conn, county, unit_id=world.unit("west1"), year=2026, title="senior",
                     posts=5, expected_version=1, at=AT, ended=ended)  # fmt: skip
    with engine.begin() as conn:  # a title with no posts set yet starts at version 0
        first = qu.set_quota(conn, county, unit_id=world.unit("rural"), year=2026,
                             title="grade3", posts=2, expected_version=0, at=AT)  # fmt: skip
    assert first.version == 1
    with engine.connect() as conn:
        trail = history.entries_of(conn, history.UNIT, world.unit("urban"))
    assert trail[-1].changes == {"quota:2026:senior": [2, 3]} and trail[-1].source == "edit"


def test_import_reports_every_bad_row_and_writes_nothing_unless_asked(
    engine: Engine, world: World, d: Driver, eng: CaseEngine
) -> None:
    ended = qu.ended_states(eng.processes)
    d.through_school(d.declare(world.teacher("holder", "urban")))
    table = sheet(
        ("Uurban", "2027", "高级教师", "4"),
        ("Unope", "2027", "高级教师", "1"),
        ("Ueast", "2027", "高级教师", "1"),
        ("Uwest1", "2027", "高级教师", "1"),
        ("Urural", "2027", "特级教师", "1"),
        ("Urural", "2027", "一级", "很多"),
        ("Uurban", "2026", "高级", "0"),
        ("Uurban", "2027", "senior", "5"),
    )
    county = world.actors["county_officer"]
    with engine.begin() as conn:
        report = qu.import_quotas(conn, table, actor=county, at=AT, ended=ended)
    assert report.refused
    said = {e.row: (e.column, e.reason) for e in report.errors}
    assert said[3] == ("学校代码", "学校代码“Unope”不存在或不在您的管理范围内")
    assert said[4] == ("学校代码", "“东县”是县（区），岗位职数按学校设置")
    assert said[5] == ("学校代码", "学校代码“Uwest1”不存在或不在您的管理范围内")
    assert said[6][0] == "职称" and said[7] == ("岗位数", "岗位数应为整数")
    assert said[8] == ("岗位数", "岗位数不能少于已推荐占用的1个")
    assert said[9] == ("职称", "与第2行重复（同一学校、年度和职称）")
    assert _line(engine, world, "urban", "senior", ended).posts == 2, "nothing written"
    with engine.begin() as conn:
        partial = qu.import_quotas(conn, table, actor=county, at=AT, ended=ended, valid_only=True)
    assert partial.written and partial.created == 1
    with engine.connect() as conn:
        line = qu.lines_for(
            conn, [qu.get_unit(conn, county, world.unit("urban"))], 2027, ended, ["senior"]
        )[0]
    assert (line.posts, line.version) == (4, 1)


def test_the_api_shows_used_and_free_and_refuses_stale_or_foreign_lines(live: Live) -> None:
    county = live.client("county_officer")
    lines = county.get("/api/v1/quotas", params={"year": 2026}).json()["items"]
    line = next(x for x in lines if x["title"] == "senior")
    body = {
        "unit_id": line["unit_id"], "year": 2026, "title": "senior",
        "posts": line["posts"] + 1, "expected_version": line["version"],
    }  # fmt: skip
    saved = county.put("/api/v1/quotas", json=body)
    assert saved.status_code == 200 and saved.json()["free"] == line["free"] + 1
    again = county.put("/api/v1/quotas", json={**body, "posts": line["posts"] + 2})
    assert again.status_code == 409
    with live.services.db.connect() as conn:
        far = conn.execute(
            select(OrgUnit.id).where(OrgUnit.tier == "school", OrgUnit.name.contains("南平"))
        ).scalar()
    assert county.put("/api/v1/quotas", json={**body, "unit_id": far}).status_code == 404
    refused = county.post(
        "/api/v1/quotas/import",
        files={"file": ("岗位.csv", "学校代码,年度\nX,2026\n".encode(), "text/csv")},
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["column"] == "职称"


# --- a real browser ------------------------------------------------------------------------------
def _candidates(live: Live, county_path: str, n: int) -> list[str]:
    """ID numbers of teachers in the county who sit in none of its pools."""
    with live.services.db.connect() as conn:
        county_id = int(county_path.strip("/").split("/")[-1])
        taken = set(
            conn.execute(
                select(RoleBinding.person_id).where(RoleBinding.org_unit_id == county_id)
            ).scalars()
        )
        rows = conn.execute(
            select(Person.id, Person.id_number)
            .join(Teacher, Teacher.person_id == Person.id)
            .join(OrgUnit, OrgUnit.id == Teacher.school_id)
            .where(OrgUnit.path.startswith(county_path), Person.id_number.is_not(None))
            .order_by(Person.id)
        ).all()
    return [r.id_number for r in rows if r.id not in taken][:n]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_browser_county_officer_sets_a_quota_and_fills_an_expert_pool(
    live: Live, tmp_path: Any
) -> None:
    with live.services.db.connect() as conn:
        county = conn.execute(
            select(OrgUnit.id, OrgUnit.path, OrgUnit.name)
            .join(RoleBinding, RoleBinding.org_unit_id == OrgUnit.id)
            .join(Person, Person.id == RoleBinding.person_id)
            .where(Person.username == "county_officer")
        ).one()
        school = conn.execute(
            select(OrgUnit.id, OrgUnit.name)
            .where(OrgUnit.parent_id == county.id, OrgUnit.tier == "school")
            .order_by(OrgUnit.code)
        ).first()
    assert school is not None
    # The county starts without a 音乐 pool (the demo province gives every county one).
    with live.services.db.begin() as conn:
        conn.execute(
            delete(RoleBinding).where(
                RoleBinding.org_unit_id == county.id, RoleBinding.subject == "音乐"
            )
        )
    ids = _candidates(live, county.path, 8)
    first, rest = ids[0], ids[1:]
    with live.services.db.connect() as conn:
        code = conn.execute(select(OrgUnit.code).where(OrgUnit.id == county.id)).scalar_one()
    upload = tmp_path / "评委.csv"
    lines = [f"{n},{code},音乐,2026,是,\n" for n in rest]
    upload.write_text("身份证号,单位代码,学科,年度,本年度可用,说明\n" + "".join(lines), "utf-8")
    with chromium() as browser:
        context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
        page = context.new_page()
        escaped = offline(page, live.url)
        errors = console_errors(page)
        sign_in(page, live.url, "county_officer")

        # A quota: the school's 高级教师 posts, saved, and shown with used and free.
        page.get_by_role("link", name="岗位职数").click()
        expect(page.get_by_role("heading", name="岗位职数", exact=True)).to_be_visible()
        row = page.locator(f"#quota-{school.id}-senior")
        row.get_by_label(f"{school.name}高级教师岗位数").fill("6")
        row.get_by_role("button", name="保存").click()
        expect(page.get_by_role("status")).to_contain_text(f"{school.name}2026年高级教师岗位6个")
        expect(page.locator(f"#quota-{school.id}-senior .posts")).to_have_text("6")
        expect(page.locator(f"#quota-{school.id}-senior .free")).to_have_text("6")
        shot(page, "registry-01-quotas")

        # An expert pool: a new 音乐 pool at the county, started with one expert and filled
        # from a spreadsheet until a committee can be drawn from it.
        page.get_by_role("link", name="评委库").click()
        page.get_by_label("评委库所在单位").select_option(value=str(county.id))
        page.get_by_label("学科").select_option(value="音乐")
        page.get_by_label("身份证号").fill(first)
        page.get_by_role("button", name="加入评委库").click()
        expect(page.get_by_role("status")).to_contain_text("已加入评委库")
        expect(page.locator("#pool-status")).to_have_text("不足")
        page.get_by_role("link", name="评委库", exact=True).first.click()
        page.get_by_label("导入评委（.xlsx 或 .csv）").set_input_files(str(upload))
        page.get_by_role("button", name="导入评委", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("新增7条")
        pool = page.locator(f"#pool-{county.id}-音乐")
        expect(pool).to_contain_text("8")
        expect(pool).to_contain_text("偏紧")
        pool.get_by_role("link", name="音乐").click()
        expect(page.locator("#pool-available")).to_have_text("8")
        member = page.locator("#members tbody tr").first
        member.get_by_text("修改").click()
        member.get_by_label("不参评").check()
        member.get_by_label("原因").fill("借调省教育厅")
        member.get_by_role("button", name="保存").click()
        expect(page.get_by_role("status")).to_contain_text("已保存2026年度参评情况")
        expect(page.locator("#pool-available")).to_have_text("7")
        shot(page, "registry-02-expert-pool")
        context.close()
    assert escaped == [], f"pages loaded from the network: {escaped}"
    assert errors == [], f"the pages reported errors: {errors}"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_quota_and_expert_sheets_uploaded_from_their_pages(live: Live, tmp_path: Any) -> None:
    """The two registry uploads: a sheet with a bad row comes back with its row report and
    writes nothing; a good one goes back to the list, saying what it imported."""
    from states.registry.experts import write_experts
    from tests.test_api import _ids
    from tests.test_pages import _sign_in

    ids = _ids(live)
    with live.services.db.connect() as conn:
        school = conn.execute(select(OrgUnit.code).where(OrgUnit.id == ids["school"])).scalar()
    officer, csrf = _sign_in(live, "county_officer")
    bad, good = tmp_path / "bad.xlsx", tmp_path / "good.xlsx"
    qu.write_quotas(bad, [{"code": "NOPE", "year": 2027, "title": "senior", "posts": 3}])
    qu.write_quotas(good, [{"code": school, "year": 2027, "title": "senior", "posts": 3}])

    def upload(kind: str, path: Any) -> Any:
        return officer.post(
            f"/admin/{kind}/import",
            data={"csrf": csrf, "year": "2027"},
            files={"file": (path.name, path.read_bytes(), XLSX)},
        )

    refused = upload("quotas", bad)
    assert refused.status_code == 422 and "学校代码“NOPE”不存在" in refused.text
    done = upload("quotas", good)
    assert done.status_code == 303
    assert done.headers["location"].startswith("/admin/quotas?year=2027")
    assert "岗位职数已导入" in officer.get(done.headers["location"]).text
    write_experts(
        bad, [{"id_number": "110101199001011234", "code": "NOPE", "subject": "数学",
               "year": 2027, "available": True, "note": ""}]
    )  # fmt: skip
    experts = upload("experts", bad)
    assert experts.status_code == 422 and "校验码错误" in experts.text


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
