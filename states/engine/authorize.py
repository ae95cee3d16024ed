"""Authorization: the one answer to "may this actor take this event on this case".

Single transitions and bulk steps ask the same question and refuse in the same words; a
bulk step only works it out once per (state, event, unit) instead of once per case.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from states.blocks.panel import PANEL_ROLES
from states.engine.context import TIER_WORDS, CaseContext
from states.errors import PermissionDenied
from states.org import OFFICER_OF_TIER, SYSTEM, Actor, path_ids
from states.process.spec import STATE_ACTOR, By, EventSpec


def acting(state_actor: By | None, ev: EventSpec) -> By | None:
    """Who takes ``ev``: the event's own ``by``, or for "whoever holds the step" the state's."""
    return state_actor if ev.by is STATE_ACTOR else ev.by


def officer_refusal(ev: EventSpec, tier: str) -> str:
    return f"「{ev.label}」须由本事项所属{TIER_WORDS.get(tier, tier)}的人事干部办理"


def authorize(ctx: CaseContext, ev: EventSpec, by: By | None) -> None:
    actor, case = ctx.actor, ctx.case
    if by is None:
        raise PermissionDenied(f"「{ev.label}」不能在此状态执行")
    if by.public:
        return
    if actor.holds(SYSTEM) and (by.system or ev.by is STATE_ACTOR):
        return
    if by.applicant:
        if actor.person_id is None or actor.person_id != case.applicant_id:
            raise PermissionDenied(f"只有申报人本人可以{ev.label}")
        return
    if by.panel:
        if not any(
            t.assignee_id == actor.person_id and t.role in PANEL_ROLES for t in ctx.open_tasks
        ):
            if by.panel_label:  # the process names its panel: inspectors, re-inspectors
                raise PermissionDenied(f"您不是本事项的{by.panel_label}，或已办理「{ev.label}」")
            raise PermissionDenied("您不是本事项评审委员会的评委，或已投票")
        return
    if by.officer:
        unit = ctx.unit_for(by.officer)
        role = OFFICER_OF_TIER[unit.tier]
        named = [
            t.assignee_id
            for t in ctx.open_tasks
            if t.kind == "act" and t.role == role and t.assignee_id is not None
        ]
        # The step's task named to this person is their authority for it: an acting holder
        # (代理) or a successor (离职转办) need not hold the role itself
        # (states/registry/delegation.py decides who may be named).
        if actor.person_id is not None and any(
            t.assignee_id == actor.person_id and t.org_unit_id == unit.id
            for t in ctx.open_tasks
            if t.kind == "act" and t.role == role
        ):
            return
        if not actor.holds(role, unit.id):
            raise PermissionDenied(officer_refusal(ev, unit.tier))
        if named and actor.person_id not in named:
            raise PermissionDenied("此待办已转交他人办理")
        return
    raise PermissionDenied(f"您无权{ev.label}")


def bulk_refusal(
    actor: Actor,
    ev: EventSpec,
    by: By | None,
    org_path: str,
    tiers: Mapping[int, tuple[str, str]],
) -> str | None:
    """Who may take a bulk step: the system, or the officer the event names (or, for an
    event taken by whoever holds the step, the step's officer) over the case's own unit
    or one above it. None when allowed; otherwise the same words ``authorize`` uses."""
    if actor.holds(SYSTEM):
        return None
    if by is None or by.officer is None:
        return f"「{ev.label}」不能批量办理"
    for unit_id in path_ids(org_path):
        tier = tiers[unit_id][0]
        if tier == by.officer and actor.holds(OFFICER_OF_TIER[tier], unit_id):
            return None
    return officer_refusal(ev, by.officer)


def may_take(actor: Actor, task: Any) -> bool:
    """Whether ``actor`` holds ``task``: named to them, or their role at its unit."""
    if task.assignee_id is not None:
        return bool(actor.person_id == task.assignee_id)
    return actor.holds(task.role, task.org_unit_id)
