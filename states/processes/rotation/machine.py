"""Teacher rotation (交流轮岗, under 县管校聘), described for bureau staff in
``docs/processes/rotation.md``. Three machines:

- the county's campaign for a school year: opened (posts, eligibility) → preferences (the
  eligible list published; teachers state up to three schools, schools nominate) → schools
  confirm their lists → county matching (re-runnable) → published → closed;
- each rotating teacher: placed → publicity (working days; an objection suspends it) → to
  be dispatched → in service for the term (the roster moves) → returned; the county may
  extend the term (back in service until the new end); an upheld objection removes them;
- an exemption (免于交流) a teacher applies for with evidence: the school, then the county.
"""

from __future__ import annotations

from statemachine import State, StateMachine

CAMPAIGN = "rotation_campaign"
PLACEMENT = "rotation"
EXEMPTION = "rotation_exemption"


class CampaignMachine(StateMachine):
    opened = State("已开启", initial=True)
    preferences = State("志愿填报")
    confirming = State("学校确认")
    matching = State("县级匹配")
    published = State("已公布")
    wound_up = State("已结束", final=True)
    called_off = State("已撤销", final=True)

    compute_eligibility = opened.to.itself(internal=True)  # type: ignore[no-untyped-call]
    open_preferences = opened.to(preferences)
    close_preferences = preferences.to(confirming)
    start_matching = confirming.to(matching)
    run_match = matching.to.itself(internal=True)  # type: ignore[no-untyped-call]
    publish = matching.to(published)
    close_campaign = published.to(wound_up)
    cancel = (
        opened.to(called_off)
        | preferences.to(called_off)
        | confirming.to(called_off)
        | matching.to(called_off)
    )


class PlacementMachine(StateMachine):
    placed = State("拟交流", initial=True)
    publicity = State("公示中")
    objection_review = State("异议核查")
    to_dispatch = State("公示期满待派出")
    in_service = State("交流任职中")
    returned = State("期满返回", final=True)
    removed = State("异议成立取消交流", final=True)

    publicize = placed.to(publicity)
    close_publicity = publicity.to(to_dispatch)
    # An objection stops the publicity clock until the county has looked into it.
    raise_objection = publicity.to(objection_review)
    dismiss_objection = objection_review.to(publicity)
    uphold_objection = objection_review.to(removed)
    dispatch_teacher = to_dispatch.to(in_service)
    # The county approves a longer term: the teacher stays in service until the new end.
    extend = in_service.to.itself(internal=True)  # type: ignore[no-untyped-call]
    remind_term_end = in_service.to.itself(internal=True)  # type: ignore[no-untyped-call]
    return_home = in_service.to(returned)


class ExemptionMachine(StateMachine):
    draft = State("草稿", initial=True)
    school_review = State("学校审核")
    county_review = State("县级审批")
    approved = State("已批准免于交流", final=True)
    rejected = State("未批准", final=True)
    withdrawn = State("已撤回", final=True)

    submit = draft.to(school_review)
    school_approve = school_review.to(county_review)
    approve = county_review.to(approved)
    reject = school_review.to(rejected) | county_review.to(rejected)
    withdraw = draft.to(withdrawn) | school_review.to(withdrawn)
