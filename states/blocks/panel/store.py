"""The panel against the store: seats, the pool, votes, and the tally put on the record."""

from __future__ import annotations

import random
import secrets

from sqlalchemy import Connection, and_, bindparam, exists, insert, or_, select, update

from states.blocks.panel import DrawPanel, PanelFacts, RecordVote, tally
from states.engine.context import CaseContext
from states.engine.effects import EffectScope
from states.engine.tasks import task_row
from states.errors import RuleRefused
from states.org import path_ids
from states.process.package import Parts
from states.process.spec import PANEL_SITTING
from states.store.bulk import FastOne
from states.store.models import (
    ExpertAvailability,
    ExpertConflict,
    PanelSeat,
    RoleBinding,
    Task,
    Teacher,
    table_of,
)

seats_t, bindings_t = table_of(PanelSeat), table_of(RoleBinding)
teachers_t, tasks_t = table_of(Teacher), table_of(Task)
avail_t, conflicts_t = table_of(ExpertAvailability), table_of(ExpertConflict)

# The seats, in member order (the tally is recorded in that order).
PANEL = (
    select(seats_t.c.expert_id, seats_t.c.choice)
    .where(seats_t.c.case_id == bindparam("case_id"))
    .order_by(seats_t.c.expert_id)
)
# The members of one subject and role at the organising unit, with their schools (recusal).
POOL = (
    select(bindings_t.c.person_id, teachers_t.c.school_id)
    .outerjoin(teachers_t, teachers_t.c.person_id == bindings_t.c.person_id)
    .where(
        bindings_t.c.role == bindparam("role"),
        bindings_t.c.org_unit_id == bindparam("unit"),
        bindings_t.c.subject == bindparam("subject"),
    )
)
# The pool as the draw sees it: each member with whether an officer said they do not sit this
# year (states/registry/experts.py), and whether they declared a conflict with the
# applicant or a unit the case lies under. One statement, as before: the draw costs no more
# round trips than it did.
DRAWABLE = POOL.add_columns(
    exists()
    .where(
        avail_t.c.person_id == bindings_t.c.person_id,
        avail_t.c.org_unit_id == bindings_t.c.org_unit_id,
        avail_t.c.year == bindparam("year"),
        avail_t.c.available.is_(False),
    )
    .label("away"),
    exists()
    .where(
        conflicts_t.c.expert_id == bindings_t.c.person_id,
        or_(
            conflicts_t.c.org_unit_id.in_(bindparam("units", expanding=True)),
            and_(
                conflicts_t.c.person_id.is_not(None),
                conflicts_t.c.person_id == bindparam("applicant"),
            ),
        ),
    )
    .label("conflicted"),
)
CAST_VOTE = (
    update(seats_t)
    .where(seats_t.c.case_id == bindparam("v_case"), seats_t.c.expert_id == bindparam("v_person"))
    .values(choice=bindparam("v_choice"), cast_at=bindparam("v_now", type_=seats_t.c.cast_at.type))
)
# A member who has voted has done their task.
CLOSE_SEAT_TASK = (
    update(tasks_t)
    .where(
        tasks_t.c.case_id == bindparam("v_case"),
        tasks_t.c.assignee_id == bindparam("v_person"),
        tasks_t.c.role == bindparam("v_role"),
        tasks_t.c.status == "open",
    )
    .values(
        status="done",
        closed_at=bindparam("v_now", type_=tasks_t.c.closed_at.type),
        closed_by=bindparam("v_person"),
    )
)
_panel = FastOne(PANEL)
_cast = FastOne(CAST_VOTE)
_close = FastOne(CLOSE_SEAT_TASK)


def seats(conn: Connection, case_id: int) -> list[tuple[int, str | None]]:
    return [(r.expert_id, r.choice) for r in _panel.all(conn, {"case_id": case_id})]


def _facts(conn: Connection, ctx: CaseContext) -> PanelFacts:
    found = seats(conn, ctx.case.id)
    counts = {c: sum(1 for _, v in found if v == c) for c in ("yes", "no", "abstain")}
    mine = [v for p, v in found if p == ctx.actor.person_id]
    return PanelFacts(
        drawn=len(found),
        yes=counts["yes"],
        no=counts["no"],
        abstain=counts["abstain"],
        my_choice=mine[0] if mine else None,
        seated=bool(mine),
    )


def _draw(scope: EffectScope, cmd: DrawPanel) -> None:
    """Seat members at random from the pool; the pool and the seed go on the record, so an
    inspector can redraw the panel and get the same members."""
    conn, ctx = scope.conn, scope.ctx
    rows = conn.execute(
        DRAWABLE,
        {
            "unit": cmd.unit_id, "subject": cmd.subject, "role": cmd.role,
            "year": ctx.case.year, "units": path_ids(ctx.case.org_path) or [0],
            "applicant": cmd.recuse_person_id,
        },
    ).all()  # fmt: skip
    away = {r.person_id for r in rows if r.away}
    pool = sorted(
        {
            r.person_id
            for r in rows
            if r.person_id != cmd.recuse_person_id
            and (cmd.recuse_school_id is None or r.school_id != cmd.recuse_school_id)
            and not r.conflicted
            and r.person_id not in away
        }
    )
    # Recused: the applicant, their school's colleagues, declared conflicts; apart from
    # those, the members who do not sit this year.
    unavailable = len(away - {cmd.recuse_person_id})
    recused = len({r.person_id for r in rows}) - len(pool) - unavailable
    if len(pool) < cmd.size:
        absent = f"、本年度不参加评审{unavailable}人" if unavailable else ""
        raise RuleRefused(
            "panel_pool",
            f"{cmd.subject}学科评委库人数不足：需抽取{cmd.size}人，回避{recused}人{absent}后仅有"
            f"{len(pool)}人可抽取",
        )
    seed = secrets.randbits(63)
    chosen = sorted(random.Random(seed).sample(pool, cmd.size))
    conn.execute(insert(seats_t), [{"case_id": ctx.case.id, "expert_id": p} for p in chosen])
    scope.record["panel"] = {"pool": pool, "seed": seed, "seated": chosen, "recused": recused}
    if unavailable:
        scope.record["panel"]["unavailable"] = unavailable
    scope.tasks.extend(
        task_row(
            ctx.case.id, scope.target, kind="act", role=cmd.role, unit_id=cmd.unit_id,
            assignee_id=p, opened_on=ctx.today, due=(None, None), opened_at=ctx.now,
        )
        for p in chosen
    )  # fmt: skip


def _vote(scope: EffectScope, cmd: RecordVote) -> None:
    ctx = scope.ctx
    mine = next(t for t in ctx.open_tasks if t.assignee_id == ctx.actor.person_id)
    who = {"v_case": ctx.case.id, "v_person": ctx.actor.person_id, "v_now": ctx.now}
    _cast.run(scope.conn, {**who, "v_choice": cmd.choice})
    _close.run(scope.conn, {**who, "v_role": mine.role})


def _unseal(scope: EffectScope) -> None:
    """The sitting is over: its votes become part of the record, with the tally that
    everyone on the case may read."""
    found = seats(scope.conn, scope.ctx.case.id)
    scope.record["votes"] = {str(p): v for p, v in found}
    scope.record["tally"] = tally([v for _, v in found], len(found))


PARTS = Parts(
    fact_loaders={PanelFacts: _facts},
    effect_handlers={DrawPanel: _draw, RecordVote: _vote},
    leave_hooks={PANEL_SITTING: _unseal},
)
