"""Supervision (督查), described for bureau staff in ``docs/processes/supervision.md``. Two
machines:

- an inspection campaign (专项督查) at the organising unit: in preparation → drawn (the
  targets and the inspectors, "双随机") → inspecting (from the visit date; each finding
  opens a rectification) → following up (整改跟踪, until every rectification is closed)
  → closed; it may be called off before the visits start;
- each rectification (整改) a finding opens at the inspected unit: to rectify (the unit,
  within its working days; overdue escalates once to the unit above) → re-inspection
  (复查, by an inspector of the campaign's pool, never one of the unit's own) → rectified,
  or sent back to rectify, or reported (通报) to the unit's superior.
"""

from __future__ import annotations

from statemachine import State, StateMachine

CAMPAIGN = "inspection_campaign"
RECTIFICATION = "rectification"


class CampaignMachine(StateMachine):
    preparing = State("筹备中", initial=True)
    targets_drawn = State("已抽取")
    inspecting = State("实地检查")
    following_up = State("整改跟踪")
    concluded = State("已办结", final=True)
    withdrawn_campaign = State("已撤销", final=True)

    draw_lots = preparing.to(targets_drawn)
    start_visits = targets_drawn.to(inspecting)
    record_finding = inspecting.to.itself(internal=True)  # type: ignore[no-untyped-call]
    finish_visits = inspecting.to(following_up)
    conclude_campaign = following_up.to(concluded)
    call_off_campaign = preparing.to(withdrawn_campaign) | targets_drawn.to(withdrawn_campaign)


class RectificationMachine(StateMachine):
    to_rectify = State("待整改", initial=True)
    reinspection = State("待复查")
    rectified = State("整改到位", final=True)
    publicized = State("已通报", final=True)

    report_rectification = to_rectify.to(reinspection)
    assign_reinspector = reinspection.to.itself(internal=True)  # type: ignore[no-untyped-call]
    accept_rectification = reinspection.to(rectified)
    return_rectification = reinspection.to(to_rectify)
    escalate_rectification = reinspection.to(publicized)
    # a unit that lets its deadline pass without reporting: the organiser reports it
    report_overdue = to_rectify.to(publicized)
