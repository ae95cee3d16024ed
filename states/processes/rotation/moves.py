"""A rotating teacher's case and the records: dispatch moves the teacher's school on the
roster (its history names the case: source 业务办理) and hands the work named to them at the
school they leave back to its roles (the registry's handover, as for any departure); the
return moves them back the same way. The notices of each step, and an approved exemption
taking a teacher off the campaign's count."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from states.engine.effects import EffectScope
from states.engine.outbox import notice, send
from states.errors import Conflict
from states.org import COUNTY_OFFICER
from states.processes.rotation.rules import cn_date
from states.processes.rotation.spec import (
    DISPATCHED_NOTICE,
    EXTENDED_NOTICE,
    TERM_ENDING_NOTICE,
    ApplyExemption,
    CreditService,
    MoveSchool,
    RotationNotice,
)
from states.processes.rotation.tables import RotationEligible
from states.registry import service
from states.registry.roster import apply_case_change, is_active, on_teacher_left
from states.store.models import OrgUnit, Teacher, table_of

eligible_t, teachers_t, units_t = table_of(RotationEligible), table_of(Teacher), table_of(OrgUnit)


def move_school(scope: EffectScope, cmd: MoveSchool) -> None:
    ctx = scope.ctx
    person = ctx.case.subject_id
    active, why = is_active(scope.conn, person)
    if not active:
        raise Conflict(f"{why}，不能{'返回' if cmd.back else '派出'}", field="on")
    to = int(ctx.data["from_school_id"] if cmd.back else ctx.data["to_school_id"])
    on = dt.date.fromisoformat(str(scope.record["on"]))
    here = scope.conn.execute(
        select(teachers_t.c.school_id).where(teachers_t.c.person_id == person)
    ).scalar_one()
    if int(here) == to:
        return
    apply_case_change(
        scope.conn, person, {"school_id": to, "joined_school_on": on},
        actor=ctx.actor, at=ctx.now, case_id=ctx.case.id,
    )  # fmt: skip
    # the work named to them at the school they leave goes back to its roles
    on_teacher_left(scope.conn, person, ctx.now, actor=ctx.actor)


def credit_service(scope: EffectScope, cmd: CreditService) -> None:
    """On return from a rural or weak school: the days served there (dispatch to the day
    before the return) on the service ledger, naming this case; a placement at an ordinary
    school earns no rural experience."""
    ctx = scope.ctx
    school = int(ctx.data["to_school_id"])
    flags = scope.conn.execute(
        select(units_t.c.is_rural, units_t.c.is_weak).where(units_t.c.id == school)
    ).one()
    if not (flags.is_rural or flags.is_weak):
        return
    started = dt.date.fromisoformat(str(ctx.data["dispatched_on"]))
    back = dt.date.fromisoformat(str(scope.record["on"]))
    credit_id = service.credit(
        scope.conn, teacher_id=ctx.case.subject_id, kind=service.ROTATION,
        source_case_id=ctx.case.id, school_id=school, started_on=started,
        ended_on=back - dt.timedelta(days=1), assessment=None, actor=ctx.actor, at=ctx.now,
    )  # fmt: skip
    if credit_id is not None:
        scope.record["service_credit_id"] = credit_id


def rotation_notice(scope: EffectScope, cmd: RotationNotice) -> None:
    """The step's own notice (the engine's progress notice says only that the case moved):
    where, until when, and what comes next."""
    ctx = scope.ctx
    data = ctx.data
    ends = str(data.get("term_ends_on") or "")
    school = str(data.get("to_school") or "")
    if cmd.kind == DISPATCHED_NOTICE:
        since = cn_date(dt.date.fromisoformat(str(data["dispatched_on"])))
        detail = f"交流期{data.get('term_years', 3)}年，自{since}起"
    elif cmd.kind == EXTENDED_NOTICE:
        last = (data.get("extensions") or [{}])[-1]
        detail = f"延长理由：{last.get('reason', '')}"
    elif cmd.kind == TERM_ENDING_NOTICE:
        detail = f"期满后返回{data.get('from_school', '原学校')}，或经县教育局批准延长"
    else:
        raise AssertionError(cmd.kind)
    payload = {"rotation_school": school, "rotation_detail": detail, "rotation_date": ends}
    if ctx.case.applicant_id is not None:
        send(scope.conn, notice(ctx.case.id, cmd.kind, ctx.now, payload,
                                person_id=ctx.case.applicant_id))  # fmt: skip
    if cmd.county:
        county = ctx.unit_for("county")
        send(scope.conn, notice(ctx.case.id, cmd.kind, ctx.now, payload, role=COUNTY_OFFICER,
                                unit_id=county.id))  # fmt: skip


def apply_exemption(scope: EffectScope, cmd: ApplyExemption) -> None:
    """The approved exemption on the teacher's line of the campaign's list: off the count
    and out of the matching, whatever they or their school had chosen."""
    ctx = scope.ctx
    scope.conn.execute(
        update(eligible_t)
        .where(
            eligible_t.c.campaign_id == int(ctx.data["campaign_id"]),
            eligible_t.c.person_id == ctx.case.applicant_id,
        )
        .values(exempt_case_id=ctx.case.id, exempt_kind=str(ctx.data["kind"])[:32])
    )
