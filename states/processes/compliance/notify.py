"""What the compliance package tells the unit answering for a finding, besides a run's
``compliance_found``:

- ``compliance_closed``: an officer of a unit above closed the finding by hand (人工销号) —
  who, for which unit, when and why;
- ``compliance_noted``: an officer of a unit above recorded an explanation (情况说明) on it —
  what they said and the expected date, if any. The unit's own explanations tell nobody: the
  unit wrote them;
- ``compliance_note_due``: the expected date of the latest dated explanation (``until``) has
  passed and the finding is still open — from the rule's own daily run, once per date.

Each is one outbox row to the officers of the answering unit (``OFFICER_OF_TIER``), however
many officers it has, in the transaction of the act (or of the run), without a case: the
unit reads the finding on the board. The templates are ``notices/<kind>.txt.j2``.

**Once per date, without a mark of its own.** A run of a rule updates ``last_seen_at`` of
every open finding it still finds (and closes the others), so before this run's update
``last_seen_at`` is the previous run that saw the finding. A finding is due when its expected
date lies before today and on or after the day of that previous run: the first run after
the date passes sends the reminder (however many days the runs missed), and every later run
— the same day or the next — already saw the finding after the date. A later explanation
with a new date is reminded when that date passes in turn; a finding the run closes (the
data mended it) is no longer open and is not reminded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import Connection, and_, exists, func, select

from states.clock import local_date
from states.engine.outbox import notice, send, send_many
from states.org import OFFICER_OF_TIER, Actor
from states.process.package import ComplianceRule
from states.processes.compliance.tables import ComplianceFinding, ComplianceNote
from states.store.models import OrgUnit, Person, table_of

findings_t, notes_t = table_of(ComplianceFinding), table_of(ComplianceNote)
units_t, people_t = table_of(OrgUnit), table_of(Person)

CLOSED_NOTICE: Final = "compliance_closed"
NOTED_NOTICE: Final = "compliance_noted"
DUE_NOTICE: Final = "compliance_note_due"
LISTED: Final = 10  # a reminder lists this many findings, then counts the rest


def cn_day(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _described(conn: Connection, ids: Sequence[int]) -> dict[int, Any]:
    """The findings as a notice names them: the rule, the subject (a teacher's name, a
    unit's name, a case's number), the problem, and the answering unit with its tier."""
    f = findings_t
    subject_unit, unit = units_t.alias("subject_unit"), units_t.alias("unit")
    rows = conn.execute(
        select(
            f.c.id, f.c.rule, f.c.subject_kind, f.c.subject_id, f.c.detail, f.c.unit_id,
            people_t.c.name.label("name"), subject_unit.c.name.label("subject_unit"),
            unit.c.tier, unit.c.name.label("unit"),
        )
        .join(unit, unit.c.id == f.c.unit_id)
        .outerjoin(people_t, and_(f.c.subject_kind == "teacher", people_t.c.id == f.c.subject_id))
        .outerjoin(
            subject_unit, and_(f.c.subject_kind == "unit", subject_unit.c.id == f.c.subject_id)
        )
        .where(f.c.id.in_(list(ids)))
    )  # fmt: skip
    return {int(r.id): r for r in rows}


def subject_words(r: Any) -> str:
    """教师张三 / 东县 / 事项12: the subject as the answering unit's officers read it."""
    if r.subject_kind == "teacher":
        return f"教师{r.name or ''}"
    if r.subject_kind == "unit":
        return str(r.subject_unit or "")
    return f"事项{r.subject_id}"


def _unit_name(conn: Connection, unit_id: int) -> str:
    return str(conn.execute(select(units_t.c.name).where(units_t.c.id == unit_id)).scalar_one())


def tell_unit(
    conn: Connection,
    kind: str,
    finding_id: int,
    labels: Mapping[str, str],
    actor: Actor,
    acting_unit_id: int,
    text: str,
    now: dt.datetime,
    until: dt.date | None = None,
) -> bool:
    """One notice of ``kind`` (closed or explained by a unit above) to the officers of the
    unit answering for the finding; False when that unit has no personnel officers."""
    r = _described(conn, [finding_id])[finding_id]
    role = OFFICER_OF_TIER.get(r.tier)
    if role is None:
        return False
    body = {
        "compliance_rule": labels.get(r.rule, r.rule),
        "compliance_subject": subject_words(r),
        "compliance_detail": r.detail,
        "compliance_by": f"{actor.name}（{_unit_name(conn, acting_unit_id)}）",
        "compliance_text": text,
        "compliance_date": local_date(now).isoformat(),
        "compliance_finding": finding_id,
        "rule": r.rule,
    }
    if kind == NOTED_NOTICE:
        body["compliance_until"] = until.isoformat() if until else ""
    send(conn, notice(None, kind, now, body, role=role, unit_id=int(r.unit_id)))
    return True


def due(conn: Connection, rule: ComplianceRule, hits: Any, today: dt.date) -> dict[int, dt.date]:
    """Before a run updates its findings: the open findings of ``rule`` the run still finds
    (``hits``, the run's table) whose latest dated explanation's date passed since the
    previous run that saw them — finding id -> that date."""
    f, n = findings_t, notes_t
    dated = (
        select(n.c.finding_id, func.max(n.c.id).label("note_id"))
        .where(n.c.until.is_not(None))
        .group_by(n.c.finding_id)
        .subquery("dated")
    )
    note = n.alias("dated_note")
    rows = conn.execute(
        select(f.c.id, f.c.last_seen_at, note.c.until)
        .join(dated, dated.c.finding_id == f.c.id)
        .join(note, note.c.id == dated.c.note_id)
        .where(
            f.c.rule == rule.code,
            f.c.subject_kind == rule.subject,
            f.c.closed_at.is_(None),
            note.c.until < today,
            exists().where(hits.c.subject_id == f.c.subject_id),
        )
    ).all()
    return {int(r.id): r.until for r in rows if local_date(r.last_seen_at) <= r.until}


def remind(
    conn: Connection,
    rule: ComplianceRule,
    dates: Mapping[int, dt.date],
    today: dt.date,
    now: dt.datetime,
) -> int:
    """After the run's update: one reminder to the officers of each unit now answering for
    a due finding, listing them; how many findings were reminded."""
    if not dates:
        return 0
    described = _described(conn, sorted(dates))
    by_unit: dict[int, list[Any]] = {}
    for fid in sorted(dates):
        r = described.get(fid)
        if r is not None and r.tier in OFFICER_OF_TIER:
            by_unit.setdefault(int(r.unit_id), []).append(r)
    rows = []
    for unit_id, found in sorted(by_unit.items()):
        lines = [
            f"{subject_words(r)}：{r.detail}（预计整改日期{cn_day(dates[int(r.id)])}）"
            for r in found[:LISTED]
        ]
        if len(found) > LISTED:
            lines.append(f"……另有{len(found) - LISTED}项，见合规检查看板")
        body = {
            "compliance_rule": rule.label,
            "compliance_count": len(found),
            "compliance_detail": "\n".join(lines),
            "compliance_date": today.isoformat(),
            "rule": rule.code,
            "findings": [int(r.id) for r in found],
        }
        rows.append(
            notice(None, DUE_NOTICE, now, body, role=OFFICER_OF_TIER[found[0].tier],
                   unit_id=unit_id)
        )  # fmt: skip
    send_many(conn, rows)
    return sum(len(found) for found in by_unit.values())
