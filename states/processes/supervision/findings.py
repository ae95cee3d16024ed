"""A finding and a rectification's steps as the pages, the API and the command line take
them: the files (already stored by the adapter, named by their SHA-256) put on the case and
the event fired in one transaction, so a refused finding or report leaves no file on any
case and nothing else half-written.

Who: a drawn inspector records findings at their targets during the visits; the target's
personnel officer reports the rectification; an inspector of the campaign's pool (never one
of the unit's own) re-inspects it; the organiser names another re-inspector or reports an
overdue unit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from states.engine import CaseEngine, FireResult
from states.errors import Conflict, FormError, NotFound, PermissionDenied
from states.org import Actor
from states.processes.supervision import campaigns, store
from states.processes.supervision.machine import RECTIFICATION, RectificationMachine
from states.store.models import AuditEvent, table_of

MAX_FILES = 20


@dataclass(frozen=True)
class Evidence:
    """A file the adapter stored (api.files): its name, type, size and SHA-256."""

    filename: str
    content_type: str
    size: int
    sha256: str


def _attach(
    conn: Connection, engine: CaseEngine, case_id: int, actor: Actor, files: Sequence[Evidence]
) -> list[int]:
    if len(files) > MAX_FILES:
        raise FormError("evidence", f"一次最多上传{MAX_FILES}个佐证材料")
    now = engine.clock.now()
    return [
        int(
            conn.execute(
                insert(store.attachments_t)
                .values(
                    case_id=case_id, filename=f.filename, content_type=f.content_type,
                    size=f.size, sha256=f.sha256, uploaded_by=actor.person_id, uploaded_at=now,
                )
                .returning(store.attachments_t.c.id)
            ).scalar_one()
        )
        for f in files
    ]  # fmt: skip


def _version(conn: Connection, case_id: int) -> int:
    """The case's version, its row locked: this transaction then fires on exactly it."""
    return int(
        conn.execute(
            select(store.cases_t.c.version).where(store.cases_t.c.id == case_id).with_for_update()
        ).scalar_one()
    )


def record_finding(
    engine: CaseEngine,
    actor: Actor,
    campaign_id: int,
    *,
    target_id: int,
    item: str,
    text: str,
    clue: str = "",
    evidence: Sequence[Evidence] = (),
) -> FireResult:
    """A finding at one of the inspector's targets against one checklist item, with its
    evidence; it opens the target's rectification."""
    with engine.db.begin() as conn:
        c = campaigns.read(conn, actor, campaign_id)
        if not c.drawn:
            raise PermissionDenied("只有被抽取的检查人员可以记录发现的问题")
        version = _version(conn, c.case_id)
        ids = _attach(conn, engine, c.case_id, actor, evidence)
        payload: dict[str, Any] = {"target_id": target_id, "item": item, "text": text}
        if clue.strip():
            payload["clue"] = clue
        if ids:
            payload["evidence"] = ",".join(str(i) for i in ids)
        return engine.fire_in(
            conn, c.case_id, "record_finding", actor, payload, expected_version=version
        )


def _rectification(engine: CaseEngine, conn: Connection, actor: Actor, case_id: int) -> Any:
    case = engine.ensure_visible(conn, case_id, actor)
    if case.process != RECTIFICATION:
        raise NotFound("整改事项不存在")
    return case


def report_rectification(
    engine: CaseEngine,
    actor: Actor,
    case_id: int,
    text: str,
    evidence: Sequence[Evidence],
    *,
    expected_version: int | None = None,
) -> FireResult:
    """The unit reports its rectification with its evidence, for re-inspection."""
    with engine.db.begin() as conn:
        case = _rectification(engine, conn, actor, case_id)
        version = _version(conn, case_id)
        if expected_version is not None and expected_version != version:
            raise Conflict(
                f"事项已被他人更新（当前版本{version}，您提交的版本{expected_version}），"
                "请刷新后重试"
            )
        if case.closed_at is None and case.state == "to_rectify":
            _attach(conn, engine, case_id, actor, evidence)
        # a closed rectification: the engine refuses the report in its own words, and no
        # file goes onto the ended case
        return engine.fire_in(
            conn, case_id, "report_rectification", actor, {"text": text},
            expected_version=version,
        )  # fmt: skip


DECISIONS: Mapping[str, str] = {
    "accept": "accept_rectification",
    "return": "return_rectification",
    "escalate": "escalate_rectification",
}


def reinspect(
    engine: CaseEngine,
    actor: Actor,
    case_id: int,
    decision: str,
    reason: str = "",
    *,
    expected_version: int | None = None,
) -> FireResult:
    """The re-inspection's outcome: accepted (整改到位), sent back, or reported (通报)."""
    event = DECISIONS[decision]
    with engine.db.connect() as conn:
        case = _rectification(engine, conn, actor, case_id)
    payload = {"reason": reason} if reason.strip() or event != "accept_rectification" else {}
    version = int(case.version) if expected_version is None else expected_version
    return engine.fire(case_id, event, actor, payload, expected_version=version)


def state_label(state: str) -> str:
    return str(getattr(RectificationMachine, state).name)


def made_by(engine: CaseEngine, result: FireResult) -> tuple[int, int]:
    """(finding id, rectification case id) a ``record_finding`` result wrote, from its own
    audit row."""
    audit_t = table_of(AuditEvent)
    with engine.db.connect() as conn:
        payload = conn.execute(
            select(audit_t.c.payload).where(
                audit_t.c.case_id == result.case_id,
                audit_t.c.version == result.version,
                audit_t.c.event == "record_finding",
            )
        ).scalar_one()
    body = json.loads(payload)
    return int(body["finding_id"]), int(body["rectification"])


def assign_reinspector(
    engine: CaseEngine,
    actor: Actor,
    case_id: int,
    person_id: int,
    *,
    expected_version: int | None = None,
) -> FireResult:
    """The organiser names the re-inspector (an inspector of the pool, not of the unit)."""
    with engine.db.connect() as conn:
        case = _rectification(engine, conn, actor, case_id)
    version = int(case.version) if expected_version is None else expected_version
    return engine.fire(
        case_id, "assign_reinspector", actor, {"person_id": person_id}, expected_version=version
    )
