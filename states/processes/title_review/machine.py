"""Title review (职称评审), described for bureau staff in ``docs/processes/title_review.md``.

declare → school review → in-school publicity (5 working days) → school recommends (quota)
→ county qualification check → review committee (random panel with recusal, quorum 2/3,
pass with 2/3 of the votes cast) → result publicity (5 working days; an objection suspends)
→ appointment, which updates the teacher's title. Every review step can return the case for
correction or reject it; the ethics veto rejects it at every step.
"""

from __future__ import annotations

from statemachine import State, StateMachine

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
