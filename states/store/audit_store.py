"""Verifying the audit trail: recompute every chain and compare it with what is stored."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from states.audit import GENESIS, event_hash
from states.store.models import AuditEvent, Case, table_of

audit_t = table_of(AuditEvent)
cases_t = table_of(Case)


@dataclass(frozen=True)
class Break:
    """One place where the stored trail is not what was written."""

    case_id: int
    seq: int | None
    event: str | None
    problem: str

    def __str__(self) -> str:
        where = f"案件{self.case_id}" + (f" 第{self.seq}条（{self.event}）" if self.seq else "")
        return f"{where}：{self.problem}"


def verify_trail(conn: Connection, case_id: int | None = None) -> Iterator[Break]:
    """Yield every break: an edited row (its hash no longer matches), a deleted or inserted
    row (the sequence or the links no longer line up), a chain that stops short of the case's
    recorded head, and a case row its chain does not prove (its state, or its version, set
    apart from the events). Streams, so a province-sized trail is checked in constant
    memory."""
    case_query = select(
        cases_t.c.id, cases_t.c.seq, cases_t.c.audit_head, cases_t.c.state, cases_t.c.version
    )
    if case_id is not None:
        case_query = case_query.where(cases_t.c.id == case_id)
    heads = {r.id: _Head(r.seq, r.audit_head, r.state, r.version) for r in conn.execute(case_query)}
    last: Any = None
    query = select(audit_t).order_by(audit_t.c.case_id, audit_t.c.seq)
    if case_id is not None:
        query = query.where(audit_t.c.case_id == case_id)
    current: int | None = None
    prev, expected_seq = GENESIS, 1
    for row in conn.execution_options(yield_per=5000).execute(query):
        if row.case_id != current:
            if current is not None:
                yield from _check_head(current, last, heads.pop(current, None))
            current, prev, expected_seq = row.case_id, GENESIS, 1
        if row.seq != expected_seq:
            yield Break(
                row.case_id,
                row.seq,
                row.event,
                f"序号不连续：应为第{expected_seq}条（有记录被删除或插入）",
            )
        if row.prev_hash != prev:
            yield Break(
                row.case_id, row.seq, row.event, "与前一条记录的链接不一致（前一条被修改或删除）"
            )
        recomputed = event_hash(
            row.prev_hash,
            case_id=row.case_id,
            seq=row.seq,
            at=row.at,
            actor_id=row.actor_id,
            actor_label=row.actor_label,
            event=row.event,
            from_state=row.from_state,
            to_state=row.to_state,
            payload=row.payload,
        )
        if recomputed != row.hash:
            yield Break(row.case_id, row.seq, row.event, "记录内容与其哈希不符（记录被修改）")
        prev, expected_seq, last = row.hash, row.seq + 1, row
    if current is not None:
        yield from _check_head(current, last, heads.pop(current, None))
    for missing, head in heads.items():
        yield Break(missing, None, None, f"案件应有{head.seq}条审计记录，审计表中一条也没有")


class _Head(NamedTuple):
    """What the case row says of the end of its chain."""

    seq: int
    audit_head: str
    state: str
    version: int


def _check_head(case_id: int, last: Any, head: _Head | None) -> Iterator[Break]:
    """The case row must be where its chain ends: same position and hash, the state the last
    event moved it to, and the version that event recorded."""
    if head is None:
        return
    if last.seq != head.seq or last.hash != head.audit_head:
        yield Break(
            case_id,
            last.seq,
            None,
            f"审计链止于第{last.seq}条，与案件当前版本{head.seq}不符（末尾记录被删除或修改）",
        )
        return
    if last.to_state != head.state:
        yield Break(
            case_id,
            None,
            None,
            f"案件状态「{head.state}」与审计链末尾记录的状态「{last.to_state}」不符"
            "（案件状态被直接修改）",
        )
    if last.version is not None and last.version != head.version:
        yield Break(
            case_id,
            None,
            None,
            f"案件版本{head.version}与审计链末尾记录的版本{last.version}不符（案件被直接修改）",
        )
