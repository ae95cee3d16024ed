"""A throwaway process, written only here: a teacher's leave request (请假).

It exists to prove the package interface: a process is a machine, a spec, a rule with its
own fact and loader, an effect, and a web twin, registered by handing the package to the
engine and the app — with no line of ``states/`` or ``api/`` written for it.

    draft → school approval (3 working days) → county approval (5) → publicity (3, the
    system closes it) → granted; either approval may send it back (退回补正) or refuse it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select
from statemachine import State, StateMachine

from api.processes import Row, WebPackage
from states.engine.context import CaseContext
from states.process.forms import REASON, Field, Form
from states.process.package import Parts, ProcessPackage, ScheduledCheck
from states.process.rules import Facts, Verdict
from states.process.spec import (
    PUBLIC_WINDOW,
    TERMINAL_NEGATIVE,
    By,
    Command,
    EffectContext,
    EventSpec,
    ProcessSpec,
    RuleUse,
    SetData,
    StateSpec,
)
from states.store.models import Case, table_of

NAME = "leave_request"
YEARLY_DAYS = 15


class LeaveMachine(StateMachine):
    draft = State("草稿", initial=True)
    school_review = State("学校审批")
    county_review = State("县局审批")
    posted = State("请假公示")
    returned = State("退回补正")
    granted = State("已准假", final=True)
    refused = State("未准假", final=True)

    file = draft.to(school_review)
    school_ok = school_review.to(county_review)
    county_ok = county_review.to(posted)
    end_posting = posted.to(granted)
    send_back = school_review.to(returned) | county_review.to(returned)
    refile = returned.to(school_review)
    refuse = school_review.to(refused) | county_review.to(refused)


@dataclass(frozen=True)
class LeaveTaken:
    """Days of leave the teacher was granted this year: the process's own fact."""

    days: int


@dataclass(frozen=True)
class WithinAllowance:
    code: str = "leave_allowance"
    label: str = "年度假期额度"
    needs: frozenset[type] = frozenset({LeaveTaken})

    def check(self, facts: Facts) -> Verdict:
        taken = facts.get(LeaveTaken).days
        asked = int(facts.data["days"])
        if taken + asked > YEARLY_DAYS:
            return Verdict.failed(
                f"超出年度假期额度：每年{YEARLY_DAYS}天，已准假{taken}天，本次申请{asked}天"
            )
        return Verdict.passed()


cases_t = table_of(Case)


def leave_taken(conn: Connection, ctx: CaseContext) -> LeaveTaken:
    rows = conn.execute(
        select(cases_t.c.data).where(
            cases_t.c.process == NAME,
            cases_t.c.subject_id == ctx.case.subject_id,
            cases_t.c.year == ctx.case.year,
            cases_t.c.state == "granted",
        )
    ).scalars()
    return LeaveTaken(sum(int(d["days"]) for d in rows))


def effects(ctx: EffectContext) -> Sequence[Command]:
    if ctx.event == "send_back":
        return (SetData({"return_reason": ctx.payload["reason"]}),)
    if ctx.event == "county_ok":
        return (SetData({"approved_on": ctx.facts.today.isoformat()}),)
    return ()


SCHOOL, COUNTY = By(officer="school"), By(officer="county")
SPEC = ProcessSpec(
    name=NAME,
    label="教师请假",
    machine=LeaveMachine,
    states={
        "draft": StateSpec("draft", By(applicant=True), escalation="none"),
        "school_review": StateSpec("school_review", SCHOOL, 3),
        "county_review": StateSpec("county_review", COUNTY, 5),
        "posted": StateSpec(
            "posted",
            By(system=True),
            3,
            (),
            "none",
            frozenset({PUBLIC_WINDOW}),
            on_expiry="end_posting",
        ),
        "returned": StateSpec("returned", By(applicant=True), 5, escalation="none"),
        "granted": StateSpec("granted"),
        "refused": StateSpec("refused", tags=frozenset({TERMINAL_NEGATIVE})),
    },
    events={
        e.name: e
        for e in (
            EventSpec(
                "file",
                "提交请假",
                By(applicant=True),
                (RuleUse(WithinAllowance()),),
                decision=False,
            ),
            EventSpec("school_ok", "学校同意"),
            EventSpec("county_ok", "县局同意", rules=(RuleUse(WithinAllowance()),)),
            EventSpec("end_posting", "公示期满", By(system=True)),
            EventSpec(
                "send_back",
                "退回补正",
                form=Form((REASON,)),
                overrides_signers=True,
                style="secondary",
            ),
            EventSpec("refile", "补正后重新提交", By(applicant=True), decision=False),
            EventSpec(
                "refuse", "不予准假", form=Form((REASON,)), overrides_signers=True, style="danger"
            ),
        )
    },
    start_form=Form(
        (
            Field("days", "请假天数", "int", min_value=1, max_value=30),
            Field("starts_on", "开始日期", "date"),
            Field("why", "请假事由", max_length=500),
        )
    ),
    effects=effects,
    main_path=("draft", "school_review", "county_review", "posted", "granted"),
)


def publicity_line(row: Row) -> str:
    data: Mapping[str, Any] = row["data"] or {}
    return f"请假{data.get('days')}天，自{data.get('starts_on')}起"


WEB = WebPackage(publicity={NAME: publicity_line})


def long_absences(engine: Any) -> Mapping[str, int]:
    """A scheduled check of the process's own: leave granted for more than two days."""
    with engine.db.connect() as conn:
        granted = conn.execute(
            select(cases_t.c.data).where(cases_t.c.process == NAME, cases_t.c.state == "granted")
        ).scalars()
        return {"long": sum(1 for d in granted if int(d["days"]) > 2)}


PACKAGE = ProcessPackage(
    name="leave",
    label="教师请假",
    specs=(SPEC,),
    parts=Parts(fact_loaders={LeaveTaken: leave_taken}),
    checks=(ScheduledCheck("long_leave", long_absences),),
    web="tests.leave_process",
)

FORM = {"days": 3, "starts_on": dt.date(2026, 9, 14).isoformat(), "why": "家中有事"}
