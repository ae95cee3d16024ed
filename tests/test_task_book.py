"""Task lists and target responsibility (任务清单), on both databases: a county's book imported
(a bad file refused whole, with its row report), approved by the city and issued; a county
task split to its schools; progress reports with evidence; a milestone missed and escalated
once however often the sweep runs; a stagnant task flagged; an extension approved; a
completion sent back, then accepted; the year-end scoring of four parties against totals
and a ranking worked out by hand; the bad input of the issue each refused by name."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine
from states.engine.visibility import case_file
from states.errors import FormError, RenshiError, RuleRefused
from states.processes.task_book import board, books, checks, scoring, work
from states.processes.task_book.tables import (
    ScoreResult,
    TaskBook,
    TaskExtension,
    TaskMilestone,
    TaskReport,
    WorkTask,
)
from states.sheets import read_table, write_xlsx
from states.store.models import Attachment, Case, OrgUnit, OutboxMessage, Task, table_of
from states.store.people import load_actor
from tests.browser import DESKTOP, PHONE, chromium, console_errors, offline, shot, sign_in
from tests.live import PASSWORD, Live
from tests.world import World, undeclared_keys

YEAR = 2026
work_t = table_of(WorkTask)
COLUMNS = (
    ("seq", "序号"),
    ("title", "任务名称"),
    ("source", "任务来源"),
    ("lead", "牵头单位"),
    ("deadline", "完成时限"),
    ("milestones", "时间节点"),
    ("weight", "权重"),
)
GOOD = [
    {
        "seq": 1,
        "title": "全县教师师德承诺书签订",
        "source": "会议决定",
        "lead": "东县",
        "deadline": "2026-12-31",
        "milestones": "2026-10-15 完成动员；2026-11-30 完成签订",
        "weight": 2,
    },
    {
        "seq": 2,
        "title": "教师培训学时登记",
        "source": "年度工作要点",
        "lead": "东县实验中学",
        "deadline": dt.date(2026, 11, 30),
        "milestones": "2026-09-30 完成摸底",
        "weight": 1,
    },
    {
        "seq": 3,
        "title": "乡村教师生活补助发放",
        "source": "领导批示",
        "lead": "东县乡村小学",
        "deadline": "2026年10月30日",
        "milestones": "",
        "weight": 1,
    },
]


def sheet(rows: list[dict[str, Any]]) -> bytes:
    return write_xlsx(COLUMNS, rows, title="任务书", mask=())


def count(eng: CaseEngine, model: Any, *where: Any) -> int:
    with eng.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model).where(*where)).scalar())


def task_ids(eng: CaseEngine) -> dict[str, int]:
    with eng.db.connect() as conn:
        rows = conn.execute(
            select(WorkTask.title, WorkTask.id).where(WorkTask.parent_id.is_(None))
        ).all()
    return dict(rows)


def row(eng: CaseEngine, task_id: int) -> Any:
    with eng.db.connect() as conn:
        return conn.execute(select(work_t).where(work_t.c.id == task_id)).one()


def state(eng: CaseEngine, task_id: int) -> str:
    with eng.db.connect() as conn:
        return str(
            conn.execute(
                select(Case.state)
                .join(WorkTask, WorkTask.case_id == Case.id)
                .where(WorkTask.id == task_id)
            ).scalar_one()
        )


def issued_book(eng: CaseEngine, world: World) -> dict[str, int]:
    """The county's book imported, submitted and approved by the city: its tasks issued."""
    county, city = world.actors["county_officer"], world.actors["city_officer"]
    report = books.import_book(eng, county, sheet(GOOD), "东县任务书.xlsx", year=YEAR)
    assert not report.refused, report.errors
    books.step(eng, county, report.book_id or 0, "submit_book")
    books.step(eng, city, report.book_id or 0, "approve_book")
    return task_ids(eng)


@pytest.fixture
def w(world: World) -> World:
    return world


# --- the book -------------------------------------------------------------------------------------
def test_a_bad_book_is_refused_whole_with_its_row_report(eng: CaseEngine, w: World) -> None:
    county = w.actors["county_officer"]
    bad = [
        {**GOOD[0], "lead": ""},  # no lead unit
        {**GOOD[1], "deadline": "2026-09-15"},  # before its milestone
        {**GOOD[2], "milestones": "2026-10-20 完成发放；2026-09-30 核对名单"},  # out of order
        {
            "seq": 4,
            "title": "西县的任务",
            "source": "会议决定",
            "lead": "西县一中",
            "deadline": "2026-12-01",
            "weight": 1,
        },  # outside the county
        {"seq": 5, "title": "来源不明", "source": "随便", "lead": "东县", "deadline": "2026-12-01"},
    ]
    report = books.import_book(eng, county, sheet(bad), "东县任务书.xlsx", year=YEAR)
    assert report.refused and report.book_id is None
    said = {(e.row, e.column): e.reason for e in report.errors}
    assert said[(2, "牵头单位")] == "牵头单位不能为空"
    assert "完成时限（2026-09-15）早于时间节点“完成摸底”（2026-09-30）" in said[(3, "完成时限")]
    assert "应按时间先后排列" in said[(4, "时间节点")]
    assert "西县一中" in said[(5, "牵头单位")] and "管辖范围" in said[(5, "牵头单位")]
    assert "任务来源应为" in said[(6, "任务来源")]
    assert count(eng, TaskBook) == 0 and count(eng, WorkTask) == 0 and count(eng, Case) == 0


def test_a_county_book_imported_approved_and_split_to_its_schools(
    eng: CaseEngine, w: World, clock: FrozenClock
) -> None:
    county, city = w.actors["county_officer"], w.actors["city_officer"]
    report = books.import_book(eng, county, sheet(GOOD), "东县任务书.xlsx", year=YEAR)
    assert (report.refused, report.imported) == (False, 3)
    assert count(eng, TaskMilestone) == 3
    book_id = report.book_id or 0
    with pytest.raises(RenshiError, match="人事干部"):  # the county does not approve its own book
        books.step(eng, county, book_id, "submit_book")
        books.step(eng, county, book_id, "approve_book")
    books.step(eng, city, book_id, "approve_book")
    ids = task_ids(eng)
    with eng.db.connect() as conn:
        book_case = conn.execute(select(TaskBook.case_id)).scalar_one()
        issued = conn.execute(
            select(Case.org_unit_id, Case.parent_id, Case.state)
            .join(WorkTask, WorkTask.case_id == Case.id)
            .order_by(WorkTask.seq)
        ).all()
        holders = conn.execute(
            select(Task.org_unit_id, Task.role).where(Task.state == "task_issued")
        ).all()
    assert [(u, p, s) for u, p, s in issued] == [
        (w.unit("east"), book_case, "task_issued"),
        (w.unit("urban"), book_case, "task_issued"),
        (w.unit("rural"), book_case, "task_issued"),
    ]
    assert sorted(holders) == sorted(
        [
            (w.unit("east"), "county_officer"),
            (w.unit("urban"), "school_officer"),
            (w.unit("rural"), "school_officer"),
        ]
    )
    assert count(eng, OutboxMessage, OutboxMessage.kind == "task_assigned") >= 3
    with pytest.raises(RenshiError, match="不能再导入"):
        books.import_book(eng, county, sheet(GOOD), "again.xlsx", year=YEAR)

    # the county's own task, split to two of its schools: child cases through the block
    pledge = ids["全县教师师德承诺书签订"]
    work.act(eng, county, pledge, "acknowledge_task")
    with pytest.raises(RuleRefused) as outside:
        work.act(eng, county, pledge, "split_task", {"units": str(w.unit("west1"))})
    assert outside.value.field == "units" and "下一级单位" in outside.value.message
    work.act(eng, county, pledge, "split_task", {"units": f"{w.unit('urban')},{w.unit('rural')}"})
    with eng.db.connect() as conn:
        parts = conn.execute(
            select(WorkTask.id, WorkTask.lead_unit_id, Case.parent_id)
            .join(Case, Case.id == WorkTask.case_id)
            .where(WorkTask.parent_id == pledge)
            .order_by(WorkTask.seq)
        ).all()
        copied = conn.execute(
            select(func.count()).where(TaskMilestone.task_id.in_([p.id for p in parts]))
        ).scalar()
    assert [p.lead_unit_id for p in parts] == [w.unit("urban"), w.unit("rural")]
    assert {p.parent_id for p in parts} == {row(eng, pledge).case_id}
    assert copied == 4
    # the parent's progress is its parts', and it cannot be reported by hand
    urban, rural = w.actors["school_officer"], w.actors["rural_officer"]
    work.act(eng, urban, parts[0].id, "acknowledge_task")
    work.act(eng, rural, parts[1].id, "acknowledge_task")
    work.act(eng, urban, parts[0].id, "report_progress", {"percent": 40, "text": "已签订40%"})
    work.act(eng, rural, parts[1].id, "report_progress", {"percent": 70, "text": "已签订70%"})
    assert row(eng, pledge).progress == 55
    with pytest.raises(RuleRefused, match="自动计算"):
        work.act(eng, county, pledge, "report_progress", {"percent": 60, "text": "手填"})
    with pytest.raises(RuleRefused, match="尚有2项"):
        work.act(eng, county, pledge, "report_completion", {"text": "完成"})


# --- reports ------------------------------------------------------------------------------------
def test_progress_reports_with_evidence_and_their_bad_input(eng: CaseEngine, w: World) -> None:
    ids = issued_book(eng, w)
    school = w.actors["school_officer"]
    training = ids["教师培训学时登记"]
    work.act(eng, school, training, "acknowledge_task")
    case_id = row(eng, training).case_id
    first = eng.record_attachment(
        case_id,
        school,
        filename="学时台账.xlsx",
        content_type="application/pdf",
        size=10,
        sha256="a" * 64,
    )
    work.act(
        eng,
        school,
        training,
        "report_progress",
        {"percent": 30, "text": "完成摸底", "milestone": 1, "evidence": str(first)},
    )
    second = work.report(
        eng,
        school,
        training,
        "report_progress",
        {"percent": 50, "text": "登记过半"},
        work.Evidence("登记表.pdf", "application/pdf", 20, "b" * 64),
        expected_version=row_version(eng, training),
    )
    assert second.to_state == "task_doing"
    r = row(eng, training)
    assert (r.progress, r.next_due) == (50, None)  # its one milestone reached
    with eng.db.connect() as conn:
        reports = conn.execute(select(table_of(TaskReport)).order_by(TaskReport.id)).all()
        files = conn.execute(select(Attachment.id, Attachment.filename)).all()
    assert [(x.previous, x.percent, x.milestone_seq) for x in reports] == [
        (0, 30, 1),
        (30, 50, None),
    ]
    assert reports[0].evidence == [first] and len(reports[1].evidence) == 1
    assert sorted(f for _, f in files) == ["学时台账.xlsx", "登记表.pdf"]
    with eng.db.connect() as conn:
        seen = case_file(conn, eng.processes, w.actors["county_officer"], case_id, with_trail=True)
    assert seen is not None
    assert ["学时台账.xlsx"] in [e["payload"].get("evidence_files") for e in seen.trail]

    # 120%, going backwards without a reason, evidence from elsewhere: refused, nothing written
    before = (count(eng, TaskReport), count(eng, Attachment))
    with pytest.raises(FormError) as too_much:
        work.act(eng, school, training, "report_progress", {"percent": 120, "text": "超额"})
    assert too_much.value.field == "percent" and "不能大于100" in too_much.value.message
    with pytest.raises(RuleRefused) as back:
        work.report(
            eng,
            school,
            training,
            "report_progress",
            {"percent": 20, "text": "重算"},
            work.Evidence("x.pdf", "application/pdf", 1, "c" * 64),
            expected_version=row_version(eng, training),
        )
    assert back.value.field == "reason" and "低于上次报告的50%" in back.value.message
    with pytest.raises(RuleRefused, match="不是本任务的附件"):
        work.act(
            eng,
            school,
            training,
            "report_progress",
            {"percent": 60, "text": "x", "evidence": "99999"},
        )
    assert (count(eng, TaskReport), count(eng, Attachment)) == before
    work.act(
        eng,
        school,
        training,
        "report_progress",
        {"percent": 45, "text": "剔除重复登记", "reason": "发现重复登记的学时"},
    )
    assert row(eng, training).progress == 45


def row_version(eng: CaseEngine, task_id: int) -> int:
    with eng.db.connect() as conn:
        return int(
            conn.execute(
                select(Case.version)
                .join(WorkTask, WorkTask.case_id == Case.id)
                .where(WorkTask.id == task_id)
            ).scalar_one()
        )


# --- time ---------------------------------------------------------------------------------------
def test_a_missed_milestone_and_an_overdue_task_escalate_once(
    eng: CaseEngine, w: World, clock: FrozenClock
) -> None:
    ids = issued_book(eng, w)
    school, rural = w.actors["school_officer"], w.actors["rural_officer"]
    training, subsidy = ids["教师培训学时登记"], ids["乡村教师生活补助发放"]
    work.act(eng, school, training, "acknowledge_task")
    work.act(eng, rural, subsidy, "acknowledge_task")
    clock.set(bureau_time(2026, 9, 28, 8))  # two working days before 30 September
    soon = checks.sweep(eng)
    assert soon.get("milestone_reminders", 0) == 1
    assert checks.sweep(eng).get("milestone_reminders", 0) == 0
    clock.set(bureau_time(2026, 10, 9, 8))  # the milestone of 30 September missed
    for n in (1, 0):  # run twice: escalated once
        done = checks.sweep(eng)
        assert done.get("milestones_escalated", 0) == n
    with eng.db.connect() as conn:
        supervise = conn.execute(
            select(Task.org_unit_id, Task.role, Task.case_id).where(Task.kind == "supervise")
        ).all()
        said = conn.execute(
            select(OutboxMessage.payload, OutboxMessage.recipient_unit_id).where(
                OutboxMessage.kind == "task_escalated"
            )
        ).all()
    assert supervise == [(w.unit("east"), "county_officer", row(eng, training).case_id)]
    assert len(said) == 1 and said[0][1] == w.unit("east")
    assert "完成摸底" in said[0][0]["task_detail"]
    when = board.Clock(dt.date(2026, 10, 9), dt.date(2026, 10, 23))
    with eng.db.connect() as conn:
        assert board.task_status(conn, training, when) == "red"
    # 2 November: the subsidy's deadline (30 October) passed, and the county's own task's
    # milestone of 15 October, which goes up to the city
    clock.set(bureau_time(2026, 11, 2, 8))
    runs = [checks.sweep(eng) for _ in range(2)]
    assert [(r.get("tasks_escalated", 0), r.get("milestones_escalated", 0)) for r in runs] == [
        (1, 1),
        (0, 0),
    ]
    with eng.db.connect() as conn:
        units = (
            conn.execute(select(Task.org_unit_id).where(Task.kind == "supervise").order_by(Task.id))
            .scalars()
            .all()
        )
    assert units == [w.unit("east"), w.unit("city"), w.unit("east")]
    assert count(eng, OutboxMessage, OutboxMessage.kind == "task_escalated") == 3


def test_a_stagnant_task_is_flagged_and_cleared_by_a_report(
    eng: CaseEngine, w: World, clock: FrozenClock
) -> None:
    ids = issued_book(eng, w)
    rural = w.actors["rural_officer"]
    subsidy = ids["乡村教师生活补助发放"]
    work.act(eng, rural, subsidy, "acknowledge_task")
    work.act(eng, rural, subsidy, "report_progress", {"percent": 10, "text": "核对名单"})
    clock.set(bureau_time(2026, 9, 14, 8))  # 9 working days without a report: not yet
    assert checks.sweep(eng).get("stagnant", 0) == 0
    clock.set(bureau_time(2026, 9, 15, 8))  # 10 working days
    assert [checks.sweep(eng).get("stagnant", 0) for _ in range(2)] == [1, 0]
    assert row(eng, subsidy).stagnant_since == dt.date(2026, 9, 15)
    assert count(eng, OutboxMessage, OutboxMessage.kind == "task_stagnant") == 2  # lead, issuer
    far = board.Clock(dt.date(2026, 9, 15), dt.date(2026, 9, 29))  # deadline not near
    with eng.db.connect() as conn:
        assert board.task_status(conn, subsidy, far) == "yellow"
        assert board.task_status(conn, ids["教师培训学时登记"], far) == "green"
    work.act(eng, rural, subsidy, "report_progress", {"percent": 30, "text": "发放三成"})
    assert row(eng, subsidy).stagnant_since is None
    with eng.db.connect() as conn:
        assert board.task_status(conn, subsidy, far) == "green"


def test_an_extension_approved_and_a_completion_sent_back_then_accepted(
    eng: CaseEngine, w: World
) -> None:
    ids = issued_book(eng, w)
    rural, county = w.actors["rural_officer"], w.actors["county_officer"]
    subsidy = ids["乡村教师生活补助发放"]
    work.act(eng, rural, subsidy, "acknowledge_task")
    with pytest.raises(RuleRefused) as earlier:
        work.act(
            eng,
            rural,
            subsidy,
            "request_extension",
            {"new_deadline": "2026-10-01", "reason": "名单未定"},
        )
    assert earlier.value.field == "new_deadline"
    work.act(
        eng,
        rural,
        subsidy,
        "request_extension",
        {"new_deadline": "2026-11-30", "reason": "等待财政拨款"},
    )
    assert state(eng, subsidy) == "task_extension"
    with pytest.raises(RenshiError, match="人事干部"):  # the lead does not approve itself
        work.act(eng, rural, subsidy, "approve_extension")
    work.act(eng, county, subsidy, "approve_extension", {"comment": "同意"})
    assert (state(eng, subsidy), row(eng, subsidy).deadline) == (
        "task_doing",
        dt.date(2026, 11, 30),
    )
    with eng.db.connect() as conn:
        ext = conn.execute(select(table_of(TaskExtension))).one()
    assert (ext.old_deadline, ext.new_deadline, ext.approved) == (
        dt.date(2026, 10, 30),
        dt.date(2026, 11, 30),
        True,
    )

    work.act(eng, rural, subsidy, "report_completion", {"text": "已全部发放"})
    assert (state(eng, subsidy), row(eng, subsidy).progress) == ("task_review", 100)
    with pytest.raises(FormError) as no_reason:
        work.act(eng, county, subsidy, "return_completion")
    assert no_reason.value.field == "reason"
    work.act(eng, county, subsidy, "return_completion", {"reason": "缺少签领表"})
    assert state(eng, subsidy) == "task_doing"
    with eng.db.connect() as conn:
        told = (
            conn.execute(
                select(OutboxMessage.payload)
                .where(
                    OutboxMessage.kind == "task_assigned",
                    OutboxMessage.recipient_unit_id == w.unit("rural"),
                )
                .order_by(OutboxMessage.id.desc())
            )
            .scalars()
            .first()
        )
    assert told is not None and "缺少签领表" in told["note"]
    work.act(eng, rural, subsidy, "report_completion", {"text": "补交签领表"})
    work.act(eng, county, subsidy, "accept_completion")
    r = row(eng, subsidy)
    assert (state(eng, subsidy), r.progress, r.closed_on) == ("task_done", 100, dt.date(2026, 9, 1))
    assert undeclared_keys(eng) == {}


# --- scoring --------------------------------------------------------------------------------------
SCORING_BOOK = [
    {
        "seq": 1,
        "title": "任务A",
        "source": "会议决定",
        "lead": "东县实验中学",
        "deadline": "2026-12-01",
        "weight": 2,
    },
    {
        "seq": 2,
        "title": "任务B",
        "source": "会议决定",
        "lead": "东县实验中学",
        "deadline": "2026-12-01",
        "weight": 1,
    },
    {
        "seq": 3,
        "title": "任务C",
        "source": "会议决定",
        "lead": "东县乡村小学",
        "deadline": "2026-12-01",
        "weight": 1,
    },
    {
        "seq": 4,
        "title": "任务D",
        "source": "会议决定",
        "lead": "东县自主评审试点中学",
        "deadline": "2026-12-01",
        "weight": 1,
    },
]
# (scorer, party) -> task -> score
SCORES = {
    ("urban", "self"): {"任务A": 90, "任务B": 80},
    ("rural", "self"): {"任务C": 95},
    ("pilot", "self"): {"任务D": 85},
    ("east", "superior"): {"任务A": 80, "任务B": 70, "任务C": 90, "任务D": 90},
    ("urban", "peers"): {"任务C": 80, "任务D": 90},
    ("rural", "peers"): {"任务A": 70, "任务B": 60, "任务D": 80},
    ("pilot", "peers"): {"任务A": 90, "任务B": 80, "任务C": 70},
    ("pilot", "served"): {"任务A": 80, "任务B": 90, "任务C": 60, "任务D": 60},
}
OFFICER_AT = {
    "urban": "school_officer",
    "rural": "rural_officer",
    "pilot": "pilot_officer",
    "east": "county_officer",
}


def test_four_parties_score_and_the_ranking_is_as_worked_out_by_hand(
    eng: CaseEngine, w: World, clock: FrozenClock
) -> None:
    county, city = w.actors["county_officer"], w.actors["city_officer"]
    report = books.import_book(eng, county, sheet(SCORING_BOOK), "考核.xlsx", year=YEAR)
    books.step(eng, county, report.book_id or 0, "submit_book")
    books.step(eng, city, report.book_id or 0, "approve_book")
    ids = task_ids(eng)
    form: dict[str, Any] = {
        "year": YEAR,
        "closes_on": "2026-12-25",
        "served": "东县自主评审试点中学",
        "weights": {"self": 20, "superior": 50, "peers": 20, "served": 0},
    }
    with pytest.raises(FormError) as ninety:
        scoring.open_round(eng, county, form)
    assert ninety.value.field == "weights" and "之和应为100%，现为90%" in ninety.value.message
    assert count(eng, Case, Case.process == "task_scoring") == 0
    round_id = scoring.open_round(
        eng, county, {**form, "weights": {**form["weights"], "served": 10}}
    )
    with eng.db.connect() as conn:
        sheets = {
            (unit, s.party): s
            for unit in OFFICER_AT
            for s in conn.execute(
                select(scoring.sheets_t).where(scoring.sheets_t.c.scorer_unit_id == w.unit(unit))
            )
        }
        due = conn.execute(
            select(func.min(Task.due_on), func.count()).where(
                Task.state == "sheet_open", Task.status == "open"
            )
        ).one()
    assert set(sheets) == set(SCORES)  # each scorer a sheet, as its task due on the last day
    assert tuple(due) == (dt.date(2026, 12, 25), 8)

    urban = w.actors["school_officer"]
    with pytest.raises(RuleRefused) as out_of_scale:
        scoring.submit(
            eng, urban, sheets[("urban", "self")].id, {ids["任务A"]: 120, ids["任务B"]: 80}
        )
    assert out_of_scale.value.field == "scores" and "0至100分之间" in out_of_scale.value.message
    for (unit, party), given in SCORES.items():
        scorer = w.actors[OFFICER_AT[unit]]
        scoring.submit(eng, scorer, sheets[(unit, party)].id, {ids[t]: v for t, v in given.items()})

    # Before scoring closes nobody reads another sheet's scores: not the superior through the
    # sheet's case, not the round's record; the scorer reads its own.
    own = sheets[("urban", "self")]
    with eng.db.connect() as conn:
        seen = case_file(conn, eng.processes, county, own.case_id, with_trail=True)
        mine = scoring.own_scores(conn, urban, own, "school")
        theirs = scoring.own_scores(conn, county, own, "school")
    assert seen is not None
    assert all("scores" not in e["payload"] for e in seen.trail) and "scores" not in seen.data
    assert (mine, theirs) == ({ids["任务A"]: 90, ids["任务B"]: 80}, {})

    scoring.step(eng, county, round_id, "close_scoring")
    with eng.db.connect() as conn:
        results = {
            r.unit_id: (r.total, r.rank, r.note)
            for r in conn.execute(select(table_of(ScoreResult)))
        }
    # A: .2×90 + .5×80 + .2×mean(70, 90) + .1×80 = 82;  B: 16 + 35 + 14 + 9 = 74
    # 东县实验中学 (2×82 + 74) / 3 = 79.33; C: 19 + 45 + .2×mean(80, 70) + 6 = 85
    # D: 17 + 45 + .2×mean(90, 80) + 6 = 85: 东县乡村小学 and 东县自主评审试点中学 tie
    assert results == {
        w.unit("rural"): (85.0, 1, "与东县自主评审试点中学并列第1名（总分均为85.00分）"),
        w.unit("pilot"): (85.0, 1, "与东县乡村小学并列第1名（总分均为85.00分）"),
        w.unit("urban"): (79.33, 3, None),
    }
    with eng.db.connect() as conn:
        rcase = conn.execute(select(scoring.rounds_t.c.case_id)).scalar_one()
        record = case_file(conn, eng.processes, county, rcase, with_trail=True)
        leader_view = case_file(
            conn, eng.processes, w.actors["province_officer"], rcase, with_trail=True
        )
    assert record is not None and leader_view is not None
    closed = next(e for e in record.trail if e["event"] == "close_scoring")
    assert closed["payload"]["scores"][str(own.id)]["scores"] == {
        str(ids["任务A"]): 90.0,
        str(ids["任务B"]): 80.0,
    }
    assert [u["rank"] for u in closed["payload"]["results"]["units"]] == [1, 1, 3]
    with pytest.raises(FormError, match="评分已于2026-12-25截止"):
        scoring.submit(eng, urban, own.id, {ids["任务A"]: 100, ids["任务B"]: 100})
    scoring.step(eng, county, round_id, "publish_scores")
    assert count(eng, OutboxMessage, OutboxMessage.kind == "task_scores_published") == 3
    assert json.dumps(results)  # plain numbers, as exported
    assert undeclared_keys(eng) == {}


# --- the API and the leaders' board in a browser ------------------------------------------------
def _demo_book(live: Live) -> dict[str, Any]:
    """The demo county's book on the seeded province: one task of each colour but red,
    one split to two schools, one done; the sweep run so that a late one is red."""
    engine = live.services.engine
    with engine.db.connect() as conn:
        county = load_actor(conn, username="county_officer")
        city = load_actor(conn, username="city_officer")
        school = load_actor(conn, username="school_officer")
        school_id = school.bindings[0].unit_id
        names = dict(
            conn.execute(
                select(OrgUnit.id, OrgUnit.name).where(
                    OrgUnit.parent_id == county.bindings[0].unit_id
                )
            ).all()
        )
    other = next(i for i in sorted(names) if i != school_id)
    rows = [
        {
            "seq": 1,
            "title": "全县教师师德承诺书签订",
            "source": "会议决定",
            "lead": names[school_id],
            "deadline": "2026-09-20",
            "milestones": "2026-09-10 完成动员",
            "weight": 2,
        },
        {
            "seq": 2,
            "title": "教师培训学时登记",
            "source": "年度工作要点",
            "lead": names[school_id],
            "deadline": "2026-12-20",
            "weight": 1,
        },
        {
            "seq": 3,
            "title": "乡村教师生活补助发放",
            "source": "领导批示",
            "lead": names[other],
            "deadline": "2026-11-30",
            "weight": 1,
        },
    ]
    report = books.import_book(engine, county, sheet(rows), "任务书.xlsx", year=YEAR)
    assert not report.refused, report.errors
    books.step(engine, county, report.book_id or 0, "submit_book")
    books.step(engine, city, report.book_id or 0, "approve_book")
    ids = task_ids(engine)
    work.act(engine, school, ids["教师培训学时登记"], "acknowledge_task")
    work.act(
        engine,
        school,
        ids["教师培训学时登记"],
        "report_progress",
        {"percent": 20, "text": "摸底完成"},
    )
    live.clock.set(bureau_time(2026, 9, 22, 9))  # the pledge's deadline has passed
    checks.sweep(engine)
    return {"ids": ids, "county": county, "school": school, "school_name": names[school_id]}


def test_the_api_refuses_bad_input_by_name_and_writes_nothing(live: Live) -> None:
    found = _demo_book(live)
    ids = found["ids"]
    school, county = live.client("school_officer"), live.client("county_officer")
    task = school.get(f"/api/v1/task-lists/items/{ids['教师培训学时登记']}").json()
    too_much = school.post(
        f"/api/v1/task-lists/items/{task['id']}/reports",
        json={"percent": 120, "text": "超额", "expected_version": task["version"]},
    )
    assert too_much.status_code == 422 and "完成进度" in too_much.text
    backwards = school.post(
        f"/api/v1/task-lists/items/{task['id']}/reports",
        json={"percent": 10, "text": "重算", "expected_version": task["version"]},
    )
    assert backwards.status_code == 422 and backwards.json()["field"] == "reason"
    weights = county.post(
        "/api/v1/task-lists/scoring",
        json={
            "year": YEAR,
            "closes_on": "2026-12-25",
            "weights": {"self": 30, "superior": 40, "peers": 20, "served": 0},
        },
    )
    assert weights.status_code == 422
    assert weights.json()["field"] == "weights" and "现为90%" in weights.json()["message"]
    outside = county.post(
        "/api/v1/task-lists/books/import",
        files={"file": ("任务书.xlsx", sheet([{**GOOD[0], "lead": "不存在的学校"}]))},
        data={"year": "2027"},
    )
    assert outside.status_code == 422
    assert outside.json()["errors"][0]["column"] == "牵头单位"
    assert school.get(f"/api/v1/task-lists/items/{task['id']}").json()["progress"] == 20
    board_json = live.client("leader").get("/api/v1/task-lists/board").json()
    assert sum(board_json["totals"].values()) == 3 and board_json["totals"]["red"] == 1
    assert board_json["tasks"][0]["status"] == "red"  # overdue first


def test_the_leaders_board_in_a_browser_at_desk_and_phone_width(live: Live, tmp_path: Path) -> None:
    found = _demo_book(live)
    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)
        escaped = offline(page, live.url)
        errors = console_errors(page)
        sign_in(page, live.url, "leader", lands=r"/tasks/board$")
        expect(page.locator("h1")).to_contain_text("督办看板")
        expect(page.locator("#board-totals")).to_contain_text("逾期 1")
        expect(page.locator("#chart-status svg")).to_be_visible()
        expect(page.locator("#chart-completions svg")).to_be_visible()
        page.screenshot(path=str(tmp_path / "board-desktop.png"), full_page=True)
        shot(page, "task-board-desktop")
        with page.expect_download() as download:
            page.locator("#board-export").click()
        saved = tmp_path / "board.xlsx"
        download.value.save_as(saved)
        exported = read_table(saved.read_bytes(), "board.xlsx")
        assert len(exported.rows) == 3 and "状态" in exported.columns
        # province → city → county → school → the task and its timeline
        for _ in range(3):
            page.locator("#board-units a.drill").first.click()
            expect(page.locator("#board-trail")).to_be_visible()
        expect(page.locator("h1")).to_contain_text(found["school_name"])
        page.locator("#board-tasks a", has_text="教师培训学时登记").click()
        expect(page).to_have_url(re.compile(r"/tasks/\d+$"))
        expect(page.locator("#timeline")).to_contain_text("报告进展")
        expect(page.locator("#timeline")).to_contain_text("进度0%→20%")
        phone = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
        phone.add_cookies(page.context.cookies())  # type: ignore[arg-type]
        small = phone.new_page()
        phone_errors: list[str] = []  # what failed to load (a browser's own favicon aside)
        small.on(
            "response",
            lambda r: (
                phone_errors.append(r.url)
                if r.status >= 400 and not r.url.endswith("/favicon.ico")
                else None
            ),
        )
        small.goto(f"{live.url}/tasks/board")
        expect(small.locator("#chart-status svg")).to_be_visible()
        width = small.evaluate("document.documentElement.scrollWidth")
        small.screenshot(path=str(tmp_path / "board-phone.png"), full_page=True)
        shot(small, "task-board-phone")
        phone.close()
    assert width <= 390, f"the board scrolls sideways at phone width ({width}px)"
    assert escaped == [] and errors == [] and phone_errors == []


def test_the_command_line_refuses_a_bad_book_with_a_non_zero_exit(
    db_url: str, eng: CaseEngine, w: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from api.cli import main

    monkeypatch.setenv("RENSHI_DATABASE_URL", db_url)
    county = f"#{w.actors['county_officer'].person_id}"
    bad, good = tmp_path / "bad.xlsx", tmp_path / "good.xlsx"
    bad.write_bytes(sheet([{**GOOD[0], "lead": ""}, GOOD[1]]))
    good.write_bytes(sheet(GOOD))
    runner = CliRunner()
    at = ["--at", "2026-09-01T09:00:00+08:00"]
    refused = runner.invoke(
        main, [*at, "tasks", "import", str(bad), "--as", county, "--year", "2026"]
    )
    assert refused.exit_code == 1
    assert "第2行【牵头单位】：牵头单位不能为空" in refused.output
    assert "未导入任何任务" in refused.output and count(eng, WorkTask) == 0
    done = runner.invoke(
        main, [*at, "tasks", "import", str(good), "--as", county, "--year", "2026"]
    )
    assert done.exit_code == 0 and "3项任务" in done.output, done.output
    swept = runner.invoke(main, [*at, "tasks", "sweep"])
    assert swept.exit_code == 0 and "没有需要处理的事项" in swept.output, swept.output


def _signed(live: Live, username: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=live.url, follow_redirects=False, timeout=30)
    assert c.post("/login", data={"username": username, "password": PASSWORD}).status_code == 303
    found = re.search(r'name="csrf" value="([^"]+)"', c.get("/tasks").text)
    assert found is not None
    return c, found[1]


def test_the_pages_of_a_book_a_task_and_a_round_refuse_by_name(live: Live) -> None:
    """Each page a bureau officer works on, drawn and posted to: what is refused is said
    beside its field, with 4xx, and nothing is written."""
    found = _demo_book(live)
    county, csrf = _signed(live, "county_officer")
    index = county.get("/tasks")
    assert index.status_code == 200 and "全县教师师德承诺书签订" not in index.text  # the schools'
    with live.services.db.connect() as conn:
        book_id = conn.execute(select(TaskBook.id)).scalar_one()
    book = county.get(f"/tasks/books/{book_id}")
    assert book.status_code == 200 and "教师培训学时登记" in book.text
    assert "添加任务" not in book.text  # approved: no longer edited
    new = county.post("/tasks/books/new", data={"csrf": csrf, "new_year": "2027"})
    assert new.status_code == 303
    draft = new.headers["location"]
    page = county.get(draft).text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version is not None
    late = county.post(
        f"{draft}/tasks",
        data={"csrf": csrf, "version": version[1], "title": "年度考核", "source": "meeting",
              "lead": found["school_name"], "deadline": "2027-03-01",
              "milestones": "2027-05-01 完成"},
    )  # fmt: skip
    assert late.status_code == 422 and "早于时间节点" in late.text
    assert 'id="task-deadline-error"' in late.text
    outside = county.post(
        f"{draft}/tasks",
        data={"csrf": csrf, "version": version[1], "title": "年度考核", "source": "meeting",
              "lead": "示范省", "deadline": "2027-06-01"},
    )  # fmt: skip
    assert outside.status_code == 422 and "管辖范围" in outside.text
    added = county.post(
        f"{draft}/tasks",
        data={"csrf": csrf, "version": version[1], "title": "年度考核", "source": "meeting",
              "lead": found["school_name"], "deadline": "2027-06-01",
              "milestones": "2027-03-01 方案\n2027-05-01 完成"},
    )  # fmt: skip
    assert added.status_code == 303
    assert "2027-03-01 方案" in county.get(draft).text

    school, school_csrf = _signed(live, "school_officer")
    training = found["ids"]["教师培训学时登记"]
    task = school.get(f"/tasks/{training}")
    assert task.status_code == 200 and "报告进展" in task.text
    form_version = re.search(r'name="version" value="(\d+)"', task.text)
    assert form_version is not None
    backwards = school.post(
        f"/tasks/{training}/act",
        data={"csrf": school_csrf, "event": "report_progress", "version": form_version[1],
              "percent": "5", "text": "重算"},
        files={"file": ("证明.pdf", b"%PDF-1.4 evidence", "application/pdf")},
    )  # fmt: skip
    assert backwards.status_code == 422 and "调低理由" in backwards.text
    assert 'id="report-reason-error"' in backwards.text
    with live.services.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Attachment)).scalar() == 0
    reported = school.post(
        f"/tasks/{training}/act",
        data={"csrf": school_csrf, "event": "report_progress", "version": form_version[1],
              "percent": "40", "text": "过半"},
        files={"file": ("证明.pdf", b"%PDF-1.4 evidence", "application/pdf")},
    )  # fmt: skip
    assert reported.status_code == 303
    assert "证明.pdf" in school.get(f"/tasks/{training}").text
    assert school.get("/tasks/by-case/999999").status_code == 404

    weights = county.post(
        "/tasks/scoring/new",
        data={"csrf": csrf, "round_year": "2026", "closes_on": "2026-12-25", "w_self": "30",
              "w_superior": "40", "w_peers": "20", "w_served": "0"},
    )  # fmt: skip
    assert weights.status_code == 422 and "现为90%" in weights.text
    opened = county.post(
        "/tasks/scoring/new",
        data={"csrf": csrf, "round_year": "2026", "closes_on": "2026-12-25", "w_self": "30",
              "w_superior": "50", "w_peers": "20", "w_served": "0"},
    )  # fmt: skip
    assert opened.status_code == 303
    assert "评分进度" in county.get(opened.headers["location"]).text
    with live.services.db.connect() as conn:
        sheet_id = (
            conn.execute(select(scoring.sheets_t.c.id).where(scoring.sheets_t.c.party == "self"))
            .scalars()
            .first()
        )
    sheet = school.get(f"/tasks/scoring/sheets/{sheet_id}")
    assert sheet.status_code == 200 and "提交评分" in sheet.text
    boxes = re.findall(r'name="(score_\d+)"', sheet.text)
    version_field = re.search(r'name="version" value="(\d+)"', sheet.text)
    assert boxes and version_field is not None
    over = school.post(
        f"/tasks/scoring/sheets/{sheet_id}",
        data={"csrf": school_csrf, "version": version_field[1], **dict.fromkeys(boxes, "101")},
    )
    assert over.status_code == 422 and "0至100分之间" in over.text
    peek = county.get(f"/tasks/scoring/sheets/{sheet_id}")  # the county above: no scores
    assert peek.status_code == 200 and "评分结束前不显示分数" in peek.text
