"""Recruitment declared: the county's post plan and each applicant's road, who acts at each
step, deadlines, tags and what each event changes besides the state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from states.blocks.publicity import ObjectionSteps, window_closing
from states.blocks.publicity.visibility import VISIBILITY as PUBLICITY_VISIBILITY
from states.process.forms import REASON, Field, Form
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
from states.process.visibility import STAFF, Audience, Shown, Visibility
from states.processes.recruitment.machine import APPLICANT, PLAN, ApplicantMachine, PlanMachine
from states.processes.recruitment.rules import (
    ApplicantFacts,
    ClaimOpen,
    Eligible,
    NoOpenClaim,
    ProbationOver,
)

PLAN_SPEC = ProcessSpec(
    name=PLAN,
    label="招聘岗位计划",
    machine=PlanMachine,
    states={
        "draft": StateSpec("draft", By(officer="county"), escalation="none"),
        "city_check": StateSpec("city_check", By(officer="city"), 5),
        "province_review": StateSpec("province_review", By(officer="province"), 5),
        "approved": StateSpec("approved"),
        "rejected": StateSpec("rejected"),
    },
    events={
        e.name: e
        for e in (
            EventSpec("submit", "报送计划", By(officer="county"), decision=False),
            EventSpec("city_pass", "市级审核通过"),
            EventSpec("approve", "省级批准"),
            EventSpec(
                "send_back",
                "退回修改",
                form=Form((REASON,)),
                overrides_signers=True,
                style="secondary",
            ),
            EventSpec(
                "reject", "不予批准", form=Form((REASON,)), overrides_signers=True, style="danger"
            ),
        )
    },
    start_form=Form((Field("note", "计划说明", required=False, max_length=1000),)),
    main_path=("draft", "city_check", "province_review", "approved"),
    opened_by="county",
    visibility=Visibility(open=frozenset({"round_id"})),
)


COUNTY, CITY, PROVINCE = By(officer="county"), By(officer="city"), By(officer="province")

# The states an applicant is in once past each milestone (for progress and published lists).
PAST_RANKING = (
    "physical",
    "reserve",
    "background",
    "publicity",
    "objection_review",
    "choosing",
    "probation",
    "confirmed",
    "failed_physical",
    "failed_background",
    "not_hired",
)
PAST_SHORTLIST = ("shortlisted", "interviewed", *PAST_RANKING)
PAST_QUALIFICATION = ("qualified", "examined", "not_shortlisted", *PAST_SHORTLIST)
HIRED = ("probation", "confirmed")

APPLICANT_STATES: Mapping[str, StateSpec] = {
    "registered": StateSpec("registered", COUNTY, 10),
    # Waits for a round-level step (scores, shortlist, ranking): no task per applicant.
    "qualified": StateSpec("qualified"),
    "examined": StateSpec("examined"),
    "shortlisted": StateSpec("shortlisted"),
    "interviewed": StateSpec("interviewed"),
    "physical": StateSpec("physical", COUNTY, 10),
    "reserve": StateSpec("reserve"),
    "background": StateSpec("background", COUNTY, 15),
    "publicity": StateSpec(
        "publicity",
        By(system=True),
        7,
        (),
        "none",
        frozenset({PUBLIC_WINDOW}),
        on_expiry="close_publicity",
    ),
    "objection_review": StateSpec("objection_review", COUNTY, 10),
    "choosing": StateSpec("choosing", COUNTY, 5),
    "probation": StateSpec("probation", COUNTY, escalation="none"),
    "confirmed": StateSpec("confirmed"),
    **{
        s: StateSpec(s, tags=frozenset({TERMINAL_NEGATIVE}))
        for s in (
            "disqualified",
            "not_shortlisted",
            "failed_physical",
            "failed_background",
            "withdrew",
            "not_hired",
            "voided",
        )
    },
}

OBJECTION_STEPS = ObjectionSteps(
    "raise_objection", "dismiss_objection", "uphold_objection", upheld_label="异议成立，不予录用"
)
SCORE = Form(
    (Field("score", "成绩", "float", required=False, min_value=0, max_value=100, help="缺考不填"),)
)

APPLICANT_EVENTS: Mapping[str, EventSpec] = {
    e.name: e
    for e in (
        EventSpec(
            "qualify",
            "资格审查通过",
            rules=(RuleUse(NoOpenClaim()), RuleUse(Eligible(), vetoes=True)),
        ),
        EventSpec("disqualify", "资格审查不通过", form=Form((REASON,))),
        EventSpec("record_written", "录入笔试成绩", PROVINCE, form=SCORE, decision=False),
        EventSpec("shortlist", "入围面试", CITY, decision=False),
        EventSpec("not_shortlist", "未入围", CITY, decision=False),
        EventSpec("record_interview", "录入面试成绩", CITY, form=SCORE, decision=False),
        EventSpec("to_physical", "进入体检", CITY, decision=False),
        EventSpec("to_reserve", "列为候补", CITY, decision=False),
        EventSpec("pass_physical", "体检合格"),
        EventSpec("fail_physical", "体检不合格", form=Form((REASON,))),
        EventSpec("pass_background", "考察合格"),
        EventSpec("fail_background", "考察不合格", form=Form((REASON,))),
        window_closing("close_publicity"),
        *OBJECTION_STEPS.events(),
        EventSpec("choose_post", "选定岗位", form=Form((Field("seat_id", "岗位学校", "int"),))),
        EventSpec("confirm", "转正定级", rules=(RuleUse(ProbationOver()),)),
        EventSpec("close_reserve", "候补截止", By(system=True)),
        EventSpec("skip_choice", "未按时选岗，顺延至最后", decision=False),
        EventSpec(
            "withdraw",
            "放弃",
            COUNTY,
            form=Form((Field("reason", "放弃原因", required=False, max_length=500),)),
            decision=False,
            style="danger",
        ),
        EventSpec("veto", "资格审查不通过", By(system=True), internal=True),
        EventSpec(
            "void_registration",
            "注销冒名报名",
            COUNTY,
            rules=(RuleUse(ClaimOpen()),),
            form=Form((Field("reason", "注销理由", max_length=1000, help="核实身份的经过"),)),
            overrides_signers=True,
            style="danger",
        ),
        EventSpec(
            "confirm_identity",
            "核实报名无误",
            COUNTY,
            rules=(RuleUse(ClaimOpen()),),
            form=Form((Field("reason", "核实情况", max_length=1000),)),
            decision=False,
            style="secondary",
        ),
    )
}


@dataclass(frozen=True)
class SettleClaims(Command):
    """Close the open identity claims on the case as ``resolution``; a voided registration
    also stops holding its ID number and phone, so the holder can register."""

    resolution: str  # voided | confirmed

    @property
    def voids(self) -> bool:
        return self.resolution == "voided"


def _effects(ctx: EffectContext) -> Sequence[Command]:
    if steps := OBJECTION_STEPS.effects(ctx.event):
        return steps
    if ctx.event == "choose_post":
        return (
            SetData({"hired_on": ctx.facts.today.isoformat(), "seat_id": ctx.payload["seat_id"]}),
        )
    if ctx.event == "void_registration":
        return (SettleClaims("voided"),)
    if ctx.event == "confirm_identity":
        return (SettleClaims("confirmed"),)
    return ()


# The applicant's registration as a reader of their case sees it beside the case (the case
# page's record) and the applicant themself in their status lookup: who they are, what they
# have and how they scored is for the officers over the case, the inspectors, whoever handles
# a step of it, and the applicant; the name and the post applied for are for everyone who may
# open the case. The public never reads a case; its publicity list masks the ID number.
RECORD_READERS = STAFF | {Audience.APPLICANT, Audience.HANDLER}
RECORD_PRIVATE = (
    "id_number",
    "gender",
    "age",
    "education",
    "cert_level",
    "written_score",
    "interview_score",
    "composite",
    "rank",
)
REGISTRATION_VISIBILITY = Visibility(
    record={key: Shown(RECORD_READERS) for key in RECORD_PRIVATE},
    record_open=frozenset({"name", "post"}),
)

APPLICANT_SPEC = ProcessSpec(
    name=APPLICANT,
    label="新任教师招聘",
    machine=ApplicantMachine,
    states=APPLICANT_STATES,
    events=APPLICANT_EVENTS,
    effects=_effects,
    extra_needs={
        "qualify": frozenset({ApplicantFacts}),
        **OBJECTION_STEPS.needs,
    },
    reject_event="veto",
    opened_by="public",
    # the round applied in and the day the hire took effect are for everyone on the case
    visibility=PUBLICITY_VISIBILITY
    | Visibility(open=frozenset({"round_id", "hired_on"}))
    | REGISTRATION_VISIBILITY,
    main_path=(
        "registered",
        "qualified",
        "examined",
        "shortlisted",
        "interviewed",
        "physical",
        "background",
        "publicity",
        "choosing",
        "probation",
        "confirmed",
    ),
)
