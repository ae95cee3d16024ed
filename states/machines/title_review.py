"""Title review (职称评审), DOMAIN.md §1.

declare → school review → in-school publicity (5 working days) → school recommends (quota)
→ county qualification check → review committee (random panel with recusal, quorum 2/3,
pass with 2/3 of the votes cast) → result publicity (5 working days; an objection suspends)
→ appointment, which updates the teacher's title. Every review step can return the case for
correction or reject it; the ethics veto rejects it at every step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from statemachine import State, StateMachine

from states.machines.spec import (
    OBJECTION,
    REASON,
    STATE_ACTOR,
    By,
    Command,
    DrawPanel,
    EffectContext,
    EventSpec,
    Field,
    Form,
    HoldQuota,
    ProcessSpec,
    RecordVote,
    ResumeWindow,
    RuleUse,
    SetData,
    StateSpec,
    SuspendWindow,
    UpdateTeacher,
)
from states.org import SUBJECTS, TITLE_LABELS, TITLES
from states.rules.base import Facts
from states.rules.title import (
    EthicsVeto,
    MinEducation,
    NextRung,
    NoDecisionYet,
    Quorum,
    QuotaAvailable,
    RuralExperience,
    SeatedNotVoted,
    WindowOver,
    YearsInTitle,
    panel_passed,
    quota_exempt,
)

PROCESS = "title_review"


class TitleReviewMachine(StateMachine):
    draft = State("草稿", initial=True)
    school_review = State("学校审核")
    school_publicity = State("校内公示")
    school_recommend = State("学校推荐")
    county_check = State("县级资格审查")
    committee = State("评审委员会评审")
    result_publicity = State("结果公示")
    objection_review = State("异议处理")
    appointment = State("发文认定")
    returned = State("退回补正")
    appointed = State("已认定聘任", final=True)
    rejected = State("未通过", final=True)
    withdrawn = State("已撤回", final=True)

    submit = draft.to(school_review)
    school_approve = school_review.to(school_publicity)
    close_publicity = school_publicity.to(school_recommend) | result_publicity.to(appointment)
    recommend = school_recommend.to(county_check)
    qualify = county_check.to(committee)
    vote = committee.to.itself(internal=True)  # type: ignore[no-untyped-call]
    close_sitting = committee.to(result_publicity, cond="passed") | committee.to(
        rejected, unless="passed"
    )
    raise_objection = result_publicity.to(objection_review)
    dismiss_objection = objection_review.to(result_publicity)
    uphold_objection = objection_review.to(rejected)
    appoint = appointment.to(appointed)
    send_back = (
        school_review.to(returned) | school_recommend.to(returned) | county_check.to(returned)
    )
    resubmit = (
        returned.to(school_review, cond="back_to_school")
        | returned.to(school_recommend, cond="back_to_recommend")
        | returned.to(county_check, cond="back_to_county")
    )
    reject = (
        school_review.to(rejected)
        | school_recommend.to(rejected)
        | county_check.to(rejected)
        | appointment.to(rejected)
    )
    withdraw = draft.to(withdrawn) | school_review.to(withdrawn) | returned.to(withdrawn)
    veto = (
        draft.to(rejected)
        | school_review.to(rejected)
        | school_publicity.to(rejected)
        | school_recommend.to(rejected)
        | county_check.to(rejected)
        | committee.to(rejected)
        | result_publicity.to(rejected)
        | objection_review.to(rejected)
        | appointment.to(rejected)
        | returned.to(rejected)
    )

    # Guards are pure and read only what the engine passes in; defaults keep them total.
    def passed(self, passed: bool = False) -> bool:
        return passed

    def back_to_school(self, returned_from: str = "") -> bool:
        return returned_from == "school_review"

    def back_to_recommend(self, returned_from: str = "") -> bool:
        return returned_from == "school_recommend"

    def back_to_county(self, returned_from: str = "") -> bool:
        return returned_from == "county_check"


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

ETHICS = RuleUse(EthicsVeto(), "reject")
ELIGIBILITY = (NextRung(), YearsInTitle(), MinEducation(), RuralExperience())


def _eligibility(on_fail: str) -> tuple[RuleUse, ...]:
    return tuple(RuleUse(r, on_fail) for r in ELIGIBILITY)  # type: ignore[arg-type]


DECLARATION = Form(
    (
        Field("target_title", "申报职称", "choice", choices=TITLE_LABELS),
        Field("subject", "申报学科", "choice", choices={s: s for s in SUBJECTS}),
        Field("statement", "个人述职", max_length=4000),
        Field("achievements", "主要业绩", required=False, max_length=4000),
    )
)

REASONED = Form((REASON,))
VOTE_CHOICES = {"yes": "同意", "no": "不同意", "abstain": "弃权"}
SCHOOL, COUNTY, ORGANIZER = By(officer="school"), By(officer="county"), By(officer="organizer")

STATES: Mapping[str, StateSpec] = {
    "draft": StateSpec("draft", By(applicant=True), escalation="none"),
    "school_review": StateSpec("school_review", SCHOOL, 5),
    "school_publicity": StateSpec("school_publicity", By(system=True), 5, (), "none", True),
    "school_recommend": StateSpec("school_recommend", SCHOOL, 3),
    "county_check": StateSpec("county_check", COUNTY, 10),
    "committee": StateSpec("committee", ORGANIZER, 15),
    "result_publicity": StateSpec("result_publicity", By(system=True), 5, (), "none", True),
    "objection_review": StateSpec("objection_review", COUNTY, 10),
    "appointment": StateSpec("appointment", ORGANIZER, 10),
    "returned": StateSpec("returned", By(applicant=True), 5, escalation="none"),
    "appointed": StateSpec("appointed"),
    "rejected": StateSpec("rejected"),
    "withdrawn": StateSpec("withdrawn"),
}

EVENTS: Mapping[str, EventSpec] = {
    e.name: e
    for e in (
        EventSpec(
            "submit",
            "提交申报",
            By(applicant=True),
            (ETHICS, *_eligibility("refuse")),
            decision=False,
        ),
        EventSpec("school_approve", "学校审核通过", rules=(ETHICS, *_eligibility("reject"))),
        EventSpec("close_publicity", "公示期满", By(system=True), (ETHICS, RuleUse(WindowOver()))),
        EventSpec("recommend", "学校推荐", rules=(ETHICS, RuleUse(QuotaAvailable()))),
        EventSpec("qualify", "资格审查通过", rules=(ETHICS, *_eligibility("reject"))),
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
            form=OBJECTION,
            decision=False,
        ),
        EventSpec("dismiss_objection", "异议不成立", form=REASONED),
        EventSpec("uphold_objection", "异议成立", form=REASONED),
        EventSpec("appoint", "发文认定", rules=(ETHICS,)),
        EventSpec("send_back", "退回补正", STATE_ACTOR, form=REASONED),
        EventSpec(
            "resubmit",
            "补正后重新提交",
            By(applicant=True),
            (ETHICS, *_eligibility("refuse")),
            decision=False,
        ),
        EventSpec("reject", "不予通过", STATE_ACTOR, form=REASONED),
        EventSpec(
            "withdraw",
            "撤回申报",
            By(applicant=True),
            (RuleUse(NoDecisionYet()),),
            Form((Field("reason", "撤回原因", required=False, max_length=500),)),
            decision=False,
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


def effects(ctx: EffectContext) -> Sequence[Command]:
    """What each event changes besides the state, as commands the engine carries out."""
    data, policy, out = ctx.facts.data, ctx.facts.policy, list[Command]()
    if ctx.event == "send_back":
        out.append(SetData({"returned_from": ctx.source, "return_reason": ctx.payload["reason"]}))
    elif ctx.event == "recommend":
        exempt = quota_exempt(ctx.facts)
        out.append(SetData({"quota_exempt": exempt}))
        out.append(HoldQuota(None if exempt else f"title:{data['target_title']}"))
    elif ctx.event == "qualify":
        teacher = ctx.facts.teacher
        assert teacher is not None
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
        objections = [*data.get("objections", []), dict(ctx.payload)]
        out.append(SetData({"objections": objections}))
        out.append(SuspendWindow())
    elif ctx.event == "dismiss_objection":
        out.append(ResumeWindow())
    elif ctx.event == "appoint":
        out.append(UpdateTeacher({"title": data["target_title"], "title_date": ctx.facts.today}))
    if ctx.target in ("rejected", "withdrawn") and data.get("quota_exempt") is False:
        out.append(HoldQuota(None))
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
        "close_sitting": frozenset({"panel"}),
        "recommend": frozenset({"teacher"}),
        "qualify": frozenset({"teacher"}),
        "raise_objection": frozenset({"window"}),
    },
)

assert set(STATES) == {s.id for s in TitleReviewMachine.states}
assert all(t in TITLES for t in POLICY_DEFAULTS["organizer_tier"])
