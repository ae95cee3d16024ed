"""加签: bringing another person into the current decision.

Before the approver (they sign first; the approver waits), beside (both must agree) or
after (they confirm the approver's decision). A decision taken while signers beside or
after are still to sign is held on the case; the last signature releases it — all agree,
and it takes effect; one disagrees, and it goes back to the approver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select, update

from states.engine import authorize as authz
from states.engine.context import CaseContext, build_context
from states.engine.outbox import notice, send
from states.engine.reassign import acting_holder
from states.engine.record import Keyed, commit_case
from states.engine.statements import tasks_t
from states.engine.tasks import assigned_notice, task_row
from states.engine.transition import FireResult, Transition, load_case, run
from states.errors import EventNotAllowed, FormError, PermissionDenied, RuleRefused
from states.org import Actor
from states.process.forms import COMMENT, Form
from states.process.spec import By, EventSpec
from states.store.people import load_actor

if TYPE_CHECKING:
    from states.engine.core import CaseEngine

ADD_SIGNER = EventSpec("add_signer", "加签")
SIGN_POSITIONS = {"before": "前加签", "beside": "并加签", "after": "后加签"}
OPINIONS = {"agree": "同意", "disagree": "不同意"}
COMMENT_FORM = Form((COMMENT,))


def may_add_signer(ctx: CaseContext) -> bool:
    state = ctx.spec.states[ctx.case.state]
    if state.actor is None or not state.actor.officer:
        return False
    try:
        authz.authorize(ctx, ADD_SIGNER, state.actor)
    except PermissionDenied:
        return False
    return True


def waits_for_signers(ctx: CaseContext, ev: EventSpec, by: By | None) -> bool:
    """Whether ``ev`` would be refused now because a 前加签 has not signed: the gate
    (``transition.signer_gate``) stops a reviewer's decision, not one that returns or ends the
    case, while someone added before the approver is still to sign."""
    if not (ev.decision and not ev.overrides_signers and by is not None and by.officer):
        return False
    return any(t.kind == "sign" and t.position == "before" for t in ctx.open_tasks)


def add_signer(
    engine: CaseEngine,
    case_id: int,
    actor: Actor,
    person_id: int,
    position: str,
    *,
    expected_version: int,
    comment: str | None = None,
) -> FireResult:
    if position not in SIGN_POSITIONS:
        raise FormError("position", "加签方式应为以下之一：" + "、".join(SIGN_POSITIONS.values()))
    with engine.db.begin() as conn:
        case = load_case(engine, conn, case_id, actor, expected_version)
        spec = engine.processes[case.process]
        now = engine.clock.now()
        ctx = build_context(conn, case, spec, actor, now)
        state = spec.states[case.state]
        if state.actor is None or not state.actor.officer:
            raise EventNotAllowed(f"「{spec.state_label(case.state)}」环节不能加签", [])
        authz.authorize(ctx, ADD_SIGNER, state.actor)
        signer = load_actor(conn, person_id=person_id)
        if person_id == actor.person_id or not signer.sees(case.org_path):
            raise FormError("person_id", "加签人须为本事项管辖范围内的其他工作人员")
        if any(t.kind == "sign" and t.assignee_id == person_id for t in ctx.open_tasks):
            raise FormError("person_id", "此人已在本环节加签")
        due = next((t.due_on for t in ctx.open_tasks if t.kind == "act"), None)
        # A signer away on leave (委托/代理): their acting holder signs until they are back.
        acting = acting_holder(conn, person_id, ctx.today)
        row = task_row(
            case.id, case.state, kind="sign", role="signer", unit_id=None,
            assignee_id=person_id if acting is None else acting,
            opened_on=ctx.today, due=(due, None), opened_at=now,
            status="waiting" if position == "after" else "open", position=position,
        )  # fmt: skip
        conn.execute(
            tasks_t.insert().values(**row, delegated_from=None if acting is None else person_id)
        )
        if position != "after":
            send(conn, assigned_notice(row, case.process, now, sign=position))
        body: dict[str, Any] = {"signer": person_id, "position": position}
        if comment:
            body["comment"] = comment
        if acting is not None:
            deputy = load_actor(conn, person_id=acting).name
            body["reason"] = f"{signer.name}休假期间由其代理人{deputy}签署，期满交回"
        version = commit_case(
            conn, case, actor, now, "add_signer", case.state, case.data, body, None,
            final=False,
        )  # fmt: skip
    return FireResult(case.id, case.process, "add_signer", case.state, case.state, version)


def countersign(
    engine: CaseEngine,
    case_id: int,
    actor: Actor,
    opinion: str,
    *,
    expected_version: int,
    comment: str | None = None,
) -> FireResult:
    if opinion not in OPINIONS:
        raise FormError("opinion", "签署意见应为“同意”或“不同意”")
    with engine.db.begin() as conn:
        case = load_case(engine, conn, case_id, actor, expected_version)
        now = engine.clock.now()
        mine = conn.execute(
            select(tasks_t.c.id).where(
                tasks_t.c.case_id == case.id,
                tasks_t.c.kind == "sign",
                tasks_t.c.status == "open",
                tasks_t.c.assignee_id == actor.person_id,
            )
        ).scalar()
        if mine is None:
            raise PermissionDenied("您在本事项没有待签署的加签")
        conn.execute(
            update(tasks_t)
            .where(tasks_t.c.id == mine)
            .values(status="done", closed_at=now, closed_by=actor.person_id)
        )
        data = dict(case.data)
        signatures = [*data.get("signatures", []), {"by": actor.person_id, "opinion": opinion}]
        data["signatures"] = signatures
        left = conn.execute(
            select(func.count())
            .select_from(tasks_t)
            .where(
                tasks_t.c.case_id == case.id,
                tasks_t.c.kind == "sign",
                tasks_t.c.status.in_(("open", "waiting")),
            )
        ).scalar_one()
        pending = data.get("pending_decision") if left == 0 else None
        if pending and any(s["opinion"] == "disagree" for s in signatures):
            data.pop("pending_decision")
            send(
                conn,
                notice(
                    case.id,
                    "countersign_disagreed",
                    now,
                    {"case_id": case.id, "process": case.process, "event": pending["event"]},
                    person_id=pending["actor_id"],
                ),
            )
            pending = None
        body: dict[str, Any] = {"opinion": opinion}
        if comment:
            body["comment"] = COMMENT_FORM.validate({"comment": comment})["comment"]
        version = commit_case(
            conn, case, actor, now, "countersign", case.state, data, body, None, final=False
        )
        if pending:
            approver = load_actor(conn, person_id=int(pending["actor_id"]))
            return run(
                Transition(
                    engine, conn, case.id, str(pending["event"]), approver,
                    dict(pending["payload"]), version, None, gate=False,
                )
            )  # fmt: skip
    return FireResult(case.id, case.process, "countersign", case.state, case.state, version)


def hold_for_signers(
    conn: Connection, ctx: CaseContext, event: str, payload: dict[str, Any], key: Keyed | None
) -> FireResult | None:
    """Hold or refuse a decision while added signers have not signed."""
    signers = [t for t in ctx.open_tasks if t.kind == "sign"]
    waiting = [t.id for t in ctx.waiting]
    if any(t.position == "before" for t in signers):
        raise RuleRefused("countersign", "须待前加签人签署意见后才能办理")
    if not signers and not waiting:
        return None
    if waiting:
        conn.execute(update(tasks_t).where(tasks_t.c.id.in_(waiting)).values(status="open"))
    ctx.data["pending_decision"] = {
        "event": event,
        "actor_id": ctx.actor.person_id,
        "payload": payload,
    }
    case = ctx.case
    version = commit_case(
        conn, case, ctx.actor, ctx.now, "hold", case.state, ctx.data, {"event": event, **payload},
        key, final=False,
    )  # fmt: skip
    return FireResult(case.id, case.process, "hold", case.state, case.state, version)
