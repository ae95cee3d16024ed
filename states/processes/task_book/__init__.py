"""Task lists and target responsibility (任务清单、目标责任制) as one package: a unit's task
book (imported, edited, approved by the unit above, its tasks issued as cases of their own),
each task's road from 交办 to 办结 with progress reports, evidence, extensions and a split to
the units below; the sweep's reminders, escalation and stagnation; the leaders' board; and
the year-end scoring by four parties. Described for bureau staff in
``docs/processes/task_book.md``."""

from __future__ import annotations

from states.org import (
    CITY_OFFICER,
    COUNTY_OFFICER,
    INSPECTOR,
    LEADER,
    PROVINCE_OFFICER,
    SCHOOL_OFFICER,
    SYSTEM,
)
from states.process.package import NavEntry, Parts, ProcessPackage, ScheduledCheck
from states.processes.task_book import checks, scoring
from states.processes.task_book.cli import tasks_cli
from states.processes.task_book.compliance import OVERDUE
from states.processes.task_book.effects import HANDLERS
from states.processes.task_book.facts import book_facts, sheet_facts, task_facts
from states.processes.task_book.notice_kinds import NOTICES
from states.processes.task_book.rules import BookFacts, SheetFacts, TaskFacts
from states.processes.task_book.spec import (
    SPECS,
    CloseRound,
    PublishRound,
    RecordScores,
)
from states.processes.task_book.tables import TABLES

OFFICERS = frozenset({SCHOOL_OFFICER, COUNTY_OFFICER, CITY_OFFICER, PROVINCE_OFFICER, SYSTEM})

PACKAGE = ProcessPackage(
    name="task_book",
    label="任务清单",
    specs=SPECS,
    parts=Parts(
        fact_loaders={BookFacts: book_facts, TaskFacts: task_facts, SheetFacts: sheet_facts},
        effect_handlers={
            **HANDLERS,
            RecordScores: scoring.record_scores,
            CloseRound: scoring.close_round,
            PublishRound: scoring.publish_round,
        },
    ),
    checks=(ScheduledCheck("task_book", checks.sweep),),
    tables=TABLES,
    web="api.processes.task_book",
    nav=(
        # the leaders' and inspectors' home page
        NavEntry(
            "督办看板",
            "/tasks/board",
            OFFICERS | {LEADER, INSPECTOR},
            home=frozenset({LEADER, INSPECTOR}),
        ),
        NavEntry("任务清单", "/tasks", OFFICERS),
    ),
    cli=(tasks_cli,),
    compliance=(OVERDUE,),
    notices=NOTICES,
)

__all__ = ["PACKAGE"]
