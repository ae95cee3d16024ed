"""Assignment that heals: the work named to a person who is away, leaves, is switched off or
gives up a role goes to someone who can do it, and every such move is on the case's record.

- **委托/代理**: while a person is away (a date range set by them or an officer over them),
  the work named to them — what is open when the range starts and what is named to them
  during it (a transfer, an added signature) — goes to their acting holder; when the range
  ends (or is cancelled) what is still open comes back to them.
- **Disabled**: their named work goes to their acting holder if one is in force, otherwise
  back to the role at the task's unit (its other holders see it in their inbox).
- **A role given up** (unbound, or moved to another unit): the work of that role at that unit
  named to them goes back to the role.
- **离职转办** (``states.registry.accounts.handover``): all of it, in one action, to a named
  successor or back to the role.

Only staff work moves: an applicant's own task, a committee member's vote and the system's
are the person's own (``states.engine.reassign.PERSONAL_ROLES``). The moves are written by
``states.engine.reassign`` (one audit event per case, the new holder told through the
outbox); who gets what is decided here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from states.clock import local_date
from states.engine.reassign import HUMAN, PERSONAL_ROLES, Handover, acting_holder, reassign
from states.engine.statements import tasks_t
from states.errors import Conflict, FormError, NotFound
from states.org import SYSTEM_ACTOR, Actor
from states.registry import history
from states.registry.staff import (
    label,
    names,
    person,
    require_person,
    staff_paths,
)
from states.store.models import Delegation, table_of

delegations_t = table_of(Delegation)
MAX_DAYS = 366  # a delegation longer than a year is a change of post, not a leave
REASON_MAX = 200
OPEN = ("open", "waiting")
STATUS_LABELS = {
    "pending": "待生效",
    "active": "代理中",
    "ended": "已结束",
    "cancelled": "已撤销",
}


# --- whose work is it -----------------------------------------------------------------------
def named_to(conn: Connection, person_id: int) -> list[Any]:
    """Open staff work named to the person (personal tasks excluded)."""
    return list(
        conn.execute(
            select(tasks_t).where(
                tasks_t.c.assignee_id == person_id,
                tasks_t.c.status.in_(OPEN),
                tasks_t.c.kind.in_(HUMAN),
                or_(tasks_t.c.role.is_(None), tasks_t.c.role.not_in(PERSONAL_ROLES)),
            )
        )
    )


def held_for(conn: Connection, person_id: int) -> list[Any]:
    """Open work an acting holder has of the person's, to come back to them."""
    return list(
        conn.execute(
            select(tasks_t).where(tasks_t.c.delegated_from == person_id, tasks_t.c.status.in_(OPEN))
        )
    )


def plan_release(
    conn: Connection,
    person_id: int,
    today: dt.date,
    *,
    successor: int | None = None,
    leaving: bool = False,
) -> tuple[list[Handover], list[Any]]:
    """Where the person's work goes when they are disabled (``leaving`` False: to their
    acting holder if one is in force) or leave (to ``successor``, or back to the role).
    Returns the handovers and the signatures (加签) that have nowhere to go: a signature is
    asked of a person, there is no role to give it back to."""
    acting = None if leaving or successor else acting_holder(conn, person_id, today)
    out: list[Handover] = []
    stuck: list[Any] = []
    for t in named_to(conn, person_id):
        if t.delegated_from is not None:  # they were acting for someone: it is that one's
            if t.kind == "act":
                out.append(Handover(t.id, None))
            else:
                out.append(Handover(t.id, t.delegated_from))
        elif successor is not None:
            out.append(Handover(t.id, successor))
        elif acting is not None:
            out.append(Handover(t.id, acting, person_id))
        elif t.kind == "act":
            out.append(Handover(t.id, None))
        else:
            stuck.append(t)
    if leaving:
        for t in held_for(conn, person_id):
            if successor is not None:
                out.append(Handover(t.id, successor))
            elif t.kind == "act":
                out.append(Handover(t.id, None))
            else:  # the acting holder signs it: it no longer comes back
                out.append(Handover(t.id, t.assignee_id))
    return out, stuck


def release_role(
    conn: Connection, actor: Actor, now: dt.datetime, person_id: int, role: str, unit_id: int
) -> int:
    """The person gives up ``role`` at the unit: the work of that role there named to them
    (or held for them by an acting holder) goes back to the role. Returns cases touched."""
    rows = conn.execute(
        select(tasks_t.c.id).where(
            tasks_t.c.role == role,
            tasks_t.c.org_unit_id == unit_id,
            tasks_t.c.status.in_(OPEN),
            or_(tasks_t.c.assignee_id == person_id, tasks_t.c.delegated_from == person_id),
        )
    ).scalars()
    who = names(conn, {person_id})[person_id]
    return reassign(
        conn,
        [Handover(t, None) for t in rows],
        actor,
        now,
        f"{who}不再担任“{label(role)}”，退回该角色办理",
    )


def end_acting(conn: Connection, now: dt.datetime, person_id: int, *, own: bool) -> None:
    """Delegations in which the person acts for someone end (they can act no more); with
    ``own`` also those in which others act for them (they have left)."""
    whose = [delegations_t.c.acting_id == person_id]
    if own:
        whose.append(delegations_t.c.person_id == person_id)
    base = update(delegations_t).where(
        or_(*whose), delegations_t.c.cancelled_at.is_(None), delegations_t.c.ended_at.is_(None)
    )
    conn.execute(base.where(delegations_t.c.started_at.is_not(None)).values(ended_at=now))
    conn.execute(base.values(cancelled_at=now))


# --- delegations ----------------------------------------------------------------------------
@dataclass(frozen=True)
class DelegationView:
    id: int
    person_id: int
    person_name: str
    acting_id: int
    acting_name: str
    starts_on: dt.date
    ends_on: dt.date
    reason: str | None
    status: str
    status_label: str
    set_by_name: str | None


def _status(d: Any, today: dt.date) -> str:
    if d.cancelled_at is not None:
        return "cancelled"
    if d.ended_at is not None or d.ends_on < today:
        return "ended"
    if d.started_at is not None or d.starts_on <= today:
        return "active"
    return "pending"


def delegations(
    conn: Connection, person_id: int, today: dt.date, *, limit: int = 50
) -> list[DelegationView]:
    """The person's delegations, as the one away and as the acting holder, newest first."""
    rows = conn.execute(
        select(delegations_t)
        .where(or_(delegations_t.c.person_id == person_id, delegations_t.c.acting_id == person_id))
        .order_by(delegations_t.c.starts_on.desc(), delegations_t.c.id.desc())
        .limit(limit)
    ).all()
    who = names(conn, {i for r in rows for i in (r.person_id, r.acting_id, r.set_by) if i})
    out = []
    for r in rows:
        status = _status(r, today)
        out.append(
            DelegationView(
                id=r.id, person_id=r.person_id, person_name=who.get(r.person_id, ""),
                acting_id=r.acting_id, acting_name=who.get(r.acting_id, ""),
                starts_on=r.starts_on, ends_on=r.ends_on, reason=r.reason, status=status,
                status_label=STATUS_LABELS[status],
                set_by_name=who.get(r.set_by) if r.set_by else None,
            )
        )  # fmt: skip
    return out


def _overlapping(
    conn: Connection, column: Any, person_id: int, starts_on: dt.date, ends_on: dt.date
) -> Any:
    return conn.execute(
        select(delegations_t)
        .where(
            column == person_id,
            delegations_t.c.cancelled_at.is_(None),
            delegations_t.c.ended_at.is_(None),
            delegations_t.c.starts_on <= ends_on,
            delegations_t.c.ends_on >= starts_on,
        )
        .limit(1)
    ).first()


def _may_set(conn: Connection, actor: Actor, person_id: int) -> Any:
    """The person themself, or an officer who manages them (404 for anyone else)."""
    if actor.person_id == person_id:
        return person(conn, person_id)
    return require_person(conn, actor, person_id)


def delegate(
    conn: Connection,
    actor: Actor,
    now: dt.datetime,
    person_id: int,
    acting_id: int,
    starts_on: dt.date,
    ends_on: dt.date,
    reason: str | None = None,
) -> int:
    """Name an acting holder for the person from ``starts_on`` to ``ends_on`` (both
    included). If the range has begun, their open work goes over at once; otherwise the
    sweep hands it over on the first day. Returns the delegation's id."""
    today = local_date(now)
    away = _may_set(conn, actor, person_id)
    mine = staff_paths(conn, person_id)
    if not mine:
        raise FormError("person_id", "只有人事干部和校长的待办可以委托他人代理")
    if ends_on < starts_on:
        raise FormError("ends_on", "结束日期不能早于开始日期")
    if ends_on < today:
        raise FormError("ends_on", "结束日期已过")
    if (ends_on - starts_on).days >= MAX_DAYS:
        raise FormError("ends_on", "代理期限不能超过一年；长期不在岗请办理离职转办或调整角色")
    text = (reason or "").strip() or None
    if text is not None and len(text) > REASON_MAX:
        raise FormError("reason", f"事由不能超过{REASON_MAX}个字")
    if acting_id == person_id:
        raise FormError("acting_id", "代理人不能是本人")
    acting = _acting_person(conn, acting_id)
    theirs = staff_paths(conn, acting_id)
    if not any(p.startswith(a) for p in mine for a in theirs):
        raise FormError("acting_id", "代理人须为本单位或上级单位的人事干部或校长")
    found = _overlapping(conn, delegations_t.c.person_id, person_id, starts_on, ends_on)
    if found is not None:
        other = names(conn, {found.acting_id})[found.acting_id]
        raise FormError(
            "starts_on",
            f"{found.starts_on.isoformat()}至{found.ends_on.isoformat()}已安排{other}代理，"
            "请先撤销后再设",
        )
    found = _overlapping(conn, delegations_t.c.person_id, acting_id, starts_on, ends_on)
    if found is not None:
        raise FormError("acting_id", f"{acting.name}在此期间本人也不在岗，不能代理")
    found = _overlapping(conn, delegations_t.c.acting_id, person_id, starts_on, ends_on)
    if found is not None:
        other = names(conn, {found.person_id})[found.person_id]
        raise FormError("starts_on", f"{away.name}在此期间是{other}的代理人，不能再委托他人")
    delegation_id = conn.execute(
        insert(delegations_t)
        .values(
            person_id=person_id, acting_id=acting_id, starts_on=starts_on, ends_on=ends_on,
            reason=text, set_by=actor.person_id, created_at=now,
        )
        .returning(delegations_t.c.id)
    ).scalar_one()  # fmt: skip
    entry = {
        "acting": acting.name,
        "from": starts_on.isoformat(),
        "to": ends_on.isoformat(),
        "reason": text,
    }
    history.record(
        conn, history.PERSON,
        [history.Entry(person_id, {f"delegation:{delegation_id}": (None, entry)})],
        actor=actor, at=now, source="move", source_ref=f"delegation:{delegation_id}",
    )  # fmt: skip
    if starts_on <= today:
        _start(conn, actor, now, _row(conn, delegation_id))
    return int(delegation_id)


def _acting_person(conn: Connection, acting_id: int) -> Any:
    try:
        row = person(conn, acting_id)
    except NotFound:
        raise FormError("acting_id", "代理人不存在或账号已停用") from None
    if not row.active or not row.username:
        raise FormError("acting_id", "代理人不存在或账号已停用")
    return row


def _row(conn: Connection, delegation_id: int) -> Any:
    row = conn.execute(
        select(delegations_t).where(delegations_t.c.id == delegation_id)
    ).one_or_none()
    if row is None:
        raise NotFound("代理安排不存在")
    return row


def _start(conn: Connection, actor: Actor, now: dt.datetime, d: Any) -> int:
    """The range has begun: the work named to the person goes to the acting holder."""
    who = names(conn, {d.person_id, d.acting_id})
    away, acting = who[d.person_id], who[d.acting_id]
    tasks = [t for t in named_to(conn, d.person_id) if t.delegated_from is None]
    span = f"{d.starts_on.isoformat()}至{d.ends_on.isoformat()}"
    why = f"（{d.reason}）" if d.reason else ""
    touched = reassign(
        conn,
        [Handover(t.id, d.acting_id, d.person_id) for t in tasks],
        actor,
        now,
        f"{away}{span}不在岗{why}，由{acting}代理",
        note=f"{away}{span}不在岗，此件由您代理办理，期满交回",
    )
    conn.execute(update(delegations_t).where(delegations_t.c.id == d.id).values(started_at=now))
    return touched


def _finish(conn: Connection, actor: Actor, now: dt.datetime, d: Any, *, cancelled: bool) -> int:
    """The range is over (or cancelled): what the acting holder still has comes back to the
    person — or, if they were switched off meanwhile, goes back to the role."""
    back = conn.execute(select(tasks_t).where(
        tasks_t.c.delegated_from == d.person_id,
        tasks_t.c.assignee_id == d.acting_id,
        tasks_t.c.status.in_(OPEN),
    )).all()  # fmt: skip
    owner = person(conn, d.person_id)
    moves = []
    for t in back:
        if owner.active:
            moves.append(Handover(t.id, d.person_id))
        elif t.kind == "act":
            moves.append(Handover(t.id, None))
        else:
            moves.append(Handover(t.id, d.acting_id))
    why = "已撤销" if cancelled else "期满"
    whither = "交回本人办理" if owner.active else "本人账号已停用，退回原角色办理"
    touched = reassign(conn, moves, actor, now, f"{owner.name}的代理{why}，{whither}")
    values: dict[str, Any] = {"ended_at": now}
    if cancelled:
        values["cancelled_at"] = now
    conn.execute(update(delegations_t).where(delegations_t.c.id == d.id).values(**values))
    return touched


def cancel(conn: Connection, actor: Actor, now: dt.datetime, delegation_id: int) -> None:
    """End a delegation early (the person is back): what is still open comes back."""
    d = _row(conn, delegation_id)
    try:
        _may_set(conn, actor, d.person_id)
    except NotFound:
        raise NotFound("代理安排不存在") from None
    if d.cancelled_at is not None or d.ended_at is not None:
        raise Conflict("该代理安排已结束，无需撤销")
    if d.started_at is not None:
        _finish(conn, actor, now, d, cancelled=True)
    else:
        conn.execute(
            update(delegations_t).where(delegations_t.c.id == d.id).values(cancelled_at=now)
        )
    history.record(
        conn, history.PERSON,
        [history.Entry(d.person_id, {f"delegation:{d.id}": ("", "已撤销")})],
        actor=actor, at=now, source="move", source_ref=f"delegation:{d.id}",
    )  # fmt: skip


@dataclass
class SweepCounts:
    started: int = 0
    ended: int = 0
    cases: int = 0


def sweep(conn: Connection, now: dt.datetime, actor: Actor = SYSTEM_ACTOR) -> SweepCounts:
    """Hand over the work of delegations whose first day has come, and give back that of
    those whose last day has passed; each only once (``started_at``/``ended_at``)."""
    today = local_date(now)
    out = SweepCounts()
    over = conn.execute(
        select(delegations_t)
        .where(
            delegations_t.c.ended_at.is_(None),
            delegations_t.c.cancelled_at.is_(None),
            delegations_t.c.ends_on < today,
        )
        .order_by(delegations_t.c.id)
    ).all()
    for d in over:
        if d.started_at is not None:
            out.cases += _finish(conn, actor, now, d, cancelled=False)
        else:
            conn.execute(
                update(delegations_t).where(delegations_t.c.id == d.id).values(ended_at=now)
            )
        out.ended += 1
    due = conn.execute(
        select(delegations_t)
        .where(
            delegations_t.c.started_at.is_(None),
            delegations_t.c.ended_at.is_(None),
            delegations_t.c.cancelled_at.is_(None),
            delegations_t.c.starts_on <= today,
            delegations_t.c.ends_on >= today,
        )
        .order_by(delegations_t.c.id)
    ).all()
    for d in due:
        out.cases += _start(conn, actor, now, d)
        out.started += 1
    return out


def stuck_words(rows: Sequence[Any]) -> str:
    return "、".join(f"事项{t.case_id}" for t in rows)
