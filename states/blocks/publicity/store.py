"""The publicity window against the store: its fact loaders, its effect handlers, the hook
that ends a window, and filing a member of the public's objection confirmed by SMS code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from states.blocks.publicity import (
    OBJECTIONS,
    ROUND,
    UPHELD,
    FileObjection,
    ObjectionFacts,
    ResumeWindow,
    SettleObjection,
    SuspendWindow,
    WindowFacts,
    code_purpose,
    objection_facts,
    objector_phone,
    receipt_number,
)
from states.engine.context import CaseContext
from states.engine.effects import EffectScope
from states.engine.statements import cases_t
from states.errors import FormError
from states.org import PUBLIC_ACTOR
from states.process.package import Parts
from states.process.spec import PUBLIC_WINDOW, ProcessSpec
from states.verification import check_code, use_code

if TYPE_CHECKING:
    from states.engine.core import CaseEngine

LEFT = "window_days_left"  # in the case's data while a window is suspended


def _window(conn: Connection, ctx: CaseContext) -> WindowFacts:
    return WindowFacts(ctx.window_due())


def _objections(conn: Connection, ctx: CaseContext) -> ObjectionFacts:
    return objection_facts(ctx.data)


def _suspend(scope: EffectScope, cmd: SuspendWindow) -> None:
    """Keep the working days the window has left. A window whose last day is not known yet
    (its year's holidays not loaded) counts them from the days it was given, less those
    already run, rather than losing them all."""
    ctx = scope.ctx
    calendar = scope.deadlines.calendar(scope.conn)
    window = next((t for t in ctx.open_tasks if t.kind == "window"), None)
    left = 0
    if window is not None and window.due_on is not None:
        left = calendar.working_days_between(ctx.today, window.due_on)
    elif window is not None and window.due_days is not None:
        run = calendar.working_days_between(window.opened_on, ctx.today)
        left = max(0, window.due_days - run)
    ctx.data[LEFT] = left
    scope.record[LEFT] = left


def _resume(scope: EffectScope, cmd: ResumeWindow) -> None:
    scope.window_days = int(scope.ctx.data.get(LEFT, 0))


def _file(scope: EffectScope, cmd: FileObjection) -> None:
    ctx = scope.ctx
    filed = list(ctx.data.get(OBJECTIONS, []))
    receipt = receipt_number(ctx.case.id, len(filed) + 1)
    said = {k: v for k, v in scope.record.items() if k != LEFT}
    window = int(ctx.data.get(ROUND, 1))
    entry = {**said, "receipt": receipt, "window": window, "filed_at": ctx.now.isoformat()}
    ctx.data[OBJECTIONS] = [*filed, entry]
    scope.record["receipt"] = receipt
    scope.note = f"异议回执编号{receipt}"


def _settle(scope: EffectScope, cmd: SettleObjection) -> None:
    """The objection under review is the last one filed: none can be filed while one is."""
    ctx = scope.ctx
    filed = [dict(o) for o in ctx.data.get(OBJECTIONS, [])]
    if not filed or "outcome" in filed[-1]:
        return
    filed[-1].update(outcome=cmd.outcome, settled_at=ctx.now.isoformat())
    ctx.data[OBJECTIONS] = filed
    if filed[-1].get("receipt"):
        scope.record["receipt"] = filed[-1]["receipt"]
    if cmd.outcome == UPHELD:  # never resumed: a later publicity is a new window
        ctx.data[ROUND] = int(ctx.data.get(ROUND, 1)) + 1


def _window_left(scope: EffectScope) -> None:
    """Leaving a window other than by an objection suspending it ends that window: if the
    case is publicised again, every mobile may object once more."""
    if LEFT in scope.record:  # suspended, to be resumed: the same window
        return
    data = scope.ctx.data
    window = int(data.get(ROUND, 1))
    if any(int(o.get("window", 1)) == window for o in data.get(OBJECTIONS, [])):
        data[ROUND] = window + 1


PARTS = Parts(
    fact_loaders={WindowFacts: _window, ObjectionFacts: _objections},
    effect_handlers={
        SuspendWindow: _suspend,
        ResumeWindow: _resume,
        FileObjection: _file,
        SettleObjection: _settle,
    },
    leave_hooks={PUBLIC_WINDOW: _window_left},
)


def file_objection(
    engine: CaseEngine,
    spec: ProcessSpec,
    case_id: int,
    event: str,
    payload: Mapping[str, Any],
    code: str,
    *,
    expected_version: int,
) -> str:
    """File an objection from the public and return its receipt number.

    The form is checked first, then the code (a wrong one is counted against it), then the
    engine moves the case; the code is used up in the move's own transaction, so an
    objection the rules refuse, or one that lost a race, keeps its code for another try.
    """
    form = dict(payload)
    form["contact_phone"] = objector_phone(str(form.get("contact_phone") or ""))
    clean = spec.events[event].form.validate(form)
    phone = str(clean["contact_phone"])
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        said = "请填写短信中的6位数字验证码" if code else "请先获取并填写短信验证码"
        raise FormError("code", said)
    code_id = check_code(engine.db, engine.clock, phone, code, purpose=code_purpose(case_id))
    receipts: list[str] = []

    def confirm(conn: Connection) -> None:
        use_code(conn, code_id, engine.clock.now())
        receipts.append(receipt_of(conn, case_id, phone))

    engine.fire(
        case_id, event, PUBLIC_ACTOR, clean, expected_version=expected_version, also=confirm
    )
    return receipts[0]


def receipt_of(conn: Connection, case_id: int, phone: str) -> str:
    """The receipt of the objection ``phone`` filed last on the case."""
    data = conn.execute(select(cases_t.c.data).where(cases_t.c.id == case_id)).scalar_one()
    return next(
        str(o["receipt"])
        for o in reversed(data.get(OBJECTIONS, []))
        if o.get("contact_phone") == phone and o.get("receipt")
    )
