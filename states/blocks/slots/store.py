"""Counting held slots against the store."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, func, select

from states.blocks.slots import HoldSlot
from states.engine.context import CaseContext
from states.engine.effects import EffectScope
from states.engine.statements import cases_t
from states.process.package import Parts
from states.process.spec import TERMINAL_NEGATIVE

HELD = (
    select(func.count())
    .select_from(cases_t)
    .where(
        cases_t.c.org_unit_id == bindparam("unit"),
        cases_t.c.year == bindparam("year"),
        cases_t.c.slot_key == bindparam("key"),
        cases_t.c.state.not_in(bindparam("ended", expanding=True)),
        cases_t.c.id != bindparam("case_id"),
    )
)


def held_by_others(conn: Connection, ctx: CaseContext, key: str) -> int:
    """How many other cases of the case's unit and year hold the slot ``key``."""
    case = ctx.case
    ended = list(ctx.spec.tagged(TERMINAL_NEGATIVE)) or [""]
    return int(
        conn.execute(
            HELD,
            {"unit": case.org_unit_id, "year": case.year, "key": key, "ended": ended,
             "case_id": case.id},
        ).scalar_one()
    )  # fmt: skip


def _hold(scope: EffectScope, cmd: HoldSlot) -> None:
    scope.slot_key = cmd.key


PARTS = Parts(effect_handlers={HoldSlot: _hold})
