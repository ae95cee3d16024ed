"""Child cases: a parent opens them in its own transaction and cannot close before them."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import Engine, select
from statemachine import State, StateMachine

from states.blocks.children import ChildrenClosed, OpenChildren
from states.clock import FrozenClock
from states.engine import CaseEngine
from states.errors import RuleRefused
from states.org import SCHOOL_OFFICER
from states.process.forms import Field, Form
from states.process.package import ProcessPackage
from states.process.spec import (
    By,
    Command,
    EffectContext,
    EventSpec,
    ProcessSpec,
    RuleUse,
    StateSpec,
)
from states.seed.builders import fire_current
from states.store.audit_store import verify_trail
from states.store.models import Case, Task
from tests.world import World


class CheckMachine(StateMachine):
    checking = State("检查中", initial=True)
    fixing = State("整改中")
    closed = State("已办结", final=True)

    found = checking.to(fixing)
    close = fixing.to(closed)


class FixMachine(StateMachine):
    todo = State("待整改", initial=True)
    fixed = State("已整改", final=True)

    report = todo.to(fixed)


def _check_effects(ctx: EffectContext) -> Sequence[Command]:
    if ctx.event == "found":
        units = [int(u) for u in str(ctx.payload["schools"]).split(",")]
        return (OpenChildren("a_fix", tuple((u, {"finding": "未签师德承诺书"}) for u in units)),)
    return ()


COUNTY, SCHOOL = By(officer="county"), By(officer="school")
CHECK = ProcessSpec(
    name="a_check",
    label="检查",
    machine=CheckMachine,
    states={
        "checking": StateSpec("checking", COUNTY),
        "fixing": StateSpec("fixing", COUNTY),
        "closed": StateSpec("closed"),
    },
    events={
        "found": EventSpec("found", "发现问题", form=Form((Field("schools", "整改学校"),))),
        "close": EventSpec("close", "办结", rules=(RuleUse(ChildrenClosed()),)),
    },
    effects=_check_effects,
    opened_by="county",
)
FIX = ProcessSpec(
    name="a_fix",
    label="整改",
    machine=FixMachine,
    states={"todo": StateSpec("todo", SCHOOL, 10), "fixed": StateSpec("fixed")},
    events={"report": EventSpec("report", "报告整改完成")},
    opened_by="county",
)
PACKAGES = (ProcessPackage("a_check", "检查", (CHECK,)), ProcessPackage("a_fix", "整改", (FIX,)))


def test_a_parent_waits_on_the_children_it_opened(
    engine: Engine, world: World, clock: FrozenClock
) -> None:
    eng = CaseEngine(engine, PACKAGES, clock)
    county = world.actors["county_officer"]
    with engine.begin() as conn:
        [parent] = eng.open_many("a_check", [(world.unit("east"), {})], county, conn=conn)
    schools = f"{world.unit('urban')},{world.unit('rural')}"
    fire_current(eng, parent, "found", county, {"schools": schools})
    with engine.connect() as conn:
        children = conn.execute(
            select(Case.id, Case.org_unit_id, Case.state, Case.year)
            .where(Case.parent_id == parent)
            .order_by(Case.id)
        ).all()
        tasks = conn.execute(
            select(Task.case_id, Task.role, Task.org_unit_id).where(
                Task.case_id.in_([c.id for c in children]), Task.status == "open"
            )
        ).all()
    assert [(c.org_unit_id, c.state) for c in children] == [
        (world.unit("urban"), "todo"),
        (world.unit("rural"), "todo"),
    ]
    assert {(t.role, t.org_unit_id) for t in tasks} == {
        (SCHOOL_OFFICER, world.unit("urban")),
        (SCHOOL_OFFICER, world.unit("rural")),
    }
    with pytest.raises(RuleRefused, match="尚有2项下级事项未办结"):
        fire_current(eng, parent, "close", county)
    fire_current(eng, children[0].id, "report", world.actors["school_officer"])
    with pytest.raises(RuleRefused, match="尚有1项"):
        fire_current(eng, parent, "close", county)
    fire_current(eng, children[1].id, "report", world.actors["rural_officer"])
    assert fire_current(eng, parent, "close", county).to_state == "closed"
    with engine.connect() as conn:
        assert list(verify_trail(conn)) == []
