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
from states.blocks.publicity import ObjectionSteps, window_closing
from states.blocks.publicity.visibility import VISIBILITY as PUBLICITY_VISIBILITY
from states.blocks.slots import HoldSlot
from states.identity import mask_id_number
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
from states.process.visibility import STAFF, TEACHER_RECORD, Audience, Shown, Visibility
from states.processes.title_review.machine import PROCESS, TitleReviewMachine
from states.processes.title_review.rules import (
    DOC_EXAMPLE,
    DeclarationWindow,
    DocumentDate,
    DocumentNumber,
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
# 发文认定: the document that appoints (its number and date go on the case and the record)
APPOINTMENT = Form(
    (
        Field("doc_number", "文号", max_length=40, help=f"如：{DOC_EXAMPLE}"),
        Field("doc_date", "发文日期", "date", help="实际发文的日期，不能晚于今天"),
    )
)
SCHOOL, COUNTY, ORGANIZER = By(officer="school"), By(officer="county"), By(officer="organizer")

# Who the teacher is, as the printed declaration (申报表) states it besides the record beside
# the case: the ID number and the certificate's number in full for the teacher and the
# officers and inspectors over the case; a committee member, a principal or someone the case
# was copied to reads the ID number masked (region and last four) and no certificate number.
OWN_AND_STAFF = frozenset({Audience.APPLICANT}) | STAFF
DECLARATION_FORM = Visibility(
    record={
        "id_number": Shown(OWN_AND_STAFF, others=mask_id_number),
        "cert_no": Shown(OWN_AND_STAFF),
    },
    record_open=frozenset(
        {"gender", "birth_month", "subject", "school_level", "joined_school_on", "cert_level"}
    ),
)

WINDOW = frozenset({PUBLIC_WINDOW})
OBJECTION_STEPS = ObjectionSteps(
    "raise_objection", "dismiss_objection", "uphold_objection", upheld_label="异议成立"
)
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
        window_closing("close_publicity", ETHICS),
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
        *OBJECTION_STEPS.events(),
        EventSpec(
            "appoint",
            "发文认定",
            rules=(ETHICS, RuleUse(DocumentNumber()), RuleUse(DocumentDate())),
            form=APPOINTMENT,
        ),
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


@dataclass(frozen=True)
class AppointmentNotice(Command):
    """The appointment notice (认定通知) to the teacher through the outbox, naming the
    document: the formal word a teacher keeps, beside the step's ordinary progress notice
    (handled in ``record.py``)."""

    title: str
    doc_number: str
    doc_date: dt.date


def effects(ctx: EffectContext) -> Sequence[Command]:
    """What each event changes besides the state, as commands the engine carries out."""
    data, policy = ctx.facts.data, ctx.facts.policy
    out: list[Command] = [*OBJECTION_STEPS.effects(ctx.event)]
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
    elif ctx.event == "appoint":
        number, on = str(ctx.payload["doc_number"]), dt.date.fromisoformat(ctx.payload["doc_date"])
        title = str(data["target_title"])
        out.append(SetData({"doc_number": number, "doc_date": on.isoformat()}))
        # the title is held from the day the document was issued (任职资格取得时间)
        out.append(AppointTitle(title, on))
        out.append(AppointmentNotice(title, number, on))
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
        **OBJECTION_STEPS.needs,
    },
    reject_event="veto",
    visibility=PANEL_VISIBILITY
    | PUBLICITY_VISIBILITY
    # the teacher's record beside the case (api/processes/title_review/record.py)
    | TEACHER_RECORD
    # whether the case holds a counted post, where and why it was sent back, and the
    # document that appointed (文号 and date: the teacher shows it, the bureau files it)
    | Visibility(
        open=frozenset({"quota_exempt", "returned_from", "return_reason", "doc_number", "doc_date"})
    )
    | DECLARATION_FORM,
)

assert all(t in TITLES for t in POLICY_DEFAULTS["organizer_tier"])


def slot_key(title: str) -> str:
    """The counted slot a recommended case holds: a post of the title applied for."""
    return f"title:{title}"
