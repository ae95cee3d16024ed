"""Effects: what an event changes besides the state, carried out by registered handlers.

A process's effect function returns commands; each command type has one handler in the
catalogue (the core's for case data and the teacher record, a building block's for panels,
publicity windows and counted slots, a process's for its own tables). Handlers write inside
the transition's transaction and may add to what the transition records: the audit payload,
tasks to open with the new state's, the window's remaining days, the slot the case holds, a
note for whoever the new state's tasks are handed to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from states.engine.context import CaseContext
from states.engine.tasks import Deadlines
from states.process.package import Parts
from states.process.spec import ApplicantTold, Command, SetData, UpdateTeacher
from states.registry.roster import apply_case_change

if TYPE_CHECKING:
    from states.engine.core import CaseEngine

KEEP = False  # slot_key sentinel: the case keeps the slot it holds


@dataclass
class EffectScope:
    engine: CaseEngine
    conn: Connection
    ctx: CaseContext
    deadlines: Deadlines
    record: dict[str, Any]  # the payload that goes on the audit row
    target: str
    tasks: list[dict[str, Any]] = field(default_factory=list)  # opened with the new state's
    window_days: int | None = None  # a resumed window's remaining working days
    slot_key: str | bool | None = KEEP
    note: str = ""  # a line the new state's task notices carry (an objection's receipt)
    # an effect told the applicant of this step itself, in the process's own words: the
    # engine's progress notice would tell them twice
    applicant_told: bool = False


def apply(
    engine: CaseEngine,
    conn: Connection,
    ctx: CaseContext,
    commands: Sequence[Command],
    record: dict[str, Any],
    target: str,
) -> EffectScope:
    catalogue = engine.processes
    scope = EffectScope(engine, conn, ctx, engine.deadlines, record, target)
    for cmd in commands:
        handler = catalogue.effect_handlers.get(type(cmd))
        if handler is None:
            raise AssertionError(f"no handler registered for {type(cmd).__name__}")
        handler(scope, cmd)
    source = ctx.spec.states[ctx.case.state]
    if target != ctx.case.state:
        for tag in sorted(source.tags):
            hook = catalogue.leave_hooks.get(tag)
            if hook is not None:
                hook(scope)
    return scope


def _set_data(scope: EffectScope, cmd: SetData) -> None:
    scope.ctx.data.update(cmd.patch)


def _applicant_told(scope: EffectScope, cmd: ApplicantTold) -> None:
    scope.applicant_told = True


def _update_teacher(scope: EffectScope, cmd: UpdateTeacher) -> None:
    """Through the roster's one writer of a case's change, so the record's history names
    the case and its version moves (an officer's open edit form then gets a conflict)."""
    ctx = scope.ctx
    apply_case_change(
        scope.conn, ctx.case.subject_id, cmd.fields, actor=ctx.actor, at=ctx.now,
        case_id=ctx.case.id,
    )  # fmt: skip


CORE_EFFECTS = Parts(
    effect_handlers={
        SetData: _set_data,
        UpdateTeacher: _update_teacher,
        ApplicantTold: _applicant_told,
    }
)
