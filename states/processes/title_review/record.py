"""Title review and the teacher's record: whether the teacher is in service (a fact the
declaration's rule reads) and the appointed title written onto the record — through the
roster, so the change is on the record's history with the case that made it."""

from __future__ import annotations

from sqlalchemy import Connection

from states.engine.context import CaseContext
from states.engine.effects import EffectScope
from states.processes.title_review.rules import ServiceFacts
from states.processes.title_review.spec import AppointTitle
from states.registry.roster import apply_case_change, is_active


def service_facts(conn: Connection, ctx: CaseContext) -> ServiceFacts:
    active, reason = is_active(conn, ctx.case.subject_id)
    return ServiceFacts(active, reason)


def appoint_title(scope: EffectScope, cmd: AppointTitle) -> None:
    ctx = scope.ctx
    apply_case_change(
        scope.conn,
        ctx.case.subject_id,
        {"title": cmd.title, "title_date": cmd.on},
        actor=ctx.actor,
        at=ctx.now,
        case_id=ctx.case.id,
    )
