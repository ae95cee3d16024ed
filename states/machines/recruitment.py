"""New-teacher recruitment (新任教师公开招聘), "province examines, city selects, county hires",
DOMAIN.md §2. Two processes:

- the county's post plan: declared → city check → province approval; approval makes its
  posts open for registration and fixes their counts as a quota;
- each applicant: registered → qualification check → written exam → shortlist (1:3, ties at
  the cut-off go through) → interview → composite ranking (top of each post to the physical,
  the rest in reserve for replacement) → physical → background check → publicity (7 working
  days) → post choice in rank order → 12 months' probation → confirmed; exits for
  disqualified, not shortlisted, withdrew, failed physical, failed background, not hired.

The steps that move thousands of applicants at once (scores, shortlist, ranking) go through
``CaseEngine.fire_many``: the same transitions, set-based.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from statemachine import State, StateMachine

from states.machines.spec import (
    OBJECTION,
    REASON,
    By,
    Command,
    EffectContext,
    EventSpec,
    Field,
    Form,
    ProcessSpec,
    ResumeWindow,
    RuleUse,
    SetData,
    StateSpec,
    SuspendWindow,
)
from states.org import EDUCATION, EDUCATION_LABELS, SCHOOL_LEVELS, education_at_least
from states.rules.base import Facts, Verdict, full_years

PLAN = "recruitment_plan"
APPLICANT = "recruitment"


# --- the post plan ------------------------------------------------------------------------------
class PlanMachine(StateMachine):
    draft = State("编制中", initial=True)
    city_check = State("市级审核")
    province_review = State("省级审批")
    approved = State("已批准", final=True)
    rejected = State("未批准", final=True)

    submit = draft.to(city_check)
    city_pass = city_check.to(province_review)
    approve = province_review.to(approved)
    send_back = city_check.to(draft) | province_review.to(draft)
    reject = province_review.to(rejected)


def _plan_tier(
    alias: str, data: Mapping[str, Any], school: Mapping[str, Any], policy: Mapping[str, Any]
) -> str:
    return alias


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
            EventSpec("send_back", "退回修改", form=Form((REASON,))),
            EventSpec("reject", "不予批准", form=Form((REASON,))),
        )
    },
    start_form=Form((Field("note", "计划说明", required=False, max_length=1000),)),
    policy_defaults={},
    resolve_tier=_plan_tier,
    main_path=("draft", "city_check", "province_review", "approved"),
    opened_by="county",
)


# --- eligibility (checked at registration and again at the qualification check) ----------------
# Minimum education by the post's school level (a plan may ask for more).
MIN_EDUCATION = {
    "kindergarten": "associate",
    "primary": "bachelor",
    "junior": "bachelor",
    "senior": "bachelor",
    "vocational": "bachelor",
}
# A certificate for a higher level qualifies for the levels below it; vocational stands apart.
CERT_ORDER = ("kindergarten", "primary", "junior", "senior")


@dataclass(frozen=True)
class Candidate:
    birth_date: dt.date
    education: str
    cert_level: str | None


@dataclass(frozen=True)
class PostNeeds:
    school_level: str
    min_education: str
    cert_required: bool
    max_age: int


def cert_covers(cert: str | None, level: str) -> bool:
    if cert is None:
        return False
    if cert == level:
        return True
    if cert in CERT_ORDER and level in CERT_ORDER:
        return CERT_ORDER.index(cert) >= CERT_ORDER.index(level)
    return cert == "senior" and level == "vocational"


def eligibility(c: Candidate, post: PostNeeds, on: dt.date) -> list[tuple[str, str]]:
    """Every reason this candidate cannot take this post: (field, reason). Pure."""
    out: list[tuple[str, str]] = []
    age = full_years(c.birth_date, on)
    if age > post.max_age:
        out.append(("birth_date", f"年龄超过{post.max_age}周岁（现{age}周岁）"))
    need = post.min_education
    if c.education not in EDUCATION or not education_at_least(c.education, need):
        have = EDUCATION_LABELS.get(c.education, c.education)
        out.append(("education", f"学历须为{EDUCATION_LABELS[need]}及以上（现为{have}）"))
    if post.cert_required and not cert_covers(c.cert_level, post.school_level):
        out.append(("cert_level", f"须持有{SCHOOL_LEVELS[post.school_level]}及以上教师资格证"))
    return out


def candidate_and_post(row: Any) -> tuple[Candidate, PostNeeds]:
    """Read a row of ``queries.eligibility_rows`` as the eligibility rule's two inputs."""
    return (
        Candidate(row.birth_date, row.education, row.cert_level),
        PostNeeds(row.school_level, row.min_education, row.cert_required, row.max_age),
    )


@dataclass(frozen=True)
class Eligible:
    """The qualification check as a rule: facts carry the candidate and the post."""

    code: str = "eligibility"
    label: str = "报考资格"
    needs: frozenset[str] = frozenset({"applicant"})

    def check(self, facts: Facts) -> Verdict:
        c, post = facts.extra["candidate"], facts.extra["post"]
        problems = eligibility(c, post, facts.today)
        if problems:
            return Verdict.failed("资格审查不通过：" + "；".join(r for _, r in problems))
        return Verdict.passed()


@dataclass(frozen=True)
class ProbationOver:
    """转正: twelve months' probation from the day the post was chosen."""

    code: str = "probation"
    label: str = "试用期满"
    needs: frozenset[str] = frozenset()

    def check(self, facts: Facts) -> Verdict:
        hired = facts.data.get("hired_on")
        if not hired:
            return Verdict.failed("未记录入职日期，不能转正")
        start = dt.date.fromisoformat(str(hired))
        if full_years(start, facts.today) < 1:
            end = start.replace(year=start.year + 1)
            return Verdict.failed(f"试用期未满：{start.isoformat()}入职，{end.isoformat()}期满")
        return Verdict.passed()


# --- the applicant ------------------------------------------------------------------------------
class ApplicantMachine(StateMachine):
    registered = State("已报名", initial=True)
    qualified = State("资格审查通过")
    examined = State("已笔试")
    shortlisted = State("入围面试")
    interviewed = State("已面试")
    physical = State("待体检")
    reserve = State("候补")
    background = State("待考察")
    publicity = State("公示中")
    objection_review = State("异议核查")
    choosing = State("待选岗")
    probation = State("试用期")
    confirmed = State("正式录用", final=True)
    disqualified = State("资格审查不通过", final=True)
    not_shortlisted = State("未入围", final=True)
    failed_physical = State("体检不合格", final=True)
    failed_background = State("考察不合格", final=True)
    withdrew = State("放弃", final=True)
    not_hired = State("未录用", final=True)

    qualify = registered.to(qualified)
    disqualify = registered.to(disqualified)
    record_written = qualified.to(examined)
    shortlist = examined.to(shortlisted)
    not_shortlist = examined.to(not_shortlisted)
    record_interview = shortlisted.to(interviewed)
    to_physical = interviewed.to(physical) | reserve.to(physical)
    to_reserve = interviewed.to(reserve)
    pass_physical = physical.to(background)
    fail_physical = physical.to(failed_physical)
    pass_background = background.to(publicity)
    fail_background = background.to(failed_background)
    close_publicity = publicity.to(choosing)
    # An objection stops the publicity clock until the county has looked into it.
    raise_objection = publicity.to(objection_review)
    dismiss_objection = objection_review.to(publicity)
    uphold_objection = objection_review.to(not_hired)
    choose_post = choosing.to(probation)
    confirm = probation.to(confirmed)
    close_reserve = reserve.to(not_hired)
    skip_choice = choosing.to.itself(internal=True)  # type: ignore[no-untyped-call]
    veto = registered.to(disqualified)  # a qualification rule says no
    withdraw = (
        registered.to(withdrew)
        | qualified.to(withdrew)
        | examined.to(withdrew)
        | shortlisted.to(withdrew)
        | interviewed.to(withdrew)
        | physical.to(withdrew)
        | reserve.to(withdrew)
        | background.to(withdrew)
        | publicity.to(withdrew)
        | objection_review.to(withdrew)
        | choosing.to(withdrew)
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
    "publicity": StateSpec("publicity", By(system=True), 7, (), "none", True),
    "objection_review": StateSpec("objection_review", COUNTY, 10),
    "choosing": StateSpec("choosing", COUNTY, 5),
    "probation": StateSpec("probation", COUNTY, escalation="none"),
    **{
        s: StateSpec(s)
        for s in (
            "confirmed",
            "disqualified",
            "not_shortlisted",
            "failed_physical",
            "failed_background",
            "withdrew",
            "not_hired",
        )
    },
}

SCORE = Form(
    (Field("score", "成绩", "float", required=False, min_value=0, max_value=100, help="缺考不填"),)
)

APPLICANT_EVENTS: Mapping[str, EventSpec] = {
    e.name: e
    for e in (
        EventSpec("qualify", "资格审查通过", rules=(RuleUse(Eligible(), "reject"),)),
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
        EventSpec("close_publicity", "公示期满", By(system=True)),
        EventSpec("raise_objection", "提出异议", By(public=True), form=OBJECTION, decision=False),
        EventSpec("dismiss_objection", "异议不成立", form=Form((REASON,))),
        EventSpec("uphold_objection", "异议成立，不予录用", form=Form((REASON,))),
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
        ),
        EventSpec("veto", "资格审查不通过", By(system=True), internal=True),
    )
}


def _applicant_tier(
    alias: str, data: Mapping[str, Any], school: Mapping[str, Any], policy: Mapping[str, Any]
) -> str:
    return alias


def _effects(ctx: EffectContext) -> Sequence[Command]:
    if ctx.event == "choose_post":
        return (
            SetData({"hired_on": ctx.facts.today.isoformat(), "seat_id": ctx.payload["seat_id"]}),
        )
    if ctx.event == "raise_objection":
        objections = [*ctx.facts.data.get("objections", []), dict(ctx.payload)]
        return (SetData({"objections": objections}), SuspendWindow())
    if ctx.event == "dismiss_objection":
        return (ResumeWindow(),)
    return ()


APPLICANT_SPEC = ProcessSpec(
    name=APPLICANT,
    label="新任教师招聘",
    machine=ApplicantMachine,
    states=APPLICANT_STATES,
    events=APPLICANT_EVENTS,
    start_form=Form(),
    policy_defaults={},
    resolve_tier=_applicant_tier,
    effects=_effects,
    extra_needs={"qualify": frozenset({"applicant"}), "raise_objection": frozenset({"window"})},
    opened_by="public",
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
