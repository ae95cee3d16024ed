"""What supervision's events change besides the state, each command's handler writing inside
the transition's transaction: the draw and its record, the visits' start, a finding and the
rectification it opens, a rectification's report, re-inspector and outcome notices."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from states.engine.effects import EffectScope
from states.engine.outbox import notice, send, send_many
from states.engine.tasks import assigned_notice, task_row
from states.org import INSPECTOR, OFFICER_OF_TIER
from states.process.package import EffectHandler
from states.processes.supervision import store
from states.processes.supervision.draw import DrawResult, digest, redraw
from states.processes.supervision.machine import RECTIFICATION
from states.processes.supervision.rules import cn_date
from states.processes.supervision.spec import (
    FINDING_NOTICE,
    VISIT_NOTICE,
    AssignReinspector,
    ClaimEvidence,
    DrawCampaign,
    OpenReinspection,
    RecordFinding,
    RectificationNotice,
    RestartDeadline,
    StartVisits,
)

campaigns_t, scope_t, pool_t = store.campaigns_t, store.scope_t, store.pool_t
targets_t, assignments_t, findings_t = store.targets_t, store.assignments_t, store.findings_t
tasks_t, attachments_t, units_t = store.tasks_t, store.attachments_t, store.units_t


def _inspector_tasks(scope: EffectScope, organiser_id: int, people: Iterable[int]) -> None:
    """A task for each drawn inspector, held at the organising unit (so that its officers
    stand as the organiser towards the campaign), named to the inspector."""
    ctx = scope.ctx
    scope.tasks.extend(
        task_row(
            ctx.case.id, scope.target, kind="act", role=INSPECTOR, unit_id=organiser_id,
            assignee_id=p, opened_on=ctx.today, due=(None, None), opened_at=ctx.now,
        )
        for p in sorted(set(people))
    )  # fmt: skip


def _tell_targets(scope: EffectScope, c: Any, targets: Iterable[int]) -> int:
    """The visit notice to each target's officers: no case named (the campaign is the
    organiser's; the unit reads what it is asked to rectify on its own cases)."""
    days = f"{cn_date(c.visit_from)}至{cn_date(c.visit_to)}"
    rows = [
        notice(
            None, VISIT_NOTICE, scope.ctx.now,
            {"supervision_title": c.title, "supervision_detail": f"检查时间：{days}",
             "supervision_date": c.visit_from.isoformat()},
            role=OFFICER_OF_TIER["school"], unit_id=u,
        )
        for u in sorted(set(targets))
    ]  # fmt: skip
    send_many(scope.conn, rows)
    return len(rows)


def draw_campaign(scope: EffectScope, cmd: DrawCampaign) -> None:
    """The 双随机 draw over the units and the pool as they stand now; refused (nothing
    written) when the ratio draws no school or the pool cannot staff a target."""
    conn, ctx = scope.conn, scope.ctx
    c = store.campaign_of_case(conn, ctx.case.id, lock=True)
    organiser = store.unit(conn, c.organiser_id)
    counties = None
    if c.scope_counties:
        counties = [
            str(p)
            for p in conn.execute(
                select(units_t.c.path).where(units_t.c.id.in_(list(c.scope_counties)))
            ).scalars()
        ]
    units = store.scope_units(conn, organiser.path, counties)
    pool = store.pool_members(conn, organiser.path)
    target_seed, inspector_seed = secrets.randbits(63), secrets.randbits(63)
    result = redraw(units, pool, c.ratio_percent, c.per_target, target_seed, inspector_seed)
    inputs = digest(units, pool)
    conn.execute(
        insert(scope_t), [{"campaign_id": c.id, "unit_id": u.id, "path": u.path} for u in units]
    )
    if pool:
        conn.execute(
            insert(pool_t),
            [{"campaign_id": c.id, "person_id": m.person_id, "own": list(m.own)} for m in pool],
        )
    conn.execute(insert(targets_t), [{"campaign_id": c.id, "unit_id": u} for u in result.targets])
    conn.execute(
        insert(assignments_t),
        [
            {"campaign_id": c.id, "unit_id": u, "inspector_id": p}
            for u, people in result.assignments
            for p in people
        ],
    )
    conn.execute(
        update(campaigns_t)
        .where(campaigns_t.c.id == c.id)
        .values(
            target_seed=target_seed, inspector_seed=inspector_seed, inputs_digest=inputs,
            drawn_at=ctx.now, version=campaigns_t.c.version + 1,
        )
    )  # fmt: skip
    scope.record["draw"] = draw_record(c, result, target_seed, inspector_seed, inputs,
                                       len(units), len(pool))  # fmt: skip
    ctx.data.update(targets=len(result.targets), inspectors=len(result.inspectors()))
    _inspector_tasks(scope, c.organiser_id, result.inspectors())
    scope.note = "您已被随机抽取为本次专项督查的检查人员，检查对象和时间见“专项督查”页面"
    if c.announced:
        scope.record["notified"] = _tell_targets(scope, c, result.targets)


def draw_record(
    c: Any, result: DrawResult, target_seed: int, inspector_seed: int, inputs: str, units: int,
    pool: int,
) -> dict[str, Any]:  # fmt: skip
    """What the trail keeps of a draw: enough, with the stored inputs, to draw it again."""
    return {
        "target_seed": target_seed,
        "inspector_seed": inspector_seed,
        "ratio_percent": int(c.ratio_percent),
        "per_target": int(c.per_target),
        "units": units,
        "pool": pool,
        "inputs_digest": inputs,
        **result.as_record(),
    }


def stored_result(conn: Connection, campaign_id: int) -> DrawResult:
    rows = conn.execute(
        select(assignments_t.c.unit_id, assignments_t.c.inspector_id)
        .where(assignments_t.c.campaign_id == campaign_id)
        .order_by(assignments_t.c.unit_id, assignments_t.c.inspector_id)
    ).all()
    by_unit: dict[int, list[int]] = {}
    for r in rows:
        by_unit.setdefault(int(r.unit_id), []).append(int(r.inspector_id))
    return DrawResult(
        tuple(sorted(by_unit)), tuple((u, tuple(ps)) for u, ps in sorted(by_unit.items()))
    )


def start_visits(scope: EffectScope, cmd: StartVisits) -> None:
    """The visit date: the draw goes on the trail for everyone on the campaign, an
    unannounced campaign's targets hear of it now, the inspectors get their task."""
    conn, ctx = scope.conn, scope.ctx
    c = store.campaign_of_case(conn, ctx.case.id, lock=True)
    result = stored_result(conn, c.id)
    units = conn.execute(select(func.count()).where(scope_t.c.campaign_id == c.id)).scalar_one()
    pool = conn.execute(select(func.count()).where(pool_t.c.campaign_id == c.id)).scalar_one()
    scope.record["published"] = draw_record(
        c, result, int(c.target_seed), int(c.inspector_seed), str(c.inputs_digest), int(units),
        int(pool),
    )  # fmt: skip
    if not c.announced:
        scope.record["notified"] = _tell_targets(scope, c, result.targets)
    conn.execute(
        update(campaigns_t)
        .where(campaigns_t.c.id == c.id)
        .values(visits_at=ctx.now, version=campaigns_t.c.version + 1)
    )
    _inspector_tasks(scope, c.organiser_id, result.inspectors())
    scope.note = "实地检查开始：请按检查清单逐项检查，在手机上记录发现的问题并上传照片"


def _file(row: Any) -> dict[str, Any]:
    return {
        "attachment": int(row.id), "filename": row.filename, "sha256": row.sha256,
        "size": int(row.size), "content_type": row.content_type,
    }  # fmt: skip


def _listed(files: Iterable[Mapping[str, Any]]) -> str:
    return "；".join(f"{f['filename']}（SHA-256：{f['sha256']}）" for f in files)


def record_finding(scope: EffectScope, cmd: RecordFinding) -> None:
    """The finding kept, and the rectification it opens at the target as a child of the
    campaign: due in the campaign's working days, with the finding's evidence copied onto it
    (same bytes, same SHA-256), the target's officers told."""
    conn, ctx = scope.conn, scope.ctx
    c = store.campaign_of_case(conn, ctx.case.id)
    target = store.unit(conn, cmd.target_id)
    organiser = store.unit(conn, c.organiser_id)
    item_text = next(str(i["text"]) for i in c.checklist if str(i["code"]) == cmd.item)
    found = (
        list(
            conn.execute(
                select(attachments_t)
                .where(
                    attachments_t.c.case_id == ctx.case.id,
                    attachments_t.c.id.in_(list(cmd.evidence)),
                )
                .order_by(attachments_t.c.id)
            )
        )
        if cmd.evidence
        else []
    )
    files = [_file(r) for r in found]
    due, flag = scope.deadlines.due(conn, ctx.today, int(c.rectify_days))
    data: dict[str, Any] = {
        "campaign_id": int(c.id), "campaign": c.title, "item": cmd.item, "item_text": item_text,
        "text": cmd.text, "found_by": ctx.actor.name, "inspector_id": ctx.actor.person_id,
        "found_on": ctx.today.isoformat(),
        "evidence": [{k: f[k] for k in ("filename", "sha256", "size")} for f in files],
        "rectify_days": int(c.rectify_days), "organiser_id": int(c.organiser_id),
        "organiser_tier": organiser.tier,
    }  # fmt: skip
    if files:
        data["evidence_list"] = _listed(files)
    if cmd.clue:
        data["clue"] = cmd.clue
    if due is not None:
        data["due_on"] = due.isoformat()
    [child] = scope.engine.open_many(
        RECTIFICATION, [(target.id, data)], ctx.actor, conn=conn, year=ctx.case.year,
        parent_id=ctx.case.id,
    )  # fmt: skip
    # the campaign's own number of working days, not the state's usual twenty
    conn.execute(
        update(tasks_t)
        .where(tasks_t.c.case_id == child, tasks_t.c.status == "open")
        .values(due_on=due, due_flag=flag, due_days=int(c.rectify_days))
    )
    for f, row in zip(files, found, strict=True):
        f["copy"] = int(
            conn.execute(
                insert(attachments_t)
                .values(
                    case_id=child, filename=row.filename, content_type=row.content_type,
                    size=row.size, sha256=row.sha256, uploaded_by=row.uploaded_by,
                    uploaded_at=ctx.now,
                )
                .returning(attachments_t.c.id)
            ).scalar_one()
        )  # fmt: skip
    # The inspector who found it stays on it: they read the case, stand as its inspector,
    # and the organiser's officers as its organiser (states/engine/visibility.py).
    conn.execute(
        insert(tasks_t).values(
            **task_row(
                child, "to_rectify", kind="act", role=INSPECTOR, unit_id=c.organiser_id,
                assignee_id=ctx.actor.person_id, opened_on=ctx.today, due=(None, None),
                opened_at=ctx.now, status="done",
            ),
            closed_at=ctx.now, closed_by=ctx.actor.person_id,
        )
    )  # fmt: skip
    finding_id = conn.execute(
        insert(findings_t)
        .values(
            campaign_id=c.id, unit_id=target.id, item_code=cmd.item, text=cmd.text,
            clue=cmd.clue or None, inspector_id=ctx.actor.person_id, recorded_at=ctx.now,
            case_id=child, evidence=files,
        )
        .returning(findings_t.c.id)
    ).scalar_one()  # fmt: skip
    send(
        conn,
        notice(
            child, FINDING_NOTICE, ctx.now,
            {"supervision_title": c.title, "supervision_detail": f"{item_text}：{cmd.text}",
             "supervision_date": due.isoformat() if due is not None else ""},
            role=OFFICER_OF_TIER[target.tier], unit_id=target.id,
        ),
    )  # fmt: skip
    ctx.data["findings"] = int(ctx.data.get("findings", 0)) + 1
    scope.record.update(
        finding_id=int(finding_id), rectification=child, target=target.name,
        evidence_files=[{k: f[k] for k in ("attachment", "filename", "sha256")} for f in files],
    )  # fmt: skip


# --- rectifications ---------------------------------------------------------------------------
def copied_evidence(conn: Connection, case_id: int) -> set[int]:
    """The attachments a rectification got from its finding (not the unit's own)."""
    found = conn.execute(
        select(findings_t.c.evidence).where(findings_t.c.case_id == case_id)
    ).scalar()
    return {int(f["copy"]) for f in (found or []) if "copy" in f}


def new_evidence(conn: Connection, case_id: int, data: Mapping[str, Any]) -> list[Any]:
    """What the unit uploaded since its last report: the evidence a report puts forward."""
    copied = copied_evidence(conn, case_id)
    rows = conn.execute(
        select(attachments_t)
        .where(
            attachments_t.c.case_id == case_id,
            attachments_t.c.id > int(data.get("evidence_upto", 0)),
        )
        .order_by(attachments_t.c.id)
    )
    return [r for r in rows if int(r.id) not in copied]


def claim_evidence(scope: EffectScope, cmd: ClaimEvidence) -> None:
    ctx = scope.ctx
    files = [_file(r) for r in new_evidence(scope.conn, ctx.case.id, ctx.data)]
    short = [{k: f[k] for k in ("attachment", "filename", "sha256")} for f in files]
    reports = list(ctx.data.get("reports", []))
    reports.append(
        {"text": cmd.text, "on": ctx.today.isoformat(), "by": ctx.actor.name, "files": short}
    )
    ctx.data.update(reports=reports, evidence_upto=max(f["attachment"] for f in files))
    scope.record["evidence_files"] = short


def open_reinspection(scope: EffectScope, cmd: OpenReinspection) -> None:
    ctx = scope.ctx
    person = ctx.data.get("reinspector_id") or ctx.data["inspector_id"]
    scope.tasks.append(
        task_row(
            ctx.case.id, scope.target, kind="act", role=INSPECTOR,
            unit_id=int(ctx.data["organiser_id"]), assignee_id=int(person), opened_on=ctx.today,
            due=(None, None), opened_at=ctx.now,
        )
    )  # fmt: skip
    scope.note = "被检查单位已报告整改情况，请复查"


def assign_reinspector(scope: EffectScope, cmd: AssignReinspector) -> None:
    """The organiser names another inspector of the pool: the open re-inspection task is
    theirs from now on."""
    conn, ctx = scope.conn, scope.ctx
    held = [t for t in ctx.open_tasks if t.role == INSPECTOR]
    conn.execute(
        update(tasks_t)
        .where(
            tasks_t.c.case_id == ctx.case.id,
            tasks_t.c.status == "open",
            tasks_t.c.role == INSPECTOR,
        )
        .values(assignee_id=cmd.person_id, delegated_from=None)
    )
    ctx.data["reinspector_id"] = cmd.person_id
    for t in held:
        handed = {
            "case_id": t.case_id, "state": t.state, "due_on": t.due_on, "role": t.role,
            "org_unit_id": t.org_unit_id, "assignee_id": cmd.person_id,
        }  # fmt: skip
        send(conn, assigned_notice(handed, RECTIFICATION, ctx.now, note="您被指定为复查人员"))


def restart_deadline(scope: EffectScope, cmd: RestartDeadline) -> None:
    ctx = scope.ctx
    days = int(ctx.data["rectify_days"])
    due, _ = scope.deadlines.due(scope.conn, ctx.today, days)
    scope.window_days = days
    scope.note = f"复查未通过，退回整改：{cmd.reason}"
    ctx.data["returns"] = int(ctx.data.get("returns", 0)) + 1
    if due is not None:
        ctx.data["due_on"] = due.isoformat()


def rectification_notice(scope: EffectScope, cmd: RectificationNotice) -> None:
    """To the unit's officers, and for a 通报 to the officers of the unit above it."""
    conn, ctx = scope.conn, scope.ctx
    unit = store.unit(conn, ctx.case.org_unit_id)
    payload = {
        "supervision_title": str(ctx.data.get("campaign", "")),
        "supervision_detail": f"{unit.name}，{ctx.data.get('item_text', '')}：{cmd.detail}",
        "supervision_date": ctx.today.isoformat(),
    }
    rows = [notice(ctx.case.id, cmd.kind, ctx.now, payload, role=OFFICER_OF_TIER[unit.tier],
                   unit_id=unit.id)]  # fmt: skip
    if cmd.superior and unit.parent_id is not None:
        above = store.unit(conn, unit.parent_id)
        rows.append(
            notice(ctx.case.id, cmd.kind, ctx.now, payload, role=OFFICER_OF_TIER[above.tier],
                   unit_id=above.id)
        )  # fmt: skip
    send_many(conn, rows)


HANDLERS: dict[type, EffectHandler] = {
    DrawCampaign: draw_campaign,
    StartVisits: start_visits,
    RecordFinding: record_finding,
    ClaimEvidence: claim_evidence,
    OpenReinspection: open_reinspection,
    AssignReinspector: assign_reinspector,
    RestartDeadline: restart_deadline,
    RectificationNotice: rectification_notice,
}
