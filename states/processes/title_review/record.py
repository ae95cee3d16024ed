"""Title review and the teacher's record: whether the teacher is in service (a fact the
declaration's rule reads) and the appointed title written onto the record — through the
roster, so the change is on the record's history with the case that made it — and the
appointment notice (认定通知) that tells the teacher so, naming the document."""

from __future__ import annotations

from sqlalchemy import Connection

from states.engine.context import CaseContext
from states.engine.effects import EffectScope
from states.engine.outbox import notice, send
from states.org import TITLE_LABELS
from states.processes.title_review.rules import ServiceFacts
from states.processes.title_review.spec import AppointmentNotice, AppointTitle
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


# The notice kind (notices/title_appointed.txt.j2, declared in notice_kinds.py) and what its
# payload carries.
APPOINTED = "title_appointed"


def appointment_notice(scope: EffectScope, cmd: AppointmentNotice) -> None:
    """Written in the appointment's own transaction, delivered after the commit like every
    notice; a case without an applicant account has nobody to tell."""
    ctx = scope.ctx
    if ctx.case.applicant_id is None:
        return
    payload = {
        "title_label": TITLE_LABELS.get(cmd.title, cmd.title),
        "doc_number": cmd.doc_number,
        "doc_date": cmd.doc_date.isoformat(),
    }
    send(
        scope.conn,
        notice(ctx.case.id, APPOINTED, ctx.now, payload, person_id=ctx.case.applicant_id),
    )
