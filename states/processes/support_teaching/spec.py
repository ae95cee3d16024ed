"""Support teaching declared: a receiving school's need, a candidate against it and the
selected teacher's term; who acts at each step, deadlines and tags, each event's rules and
form, what each event changes besides the state, and who reads which part of the cases.

``approver`` is the unit that approves needs and selects teachers: the county, or for a
paired region's need the pairing city (``paired`` in the case's data)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from states.blocks.publicity import ObjectionSteps, window_closing
from states.blocks.publicity.visibility import VISIBILITY as PUBLICITY_VISIBILITY
from states.identity import mask_id_number
from states.process.forms import REASON, Field, Form
from states.process.spec import (
    PUBLIC_WINDOW,
    TERMINAL_NEGATIVE,
    ApplicantTold,
    By,
    Command,
    EffectContext,
    EventSpec,
    ProcessSpec,
    RuleUse,
    SetData,
    StateSpec,
)
from states.process.visibility import STAFF, Audience, Shown, Visibility
from states.processes.support_teaching.machine import (
    APPLICATION,
    NEED,
    TERM,
    ApplicationMachine,
    NeedMachine,
    TermMachine,
)
from states.processes.support_teaching.rules import (
    LEVELS,
    TERMINATION_KINDS,
    CheckinMonth,
    CorrectableCheckin,
    DayBetween,
    NeedOpen,
    NoOverlap,
    NotStarted,
    PlacesLeft,
    ReceivingSchool,
    TeacherInArea,
    TermDates,
)

SCHOOL, APPROVER, SYSTEM = By(officer="school"), By(officer="approver"), By(system=True)
APPLICANT = By(applicant=True)

# Notice kinds (notices/<kind>.txt.j2, declared in notice_kinds.py); each carries support_school,
# support_detail and support_date in its payload.
NEED_APPROVED_NOTICE = "support_need_approved"
NEED_REJECTED_NOTICE = "support_need_rejected"
SELECTED_NOTICE = "support_selected"
DISPATCHED_NOTICE = "support_dispatched"
CHECKIN_DUE_NOTICE = "support_checkin_due"
TERM_ENDING_NOTICE = "support_term_ending"
ASSESSED_NOTICE = "support_assessed"
TERMINATED_NOTICE = "support_terminated"
REVOKED_NOTICE = "support_revoked"

ASSESSMENT_CHOICES = {
    "excellent": "优秀",
    "competent": "称职",
    "basic": "基本称职",
    "incompetent": "不称职",
}


def approver_tier(
    alias: str, data: Mapping[str, Any], school: Mapping[str, Any], policy: Mapping[str, Any]
) -> str:
    """A paired region's need is the pairing city's to approve and staff; any other the
    county's."""
    if alias == "approver":
        return "city" if data.get("paired") else "county"
    return alias


# --- commands: what the package's handlers carry out (needs.py, applications.py, terms.py,
# checkins.py)
@dataclass(frozen=True)
class NeedNotice(Command):
    """The need's school told of the decision on its need."""

    kind: str


@dataclass(frozen=True)
class NotExempt(Command):
    """The teacher has no approved exemption (any case whose state carries ``EXEMPT``) for
    the term's years; read through the engine's catalogue, so no other process is named."""


@dataclass(frozen=True)
class TakePlace(Command):
    """One of the need's places taken by one guarded UPDATE: none left, refused."""


@dataclass(frozen=True)
class OpenTerm(Command):
    """The selected teacher's term opened at the receiving school, straight into publicity
    for the policy's working days; the teacher told."""


@dataclass(frozen=True)
class ReleasePlace(Command):
    """A withdrawn selection gives the need its place back (one guarded UPDATE); a need
    that was full is open again."""


@dataclass(frozen=True)
class ConfirmSelection(Command):
    """The term's publicity is over: its application's selection stands (已选派)."""


@dataclass(frozen=True)
class RevokeSelection(Command):
    """An objection to the term was upheld: its application's selection is withdrawn
    (撤销选派), for ``reason``, which gives the need its place back; the teacher and the
    sending school's officers are told (``support_revoked``), once each."""

    reason: str


@dataclass(frozen=True)
class CorrectCheckin(Command):
    """A filed month's values replaced by the ones given, the old ones kept beside them
    (on the audit row and in ``support_checkin_corrections``)."""


@dataclass(frozen=True)
class RecordDispatch(Command):
    """The day dispatched on the term's row; the teacher and the receiving school told."""


@dataclass(frozen=True)
class RecordCheckin(Command):
    """The month's check-in filed and its task done."""


@dataclass(frozen=True)
class EndTerm(Command):
    """The day the term ended on its row (early or at its end); months still open are
    missed (their tasks the engine closes as the term leaves the site)."""

    early: bool


@dataclass(frozen=True)
class ReopenCheckins(Command):
    """A refused early termination puts the term back on site: the months whose tasks closed
    with the request are handed to the receiving school again (by the next check-in sweep)."""


@dataclass(frozen=True)
class CreditTerm(Command):
    """The assessment on the term's row, and the time served credited to the teacher's
    service ledger when it is competent or better."""


@dataclass(frozen=True)
class TermNotice(Command):
    """A notice of ``kind`` to the teacher, and to the approver's officers when ``approver``."""

    kind: str
    approver: bool = False


# --- a need -----------------------------------------------------------------------------------
NEED_FORM = Form(
    (
        Field("subject", "学科", max_length=32),
        Field("level", "学段", "choice", choices=LEVELS),
        Field("places", "需求人数", "int", min_value=1, max_value=50),
        Field("starts_on", "支教开始日期", "date"),
        Field("ends_on", "支教结束日期", "date", help="至少1个月，最长3年"),
        Field("note", "需求说明", required=False, max_length=1000),
    )
)
NEED_STATES: Mapping[str, StateSpec] = {
    "draft": StateSpec("draft"),
    "review": StateSpec("review", APPROVER, 10),
    # open for candidates until the approver closes it; the candidates carry the work
    "approved": StateSpec("approved"),
    # every place taken (by the selection that took the last); a place given back reopens it
    "filled_up": StateSpec("filled_up"),
    "finished": StateSpec("finished"),
    "rejected": StateSpec("rejected", tags=frozenset({TERMINAL_NEGATIVE})),
    "withdrawn": StateSpec("withdrawn", tags=frozenset({TERMINAL_NEGATIVE})),
}
NEED_EVENTS: Mapping[str, EventSpec] = {
    e.name: e
    for e in (
        EventSpec(
            "submit", "提交需求", SCHOOL, (RuleUse(ReceivingSchool()), RuleUse(TermDates())),
            decision=False,
        ),
        EventSpec("approve", "批准需求", rules=(RuleUse(NotStarted()),)),
        EventSpec(
            "reject", "不予批准", form=Form((REASON,)), overrides_signers=True, style="danger"
        ),
        EventSpec(
            "withdraw", "撤回需求", SCHOOL,
            form=Form((Field("reason", "撤回原因", required=False, max_length=500),)),
            decision=False, style="danger",
        ),
        EventSpec("fill_up", "名额已满", SYSTEM, decision=False),
        EventSpec("reopen_places", "名额退回，恢复受理", SYSTEM, decision=False),
        # the approver closes it any time; the daily check closes it once its term has begun
        EventSpec(
            "close_need", "结束受理", By(officer="approver", system=True),
            form=Form((Field("reason", "结束原因", required=False, max_length=500),)),
            style="secondary",
        ),
    )
}  # fmt: skip


def _need_effects(ctx: EffectContext) -> Sequence[Command]:
    if ctx.event == "approve":
        return (NeedNotice(NEED_APPROVED_NOTICE),)
    if ctx.event == "reject":
        return (NeedNotice(NEED_REJECTED_NOTICE),)
    return ()


NEED_SPEC = ProcessSpec(
    name=NEED,
    label="支教需求",
    machine=NeedMachine,
    states=NEED_STATES,
    events=NEED_EVENTS,
    start_form=NEED_FORM,
    resolve_tier=approver_tier,
    effects=_need_effects,
    main_path=("draft", "review", "approved", "filled_up", "finished"),
    # declared by the receiving school through the support-teaching pages and API (needs.py)
    opened_by="county",
    once_per_year=False,
    visibility=Visibility(
        open=frozenset(
            {
                "need_id", "school", "school_id", "county", "county_id", "city_id", "paired",
                "region", "level_label", "year",
            }
        )
    ),
)  # fmt: skip


# --- a candidate ------------------------------------------------------------------------------
CANDIDATE_RULES = (RuleUse(NeedOpen()), RuleUse(TeacherInArea()), RuleUse(NoOverlap()))
APPLICATION_STATES: Mapping[str, StateSpec] = {
    "draft": StateSpec("draft"),
    "school_review": StateSpec("school_review", SCHOOL, 5),
    "selection": StateSpec("selection", APPROVER, 10),
    # the term is in publicity; the term's own steps settle the selection either way
    "selected": StateSpec("selected"),
    "confirmed": StateSpec("confirmed"),
    "revoked": StateSpec("revoked", tags=frozenset({TERMINAL_NEGATIVE})),
    "not_selected": StateSpec("not_selected", tags=frozenset({TERMINAL_NEGATIVE})),
    "declined": StateSpec("declined", tags=frozenset({TERMINAL_NEGATIVE})),
    "withdrawn": StateSpec("withdrawn", tags=frozenset({TERMINAL_NEGATIVE})),
}
APPLICATION_EVENTS: Mapping[str, EventSpec] = {
    e.name: e
    for e in (
        EventSpec("submit", "报名支教", APPLICANT, CANDIDATE_RULES, decision=False),
        EventSpec("nominate", "学校推荐", SCHOOL, CANDIDATE_RULES, decision=False),
        EventSpec("confirm", "学校同意", rules=CANDIDATE_RULES),
        EventSpec(
            "decline", "学校不同意", form=Form((REASON,)), overrides_signers=True, style="danger"
        ),
        EventSpec(
            "select_teacher", "选派", rules=(*CANDIDATE_RULES, RuleUse(PlacesLeft()))
        ),
        EventSpec(
            "not_select", "不予选派", form=Form((REASON,)), overrides_signers=True,
            style="danger",
        ),
        EventSpec("confirm_selection", "公示期满，选派生效", SYSTEM, decision=False),
        EventSpec(
            "revoke_selection", "撤销选派（异议成立）", SYSTEM, form=Form((REASON,)),
            decision=False, style="danger",
        ),
        EventSpec(
            "withdraw", "撤回报名", APPLICANT,
            form=Form((Field("reason", "撤回原因", required=False, max_length=500),)),
            decision=False, style="danger",
        ),
    )
}  # fmt: skip


def _application_effects(ctx: EffectContext) -> Sequence[Command]:
    if ctx.event in ("submit", "nominate", "confirm"):
        return (NotExempt(),)
    if ctx.event == "select_teacher":
        return (NotExempt(), TakePlace(), OpenTerm())
    if ctx.event == "revoke_selection":  # fired by the term, which sends support_revoked
        return (ReleasePlace(), ApplicantTold())
    return ()


APPLICATION_SPEC = ProcessSpec(
    name=APPLICATION,
    label="支教报名",
    machine=ApplicationMachine,
    states=APPLICATION_STATES,
    events=APPLICATION_EVENTS,
    resolve_tier=approver_tier,
    effects=_application_effects,
    main_path=("draft", "school_review", "selection", "selected", "confirmed"),
    # a teacher volunteers, or the school nominates, through applications.py
    opened_by="county",
    once_per_year=False,
    visibility=Visibility(
        open=frozenset(
            {
                # the need it is against, as the inbox and the board show it
                "need_id", "need", "school", "receiving_school_id", "subject", "level",
                "level_label", "starts_on", "ends_on", "paired",
                # who is put forward, from where, by whom, with what
                "teacher", "sending_school", "sending_school_id", "statement", "nominated",
                # the term a selection opened
                "term_id",
            }
        )
    ),
)  # fmt: skip


# --- a term -----------------------------------------------------------------------------------
DISPATCH = Form(
    (
        Field("on", "派出日期", "date", help="到接收学校报到的日期，不能晚于今天"),
        Field("doc_number", "文号", required=False, max_length=60, help="选派支教的发文文号"),
    )
)
CHECKIN = Form(
    (
        Field("month", "月份", max_length=7, pattern=r"\d{4}-\d{2}", help="如 2027-09"),
        Field("attendance_days", "出勤天数", "int", min_value=0, max_value=31),
        Field("teaching_hours", "授课课时", "int", min_value=0, max_value=200),
        Field("assessment", "表现评价", max_length=500),
    )
)
# A filed month corrected: the month, what changes (at least one of the three), and why.
CORRECTION = Form(
    (
        Field("month", "月份", max_length=7, pattern=r"\d{4}-\d{2}", help="如 2027-09"),
        Field("attendance_days", "出勤天数", "int", required=False, min_value=0, max_value=31),
        Field("teaching_hours", "授课课时", "int", required=False, min_value=0, max_value=200),
        Field("assessment", "表现评价", required=False, max_length=500),
        Field("reason", "更正原因", max_length=500, help="如“出勤天数误填，应为20天”"),
    )
)
TERMINATION = Form(
    (
        Field("kind", "终止原因类别", "choice", choices=TERMINATION_KINDS),
        Field("statement", "情况说明", max_length=2000),
    )
)
APPROVE_TERMINATION = Form(
    (Field("ended_on", "支教终止日期", "date", help="实际离岗日期，不能晚于今天"),)
)
ASSESS = Form(
    (
        Field("grade", "考核等次", "choice", choices=ASSESSMENT_CHOICES),
        Field("comments", "考核评语", max_length=1000),
    )
)

TERM_STATES: Mapping[str, StateSpec] = {
    # the policy sets the days (publicity_days); the state's own is the usual five
    "publicity": StateSpec(
        "publicity", SYSTEM, 5, (), "none", frozenset({PUBLIC_WINDOW}),
        on_expiry="close_publicity",
    ),
    "objection_review": StateSpec("objection_review", APPROVER, 10),
    "removed": StateSpec("removed", tags=frozenset({TERMINAL_NEGATIVE})),
    "to_dispatch": StateSpec("to_dispatch", APPROVER, 10),
    # a term is long: no task of its own. The monthly check-in tasks the sweep opens are
    # this state's, and a missing one goes up to the unit above the school (督办).
    "on_site": StateSpec("on_site"),
    "termination_review": StateSpec("termination_review", APPROVER, 10),
    "assessing": StateSpec("assessing", SCHOOL, 10),
    "returned": StateSpec("returned"),
}  # fmt: skip

OBJECTION_STEPS = ObjectionSteps(
    "raise_objection", "dismiss_objection", "uphold_objection", upheld_label="异议成立，取消选派"
)
TERM_EVENTS: Mapping[str, EventSpec] = {
    e.name: e
    for e in (
        window_closing("close_publicity"),
        *OBJECTION_STEPS.events(),
        EventSpec(
            "dispatch_teacher", "派出", rules=(RuleUse(DayBetween("on", "publicity_closed_on")),),
            form=DISPATCH,
        ),
        EventSpec(
            "check_in", "填报月度考勤", SCHOOL, (RuleUse(CheckinMonth()),), CHECKIN,
            decision=False,
        ),
        EventSpec(
            "correct_checkin", "更正月度考勤", SCHOOL, (RuleUse(CorrectableCheckin()),),
            CORRECTION, decision=False, style="secondary",
        ),
        EventSpec("remind_term_end", "支教期满提醒", SYSTEM, decision=False),
        EventSpec(
            "request_termination", "申请提前终止", SCHOOL, form=TERMINATION, decision=False,
            style="danger",
        ),
        EventSpec(
            "apply_termination", "本人申请提前终止", APPLICANT, form=TERMINATION,
            decision=False, style="danger",
        ),
        EventSpec(
            "approve_termination", "批准提前终止",
            rules=(RuleUse(DayBetween("ended_on", "dispatched_on", "ends_on")),),
            form=APPROVE_TERMINATION,
        ),
        EventSpec(
            "reject_termination", "不同意提前终止", form=Form((REASON,)), style="secondary"
        ),
        EventSpec("end_term", "支教期满", SYSTEM, decision=False),
        EventSpec("assess", "期满考核", form=ASSESS),
    )
}  # fmt: skip


def _term_effects(ctx: EffectContext) -> Sequence[Command]:
    steps = OBJECTION_STEPS.effects(ctx.event)
    if ctx.event == "uphold_objection":  # the block settles the objection, then the revocation
        # the teacher hears of both moves from the revocation's own notice (support_revoked)
        return (*steps, RevokeSelection(str(ctx.payload.get("reason", ""))), ApplicantTold())
    if steps:
        return steps
    today = ctx.facts.today.isoformat()
    data = ctx.facts.data
    if ctx.event == "close_publicity":
        return (SetData({"publicity_closed_on": today}), ConfirmSelection())
    if ctx.event == "dispatch_teacher":
        patch = {"dispatched_on": str(ctx.payload["on"])}
        if ctx.payload.get("doc_number"):
            patch["doc_number"] = str(ctx.payload["doc_number"])
        return (SetData(patch), RecordDispatch())
    if ctx.event == "check_in":
        return (RecordCheckin(),)
    if ctx.event == "correct_checkin":
        return (CorrectCheckin(),)
    if ctx.event == "remind_term_end":
        return (
            SetData({"reminded_for": data.get("ends_on")}),
            TermNotice(TERM_ENDING_NOTICE, approver=True),
        )
    if ctx.event in ("request_termination", "apply_termination"):
        asked = {
            "kind": ctx.payload["kind"],
            "kind_label": TERMINATION_KINDS[str(ctx.payload["kind"])],
            "statement": ctx.payload["statement"],
            "by": "teacher" if ctx.event == "apply_termination" else "school",
            "on": today,
        }
        return (SetData({"termination": asked}),)
    if ctx.event == "approve_termination":
        ended = {"ended_on": str(ctx.payload["ended_on"]), "ended_early": True}
        return (SetData(ended), EndTerm(early=True), TermNotice(TERMINATED_NOTICE))
    if ctx.event == "reject_termination":
        return (ReopenCheckins(),)
    if ctx.event == "end_term":
        ends = dt.date.fromisoformat(str(data["ends_on"]))
        return (SetData({"ended_on": ends.isoformat(), "ended_early": False}), EndTerm(early=False))
    if ctx.event == "assess":
        grade = str(ctx.payload["grade"])
        graded = {"grade": grade, "grade_label": ASSESSMENT_CHOICES[grade]}
        return (SetData(graded), CreditTerm(), TermNotice(ASSESSED_NOTICE))
    return ()


# The dispatch list as it is exported: the ID number in full for the teacher only, masked
# (region and last four) for everyone else, the officers included — a dispatch list is
# handed round; the rest of the line is for everyone who may read it.
DISPATCH_RECORD = Visibility(
    record={"id_number": Shown(frozenset({Audience.APPLICANT}), others=mask_id_number)},
    record_open=frozenset(
        {
            "name", "gender", "sending_school", "receiving_school", "subject", "level",
            "starts_on", "ends_on", "dispatched_on", "ended_on", "state", "grade",
        }
    ),
)  # fmt: skip

TERM_SPEC = ProcessSpec(
    name=TERM,
    label="支教",
    machine=TermMachine,
    states=TERM_STATES,
    events=TERM_EVENTS,
    policy_defaults={
        "publicity_days": 5,  # working days of the selection's publicity
        "checkin_due_days": 5,  # working days after a month's end to file its check-in
        "term_ending_days": 20,  # working days before the end the teacher is reminded
    },
    resolve_tier=approver_tier,
    effects=_term_effects,
    extra_needs=OBJECTION_STEPS.needs,
    main_path=("publicity", "to_dispatch", "on_site", "assessing", "returned"),
    # opened by a selection (applications.py), never by hand
    opened_by="county",
    once_per_year=False,
    visibility=PUBLICITY_VISIBILITY
    | DISPATCH_RECORD
    | Visibility(
        # why a term is asked to end early (a health or family matter) is for the teacher,
        # whoever handles the step, and the officers and inspectors over it
        data={"termination": Shown(STAFF | {Audience.APPLICANT, Audience.HANDLER})},
        payload={"statement": Shown(STAFF | {Audience.APPLICANT, Audience.HANDLER})},
        open=frozenset(
            {
                # where the teacher goes, from where, for which need, for how long
                "need_id", "application_id", "teacher", "receiving_school",
                "receiving_school_id", "sending_school", "sending_school_id", "subject",
                "level", "level_label", "starts_on", "ends_on", "paired", "publicity_days",
                # the term: publicity over, dispatched, the reminder, its end
                "publicity_closed_on", "dispatched_on", "doc_number", "reminded_for",
                "ended_on", "ended_early", "checkin_id",
                # a month corrected: its values before, the correction's row
                "before", "correction_id",
                # the assessment and what it earned on the service ledger
                "grade_label", "credit_id", "credited_months", "credit_note",
            }
        ),
    ),
)  # fmt: skip
