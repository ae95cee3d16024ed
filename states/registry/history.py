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
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, NamedTuple

from sqlalchemy import Connection, and_, func, select

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


class Entry(NamedTuple):
    """One change to one record, as a writer hands it over (a named tuple: an import hands
    over 600,000 of them)."""

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


_PLAIN = frozenset({str, int, type(None)})


def changes_text(changes: Changes) -> str:
    """The changes as the history stores and seals them: {field: [before, after]}, dates as
    ISO text and whole floats as integers (the conversion skipped for text, whole numbers
    and nothing, which need none: this runs once per record of a province's import)."""
    plain = _PLAIN
    return canonical(
        {
            k: [b if type(b) in plain else _json(b), a if type(a) in plain else _json(a)]
            for k, (b, a) in changes.items()
        }
    )


def file_ref(filename: str, source: bytes | BinaryIO) -> str:
    """How a history entry names the file it came from: its name and the start of its
    SHA-256, so an inspector can tell which version of a file was loaded."""
    digest = hashlib.sha256()
    if isinstance(source, bytes):
        digest.update(source)
    else:
        source.seek(0)
        while block := source.read(1 << 20):
            digest.update(block)
        source.seek(0)
    name = filename.strip().replace("\\", "/").rsplit("/", 1)[-1][:200]
    return f"{name} sha256:{digest.hexdigest()[:12]}"


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
    Returns the number of entries written.

    A province's first import writes 600,000 entries here, so the loop does as little as it
    can: what every entry of the call shares (actor, time, source) is spelled once
    (``Spelling``), each entry's sealed text is put together from it, and the rows go
    straight to the driver (``_put``)."""
    if kind not in KINDS:
        raise ValueError(f"unknown record kind {kind!r}")
    if source not in SOURCES:
        raise ValueError(f"unknown history source {source!r}")
    todo = [e for e in entries if e.changes]
    if not todo:
        return 0
    sealer = audit_keys.sealer()
    known = {} if fresh else heads(conn, kind, (e.subject_id for e in todo))
    spell = Spelling(kind, at=at, actor=actor, source=source, source_ref=source_ref).body
    seal, text_of = sealer.seal, changes_text
    aid, label, key_id = actor.person_id, actor.label, sealer.key_id
    stored_at = _driver_value(conn, history_t.c.at, at)
    rows: list[tuple[Any, ...]] = []
    for e in todo:
        subject = e.subject_id
        seq, prev = known.get(subject, (0, GENESIS))
        seq += 1
        text = text_of(e.changes)
        digest = seal((prev + spell(subject, seq, e.case_id, text)).encode())
        known[subject] = (seq, digest)
        rows.append(
            (kind, subject, seq, stored_at, aid, label, source, source_ref, e.case_id, text,
             prev, digest, key_id)
        )  # fmt: skip
    _put(conn, rows)
    return len(rows)


# One JSON value as canonical() spells it inside a mapping (no spaces, UTF-8 kept).
_dump = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class Spelling:
    """``entry_body`` for the entries of one ``record`` call, spelled directly: the parts
    every entry shares are encoded once, and an entry's body is those parts joined with its
    own four values. The seal covers exactly ``entry_body``'s text (a test holds the two
    equal), so ``verify`` re-seals what this wrote."""

    __slots__ = ("_head", "_middle", "_tail")

    def __init__(
        self, kind: str, *, at: dt.datetime, actor: Actor, source: str, source_ref: str | None
    ) -> None:
        # canonical() sorts the keys: actor, actor_label, at, case, changes, kind, ref, seq,
        # source, subject
        self._head = (
            f'{{"actor":{_dump(actor.person_id)},"actor_label":{_dump(actor.label)},'
            f'"at":{_dump(stamp(at))},"case":'
        )
        self._middle = f',"kind":{_dump(kind)},"ref":{_dump(source_ref)},"seq":'
        self._tail = f',"source":{_dump(source)},"subject":'

    def body(self, subject_id: int, seq: int, case_id: int | None, changes: str) -> str:
        case = "null" if case_id is None else str(int(case_id))
        return (
            f'{self._head}{case},"changes":{_dump(changes)}{self._middle}{int(seq)}'
            f"{self._tail}{int(subject_id)}}}"
        )


_COLUMNS = (
    "subject_kind", "subject_id", "seq", "at", "actor_id", "actor_label", "source",
    "source_ref", "case_id", "changes", "prev_hash", "hash", "key_id",
)  # fmt: skip


def _driver_value(conn: Connection, column: Any, value: Any) -> Any:
    """A value as SQLAlchemy would hand it to the driver for ``column`` (a timestamp as the
    UTC text SQLite keeps), for rows written past SQLAlchemy."""
    dialect = conn.dialect
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process is not None else value


def _put(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Entries straight to the driver, in the caller's transaction: COPY on PostgreSQL,
    executemany on SQLite (as ``states.seed``'s sink and the roster import write)."""
    cols = ", ".join(_COLUMNS)
    dbapi: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        table = history_t.name
        with dbapi.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    cur = dbapi.cursor()
    try:
        marks = ", ".join("?" * len(_COLUMNS))
        cur.executemany(f"INSERT INTO {history_t.name} ({cols}) VALUES ({marks})", rows)
    finally:
        cur.close()


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
