"""Support teaching (支教), described for bureau staff in ``docs/processes/support_teaching.md``.
Three machines:

- a receiving school's need (rural, weak, or in a paired region): drafted → the county (the
  city, for a paired region) approves → open for nominations until the county closes it, or
  the system does the day after its term has begun;
  full (已满额) by itself when its last place is taken, open again when a place is given back;
- one candidate against one need: the teacher volunteers (their school confirms) or the
  school nominates → the county selects, or passes over → a selected candidate's term opens
  in publicity; the selection stands when the publicity ends, and is withdrawn (撤销选派)
  when an objection to it is upheld;
- the teacher's term: publicity (objections suspend it) → dispatched → on site, checked in
  monthly by the receiving school (a month filed may be corrected until the assessment) →
  assessed at the end (or after an approved early termination) → returned, the time served
  credited to the service ledger.
"""

from __future__ import annotations

from statemachine import State, StateMachine

NEED = "support_need"
APPLICATION = "support_application"
TERM = "support_term"


class NeedMachine(StateMachine):
    draft = State("草稿", initial=True)
    review = State("待审批")
    approved = State("已批准")
    # every place taken: moved here by the selection that took the last one, and back to
    # approved when an upheld objection gives a place back (system steps, no one presses them)
    filled_up = State("已满额")
    finished = State("已结束", final=True)
    rejected = State("未批准", final=True)
    withdrawn = State("已撤回", final=True)

    submit = draft.to(review)
    approve = review.to(approved)
    reject = review.to(rejected)
    withdraw = draft.to(withdrawn) | review.to(withdrawn)
    fill_up = approved.to(filled_up)
    reopen_places = filled_up.to(approved)
    close_need = approved.to(finished) | filled_up.to(finished)


class ApplicationMachine(StateMachine):
    draft = State("草稿", initial=True)
    school_review = State("学校确认")
    selection = State("县级遴选")
    # selected, the term in publicity: the selection stands once the publicity is over, and
    # is withdrawn if an objection to it is upheld
    selected = State("已选派（公示中）")
    confirmed = State("已选派", final=True)
    revoked = State("撤销选派", final=True)
    not_selected = State("未选派", final=True)
    declined = State("学校未同意", final=True)
    withdrawn = State("已撤回", final=True)

    submit = draft.to(school_review)
    # the school puts its own teacher forward: no confirmation of its own nomination
    nominate = draft.to(selection)
    confirm = school_review.to(selection)
    decline = school_review.to(declined)
    select_teacher = selection.to(selected)
    not_select = selection.to(not_selected)
    # fired by the term: its publicity over (the selection stands), or an objection upheld
    confirm_selection = selected.to(confirmed)
    revoke_selection = selected.to(revoked)
    withdraw = draft.to(withdrawn) | school_review.to(withdrawn) | selection.to(withdrawn)


class TermMachine(StateMachine):
    publicity = State("公示中", initial=True)
    objection_review = State("异议核查")
    removed = State("异议成立，未派出", final=True)
    to_dispatch = State("待派出")
    on_site = State("在岗支教")
    termination_review = State("提前终止审批")
    assessing = State("期满考核")
    returned = State("已返回", final=True)

    close_publicity = publicity.to(to_dispatch)
    # an objection stops the publicity clock until the county has looked into it
    raise_objection = publicity.to(objection_review)
    dismiss_objection = objection_review.to(publicity)
    uphold_objection = objection_review.to(removed)
    dispatch_teacher = to_dispatch.to(on_site)
    # the receiving school's monthly check-in; the term stays where it is (a last month
    # still within its deadline is filed while the term is assessed)
    check_in = on_site.to.itself(internal=True) | assessing.to.itself(  # type: ignore[no-untyped-call]
        internal=True
    )
    # the receiving school corrects a month it filed, until the term is assessed
    correct_checkin = (
        on_site.to.itself(internal=True)  # type: ignore[no-untyped-call]
        | termination_review.to.itself(internal=True)  # type: ignore[no-untyped-call]
        | assessing.to.itself(internal=True)  # type: ignore[no-untyped-call]
    )
    remind_term_end = on_site.to.itself(internal=True)  # type: ignore[no-untyped-call]
    # early termination, asked by the receiving school or by the teacher
    request_termination = on_site.to(termination_review)
    apply_termination = on_site.to(termination_review)
    approve_termination = termination_review.to(assessing)
    reject_termination = termination_review.to(on_site)
    end_term = on_site.to(assessing)
    assess = assessing.to(returned)
