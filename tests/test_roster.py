"""The teacher roster: an import names every bad cell and writes nothing from a bad file; a
re-import changes exactly the records that changed; edits, moves and a case's appointment
each leave one verifiable history entry; scope and versions guard every change."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from states.clock import FrozenClock, local_date
from states.errors import Conflict, FormError, NotFound, RuleRefused
from states.identity import make_id_number
from states.org import INSPECTOR, Actor, Binding
from states.processes.title_review.seed import appointment
from states.registry import history, roster
from states.registry.roster_sheet import ROSTER, write_roster
from states.sheets import open_table, read_table
from states.store.db import reader
from states.store.models import EthicsRecord, Person, RecordChange, Teacher, table_of
from tests.test_sheets import _replace_part, _varied_workbook, xlsx
from tests.world import Driver, World

TODAY = dt.date(2026, 9, 1)


def teacher_row(n: int, school: str = "Uurban", **over: Any) -> dict[str, Any]:
    birth = dt.date(1980, 1, 1) + dt.timedelta(days=n)
    row: dict[str, Any] = {
        "id_number": make_id_number("110101", birth, 500 + n, "F"),
        "name": f"名册教师{n}",
        "gender": "F",
        "birth_date": birth,
        "school_code": school,
        "subject": "数学",
        "school_level": "junior",
        "title": "grade1",
        "title_date": dt.date(2015, 9, 1),
        "education": "bachelor",
        "started_teaching_on": dt.date(2002, 9, 1),
        "joined_school_on": dt.date(2010, 9, 1),
        "rural_years": 2.0,
        "backbone_level": None,
        "cert_level": "junior",
        "cert_no": f"2002{n:011d}",
        "cert_registered_on": dt.date(2022, 3, 1),
        "phone": f"1380000{n:04d}",
        "ethics": (),
    }
    row.update(over)
    return row


def sheet(rows: list[dict[str, Any]]) -> bytes:
    buf = io.BytesIO()
    write_roster(buf, rows)
    return buf.getvalue()


def load(
    engine: Engine,
    actor: Actor,
    data: bytes,
    at: dt.datetime,
    *,
    name: str = "名册.xlsx",
    valid_only: bool = False,
) -> roster.RosterReport:
    with engine.begin() as conn:
        return roster.import_roster(
            conn,
            open_table(data, name, schema=ROSTER),
            actor=actor,
            at=at,
            source_ref=history.file_ref(name, data),
            valid_only=valid_only,
        )


def person_of(engine: Engine, id_number: str) -> int:
    with reader(engine).connect() as conn:
        return int(
            conn.execute(select(Person.id).where(Person.id_number == id_number)).scalar_one()
        )


def count(engine: Engine, model: Any) -> int:
    with reader(engine).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def test_an_import_creates_each_record_with_one_sealed_history_entry(
    engine: Engine, world: World, clock: FrozenClock
) -> None:
    officer = world.actors["county_officer"]
    rows = [
        teacher_row(1),
        teacher_row(2, "Urural", ethics=((dt.date(2025, 6, 10), "组织有偿补课"),)),
        teacher_row(3, backbone_level="county", gender=None, birth_date=None),
    ]
    data = sheet(rows)
    report = load(engine, officer, data, clock.now())
    assert (report.created, report.updated, report.error_count) == (3, 0, 0)
    first, third, second = (person_of(engine, rows[i]["id_number"]) for i in (0, 2, 1))
    with reader(engine).connect() as conn:
        record = roster.record_of(conn, officer, first)
        assert record.fields["school_id"] == world.unit("urban")
        assert record.fields["title_date"] == dt.date(2015, 9, 1)
        assert (record.status, record.version) == ("active", 1)
        trail = roster.history_of(conn, officer, first)
        [entry] = trail.entries
        assert entry.source_label == "导入" and entry.source_ref == history.file_ref(
            "名册.xlsx", data
        )
        assert entry.changes["title"] == [None, "grade1"]
        assert entry.changes["title_date"] == [None, "2015-09-01"]
        assert trail.verification.ok and trail.unproven == {}
        derived = roster.record_of(conn, officer, third)
        assert derived.fields["gender"] == "F" and derived.fields["backbone_level"] == "county"
        flagged = roster.record_of(conn, officer, second)
        assert flagged.ethics == [(dt.date(2025, 6, 10), "组织有偿补课")]


def test_every_bad_cell_is_named_by_row_column_and_reason_and_nothing_is_written(
    engine: Engine, world: World, clock: FrozenClock
) -> None:
    officer = world.actors["county_officer"]
    good = teacher_row(1)
    wrong_check = teacher_row(2)["id_number"][:17] + (
        "0" if teacher_row(2)["id_number"][17] != "0" else "1"
    )
    rows = [
        good,  # row 2
        teacher_row(2, id_number=wrong_check),  # 3
        teacher_row(3, title_date="去年九月"),  # 4
        teacher_row(4, school_code="U404"),  # 5
        teacher_row(5, school_code="Uwest1"),  # 6: the neighbouring county's school
        teacher_row(6, joined_school_on=dt.date(2027, 1, 1)),  # 7: a date in the future
        {**teacher_row(7), "id_number": good["id_number"], "birth_date": good["birth_date"]},
        teacher_row(8, rural_years="三年"),  # 9
        teacher_row(9, birth_date=dt.date(1999, 1, 1)),  # 10: not the ID's birth date
    ]
    people = count(engine, Person)
    report = load(engine, officer, sheet(rows), clock.now())
    assert report.refused and (report.created, report.updated) == (0, 0)
    found = {(e.row, e.column): e.reason for e in report.errors}
    assert found[(3, "身份证号")].startswith("校验码错误")
    assert found[(4, "取得时间")].startswith("日期格式无法识别")
    assert found[(5, "学校代码")] == "学校代码不存在：U404"
    assert found[(6, "学校代码")] == "学校不在您的管理范围内"
    assert found[(7, "调入本校时间")] == "调入本校时间晚于今天（2026-09-01）"
    assert found[(8, "身份证号")] == "与第2行重复"
    assert "年数" in found[(9, "农村或薄弱学校任教年限")]
    assert found[(10, "出生日期")].startswith("出生日期与身份证号不符")
    assert report.error_count == len(found) == 8
    assert count(engine, Person) == people, "nothing is half-imported"

    partial = load(engine, officer, sheet(rows), clock.now(), valid_only=True)
    assert (partial.created, partial.error_count) == (1, 8), "valid rows only: just row 2"


def test_an_error_after_rows_were_written_rolls_them_back(
    engine: Engine, world: World, clock: FrozenClock
) -> None:
    """Chunks of two: rows 2-3 are written before row 5's unknown school is met."""
    rows = [teacher_row(1), teacher_row(2), teacher_row(3), teacher_row(4, school_code="U404")]
    data = sheet(rows)
    before = count(engine, Person), count(engine, RecordChange)
    with engine.begin() as conn:
        report = roster.import_roster(
            conn, open_table(data, "名册.xlsx", schema=ROSTER),
            actor=world.actors["county_officer"], at=clock.now(), source_ref="名册.xlsx", chunk=2,
        )  # fmt: skip
    assert report.refused and report.rows == 4 and report.created == 0
    assert [(e.row, e.column) for e in report.errors] == [(5, "学校代码")]
    assert (count(engine, Person), count(engine, RecordChange)) == before


def test_a_wrong_header_stops_the_import_at_row_zero(
    engine: Engine, world: World, clock: FrozenClock
) -> None:
    csv = "身份证号,姓名,学段\n110101198001020021,张三,初中\n".encode()
    report = load(engine, world.actors["county_officer"], csv, clock.now(), name="名册.csv")
    missing = {e.column for e in report.errors if e.row == 0}
    assert {"学校代码", "任教学科", "现专业技术职务", "学历", "参加工作时间"} <= missing
    assert report.refused and report.rows == 0


def test_a_gb18030_csv_reads_the_same_as_the_xlsx(
    engine: Engine, world: World, clock: FrozenClock
) -> None:
    rows = [teacher_row(1), teacher_row(2, ethics=((dt.date(2025, 6, 10), "体罚学生"),))]
    xlsx = read_table(sheet(rows), "名册.xlsx", schema=ROSTER)
    lines = [",".join(xlsx.columns)] + [
        ",".join(f'="{v}"' if k == "身份证号" else v for k, v in r.items()) for _, r in xlsx.rows
    ]
    data = ("\r\n".join(lines) + "\r\n").encode("gb18030")
    assert read_table(data, "名册.csv", schema=ROSTER).rows == xlsx.rows
    report = load(engine, world.actors["county_officer"], data, clock.now(), name="名册.csv")
    assert (report.created, report.error_count) == (2, 0)


def test_a_reimport_updates_by_id_number_and_records_exactly_the_changed_rows(
    engine: Engine, world: World, clock: FrozenClock
) -> None:
    officer = world.actors["county_officer"]
    rows = [teacher_row(n) for n in range(1, 6)]
    load(engine, officer, sheet(rows), clock.now())
    clock.advance(days=1)
    rows[1] = {**rows[1], "title": "senior", "title_date": dt.date(2026, 7, 1)}
    rows[3] = {**rows[3], "phone": None, "ethics": ((dt.date(2026, 3, 1), "体罚学生"),)}
    again = sheet(rows)
    report = load(engine, officer, again, clock.now(), name="名册（更新）.xlsx")
    assert (report.created, report.updated, report.unchanged) == (0, 2, 3)
    ref = history.file_ref("名册（更新）.xlsx", again)
    promoted, kept_id = (person_of(engine, rows[i]["id_number"]) for i in (1, 3))
    with reader(engine).connect() as conn:
        written = conn.execute(
            select(RecordChange.subject_id, RecordChange.changes).where(
                RecordChange.source_ref == ref
            )
        ).all()
        assert len(written) == 2
        [entry] = [e for e in roster.history_of(conn, officer, promoted).entries if e.seq == 2]
        assert entry.changes == {
            "title": ["grade1", "senior"],
            "title_date": ["2015-09-01", "2026-07-01"],
        }
        kept = roster.record_of(conn, officer, kept_id)
        assert kept.phone == "13800000004", "a blank mobile cell leaves the number on file"
        assert kept.ethics == [(dt.date(2026, 3, 1), "体罚学生")]
        assert kept.version == 2
    assert load(engine, officer, again, clock.now()).updated == 0, "the same file twice"


def test_another_countys_teacher_is_not_found(
    engine: Engine, world: World, clock: FrozenClock
) -> None:
    east, west = world.actors["county_officer"], world.actors["west_officer"]
    row = teacher_row(1)
    load(engine, east, sheet([row]), clock.now())
    pid = person_of(engine, row["id_number"])
    with engine.begin() as conn:
        with pytest.raises(NotFound):
            roster.record_of(conn, west, pid)
        with pytest.raises(NotFound):
            roster.history_of(conn, west, pid)
        with pytest.raises(NotFound):
            roster.edit_teacher(
                conn, west, pid, {"name": "改名"}, expected_version=1, at=clock.now()
            )
    moved_in = load(engine, west, sheet([{**row, "school_code": "Uwest1"}]), clock.now())
    assert moved_in.refused and "管理范围以外" in moved_in.errors[0].reason
    inspector = Actor(
        None, "督查员", (Binding(INSPECTOR, world.unit("east"), world.units["east"].path),)
    )
    with reader(engine).connect() as conn:
        assert roster.history_of(conn, inspector, pid).verification.ok
        assert roster.history_of(conn, Actor(pid, "本人"), pid).entries


def test_two_officers_editing_one_record_the_second_gets_a_conflict(
    engine: Engine, world: World, clock: FrozenClock
) -> None:
    officer = world.actors["county_officer"]
    row = teacher_row(1)
    load(engine, officer, sheet([row]), clock.now())
    pid = person_of(engine, row["id_number"])
    with engine.begin() as conn:
        saved = roster.edit_teacher(
            conn, officer, pid, {"title": "高级教师", "title_date": "2026-07-01"},
            expected_version=1, at=clock.now(),
        )  # fmt: skip
        assert (saved.fields["title"], saved.version) == ("senior", 2)
    school = world.actors["school_officer"]
    with engine.begin() as conn, pytest.raises(Conflict):
        roster.edit_teacher(
            conn, school, pid, {"phone": "13912345678"}, expected_version=1, at=clock.now()
        )
    with engine.begin() as conn, pytest.raises(FormError) as bad:
        roster.edit_teacher(
            conn, school, pid, {"title_date": "2027-01-01"}, expected_version=2, at=clock.now()
        )
    assert bad.value.field == "title_date"
    with reader(engine).connect() as conn:
        entries = roster.history_of(conn, officer, pid).entries
    assert [e.source for e in entries] == ["import", "edit"]
    assert entries[1].changes["title"] == ["grade1", "senior"]


def test_moves_change_school_or_status_and_a_retired_teacher_cannot_declare(
    d: Driver, world: World, clock: FrozenClock
) -> None:
    engine = d.eng.db
    officer = world.actors["county_officer"]
    teacher = world.teacher("调动教师")
    pid = teacher.person_id
    assert pid is not None
    with engine.begin() as conn:
        moved = roster.move_teacher(
            conn, officer, pid, "transfer", on=TODAY, expected_version=1, at=clock.now(),
            school_code="Urural", note="东教人〔2026〕12号",
        )  # fmt: skip
        assert moved.school_id == world.unit("rural") and moved.fields["joined_school_on"] == TODAY
        with pytest.raises(FormError):  # the neighbour's school is not this officer's
            roster.move_teacher(
                conn, officer, pid, "transfer", on=TODAY, expected_version=2, at=clock.now(),
                school_code="Uwest1",
            )  # fmt: skip
        retired = roster.move_teacher(
            conn, officer, pid, "retire", on=TODAY, expected_version=2, at=clock.now()
        )
        assert (retired.status, retired.status_since) == ("retired", TODAY)
    with pytest.raises(RuleRefused) as refused:
        d.declare(teacher)
    assert "已退休" in refused.value.message
    with reader(engine).connect() as conn:
        trail = roster.history_of(conn, officer, pid)
    assert [(e.source, e.source_ref) for e in trail.entries] == [
        ("move", "调动：东教人〔2026〕12号"),
        ("move", "退休"),
    ]
    assert trail.entries[0].changes["school_id"] == [world.unit("urban"), world.unit("rural")]


def test_an_appointment_writes_the_title_through_the_history_naming_the_case(
    d: Driver, world: World
) -> None:
    teacher = world.teacher("晋升教师")
    case_id = d.declare(teacher)
    d.through_school(case_id)
    d.fire(case_id, "qualify", "county_officer")
    d.vote_all(case_id, yes=7)
    d.fire(case_id, "close_sitting", "city_officer")
    d.close_window(case_id)
    d.fire(case_id, "appoint", "city_officer", appointment(local_date(d.clock.now())))
    assert teacher.person_id is not None
    with reader(d.eng.db).connect() as conn:
        trail = roster.history_of(conn, world.actors["city_officer"], teacher.person_id)
        version = conn.execute(
            select(Teacher.version).where(Teacher.person_id == teacher.person_id)
        ).scalar_one()
    [entry] = trail.entries
    assert (entry.source, entry.case_id, entry.source_ref) == ("case", case_id, f"事项{case_id}")
    assert entry.changes["title"] == ["grade1", "senior"]
    assert trail.verification.ok and version == 2


def test_a_change_that_bypassed_the_history_shows_on_the_trail(
    engine: Engine, world: World, clock: FrozenClock
) -> None:
    officer = world.actors["county_officer"]
    row = teacher_row(1)
    load(engine, officer, sheet([row]), clock.now())
    pid = person_of(engine, row["id_number"])
    with engine.begin() as conn:
        conn.execute(
            update(table_of(Teacher)).where(Teacher.person_id == pid).values(title="senior")
        )
        conn.execute(
            update(table_of(RecordChange))
            .where(RecordChange.subject_id == pid)
            .values(source_ref="别的文件.xlsx")
        )
    with reader(engine).connect() as conn:
        trail = roster.history_of(conn, officer, pid)
    assert trail.unproven == {"title": ("grade1", "senior")}
    assert not trail.verification.ok and trail.verification.broken_at == 1
    assert count(engine, EthicsRecord) == 0
    assert history.SOURCES["import"] == "导入"


def test_the_calamine_reader_reads_what_the_stream_reader_reads() -> None:
    data = _varied_workbook()  # a title block, a hidden sheet, rich text, an ID as a number
    fast = open_table(data, "x.xlsx", reader="calamine")
    own = open_table(data, "x.xlsx", reader="stream")
    assert (fast.columns, list(fast.rows)) == (own.columns, list(own.rows))
    # dates under Chinese Excel's implicit built-in formats (numFmtId 27-36, 50-58)
    cjk = _replace_part(
        xlsx([["出生日期"], [dt.datetime(1990, 5, 1)]]),
        "xl/styles.xml",
        lambda xml: xml.replace(b'numFmtId="22"', b'numFmtId="31"').replace(
            b'numFmtId="14"', b'numFmtId="31"'
        ),
    )
    assert list(open_table(cjk, "x.xlsx").rows) == [(2, {"出生日期": "1990-05-01"})]


def _entries(engine: Engine) -> int:
    return count(engine, RecordChange)


def test_a_reimport_passes_over_rows_nothing_changed_since_but_restores_edited_records(
    engine: Engine, world: World, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record remembers the row it was imported from: the same file again is counted
    unchanged without a row being looked up, and writes nothing; a record edited or moved
    since is not passed over — the file's values come back, on the history."""
    officer = world.actors["county_officer"]
    rows = [teacher_row(n) for n in range(1, 5)]
    data = sheet(rows)
    load(engine, officer, data, clock.now())
    looked_up: list[int] = []
    admit = roster._admit

    def counting(conn: Any, found: list[dict[str, Any]], *args: Any) -> Any:
        looked_up.extend(r["row"] for r in found)
        return admit(conn, found, *args)

    monkeypatch.setattr(roster, "_admit", counting)
    entries = _entries(engine)
    same = load(engine, officer, data, clock.now())
    assert (same.rows, same.created, same.updated, same.unchanged) == (4, 0, 0, 4)
    assert looked_up == [] and _entries(engine) == entries

    edited, moved = (person_of(engine, rows[i]["id_number"]) for i in (0, 1))
    with engine.begin() as conn:
        roster.edit_teacher(
            conn, officer, edited, {"title": "高级教师", "title_date": "2026-07-01"},
            expected_version=1, at=clock.now(),
        )  # fmt: skip
        roster.move_teacher(
            conn, officer, moved, "transfer", on=TODAY, expected_version=1, at=clock.now(),
            school_code="Urural",
        )  # fmt: skip
    again = load(engine, officer, data, clock.now())
    assert (again.updated, again.unchanged) == (2, 2)
    assert sorted(looked_up) == [2, 3], "only the edited and the moved records' rows"
    with reader(engine).connect() as conn:
        back = roster.history_of(conn, officer, edited)
        assert back.entries[-1].source == "import"
        assert back.entries[-1].changes["title"] == ["senior", "grade1"]
        assert back.verification.ok and back.unproven == {}
        assert roster.record_of(conn, officer, moved).school_id == world.unit("urban")
    looked_up.clear()
    entries = _entries(engine)
    assert load(engine, officer, data, clock.now()).unchanged == 4
    assert looked_up == [] and _entries(engine) == entries

    # the same values spelled otherwise: checked once, found unchanged, then known
    respelled = sheet([{**r, "title_date": "2015年9月1日"} for r in rows])
    for looked in ([2, 3, 4, 5], []):
        looked_up.clear()
        assert load(engine, officer, respelled, clock.now()).unchanged == 4
        assert sorted(looked_up) == looked and _entries(engine) == entries


def test_a_passed_over_row_still_counts_in_the_files_checks(
    engine: Engine, world: World, clock: FrozenClock
) -> None:
    """A row known from the last import still takes its ID number's place (a second row with
    it is a duplicate, wherever it stands), and its school must still be the officer's."""
    east, west = world.actors["county_officer"], world.actors["west_officer"]
    first, second = teacher_row(1), teacher_row(2)
    load(engine, east, sheet([first, second]), clock.now())
    doubled = load(engine, east, sheet([first, second, first]), clock.now())
    assert doubled.refused
    assert [(e.row, str(e.reason)) for e in doubled.errors] == [(4, "与第2行重复")]
    renamed = {**first, "name": "改了名的教师"}
    before = load(engine, east, sheet([renamed, second, first]), clock.now())
    assert [(e.row, e.reason) for e in before.errors] == [(4, "与第2行重复")]
    outsider = load(engine, west, sheet([first]), clock.now())
    assert outsider.refused and outsider.errors[0].reason == "学校不在您的管理范围内"


def test_a_case_effect_on_the_record_goes_through_its_history(
    d: Driver, world: World, clock: FrozenClock
) -> None:
    """The engine's own command for a teacher's record (``UpdateTeacher``) writes through the
    roster: the record's version moves, and its history names the case."""
    from types import SimpleNamespace

    from states.process.spec import UpdateTeacher

    teacher = world.teacher("记功教师")
    case_id = d.declare(teacher)
    case = d.case(case_id)
    handler = d.eng.processes.effect_handlers[UpdateTeacher]
    officer = world.actors["county_officer"]
    with d.eng.db.begin() as conn:
        ctx = SimpleNamespace(case=case, actor=officer, now=clock.now())
        handler(SimpleNamespace(conn=conn, ctx=ctx), UpdateTeacher({"backbone_level": "county"}))
    assert teacher.person_id is not None
    with reader(d.eng.db).connect() as conn:
        record = roster.record_of(conn, officer, teacher.person_id)
        trail = roster.history_of(conn, officer, teacher.person_id)
    assert (record.fields["backbone_level"], record.version) == ("county", 2)
    [entry] = trail.entries
    assert (entry.source, entry.case_id) == ("case", case_id)
    assert entry.changes == {"backbone_level": [None, "county"]}
    assert trail.verification.ok and trail.unproven == {}
