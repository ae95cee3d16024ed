"""Title review declared: who acts at each step, its deadline and tags, each event's rules
and form, and what each event changes besides the state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from states.blocks.panel import VISIBILITY as PANEL_VISIBILITY
from states.blocks.panel import (
    VOTE_CHOICES,
    DrawPanel,
    PanelFacts,
    Quorum,
    RecordVote,
    SeatedNotVoted,
)
from states.blocks.panel import passed as panel_passed
from states.blocks.publicity import (
    DISMISSED,
    OBJECTION,
    OBJECTION_RULES,
    UPHELD,
    FileObjection,
    ResumeWindow,
    SettleObjection,
    SuspendWindow,
    WindowFacts,
    WindowOver,
)
from states.blocks.publicity.visibility import VISIBILITY as PUBLICITY_VISIBILITY
from states.blocks.slots import HoldSlot
from states.org import SUBJECTS, TITLE_LABELS, TITLES
from states.process.forms import REASON, Field, Form
from states.process.rules import Facts, TeacherFacts
from states.process.spec import (
    PANEL_SITTING,
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
from states.process.visibility import Visibility
from states.processes.title_review.machine import PROCESS, TitleReviewMachine
from states.processes.title_review.rules import (
    DeclarationWindow,
    EthicsVeto,
    InService,
    MinEducation,
    NextRung,
    NoDecisionYet,
    QuotaAvailable,
    RuralExperience,
    YearsInTitle,
    quota_exempt,
)

POLICY_DEFAULTS: Mapping[str, Any] = {
    "ethics_lookback_years": 5,
    # years in the current title before applying for the next (任现职年限)
    "min_years": {"grade2": 1, "grade1": 4, "senior": 5, "full_senior": 5},
    "min_education": {
        "grade2": "associate",
        "grade1": "associate",
        "senior": "bachelor",
        "full_senior": "bachelor",
    },
    "rural_required_for": ["senior", "full_senior"],
    "rural_years_required": 1,
    "rural_exempt_years": 30,
    "panel_size": 7,
    # which tier organises the committee and appoints, by the title applied for
    "organizer_tier": {
        "grade2": "county",
        "grade1": "county",
        "senior": "city",
        "full_senior": "province",
    },
}

ETHICS = RuleUse(EthicsVeto(), vetoes=True)  # rejects through the internal "veto" event
ELIGIBILITY = (NextRung(), YearsInTitle(), MinEducation(), RuralExperience())


def _eligibility(*, vetoes: bool) -> tuple[RuleUse, ...]:
    """Refused at the door when the teacher declares; a rejection once a reviewer decides."""
    return tuple(RuleUse(r, vetoes) for r in ELIGIBILITY)


DECLARATION = Form(
    (
        Field("target_title", "申报职称", "choice", choices=TITLE_LABELS),
        Field("subject", "申报学科", "choice", choices={s: s for s in SUBJECTS}),
        Field("statement", "个人述职", max_length=4000),
        Field("achievements", "主要业绩", required=False, max_length=4000),
    )
)

REASONED = Form((REASON,))
SCHOOL, COUNTY, ORGANIZER = By(officer="school"), By(officer="county"), By(officer="organizer")

WINDOW = frozenset({PUBLIC_WINDOW})
STATES: Mapping[str, StateSpec] = {
    "draft": StateSpec("draft", By(applicant=True), escalation="none"),
    "school_review": StateSpec("school_review", SCHOOL, 5),
    "school_publicity": StateSpec(
        "school_publicity", By(system=True), 5, (), "none", WINDOW, on_expiry="close_publicity"
    ),
    "school_recommend": StateSpec("school_recommend", SCHOOL, 3),
    "county_check": StateSpec("county_check", COUNTY, 10),
    "committee": StateSpec(
        "committee", ORGANIZER, 15, tags=frozenset({PANEL_SITTING})
    ),
    "result_publicity": StateSpec(
        "result_publicity", By(system=True), 5, (), "none", WINDOW,
        on_expiry="close_publicity",
    ),
    "objection_review": StateSpec("objection_review", COUNTY, 10),
    "appointment": StateSpec("appointment", ORGANIZER, 10),
    "returned": StateSpec("returned", By(applicant=True), 5, escalation="none"),
    "appointed": StateSpec("appointed"),
    "rejected": StateSpec("rejected", tags=frozenset({TERMINAL_NEGATIVE})),
    "withdrawn": StateSpec("withdrawn", tags=frozenset({TERMINAL_NEGATIVE})),
}  # fmt: skip

EVENTS: Mapping[str, EventSpec] = {
    e.name: e
    for e in (
        EventSpec(
            "submit",
            "提交申报",
            By(applicant=True),
            # the window first: outside it nothing else is judged (not even the veto)
            (
                RuleUse(DeclarationWindow()),
                RuleUse(InService()),
                ETHICS,
                *_eligibility(vetoes=False),
            ),
            decision=False,
        ),
        EventSpec("school_approve", "学校审核通过", rules=(ETHICS, *_eligibility(vetoes=True))),
        EventSpec("close_publicity", "公示期满", By(system=True), (ETHICS, RuleUse(WindowOver()))),
        EventSpec("recommend", "学校推荐", rules=(ETHICS, RuleUse(QuotaAvailable()))),
        EventSpec("qualify", "资格审查通过", rules=(ETHICS, *_eligibility(vetoes=True))),
        EventSpec(
            "vote",
            "评委投票",
            By(panel=True),
            (RuleUse(SeatedNotVoted()),),
            Form((Field("choice", "表决意见", "choice", choices=VOTE_CHOICES),)),
            decision=False,
            sealed=("choice",),
        ),
        EventSpec("close_sitting", "评审结束", ORGANIZER, (ETHICS, RuleUse(Quorum()))),
        EventSpec(
            "raise_objection",
            "提出异议",
            By(public=True),
            OBJECTION_RULES,
            form=OBJECTION,
            decision=False,
        ),
        EventSpec("dismiss_objection", "异议不成立", form=REASONED, style="secondary"),
        EventSpec("uphold_objection", "异议成立", form=REASONED, style="danger"),
        EventSpec("appoint", "发文认定", rules=(ETHICS,)),
        EventSpec(
            "send_back",
            "退回补正",
            STATE_ACTOR,
            form=REASONED,
            overrides_signers=True,
            style="secondary",
        ),
        EventSpec(
            "resubmit",
            "补正后重新提交",
            By(applicant=True),
            (RuleUse(InService()), ETHICS, *_eligibility(vetoes=False)),
            decision=False,
        ),
        EventSpec(
            "reject", "不予通过", STATE_ACTOR, form=REASONED, overrides_signers=True, style="danger"
        ),
        EventSpec(
            "withdraw",
            "撤回申报",
            By(applicant=True),
            (RuleUse(NoDecisionYet()),),
            Form((Field("reason", "撤回原因", required=False, max_length=500),)),
            decision=False,
            style="danger",
        ),
        EventSpec("veto", "一票否决", By(system=True), internal=True),
    )
}


def resolve_tier(
    alias: str, data: Mapping[str, Any], school: Mapping[str, Any], policy: Mapping[str, Any]
) -> str:
    """The tier behind an alias: the committee and appointment run at the tier the policy
    names for the title applied for, or at the school itself for a self-review pilot."""
    if alias == "organizer":
        if school.get("self_review_pilot"):
            return "school"
        return str(policy["organizer_tier"][data["target_title"]])
    return alias


def guard_kwargs(event: str, facts: Facts) -> Mapping[str, Any]:
    if event == "close_sitting":
        return {"passed": panel_passed(facts)}
    if event == "resubmit":
        return {"returned_from": facts.data.get("returned_from", "")}
    return {}


@dataclass(frozen=True)
class AppointTitle(Command):
    """The appointed title and its date on the teacher's record, through the record's
    history with the case named (handled in ``record.py``)."""

    title: str
    on: dt.date


def effects(ctx: EffectContext) -> Sequence[Command]:
    """What each event changes besides the state, as commands the engine carries out."""
    data, policy, out = ctx.facts.data, ctx.facts.policy, list[Command]()
    if ctx.event == "send_back":
        out.append(SetData({"returned_from": ctx.source, "return_reason": ctx.payload["reason"]}))
    elif ctx.event == "recommend":
        exempt = quota_exempt(ctx.facts)
        out.append(SetData({"quota_exempt": exempt}))
        out.append(HoldSlot(None if exempt else slot_key(str(data["target_title"]))))
    elif ctx.event == "qualify":
        teacher = ctx.facts.get(TeacherFacts)
        out.append(
            DrawPanel(
                unit_id=ctx.unit_ids["organizer"],
                subject=str(data["subject"]),
                size=int(policy["panel_size"]),
                recuse_school_id=None
                if ctx.unit_ids["organizer"] == teacher.school_id
                else teacher.school_id,
                recuse_person_id=ctx.applicant_id,
            )
        )
    elif ctx.event == "vote":
        out.append(RecordVote(str(ctx.payload["choice"])))
    elif ctx.event == "raise_objection":
        out.extend((FileObjection(), SuspendWindow()))
    elif ctx.event == "dismiss_objection":
        out.extend((SettleObjection(DISMISSED), ResumeWindow()))
    elif ctx.event == "uphold_objection":
        out.append(SettleObjection(UPHELD))
    elif ctx.event == "appoint":
        out.append(AppointTitle(str(data["target_title"]), ctx.facts.today))
    if ctx.target in ("rejected", "withdrawn") and data.get("quota_exempt") is False:
        out.append(HoldSlot(None))
    return out


SPEC = ProcessSpec(
    name=PROCESS,
    label="职称评审",
    machine=TitleReviewMachine,
    states=STATES,
    events=EVENTS,
    start_form=DECLARATION,
    policy_defaults=POLICY_DEFAULTS,
    resolve_tier=resolve_tier,
    effects=effects,
    guard_kwargs=guard_kwargs,
    main_path=(
        "draft",
        "school_review",
        "school_publicity",
        "school_recommend",
        "county_check",
        "committee",
        "result_publicity",
        "appointment",
        "appointed",
    ),
    extra_needs={
        "close_sitting": frozenset({PanelFacts}),
        "recommend": frozenset({TeacherFacts}),
        "qualify": frozenset({TeacherFacts}),
        "raise_objection": frozenset({WindowFacts}),
    },
    reject_event="veto",
    visibility=PANEL_VISIBILITY
    | PUBLICITY_VISIBILITY
    # whether the case holds a counted post, and where and why it was sent back
    | Visibility(open=frozenset({"quota_exempt", "returned_from", "return_reason"})),
)

assert all(t in TITLES for t in POLICY_DEFAULTS["organizer_tier"])


def slot_key(title: str) -> str:
    """The counted slot a recommended case holds: a post of the title applied for."""
    return f"title:{title}"
