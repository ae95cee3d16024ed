"""New-teacher recruitment (新任教师公开招聘), "province examines, city selects, county hires",
``docs/processes/recruitment.md``. Two processes:

- the county's post plan: declared → city check → province approval; approval makes its
  posts open for registration and fixes their counts as a quota;
- each applicant: registered → qualification check → written exam → shortlist (1:3, ties at
  the cut-off go through) → interview → composite ranking (top of each post to the physical,
  the rest in reserve for replacement) → physical → background check → publicity (7 working
  days) → post choice in rank order → 12 months' probation → confirmed; exits for
  disqualified, not shortlisted, withdrew, failed physical, failed background, not hired,
  and a registration voided as squatted (someone else's ID number) before the exam.

The steps that move thousands of applicants at once (scores, shortlist, ranking) go through
``CaseEngine.fire_many``: the same transitions, set-based.
"""

from __future__ import annotations

from statemachine import State, StateMachine

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
    voided = State("冒名报名已注销", final=True)

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
    # Someone else's ID number registered from a squatter's phone: voided once the holder
    # has shown their ID card, which frees the number for them; or the claim is dismissed.
    void_registration = registered.to(voided) | qualified.to(voided)
    confirm_identity = (
        registered.to.itself(internal=True)  # type: ignore[no-untyped-call]
        | qualified.to.itself(internal=True)  # type: ignore[no-untyped-call]
    )
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
