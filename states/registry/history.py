"""The history of a record: every change to a teacher's record, a unit or an account, sealed
in a chain per record.

One writer (``record``) for every source — a spreadsheet import, an edit in the pages, a
process's effect, a personnel move — so an inspector reads one trail per record whatever
changed it. Each entry's seal is HMAC-SHA256 (``states.audit.Sealer``, the audit key ring)
over the previous entry's seal and the entry's canonical JSON, exactly as a case's audit
events are chained: changing or deleting an entry breaks every seal after it, and whoever can
write the database but not read the key cannot reseal it.

Set-based: ``record`` takes the changes of a whole import at once, reads the heads of the
records it touches in chunks and writes every entry with one executemany.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select

from states import audit_keys
from states.audit import GENESIS, canonical, stamp
from states.audit_keys import KeyRing
from states.org import Actor
from states.store.models import RecordChange, table_of

history_t = table_of(RecordChange)

TEACHER = "teacher"
UNIT = "unit"
PERSON = "person"
KINDS = (TEACHER, UNIT, PERSON)
# Where a change came from: the words an inspector reads beside it.
SOURCES = {
    "import": "导入",
    "edit": "页面修改",
    "case": "业务办理",
    "move": "人事变动",
    "seed": "演示数据",
}
CHUNK = 500  # record ids per head lookup: inside every database's bound-parameter limit

# A field's change: (before, after); None on one side is "not set" (a new record's creation
# has every before None).
Changes = Mapping[str, tuple[Any, Any]]


@dataclass(frozen=True)
class Entry:
    """One change to one record, as a writer hands it over."""

    subject_id: int
    changes: Changes
    case_id: int | None = None


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The fields of ``after`` whose values differ from ``before`` (all of them for a new
    record). Dates and numbers are compared as the JSON the history keeps, so a re-import
    that changes nothing writes nothing."""
    old = before or {}
    out: dict[str, tuple[Any, Any]] = {}
    for key, value in after.items():
        was = old.get(key)
        if _json(was) != _json(value):
            out[key] = (was, value)
    return out


def _json(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def entry_body(
    *,
    kind: str,
    subject_id: int,
    seq: int,
    at: dt.datetime,
    actor_id: int | None,
    actor_label: str,
    source: str,
    source_ref: str | None,
    case_id: int | None,
    changes: str,
) -> str:
    """What an entry's seal covers: ``canonical`` of the entry as a mapping."""
    return canonical(
        {
            "actor": actor_id, "actor_label": actor_label, "at": stamp(at), "case": case_id,
            "changes": changes, "kind": kind, "ref": source_ref, "seq": seq,
            "source": source, "subject": subject_id,
        }
    )  # fmt: skip


def changes_text(changes: Changes) -> str:
    """The changes as the history stores and seals them: {field: [before, after]}."""
    return canonical({k: [_json(b), _json(a)] for k, (b, a) in changes.items()})


def heads(conn: Connection, kind: str, subject_ids: Iterable[int]) -> dict[int, tuple[int, str]]:
    """The last (seq, hash) of each record that has a history; records without one are
    missing from the result (their chain starts at genesis)."""
    ids = sorted(set(subject_ids))
    out: dict[int, tuple[int, str]] = {}
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        last = (
            select(history_t.c.subject_id, func.max(history_t.c.seq).label("seq"))
            .where(history_t.c.subject_kind == kind, history_t.c.subject_id.in_(chunk))
            .group_by(history_t.c.subject_id)
            .subquery()
        )
        rows = conn.execute(
            select(history_t.c.subject_id, history_t.c.seq, history_t.c.hash).join(
                last,
                and_(
                    history_t.c.subject_kind == kind,
                    history_t.c.subject_id == last.c.subject_id,
                    history_t.c.seq == last.c.seq,
                ),
            )
        )
        out.update({r.subject_id: (r.seq, r.hash) for r in rows})
    return out


def record(
    conn: Connection,
    kind: str,
    entries: Sequence[Entry],
    *,
    actor: Actor,
    at: dt.datetime,
    source: str,
    source_ref: str | None = None,
    fresh: bool = False,
) -> int:
    """Append one history entry per changed record, in the caller's transaction; entries
    without changes are skipped. ``fresh``: the records were created in this transaction, so
    none has a history yet and the head lookup is skipped (a first import of a province).
    Returns the number of entries written."""
    if kind not in KINDS:
        raise ValueError(f"unknown record kind {kind!r}")
    if source not in SOURCES:
        raise ValueError(f"unknown history source {source!r}")
    todo = [e for e in entries if e.changes]
    if not todo:
        return 0
    sealer = audit_keys.sealer()
    known = {} if fresh else heads(conn, kind, (e.subject_id for e in todo))
    rows: list[dict[str, Any]] = []
    for e in todo:
        seq, prev = known.get(e.subject_id, (0, GENESIS))
        seq += 1
        text = changes_text(e.changes)
        body = entry_body(
            kind=kind, subject_id=e.subject_id, seq=seq, at=at, actor_id=actor.person_id,
            actor_label=actor.label, source=source, source_ref=source_ref, case_id=e.case_id,
            changes=text,
        )  # fmt: skip
        digest = sealer.seal((prev + body).encode())
        known[e.subject_id] = (seq, digest)
        rows.append(
            {
                "subject_kind": kind, "subject_id": e.subject_id, "seq": seq, "at": at,
                "actor_id": actor.person_id, "actor_label": actor.label, "source": source,
                "source_ref": source_ref, "case_id": e.case_id, "changes": text,
                "prev_hash": prev, "hash": digest, "key_id": sealer.key_id,
            }
        )  # fmt: skip
    conn.execute(insert(history_t), rows)
    return len(rows)


@dataclass(frozen=True)
class HistoryEntry:
    seq: int
    at: dt.datetime
    actor_id: int | None
    actor_label: str
    source: str
    source_label: str
    source_ref: str | None
    case_id: int | None
    changes: dict[str, list[Any]]
    hash: str
    key_id: str


@dataclass(frozen=True)
class Verification:
    """A record's trail checked: ``ok`` when every entry's seal holds under the key ring;
    ``broken_at`` the first entry that does not (and why)."""

    ok: bool
    entries: int
    broken_at: int | None = None
    reason: str | None = None


def entries_of(conn: Connection, kind: str, subject_id: int) -> list[HistoryEntry]:
    rows = conn.execute(
        select(history_t)
        .where(history_t.c.subject_kind == kind, history_t.c.subject_id == subject_id)
        .order_by(history_t.c.seq)
    )
    return [
        HistoryEntry(
            seq=r.seq, at=r.at, actor_id=r.actor_id, actor_label=r.actor_label,
            source=r.source, source_label=SOURCES.get(r.source, r.source),
            source_ref=r.source_ref, case_id=r.case_id, changes=json.loads(r.changes),
            hash=r.hash, key_id=r.key_id,
        )
        for r in rows
    ]  # fmt: skip


def verify(
    conn: Connection, kind: str, subject_id: int, keys: KeyRing | None = None
) -> Verification:
    """Re-seal a record's trail from genesis and compare each entry's stored seal."""
    ring = keys or audit_keys.ring()
    rows = conn.execute(
        select(history_t)
        .where(history_t.c.subject_kind == kind, history_t.c.subject_id == subject_id)
        .order_by(history_t.c.seq)
    ).all()
    prev = GENESIS
    for n, r in enumerate(rows, start=1):
        if r.seq != n:
            return Verification(False, len(rows), r.seq, f"第{n}条记录缺失")
        if r.prev_hash != prev:
            return Verification(False, len(rows), r.seq, "与前一条记录的链接不符")
        sealer = ring.get(r.key_id)
        if sealer is None:
            return Verification(False, len(rows), r.seq, f"找不到审计密钥 {r.key_id}")
        body = entry_body(
            kind=kind, subject_id=subject_id, seq=r.seq, at=r.at, actor_id=r.actor_id,
            actor_label=r.actor_label, source=r.source, source_ref=r.source_ref,
            case_id=r.case_id, changes=r.changes,
        )  # fmt: skip
        if sealer.seal((prev + body).encode()) != r.hash:
            return Verification(False, len(rows), r.seq, "记录内容与封印不符（被改动过）")
        prev = r.hash
    return Verification(True, len(rows))


def fold(entries: Sequence[HistoryEntry]) -> dict[str, Any]:
    """The record as its history says it is now: each field's latest 'after'. Comparing it
    with the record row proves the row from its trail (an edit that bypassed the history
    shows as a difference)."""
    state: dict[str, Any] = {}
    for e in entries:
        for key, (_before, after) in e.changes.items():
            state[key] = after
    return state
