"""Task books' own tables: the book, its tasks (each issued task the row beside its case),
their milestones, progress reports and extensions; the year-end scoring rounds, each
scorer's sheet, the scores and the published results. They join the one schema through the
shared declarative base; migration 0023 creates them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from states.store.models import Base, BigId, UTCDateTime


class TaskBook(Base):
    """A unit's task book for one year (任务书). Its tasks are edited while it is drafted;
    ``version`` moves with every edit (a second officer's stale form is refused)."""

    __tablename__ = "task_books"
    __table_args__ = (UniqueConstraint("unit_id", "year", name="uq_task_books_unit_year"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # the spreadsheet it was last imported from (name and SHA-256), if any
    source_file: Mapped[str | None] = mapped_column(String(255))
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class WorkTask(Base):
    """One task of a book, or a part of a task split to a unit below. Issued, it has its
    case (``case_id``) at its lead unit; the board reads this row, not the case.

    ``lead_path`` and ``unit1_id``…``unit3_id`` (the lead unit's ancestors at depth 1–3 of
    the org tree, or itself) let a board count a province's tasks by city, a city's by
    county, a county's by school, in one grouped scan. ``next_due`` is the earliest
    milestone not reached; ``last_report_on`` the day of the last report (or of issue),
    from which stagnation is counted; ``stagnant_since`` is set by the sweep. ``standing`` is
    the board's status (``board.standing``: 0 overdue, 1 stagnant, 2 at risk, 3 on track,
    4 done) as worked out on the day ``task_standing_days`` records, or since by the step
    that changed the task; None for a task not issued."""

    __tablename__ = "work_tasks"
    __table_args__ = (
        # A board reads its counts and months from this index alone, and a province's list
        # (overdue first) straight off the second in order.
        Index(
            "ix_work_tasks_board", "lead_path", "year", "standing", "unit1_id", "unit2_id",
            "unit3_id", "lead_unit_id", "source", "deadline", "closed_on",
        ),
        Index("ix_work_tasks_standing", "year", "standing", "deadline"),
        # the sweep's: open tasks by deadline (not yet escalated), and by their last report
        Index("ix_work_tasks_open_deadline", "closed_on", "escalated_at", "deadline"),
        Index("ix_work_tasks_open_report", "closed_on", "stagnant_since", "last_report_on"),
    )  # fmt: skip
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("task_books.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("work_tasks.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    lead_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    issuer_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    co_units: Mapped[list[int] | None] = mapped_column(JSON)
    deadline: Mapped[dt.date] = mapped_column(Date)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    issued_on: Mapped[dt.date | None] = mapped_column(Date)
    last_report_on: Mapped[dt.date | None] = mapped_column(Date)
    stagnant_since: Mapped[dt.date | None] = mapped_column(Date)
    next_due: Mapped[dt.date | None] = mapped_column(Date)
    remind_level: Mapped[int] = mapped_column(Integer, default=0)  # 1 soon, 2 on the day
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    lead_path: Mapped[str] = mapped_column(String(255))
    unit1_id: Mapped[int | None] = mapped_column(BigInteger)
    unit2_id: Mapped[int | None] = mapped_column(BigInteger)
    unit3_id: Mapped[int | None] = mapped_column(BigInteger)
    standing: Mapped[int | None] = mapped_column(Integer)


class TaskStandingDay(Base):
    """The day every issued task's ``standing`` was last worked out (by the sweep): while
    it is today the boards read the column; otherwise they work the status out as they
    read (the morning before the sweep has run)."""

    __tablename__ = "task_standing_days"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    computed_on: Mapped[dt.date] = mapped_column(Date)


class TaskMilestone(Base):
    """A dated milestone of a task (时间节点); reached when a report says so."""

    __tablename__ = "task_milestones"
    __table_args__ = (
        UniqueConstraint("task_id", "seq", name="uq_task_milestones_seq"),
        # the sweep's: milestones not reached (nor escalated) by due date
        Index("ix_task_milestones_open", "done_on", "escalated_at", "due_on"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("work_tasks.id"))
    seq: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(100))
    due_on: Mapped[dt.date] = mapped_column(Date)
    done_on: Mapped[dt.date | None] = mapped_column(Date)
    remind_level: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class TaskReport(Base):
    """A progress report (进展报告): the percentage, what was done, evidence files on the
    task's record, the milestone reached, and why the figure went down if it did."""

    __tablename__ = "task_reports"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("work_tasks.id"), index=True)
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(16))  # progress | completion
    percent: Mapped[int] = mapped_column(Integer)
    previous: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[list[int] | None] = mapped_column(JSON)
    milestone_seq: Mapped[int | None] = mapped_column(Integer)


class TaskExtension(Base):
    """An extension asked for and how the issuing unit decided it: never a silent change
    of the deadline."""

    __tablename__ = "task_extensions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("work_tasks.id"), index=True)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    old_deadline: Mapped[dt.date] = mapped_column(Date)
    new_deadline: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    approved: Mapped[bool | None] = mapped_column(Boolean)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decision_note: Mapped[str | None] = mapped_column(Text)


class ScoreRound(Base):
    """The year-end scoring (年终考核) of the tasks a unit issued: the four parties'
    weights (whole percent, summing to 100), the served parties it named, the last day."""

    __tablename__ = "score_rounds"
    __table_args__ = (UniqueConstraint("unit_id", "year", name="uq_score_rounds_unit_year"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    weights: Mapped[dict[str, Any]] = mapped_column(JSON)
    served_units: Mapped[list[int] | None] = mapped_column(JSON)
    closes_on: Mapped[dt.date] = mapped_column(Date)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ScoreSheet(Base):
    """One scorer's sheet in a round: a unit scoring as one of the four parties."""

    __tablename__ = "score_sheets"
    __table_args__ = (
        UniqueConstraint("round_id", "scorer_unit_id", "party", name="uq_score_sheets_scorer"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("score_rounds.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    scorer_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    party: Mapped[str] = mapped_column(String(16))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class TaskScore(Base):
    """A score a sheet gave a task: sealed until the round closes."""

    __tablename__ = "task_scores"
    __table_args__ = (UniqueConstraint("sheet_id", "task_id", name="uq_task_scores_task"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("score_sheets.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("work_tasks.id"))
    score: Mapped[float] = mapped_column(Float)


class ScoreResult(Base):
    """A unit's total and rank in a closed round, with why it shares its rank if it does."""

    __tablename__ = "score_results"
    __table_args__ = (UniqueConstraint("round_id", "unit_id", name="uq_score_results_unit"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("score_rounds.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    total: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer)
    tasks: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(500))


TABLES = (
    TaskBook,
    WorkTask,
    TaskStandingDay,
    TaskMilestone,
    TaskReport,
    TaskExtension,
    ScoreRound,
    ScoreSheet,
    TaskScore,
    ScoreResult,
)
