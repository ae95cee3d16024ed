"""Rotation declared: the county's campaign, each rotating teacher's case and an exemption;
who acts at each step, deadlines and tags, each event's rules and form, what each event
changes besides the state, and who reads which part of the cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from states.blocks.publicity import ObjectionSteps, window_closing
from states.blocks.publicity.visibility import VISIBILITY as PUBLICITY_VISIBILITY
from states.identity import mask_id_number
from states.process.forms import REASON, Field, Form
from states.process.spec import (
    EXEMPT,
    PUBLIC_WINDOW,
    STATE_ACTOR,
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
from states.process.visibility import STAFF, Audience, Shown, Visibility
from states.processes.rotation.machine import (
    CAMPAIGN,
    EXEMPTION,
    PLACEMENT,
    CampaignMachine,
    ExemptionMachine,
    PlacementMachine,
)
from states.processes.rotation.rules import (
    EvidenceAttached,
    ExemptionAllowed,
    HasCandidates,
    LaterEnd,
    ListReady,
    ListsConfirmed,
    NotLater,
    PreferencesOver,
    ResultCurrent,
    TargetsMet,
    years_after,
)

SCHOOL, COUNTY, SYSTEM = By(officer="school"), By(officer="county"), By(system=True)

# Notice kinds (notices/<kind>.txt.j2, declared in notice_kinds.py); each carries rotation_school,
# rotation_detail and rotation_date in its payload.
ELIGIBLE_NOTICE = "rotation_eligible"
PLACED_NOTICE = "rotation_placed"
DISPATCHED_NOTICE = "rotation_dispatched"
TERM_ENDING_NOTICE = "rotation_term_ending"
EXTENDED_NOTICE = "rotation_extended"


# --- commands: what the package's handlers carry out (campaigns.py, matching_run.py, moves.py)
@dataclass(frozen=True)
class ComputeEligibility(Command):
    """The eligible list computed from the records, set-based, replacing the last one."""


@dataclass(frozen=True)
class PublishList(Command):
    """The eligible list published: each teacher on it is told, with the deadline."""


@dataclass(frozen=True)
class RunMatching(Command):
    """A matching run: a fresh seed, both steps, the placements replaced, all recorded."""


@dataclass(frozen=True)
class PublishResult(Command):
    """Each placed teacher's case opened and put into publicity; the result fixed."""


@dataclass(frozen=True)
class MoveSchool(Command):
    """The teacher's school on the roster: to the receiving school (``back`` False) or
    back to the sending one, with their open work at the school they leave handed over."""

    back: bool


@dataclass(frozen=True)
class RotationNotice(Command):
    """A notice of ``kind`` to the teacher, and to the county's officers when ``county``."""

    kind: str
    county: bool = False


@dataclass(frozen=True)
class CreditService(Command):
    """A term served at a rural or weak school credited to the teacher's service ledger
    (states/registry/service.py), which title review's rural-experience rule reads."""


@dataclass(frozen=True)
class ApplyExemption(Command):
    """An approved exemption takes the teacher off the campaign's count."""


# --- the campaign -----------------------------------------------------------------------------
CAMPAIGN_STATES: Mapping[str, StateSpec] = {
    "opened": StateSpec("opened", COUNTY, escalation="none"),
    "preferences": StateSpec("preferences", COUNTY, escalation="none"),
    "confirming": StateSpec("confirming", COUNTY, escalation="none"),
    "matching": StateSpec("matching", COUNTY, escalation="none"),
    "published": StateSpec("published", COUNTY, escalation="none"),
    "wound_up": StateSpec("wound_up"),
    "called_off": StateSpec("called_off", tags=frozenset({TERMINAL_NEGATIVE})),
}

CAMPAIGN_EVENTS: Mapping[str, EventSpec] = {
    e.name: e
    for e in (
        EventSpec("compute_eligibility", "计算符合条件名单", decision=False),
        EventSpec("open_preferences", "公布名单并开始志愿填报", rules=(RuleUse(ListReady()),)),
        EventSpec("close_preferences", "截止志愿填报", rules=(RuleUse(PreferencesOver()),)),
        EventSpec("start_matching", "开始县级匹配", rules=(RuleUse(ListsConfirmed()),)),
        EventSpec("run_match", "运行匹配", rules=(RuleUse(HasCandidates()),), decision=False),
        EventSpec(
            "publish",
            "公布交流结果",
            rules=(RuleUse(ResultCurrent()), RuleUse(TargetsMet())),
            form=Form(
                (
                    Field(
                        "shortfall_reason",
                        "未达标情况说明",
                        required=False,
                        max_length=1000,
                        help="交流比例或骨干比例未达标时必填",
                    ),
                )
            ),
        ),
        EventSpec("close_campaign", "结束本次交流轮岗"),
        EventSpec("cancel", "撤销本次交流轮岗", form=Form((REASON,)), style="danger"),
    )
}


def _campaign_effects(ctx: EffectContext) -> Sequence[Command]:
    return {
        "compute_eligibility": (ComputeEligibility(),),
        "open_preferences": (PublishList(),),
        "run_match": (RunMatching(),),
        "publish": (PublishResult(),),
    }.get(ctx.event, ())


CAMPAIGN_SPEC = ProcessSpec(
    name=CAMPAIGN,
    label="交流轮岗工作",
    machine=CampaignMachine,
    states=CAMPAIGN_STATES,
    events=CAMPAIGN_EVENTS,
    effects=_campaign_effects,
    main_path=("opened", "preferences", "confirming", "matching", "published", "wound_up"),
    opened_by="county",
    once_per_year=False,
    visibility=Visibility(
        open=frozenset(
            {
                # the case's data: which campaign
                "campaign_id", "name", "year",
                # what each step recorded: the list, the run and its seed, the publication
                "eligible", "principals", "notified", "seed", "run", "placed", "adjusted",
                "unplaced", "adjust_cost", "shortfalls", "cases",
            }
        )
    ),
)  # fmt: skip


# --- a rotating teacher -----------------------------------------------------------------------
DISPATCH = Form(
    (
        Field("on", "派出日期", "date", help="到接收学校报到的日期，不能晚于今天"),
        Field("doc_number", "文号", required=False, max_length=60, help="交流轮岗的发文文号"),
    )
)
EXTEND = Form(
    (
        Field("new_end", "新的期满日期", "date", help="每次延长不超过一个交流期"),
        Field("reason", "延长理由", max_length=1000),
    )
)
RETURN = Form((Field("on", "返回日期", "date", help="回原学校报到的日期，不能晚于今天"),))

PLACEMENT_STATES: Mapping[str, StateSpec] = {
    "placed": StateSpec("placed"),
    # the campaign sets the days (publicity_days); the state's own is the usual five
    "publicity": StateSpec(
        "publicity", SYSTEM, 5, (), "none", frozenset({PUBLIC_WINDOW}),
        on_expiry="close_publicity",
    ),
    "objection_review": StateSpec("objection_review", COUNTY, 10),
    "to_dispatch": StateSpec("to_dispatch", COUNTY, 10),
    # years long: no task of its own; the term-end check reminds the county and the teacher
    "in_service": StateSpec("in_service"),
    "returned": StateSpec("returned"),
    "removed": StateSpec("removed", tags=frozenset({TERMINAL_NEGATIVE})),
}  # fmt: skip

OBJECTION_STEPS = ObjectionSteps(
    "raise_objection", "dismiss_objection", "uphold_objection", upheld_label="异议成立，取消交流"
)
PLACEMENT_EVENTS: Mapping[str, EventSpec] = {
    e.name: e
    for e in (
        EventSpec("publicize", "公示交流安排", COUNTY, decision=False),
        window_closing("close_publicity"),
        *OBJECTION_STEPS.events(),
        EventSpec(
            "dispatch_teacher",
            "派出",
            rules=(RuleUse(NotLater("on", "publicity_closed_on")),),
            form=DISPATCH,
        ),
        EventSpec("extend", "批准延长交流期", COUNTY, (RuleUse(LaterEnd()),), EXTEND),
        EventSpec("remind_term_end", "交流期满提醒", SYSTEM, decision=False),
        EventSpec(
            "return_home",
            "期满返回原校",
            COUNTY,
            (RuleUse(NotLater("on", "dispatched_on")),),
            RETURN,
        ),
    )
}


def _placement_effects(ctx: EffectContext) -> Sequence[Command]:
    if steps := OBJECTION_STEPS.effects(ctx.event):
        return steps
    today = ctx.facts.today.isoformat()
    if ctx.event == "close_publicity":
        return (SetData({"publicity_closed_on": today}),)
    if ctx.event == "dispatch_teacher":
        on = dt.date.fromisoformat(str(ctx.payload["on"]))
        ends = years_after(on, int(ctx.facts.data.get("term_years", 3)))
        patch = {"dispatched_on": on.isoformat(), "term_ends_on": ends.isoformat()}
        if ctx.payload.get("doc_number"):
            patch["doc_number"] = str(ctx.payload["doc_number"])
        return (SetData(patch), MoveSchool(back=False), RotationNotice(DISPATCHED_NOTICE))
    if ctx.event == "extend":
        extensions = list(ctx.facts.data.get("extensions", []))
        extensions.append(
            {
                "from": ctx.facts.data.get("term_ends_on"),
                "to": ctx.payload["new_end"],
                "reason": ctx.payload["reason"],
                "on": today,
            }
        )
        longer = {"term_ends_on": ctx.payload["new_end"], "extensions": extensions}
        return (SetData(longer), RotationNotice(EXTENDED_NOTICE))
    if ctx.event == "remind_term_end":
        reminded = {"reminded_for": ctx.facts.data.get("term_ends_on")}
        return (SetData(reminded), RotationNotice(TERM_ENDING_NOTICE, county=True))
    if ctx.event == "return_home":
        return (
            SetData({"returned_on": ctx.payload["on"]}),
            MoveSchool(back=True),
            CreditService(),
        )
    return ()


# The result list as it is published and exported: the ID number in full for the teacher
# only, masked (region and last four) for everyone else, the officers included — the result
# is a public list; the rest of the line is for everyone who may read it.
RESULT_RECORD = Visibility(
    record={"id_number": Shown(frozenset({Audience.APPLICANT}), others=mask_id_number)},
    record_open=frozenset(
        {
            "name", "gender", "from_school", "to_school", "subject", "level", "backbone",
            "years", "step", "rank", "reason", "run", "state",
        }
    ),
)  # fmt: skip

PLACEMENT_SPEC = ProcessSpec(
    name=PLACEMENT,
    label="交流轮岗",
    machine=PlacementMachine,
    states=PLACEMENT_STATES,
    events=PLACEMENT_EVENTS,
    effects=_placement_effects,
    extra_needs=OBJECTION_STEPS.needs,
    opened_by="county",
    once_per_year=False,
    main_path=("placed", "publicity", "to_dispatch", "in_service", "returned"),
    visibility=PUBLICITY_VISIBILITY
    | RESULT_RECORD
    | Visibility(
        open=frozenset(
            {
                # where the teacher goes and why (the published result's line)
                "campaign_id", "campaign", "placement_id", "from_school_id", "from_school",
                "to_school_id", "to_school", "post", "step", "rank", "reason", "run",
                "term_years", "publicity_days",
                # the term: dispatched, its end, extensions, the reminder, the return
                "publicity_closed_on", "dispatched_on", "term_ends_on", "doc_number",
                "extensions", "reminded_for", "returned_on", "service_credit_id",
            }
        )
    ),
)  # fmt: skip


# --- an exemption -----------------------------------------------------------------------------
EXEMPTION_FORM = Form(
    (
        Field("campaign_id", "交流轮岗工作编号", "int", min_value=1, max_value=2**53),
        Field("kind", "免于交流情形", max_length=32, help="如：临近退休、患病、孕期或哺乳期"),
        Field("statement", "申请理由", max_length=2000),
    )
)
EXEMPTION_STATES: Mapping[str, StateSpec] = {
    "draft": StateSpec("draft", By(applicant=True), escalation="none"),
    "school_review": StateSpec("school_review", SCHOOL, 5),
    "county_review": StateSpec("county_review", COUNTY, 10),
    # support teaching (any process that sends teachers away) reads the tag, not the name
    "approved": StateSpec("approved", tags=frozenset({EXEMPT})),
    "rejected": StateSpec("rejected", tags=frozenset({TERMINAL_NEGATIVE})),
    "withdrawn": StateSpec("withdrawn", tags=frozenset({TERMINAL_NEGATIVE})),
}
EXEMPTION_EVENTS: Mapping[str, EventSpec] = {
    e.name: e
    for e in (
        EventSpec(
            "submit",
            "提交申请",
            By(applicant=True),
            (RuleUse(ExemptionAllowed()), RuleUse(EvidenceAttached())),
            decision=False,
        ),
        EventSpec("school_approve", "学校审核同意"),
        EventSpec("approve", "批准免于交流", rules=(RuleUse(ExemptionAllowed()),)),
        EventSpec(
            "reject", "不予批准", STATE_ACTOR, form=Form((REASON,)), overrides_signers=True,
            style="danger",
        ),
        EventSpec(
            "withdraw",
            "撤回申请",
            By(applicant=True),
            form=Form((Field("reason", "撤回原因", required=False, max_length=500),)),
            decision=False,
            style="danger",
        ),
    )
}  # fmt: skip


def _exemption_effects(ctx: EffectContext) -> Sequence[Command]:
    return (ApplyExemption(),) if ctx.event == "approve" else ()


EXEMPTION_SPEC = ProcessSpec(
    name=EXEMPTION,
    label="免于交流申请",
    machine=ExemptionMachine,
    states=EXEMPTION_STATES,
    events=EXEMPTION_EVENTS,
    start_form=EXEMPTION_FORM,
    effects=_exemption_effects,
    # opened by the teacher through the rotation pages and API with its evidence
    # (exemptions.py), not through the generic declaration form, which cannot attach it
    opened_by="county",
    main_path=("draft", "school_review", "county_review", "approved"),
    # a health or family matter: why the teacher asks is for the teacher, whoever handles
    # a step of it, and the officers and inspectors over it (not a principal reading along)
    visibility=Visibility(
        data={"statement": Shown(STAFF | {Audience.APPLICANT, Audience.HANDLER})},
        open=frozenset({"campaign_id", "kind", "campaign"}),
    ),
)
