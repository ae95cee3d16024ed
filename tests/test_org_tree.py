"""The org tree as a bureau keeps it: imported from a spreadsheet with a row report, edited
within the editor's county, renamed, merged and closed with every change on the unit's
sealed trail; a closed unit takes no new case and lists what it leaves to hand over.
Through the states functions, the JSON API and the ``renshi org`` commands."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from api.cli import main
from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine
from states.errors import Conflict, FormError, NotFound, PermissionDenied
from states.registry import history
from states.registry import org_tree as ot
from states.registry.experts import write_experts
from states.registry.quotas import write_quotas
from states.sheets import Table, read_table
from states.store.models import OrgUnit, Teacher
from tests.live import Live
from tests.test_pages import _sign_in
from tests.world import World

AT = bureau_time(2026, 9, 1)
HEAD = ("单位代码", "单位名称", "层级", "上级单位代码", "农村学校")


def sheet(*rows: tuple[str, ...], head: tuple[str, ...] = HEAD) -> Table:
    """A CSV upload as the officer would send it."""
    text = "\n".join(",".join(r) for r in (head, *rows)) + "\n"
    return read_table(text.encode(), "机构.csv", schema=ot.ORG)


def _import(engine: Engine, world: World, who: str, table: Table, **kw: Any) -> Any:
    with engine.begin() as conn:
        return ot.import_org(
            conn, table, actor=world.actors[who], at=AT, source_ref="机构.csv",
            **kw,
        )  # fmt: skip


def _unit(engine: Engine, code: str) -> ot.UnitRow:
    with engine.connect() as conn:
        return ot.units_by_code(conn, [code])[code]


def _codes(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(OrgUnit.code)).scalars())


def test_import_creates_and_updates_by_code_with_history(engine: Engine, world: World) -> None:
    table = sheet(
        ("E-NEW1", "东县第二中学", "学校", "Ueast", "否"),
        ("Uurban", "东县实验中学（新校区）", "学校", "Ueast", "是"),
    )
    report = _import(engine, world, "county_officer", table)
    assert report.written and (report.created, report.updated) == (1, 1)
    new, renamed = _unit(engine, "E-NEW1"), _unit(engine, "Uurban")
    assert new.parent_code == "Ueast" and new.tier == "school" and not new.is_rural
    assert new.path == f"{world.units['east'].path}{new.id}/"
    assert renamed.name == "东县实验中学（新校区）" and renamed.is_rural and renamed.version == 2
    # The same file again changes nothing and writes no history.
    again = _import(engine, world, "county_officer", table)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    with engine.connect() as conn:
        trail = history.entries_of(conn, history.UNIT, renamed.id)
        assert len(trail) == 1 and trail[0].source_label == "导入"
        assert trail[0].changes == {
            "name": ["东县实验中学", "东县实验中学（新校区）"], "is_rural": [False, True]
        }  # fmt: skip
        assert history.verify(conn, history.UNIT, renamed.id).ok
        assert history.fold(history.entries_of(conn, history.UNIT, new.id))["code"] == "E-NEW1"
    # A school under a city is city-direct; a province and its whole tree in one file, parents
    # given after their children in the file still land first.
    city = _import(
        engine, world, "city_officer", sheet(("C-D2", "示范市第二直属中学", "学校", "Ucity", ""))
    )
    assert city.written and _unit(engine, "C-D2").city_direct
    whole = sheet(
        ("N-S", "新区一中", "学校", "N-K", ""),
        ("N-K", "新区", "县（区）", "N-C", ""),
        ("N-C", "新市", "市", "N-P", ""),
        ("N-P", "新省", "省", "", ""),
    )
    with engine.begin() as conn:
        report = ot.import_org(conn, whole, actor=ot.ROOT_OPERATOR, at=AT)
    assert report.created == 4 and _unit(engine, "N-S").path.count("/") == 5


def test_bad_rows_are_reported_by_row_and_nothing_is_half_imported(
    engine: Engine, world: World
) -> None:
    before = _codes(engine)
    missing = _import(engine, world, "county_officer", sheet(("X1", "某校"), head=HEAD[:2]))
    assert missing.refused and str(missing.errors[0]).startswith("表头【层级】：缺少必填列“层级”")
    table = sheet(
        ("E-OK", "东县第三中学", "学校", "Ueast", "否"),
        ("E-BAD", "东县第四中学", "学校", "Ueast", "也许"),
        ("E-ORPHAN", "无主学校", "学校", "NOPE", ""),
        ("E-WEST", "西县二中", "学校", "Uwest", ""),
        ("Uwest1", "西县一中改名", "学校", "Uwest", ""),
        ("E-SCH", "学校下的学校", "学校", "Uurban", ""),
        ("E-CTY", "东县下的市", "市", "Ueast", ""),
        ("E-CHILD", "市下的县的校", "学校", "E-CTY", ""),
        ("E-OK", "重复", "学校", "Ueast", ""),
    )
    report = _import(engine, world, "county_officer", table)
    assert report.refused and _codes(engine) == before, "nothing written while any row is wrong"
    said = {e.row: (e.column, e.reason) for e in report.errors}
    assert said[3] == ("农村学校", "应填“是”或“否”：也许")
    assert said[4] == ("上级单位代码", "上级单位代码“NOPE”不存在或不在您的管理范围内")
    assert said[5] == ("上级单位代码", "上级单位代码“Uwest”不存在或不在您的管理范围内")
    assert said[6] == ("单位代码", "该单位代码已被您管理范围以外的单位使用")
    assert said[7] == ("上级单位代码", "学校的上级单位应为县（区）或市，“Uurban”是学校")
    assert said[8] == ("上级单位代码", "市的上级单位应为省，“Ueast”是县（区）")
    assert said[9] == ("上级单位代码", "上级单位（第8行）有错误，本行未导入")
    assert said[10] == ("单位代码", "与第2行重复")
    # The valid rows only, when the officer asks for them.
    partial = _import(engine, world, "county_officer", table, valid_only=True)
    assert partial.written and partial.created == 1 and _codes(engine) == before | {"E-OK"}


def test_edits_stay_in_scope_and_a_stale_version_is_a_conflict(
    engine: Engine, world: World, clock: FrozenClock
) -> None:
    county = world.actors["county_officer"]
    urban = _unit(engine, "Uurban")
    with engine.begin() as conn, pytest.raises(NotFound):
        ot.edit_unit(conn, county, world.unit("west1"), expected_version=1, at=clock.now(),
                     name="别县的学校")  # fmt: skip
    with engine.begin() as conn:
        done = ot.edit_unit(conn, county, urban.id, expected_version=1, at=clock.now(),
                            name="东县实验学校", is_weak=True)  # fmt: skip
    assert (done.code, done.name, done.is_weak, done.version) == ("Uurban", "东县实验学校", True, 2)
    # A second officer still holding version 1 does not overwrite the first.
    with engine.begin() as conn, pytest.raises(Conflict, match="已被他人修改"):
        ot.edit_unit(conn, county, urban.id, expected_version=1, at=clock.now(), name="另一个名")
    with engine.begin() as conn, pytest.raises(FormError) as bad:
        ot.edit_unit(conn, county, world.unit("east"), expected_version=1, at=clock.now(),
                     is_rural=True)  # fmt: skip
    assert bad.value.field == "is_rural"
    with engine.connect() as conn:
        trail = history.entries_of(conn, history.UNIT, urban.id)
    assert [(e.source, e.source_ref) for e in trail] == [("edit", "修改")]
    assert _unit(engine, "Uurban").name == "东县实验学校"


def test_merge_moves_teachers_and_a_closed_unit_hands_over_and_takes_no_case(
    engine: Engine, world: World, eng: CaseEngine, clock: FrozenClock
) -> None:
    county = world.actors["county_officer"]
    teacher = world.teacher("rural_teacher", "rural")
    case_id = eng.start("title_review", teacher, {
        "target_title": "senior", "subject": "数学", "statement": "扎根乡村二十年。"},
        submit=True).case_id  # fmt: skip
    rural = _unit(engine, "Urural")
    with engine.begin() as conn, pytest.raises(PermissionDenied):
        ot.close_unit(conn, county, world.unit("east"), expected_version=1, at=clock.now())
    with engine.begin() as conn, pytest.raises(Conflict, match="名教师"):
        ot.close_unit(conn, county, rural.id, expected_version=1, at=clock.now())
    with engine.begin() as conn, pytest.raises(FormError, match="同层级"):
        ot.merge_unit(conn, county, rural.id, into_code="Ueast", expected_version=1,
                      at=clock.now())  # fmt: skip
    with engine.begin() as conn:
        merged = ot.merge_unit(conn, county, rural.id, into_code="Uurban", expected_version=1,
                               at=clock.now(), on=dt.date(2026, 9, 1))  # fmt: skip
    assert merged.teachers_moved == 1 and merged.unit.merged_into_id == world.unit("urban")
    assert merged.unit.closed_on == dt.date(2026, 9, 1)
    with engine.connect() as conn:
        school = conn.execute(
            select(Teacher.school_id).where(Teacher.person_id == teacher.person_id)
        ).scalar_one()
        moved = history.entries_of(conn, history.TEACHER, teacher.person_id or 0)
        left = ot.handover(conn, county, rural.id)
    assert school == world.unit("urban")
    assert moved[-1].source == "move" and moved[-1].changes["school_id"] == [rural.id, school]
    assert [c.id for c in left.cases] == [case_id] and left.case_total == 1
    assert left.task_total == 1 and left.tasks[0].case_id == case_id
    # A closed school takes no new case, and no unit under it.
    with engine.begin() as conn, pytest.raises(Conflict, match="已于2026-09-01撤销"):
        eng.open_many("title_review", [(rural.id, {})], county, conn=conn)
    late = world.teacher("late", "rural")  # a record left behind at the closed school
    with pytest.raises(Conflict, match="撤销，不能发起新的申报"):
        eng.start("title_review", late, {"target_title": "senior", "subject": "数学",
                                         "statement": "任教以来认真履职。"})  # fmt: skip
    refused = _import(engine, world, "county_officer", sheet(("E-X", "名称", "学校", "Urural", "")))
    assert refused.refused and "已撤销" in refused.errors[0].reason


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_cli_imports_renames_merges_and_closes(
    db_url: str, world: World, tmp_path: Path
) -> None:
    runner = CliRunner()
    env = {"RENSHI_DATABASE_URL": db_url}
    good = tmp_path / "机构.xlsx"
    ot.write_org(good, [
        {"code": "E-C1", "name": "东县第五中学", "tier": "school", "parent_code": "Ueast"},
        {"code": "E-C2", "name": "东县第六中学", "tier": "school", "parent_code": "Ueast",
         "is_weak": True},
    ])  # fmt: skip
    done = runner.invoke(main, ["org", "import", str(good)], env=env)
    assert done.exit_code == 0, done.output
    assert "新增2条" in done.output
    bad = tmp_path / "错.csv"
    bad.write_text("单位代码,单位名称,层级,上级单位代码\nE-C3,某校,学校,NOPE\n", encoding="utf-8")
    refused = runner.invoke(main, ["org", "import", str(bad)], env=env)
    assert refused.exit_code == 1
    assert "第2行【上级单位代码】“NOPE”：上级单位代码“NOPE”不存在" in refused.output
    assert "未导入任何数据" in refused.output
    renamed = runner.invoke(main, ["org", "rename", "E-C1", "东县育才中学"], env=env)
    assert renamed.exit_code == 0 and "东县第五中学 → 东县育才中学" in renamed.output
    merged = runner.invoke(main, ["org", "merge", "E-C2", "E-C1", "--on", "2026-09-01"], env=env)
    assert merged.exit_code == 0 and "0名教师随之调入" in merged.output, merged.output
    quotas = tmp_path / "岗位.xlsx"
    write_quotas(quotas, [{"code": "E-C1", "year": 2027, "title": "senior", "posts": 2}])
    loaded = runner.invoke(main, ["org", "quotas-import", str(quotas)], env=env)
    assert loaded.exit_code == 0 and "新增1条" in loaded.output, loaded.output
    experts = tmp_path / "评委.xlsx"
    write_experts(
        experts, [{"id_number": "110101199001011237", "code": "Ueast", "subject": "数学"}]
    )
    unknown = runner.invoke(main, ["org", "experts-import", str(experts)], env=env)
    assert unknown.exit_code == 1 and "该身份证号未登记" in unknown.output
    elsewhere = runner.invoke(
        main, ["org", "close", "Uwest1", "--as", f"#{world.actors['county_officer'].person_id}"],
        env=env,
    )  # fmt: skip
    assert elsewhere.exit_code == 1 and "不在您的管理范围内" in elsewhere.output


def test_the_api_edits_within_scope_and_reports_imports(live: Live) -> None:
    county = live.client("county_officer")
    mine = county.get("/api/v1/org-units").json()["items"][0]
    assert mine["tier"] == "county"
    schools = county.get("/api/v1/org-units", params={"parent_id": mine["id"]}).json()["items"]
    school = schools[0]
    path = f"/api/v1/org-units/{school['id']}"
    ok = county.patch(path, json={"expected_version": school["version"], "name": "新校名"})
    assert ok.status_code == 200 and ok.json()["version"] == school["version"] + 1
    stale = county.patch(path, json={"expected_version": school["version"], "name": "又一个"})
    assert stale.status_code == 409 and "已被他人修改" in stale.json()["message"]
    history_rows = county.get(f"{path}/history").json()
    assert history_rows[-1]["changes"]["name"][1] == "新校名"
    # A school of another county is not found, for reading and for writing.
    province = live.client("province_officer")
    found = province.get("/api/v1/org-units", params={"q": "南平"}).json()["items"]
    far = next(u for u in found if u["tier"] == "school")
    assert county.get(f"/api/v1/org-units/{far['id']}").status_code == 404
    patched = county.patch(
        f"/api/v1/org-units/{far['id']}", json={"expected_version": 1, "name": "x"}
    )
    assert patched.status_code == 404
    # An import with a bad row: 422 with the row report, nothing written; valid rows only.
    csv = (
        "单位代码,单位名称,层级,上级单位代码\n"
        f"API-1,接口新校,学校,{mine['code']}\nAPI-2,坏校,学校,NOPE\n"
    )
    files = {"file": ("机构.csv", csv.encode(), "text/csv")}
    refused = county.post("/api/v1/org-units/import", files=files)
    assert refused.status_code == 422 and refused.json()["errors"][0]["row"] == 3
    assert county.get("/api/v1/org-units", params={"q": "API-1"}).json()["total"] == 0
    partial = county.post("/api/v1/org-units/import", files=files, params={"valid_only": "true"})
    assert partial.status_code == 200 and partial.json()["created"] == 1
    created = county.get("/api/v1/org-units", params={"q": "API-1"}).json()["items"][0]
    closed = county.post(f"/api/v1/org-units/{created['id']}/close", json={"expected_version": 1})
    assert closed.status_code == 200 and closed.json()["closed_on"] == "2026-09-01"
    not_a_sheet = county.post(
        "/api/v1/org-units/import", files={"file": ("x.xlsx", b"not a zip", XLSX)}
    )
    assert not_a_sheet.status_code == 422 and not_a_sheet.json()["field"] == "file"


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- the pages -----------------------------------------------------------------------------------
SCHEDULE_2027 = {
    "year": 2027,
    "holidays": {"2027-01-01": "元旦", "2027-10-01": "国庆节", "2027-10-04": "国庆节"},
    "workdays": {"2027-09-26": "国庆节调休"},
}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_pages_import_edit_and_load_the_calendar(live: Live) -> None:
    county, csrf = _sign_in(live, "county_officer")
    index = county.get("/admin/org")
    assert index.status_code == 200 and 'href="/admin/org"' in index.text, "the header links it"
    mine = int(re.findall(r'href="/admin/org/(\d+)"', index.text)[0])
    # An import with a bad row: the row report, nothing written.
    csv = "单位代码,单位名称,层级,上级单位代码\nPG-1,页面新校,学校,NOPE\n"
    files = {"file": ("机构.csv", csv.encode(), "text/csv")}
    refused = county.post("/admin/org/import", data={"csrf": csrf}, files=files)
    assert refused.status_code == 422 and "上级单位代码“NOPE”不存在" in refused.text
    assert "未导入任何数据" in refused.text
    # A new school under the county from its page; then a stale edit is a conflict.
    made = county.post(
        f"/admin/org/{mine}/child",
        data={"csrf": csrf, "code": "PG-2", "name": "页面新建学校", "tier": "school"},
    )
    assert made.status_code == 303
    school = county.get(made.headers["location"])
    assert "页面新建学校" in school.text and "变更记录" in school.text
    edit = {"csrf": csrf, "version": "1", "name": "页面改名学校"}
    path = made.headers["location"]
    assert county.post(f"{path}/edit", data=edit).status_code == 303
    stale = county.post(f"{path}/edit", data={**edit, "name": "又改名"})
    assert stale.status_code == 409 and "已被他人修改" in stale.text
    assert "单位名称：页面新建学校 → 页面改名学校" in county.get(path).text
    # Another county's unit is not found; a province's calendar is the province's to load.
    assert county.get("/admin/org/1").status_code == 404
    upload = {"file": ("2027.json", json.dumps(SCHEDULE_2027).encode(), "application/json")}
    assert county.post("/admin/calendar", data={"csrf": csrf}, files=upload).status_code == 404
    province, pcsrf = _sign_in(live, "province_officer")
    unknown = province.get("/admin/calendar?year=2027")
    assert "尚未导入" in unknown.text
    bad = {"file": ("2027.json", b'{"year": 2027, "holidays": {"2026-01-01": "x"}}', "a/b")}
    wrong = province.post("/admin/calendar", data={"csrf": pcsrf}, files=bad)
    assert wrong.status_code == 422 and "不在2027年内" in wrong.text
    loaded = province.post("/admin/calendar", data={"csrf": pcsrf}, files=upload)
    assert loaded.status_code == 303
    page = province.get(loaded.headers["location"])
    assert "2027-10-04" in page.text and "国庆节调休" in page.text
    assert live.services.engine.calendar().is_known(2027), "deadlines count on it at once"
