"""Annotations: what people add to a case without deciding it — comments, copies (抄送),
attachments, urging (催办), and handing a task to a colleague (转交).

Comments, copies, attachments and urging extend the case's audit chain without moving its
version, so nobody's open approval goes stale because of them; a transfer is a change of
who holds the work and moves it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, insert, select, update

from states.clock import BUREAU_TZ, local_date
from states.engine.authorize import may_take
from states.engine.outbox import notice, send, task_notice
from states.engine.reassign import acting_holder
from states.engine.record import commit_case
from states.engine.signers import COMMENT_FORM
from states.engine.statements import audit_t, copies_t, people_t, tasks_t
from states.engine.tasks import assigned_notice
from states.engine.transition import FireResult, load_case
from states.errors import FormError, NotFound, PermissionDenied, RuleRefused
from states.org import REVIEW_EXPERT, SCOPE_ROLES, SYSTEM, TEACHER, Actor, path_ids
from states.store import queries
from states.store.models import Attachment, Notification, RoleBinding, table_of

if TYPE_CHECKING:
    from states.engine.core import CaseEngine

attachments_t, notes_t, bindings_t = (
    table_of(Attachment),
    table_of(Notification),
    table_of(RoleBinding),
)
ANNOTATION_LABELS = {
    "create": "创建",
    "transfer": "转交",
    "reassign": "转办",
    "comment": "发表意见",
    "copy": "抄送",
    "attach": "上传附件",
    "add_signer": "加签",
    "countersign": "加签意见",
    "hold": "决定待加签",
    "urge": "催办",
}
Writer = Callable[[Connection, Any, dt.datetime], dict[str, Any]]


def annotate(
    engine: CaseEngine, case_id: int, actor: Actor, event: str, body: Mapping[str, Any] | Writer
) -> FireResult:
    """Extend a case's trail without touching its state or version."""
    with engine.db.begin() as conn:
        # locked and scope-checked as a transition loads it; no version is asked for
        case = load_case(engine, conn, case_id, actor, 0, check_version=False)
        now = engine.clock.now()
        payload = body(conn, case, now) if callable(body) else dict(body)
        version = commit_case(
            conn, case, actor, now, event, case.state, case.data, payload, None, final=False,
            bump=False,
        )  # fmt: skip
    return FireResult(case.id, case.process, event, case.state, case.state, version)


READ_ONLY = "抄送只供知悉，不能在本事项发表意见或上传附件"
CLOSED_FILE = "本事项已办结，不能再上传附件"


def acts_on(conn: Connection, case: Any, actor: Actor) -> bool:
    """Whether ``actor`` takes part in the case rather than only reads it: an officer or
    inspector over it, its applicant, or someone a task of it was named to. A copy (抄送)
    lets its recipient read the case, not add to it."""
    if actor.sees(case.org_path):
        return True
    me = actor.person_id
    if me is None:
        return False
    if me == case.applicant_id:
        return True
    named = select(tasks_t.c.id).where(tasks_t.c.case_id == case.id, tasks_t.c.assignee_id == me)
    return conn.execute(named.limit(1)).first() is not None


def comment(engine: CaseEngine, case_id: int, actor: Actor, text: str) -> FireResult:
    body = COMMENT_FORM.validate({"comment": text})
    if not body.get("comment"):
        raise FormError("comment", "意见不能为空")

    def write(conn: Connection, case: Any, now: dt.datetime) -> dict[str, Any]:
        if not acts_on(conn, case, actor):
            raise PermissionDenied(READ_ONLY)
        return body

    return annotate(engine, case_id, actor, "comment", write)


def _outside_scope(conn: Connection, org_path: str, wanted: Sequence[int]) -> list[str]:
    """The names of ``wanted`` people who hold no role over the case's unit: a copy may only
    go to staff who answer for the case (its unit's and the bureaus' above it), never to a
    colleague of the applicant or an officer of another county."""
    inside = set(
        conn.execute(
            select(bindings_t.c.person_id).where(
                bindings_t.c.person_id.in_(wanted),
                bindings_t.c.org_unit_id.in_(path_ids(org_path)),
                bindings_t.c.role.in_(sorted(SCOPE_ROLES - {SYSTEM})),
            )
        ).scalars()
    )
    outside = [p for p in wanted if p not in inside]
    if not outside:
        return []
    rows = conn.execute(select(people_t.c.id, people_t.c.name).where(people_t.c.id.in_(outside)))
    return [name for _, name in sorted(rows)]


def copy_to(
    engine: CaseEngine,
    case_id: int,
    actor: Actor,
    person_ids: Sequence[int],
    note: str | None = None,
) -> FireResult:
    """抄送: only someone who acts on or supervises the case may copy it."""
    wanted = sorted(set(person_ids))
    if not wanted:
        raise FormError("person_ids", "请选择抄送对象")

    def write(conn: Connection, case: Any, now: dt.datetime) -> dict[str, Any]:
        if not actor.sees(case.org_path):
            raise PermissionDenied("只有办理或监督本事项的人员可以抄送")
        found = set(conn.execute(select(people_t.c.id).where(people_t.c.id.in_(wanted))).scalars())
        missing = [p for p in wanted if p not in found]
        if missing:
            raise FormError("person_ids", f"人员不存在：{missing}")
        outside = _outside_scope(conn, case.org_path, wanted)
        if outside:
            raise FormError(
                "person_ids",
                "抄送对象须为本事项管辖范围内的工作人员（本单位及上级教育部门），"
                f"以下人员不在其列：{'、'.join(outside)}",
            )
        already = set(
            conn.execute(
                select(copies_t.c.person_id).where(copies_t.c.case_id == case.id)
            ).scalars()
        )
        new = [p for p in wanted if p not in already]
        if new:
            conn.execute(
                insert(copies_t),
                [
                    {"case_id": case.id, "person_id": p, "copied_by": actor.person_id,
                     "copied_at": now}
                    for p in new
                ],
            )  # fmt: skip
        for p in new:
            body = {"case_id": case.id, "process": case.process, "by": actor.name}
            send(conn, notice(case.id, "case_copied", now, body, person_id=p))
        out: dict[str, Any] = {"to": new}
        if note:
            out["comment"] = COMMENT_FORM.validate({"comment": note})["comment"]
        return out

    return annotate(engine, case_id, actor, "copy", write)


def record_attachment(
    engine: CaseEngine,
    case_id: int,
    actor: Actor,
    *,
    filename: str,
    content_type: str,
    size: int,
    sha256: str,
) -> int:
    """Put an already stored file on the record; returns the attachment's id."""
    created: list[int] = []

    def write(conn: Connection, case: Any, now: dt.datetime) -> dict[str, Any]:
        if not (actor.sees(case.org_path) or actor.person_id == case.applicant_id):
            raise PermissionDenied("只有申报人或办理人员可以上传附件")
        if case.closed_at is not None:
            # an ended case is what was decided on: nothing more goes into its file
            raise PermissionDenied(CLOSED_FILE)
        created.append(
            conn.execute(
                insert(attachments_t)
                .values(
                    case_id=case.id,
                    filename=filename,
                    content_type=content_type,
                    size=size,
                    sha256=sha256,
                    uploaded_by=actor.person_id,
                    uploaded_at=now,
                )
                .returning(attachments_t.c.id)
            ).scalar_one()
        )
        return {"attachment": created[0], "filename": filename, "size": size, "sha256": sha256}

    annotate(engine, case_id, actor, "attach", write)
    return created[0]


def urge(engine: CaseEngine, case_id: int, actor: Actor, note: str | None = None) -> FireResult:
    """催办: an officer presses whoever holds the case's open work, once a day per case."""
    body = COMMENT_FORM.validate({"comment": note} if note else {})

    def write(conn: Connection, case: Any, now: dt.datetime) -> dict[str, Any]:
        if not actor.sees(case.org_path):
            raise PermissionDenied("只有管辖本事项的工作人员可以催办")
        start = dt.datetime.combine(local_date(now), dt.time(), tzinfo=BUREAU_TZ)
        already = conn.execute(
            select(audit_t.c.id).where(
                audit_t.c.case_id == case.id, audit_t.c.event == "urge", audit_t.c.at >= start
            )
        ).first()
        if already is not None:
            raise RuleRefused("urge_limit", "本事项今天已催办过，每个事项每天只能催办一次")
        tasks = conn.execute(
            select(tasks_t).where(
                tasks_t.c.case_id == case.id,
                tasks_t.c.status == "open",
                tasks_t.c.kind.in_(("act", "sign")),
            )
        ).all()
        if not tasks:
            raise RuleRefused("urge_nothing", "本事项当前没有待办理的事项，无需催办")
        for t in tasks:
            payload = {
                "task_id": t.id, "case_id": case.id, "state": t.state,
                "due_on": t.due_on.isoformat() if t.due_on else None, "by": actor.name,
                "note": body.get("comment", ""),
            }  # fmt: skip
            send(conn, task_notice(t, "urge", now, payload))
        return {"tasks": [t.id for t in tasks], **body}

    return annotate(engine, case_id, actor, "urge", write)


def transferable(task: Any) -> bool:
    """Whether an open task may be handed to a colleague (转交): a step's work held for a
    role, not an applicant's own, a committee member's vote or the system's."""
    return bool(task.kind == "act" and task.role not in (REVIEW_EXPERT, TEACHER, SYSTEM))


def transfer(
    engine: CaseEngine,
    task_id: int,
    to_person_id: int,
    actor: Actor,
    *,
    expected_version: int,
    comment: str | None = None,
) -> FireResult:
    """转交: hand an open task to another person holding the same role at the same unit."""
    with engine.db.begin() as conn:
        task = conn.execute(select(tasks_t).where(tasks_t.c.id == task_id)).one_or_none()
        if task is None or task.status != "open":
            raise NotFound("待办不存在或已办结")
        case = load_case(engine, conn, task.case_id, actor, expected_version)
        if not transferable(task):
            raise PermissionDenied("此待办不能转交")
        if not may_take(actor, task):
            raise PermissionDenied("只有待办的承办人可以转交")
        holds = conn.execute(
            select(bindings_t.c.id).where(
                bindings_t.c.person_id == to_person_id,
                bindings_t.c.role == task.role,
                bindings_t.c.org_unit_id == task.org_unit_id,
            )
        ).first()
        if holds is None or to_person_id == actor.person_id:
            raise FormError("to_person_id", "接收人须为同一单位同一角色的其他人员")
        now = engine.clock.now()
        # A recipient away on leave (委托/代理): their acting holder takes it until they are
        # back, when it returns to them.
        acting = acting_holder(conn, to_person_id, local_date(now))
        holder, away = (acting, to_person_id) if acting is not None else (to_person_id, None)
        conn.execute(
            update(tasks_t)
            .where(tasks_t.c.id == task_id)
            .values(assignee_id=holder, delegated_from=away)
        )
        body: dict[str, Any] = {"task": task_id, "to": holder}
        if comment:
            body["comment"] = comment
        if away is not None:
            name = conn.execute(select(people_t.c.name).where(people_t.c.id == away)).scalar()
            body["reason"] = f"{name}休假期间由其代理人办理，期满交回本人"
        version = commit_case(
            conn, case, actor, now, "transfer", case.state, case.data, body, None, final=False
        )
        handed = {**task._mapping, "assignee_id": holder}
        send(conn, assigned_notice(handed, case.process, now))
    return FireResult(case.id, case.process, "transfer", case.state, case.state, version)


def read_notification(engine: CaseEngine, notification_id: int, actor: Actor) -> bool:
    """Mark one of the actor's own in-app notices read; False if it is not theirs."""
    with engine.db.begin() as conn:
        return bool(
            conn.execute(
                update(notes_t)
                .where(notes_t.c.id == notification_id, notes_t.c.person_id == actor.person_id)
                .values(read_at=func.coalesce(notes_t.c.read_at, engine.clock.now()))
            ).rowcount
        )


def read_all_notifications(engine: CaseEngine, actor: Actor) -> int:
    """全部已读: every notice of the actor's not yet read, marked read at once — settled ones
    too, so that none turns up unread again if its task comes back to them. The count is of
    those the reader had as unread (what the inbox showed)."""
    if actor.person_id is None:
        return 0
    with engine.db.begin() as conn:
        unread = queries.unread_notifications(conn, actor)
        conn.execute(
            update(notes_t)
            .where(notes_t.c.person_id == actor.person_id, notes_t.c.read_at.is_(None))
            .values(read_at=engine.clock.now())
        )
    return unread


def mark_read(engine: CaseEngine, case_id: int, actor: Actor) -> None:
    """A copy recipient has opened the case: it no longer counts as unread. Only a read
    marker, so nothing goes on the record."""
    if actor.person_id is None:
        return
    with engine.db.begin() as conn:
        conn.execute(
            update(copies_t)
            .where(
                copies_t.c.case_id == case_id,
                copies_t.c.person_id == actor.person_id,
                copies_t.c.read_at.is_(None),
            )
            .values(read_at=engine.clock.now())
        )
