"""What officers record on a finding by hand: an explanation (情况说明) and a closing by hand
(人工销号).

- **情况说明**: an officer of the unit that answers for an open finding, or of a unit above
  it, says why it cannot be mended yet, and optionally by when it will be (``until``). Each
  is kept (text, date, who, for which unit, when), never changed; the finding stays open and
  the data still closes it as before.
- **人工销号**: an officer of a unit above the one answering for it — the supervising unit,
  never the unit itself — closes an open finding with a reason: who, for which unit, when and
  why are kept on the finding (``closed_by``, ``closed_unit_id``, ``close_reason``). The same
  check does not open the same subject's finding again in the same school year (from 1
  September; ``checks.period_start``): from the next school year it checks it afresh.

The unit answering for the finding is told (``notify``): of every closing by hand, and of an
explanation an officer of a unit above records (its own explanations tell nobody) — one
notice to its officers per act, in the act's transaction.

Who may read a finding at all is the board's scope (``findings.located``): a teacher is
refused, another unit's officer finds nothing. Each act is one transaction, the finding
locked (a check running at the same moment either closed it first — then the act is refused
— or runs after it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from sqlalchemy import Connection, insert, update

from states.clock import local_date
from states.errors import Conflict, FormError, PermissionDenied
from states.org import Actor, path_ids
from states.processes.compliance import findings, notify
from states.processes.compliance.tables import ComplianceFinding, ComplianceNote
from states.store.models import table_of

findings_t, notes_t = table_of(ComplianceFinding), table_of(ComplianceNote)

MAX_TEXT: Final = 500
NOTE_LABEL: Final = "情况说明"
UNTIL_LABEL: Final = "预计整改日期"
REASON_LABEL: Final = "销号理由"


def _text(field: str, label: str, raw: str | None) -> str:
    value = (raw or "").strip()
    if not value:
        raise FormError(field, f"请填写{label}")
    if len(value) > MAX_TEXT:
        raise FormError(field, f"{label}不能超过{MAX_TEXT}字（现为{len(value)}字）")
    return value


def _still_open(found: Any, doing: str) -> None:
    if found.closed_at is not None:
        day = local_date(found.closed_at).isoformat()
        raise Conflict(f"该问题已于{day}销号（{found.closed_how}），不能再{doing}")


def _labels(engine: Any) -> dict[str, str]:
    return {r.code: r.label for r in engine.processes.compliance_rules()}


def _finding(conn: Connection, actor: Actor, finding_id: int) -> Any:
    if actor.person_id is None:
        raise PermissionDenied("情况说明和人工销号由人事干部本人办理")
    return findings.located(conn, actor, finding_id, lock=True)


def note(
    engine: Any, actor: Actor, finding_id: int, text: str | None, until: dt.date | None = None
) -> int:
    """Record an explanation on an open finding: the new note's id."""
    now = engine.clock.now()
    with engine.db.begin() as conn:
        found = _finding(conn, actor, finding_id)
        binding = findings.note_binding(actor, found.unit_path)
        if binding is None:
            raise PermissionDenied("情况说明由责任单位或其上级单位的人事干部填写")
        _still_open(found, "填写情况说明")
        value = _text("text", NOTE_LABEL, text)
        if until is not None and until < local_date(now):
            raise FormError("until", f"{UNTIL_LABEL}不能早于今天")
        note_id = int(
            conn.execute(
                insert(notes_t)
                .values(
                    finding_id=finding_id, text=value, until=until, author_id=actor.person_id,
                    author_unit_id=binding.unit_id, at=now,
                )
                .returning(notes_t.c.id)
            ).scalar_one()
        )  # fmt: skip
        if binding.unit_id != found.unit_id:  # a unit above explained it: the unit hears
            notify.tell_unit(
                conn, notify.NOTED_NOTICE, finding_id, _labels(engine), actor, binding.unit_id,
                value, now, until,
            )  # fmt: skip
        return note_id


def close(engine: Any, actor: Actor, finding_id: int, reason: str | None) -> None:
    """Close an open finding by hand, with the reason, as an officer of a unit above the
    one that answers for it."""
    now = engine.clock.now()
    with engine.db.begin() as conn:
        found = _finding(conn, actor, finding_id)
        binding = findings.close_binding(actor, found.unit_path)
        if binding is None:
            if len(path_ids(found.unit_path)) <= 1:
                raise PermissionDenied(
                    "省级本级的问题没有上级单位，不能人工销号；数据更新后自动销号"
                )
            raise PermissionDenied("人工销号由责任单位的上级单位人事干部办理")
        _still_open(found, "销号")
        value = _text("reason", REASON_LABEL, reason)
        f = findings_t
        done = conn.execute(
            update(f)
            .where(f.c.id == finding_id, f.c.closed_at.is_(None))
            .values(
                closed_at=now, closed_how=findings.BY_HAND_HOW, closed_by=actor.person_id,
                closed_unit_id=binding.unit_id, close_reason=value,
            )
        ).rowcount  # fmt: skip
        if done != 1:  # pragma: no cover - the row lock above keeps it open until here
            raise Conflict("该问题刚刚已销号，请刷新后查看")
        notify.tell_unit(
            conn, notify.CLOSED_NOTICE, finding_id, _labels(engine), actor, binding.unit_id,
            value, now,
        )  # fmt: skip
