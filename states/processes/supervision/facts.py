"""Supervision's facts, loaded inside the transition that reads them: what a finding is
judged by, and where people stand towards a rectification."""

from __future__ import annotations

from sqlalchemy import Connection, select

from states.engine.context import CaseContext
from states.org import INSPECTOR
from states.processes.supervision import store
from states.processes.supervision.effects import new_evidence
from states.processes.supervision.rules import FindingFacts, RectificationFacts


def finding_facts(conn: Connection, ctx: CaseContext) -> FindingFacts:
    c = store.campaign_of_case(conn, ctx.case.id)
    me = ctx.actor.person_id
    assigned = {
        int(r.unit_id): str(r.name)
        for r in conn.execute(
            select(store.assignments_t.c.unit_id, store.units_t.c.name)
            .join(store.units_t, store.units_t.c.id == store.assignments_t.c.unit_id)
            .where(
                store.assignments_t.c.campaign_id == c.id,
                store.assignments_t.c.inspector_id == me,
            )
        )
    }
    used = {
        int(f["attachment"])
        for evidence in conn.execute(
            select(store.findings_t.c.evidence).where(store.findings_t.c.campaign_id == c.id)
        ).scalars()
        for f in evidence or []
    }
    uploads = {
        int(r.id): str(r.filename)
        for r in conn.execute(
            select(store.attachments_t.c.id, store.attachments_t.c.filename).where(
                store.attachments_t.c.case_id == ctx.case.id,
                store.attachments_t.c.uploaded_by == me,
            )
        )
        if int(r.id) not in used
    }
    checklist = {str(i["code"]): (str(i["text"]), bool(i["evidence"])) for i in c.checklist}
    return FindingFacts(assigned=assigned, checklist=checklist, uploads=uploads)


def rectification_facts(conn: Connection, ctx: CaseContext) -> RectificationFacts:
    unit = store.unit(conn, ctx.case.org_unit_id)
    organiser = store.unit(conn, int(ctx.data["organiser_id"]))
    me = ctx.actor.person_id
    pool = {
        int(r.person_id): (str(r.name), tuple(r.own or ()))
        for r in conn.execute(
            select(store.pool_t.c.person_id, store.pool_t.c.own, store.people_t.c.name)
            .join(store.people_t, store.people_t.c.id == store.pool_t.c.person_id)
            .where(store.pool_t.c.campaign_id == int(ctx.data["campaign_id"]))
        )
    }
    # where they stand now as well as when drawn: a move since the draw still recuses
    now = store.own_paths(conn, [*pool, *([me] if me is not None else [])], organiser.path)
    pool = {p: (name, tuple(sorted({*own, *now.get(p, ())}))) for p, (name, own) in pool.items()}
    actor_own: tuple[str, ...] = ()
    if me is not None:
        actor_own = tuple(sorted({*now.get(me, ()), *(pool[me][1] if me in pool else ())}))
    due = next(
        (
            t.due_on
            for t in ctx.open_tasks
            if t.state == "to_rectify" and t.kind == "act" and t.role != INSPECTOR
        ),
        None,
    )
    return RectificationFacts(
        unit=str(unit.name),
        unit_path=str(unit.path),
        actor_own=actor_own,
        pool=pool,
        new_evidence=len(new_evidence(conn, ctx.case.id, ctx.data)),
        due_on=due,
        today=ctx.today,
    )
