"""The publicity window against the store: its fact loader and its effect handlers."""

from __future__ import annotations

from sqlalchemy import Connection

from states.blocks.publicity import ResumeWindow, SuspendWindow, WindowFacts
from states.engine.context import CaseContext
from states.engine.effects import EffectScope
from states.process.package import Parts

LEFT = "window_days_left"  # in the case's data while a window is suspended


def _window(conn: Connection, ctx: CaseContext) -> WindowFacts:
    return WindowFacts(ctx.window_due())


def _suspend(scope: EffectScope, cmd: SuspendWindow) -> None:
    ctx = scope.ctx
    due = ctx.window_due()
    left = (
        scope.deadlines.calendar(scope.conn).working_days_between(ctx.today, due)
        if due is not None
        else 0
    )
    ctx.data[LEFT] = left
    scope.record[LEFT] = left


def _resume(scope: EffectScope, cmd: ResumeWindow) -> None:
    scope.window_days = int(scope.ctx.data.get(LEFT, 0))


PARTS = Parts(
    fact_loaders={WindowFacts: _window},
    effect_handlers={SuspendWindow: _suspend, ResumeWindow: _resume},
)
