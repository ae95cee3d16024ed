"""The teacher roster: a province's teachers loaded from spreadsheets, kept by officers, moved
by personnel decisions and by the processes' effects — every change on the record's history.

- ``import_roster``: a roster file (``states.registry.roster_sheet``) validated cell by cell
  and written set-based, in chunks, inside one savepoint: a file with any error writes
  nothing unless the officer asked for the valid rows only. A re-import updates by ID number
  and writes exactly the records that changed, each with one history entry; a row identical
  to the one a record was last imported from, the record unchanged since, is counted
  unchanged without being checked again (``_Sift``).
- ``edit_teacher``: one record changed in the pages or the API, with the version the editor
  read (a stale version is a conflict, never a silent overwrite).
- ``move_teacher``: a transfer to another school, leaving the service, retirement, death
  (and a return to service); ``on_teacher_left`` is where what a departure means for open
  work is hooked in.
- ``apply_case_change``: a process's effect on the record (an appointed title), with the
  case on the history entry.
- ``search``, ``record_of``, ``history_of``: reads, each through the registry's scope rule.

Who may change a record is ``states.registry.scope`` (the officers of the school's subtree;
outside it a record is "not found"); who may read its history is the same officers, the
inspectors over the school, and the teacher.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import importlib.util
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    String,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    type_coerce,
    update,
)

from states.clock import local_date
from states.errors import Conflict, FormError, NotFound, PermissionDenied
from states.org import INSPECTOR, SYSTEM_ACTOR, Actor, in_scope
from states.registry import history
from states.registry.history import Entry, HistoryEntry, Verification
from states.registry.roster_sheet import (
    COLUMNS,
    KEEP_WHEN_BLANK,
    LABELS,
    MAX_ROWS,
    ethics_keys,
    parse_ethics,
    roster_schema,
    row_problems,
)
from states.registry.scope import is_manager, managed_paths, manages, require_manages
from states.sheets import CellError, Table, TableStream, Validation
from states.store.models import EthicsRecord, OrgUnit, Person, Teacher, table_of

people_t, teachers_t = table_of(Person), table_of(Teacher)
units_t, ethics_t = table_of(OrgUnit), table_of(EthicsRecord)

CHUNK = 5000  # validated rows written at a time: bounds memory at any file size
IN_CHUNK = 500  # ids per IN list: inside every database's bound-parameter limit
MAX_REPORTED = 1000
ELSEWHERE = "该身份证号已登记为您管理范围以外单位的教师；跨单位调入请由共同的上级单位办理调动"

ACTIVE = "active"
STATUSES = {"active": "在职", "left": "离职", "retired": "退休", "deceased": "死亡"}
# A personnel move: its label and the status it leaves the teacher in (a transfer keeps it).
MOVES = {
    "transfer": ("调动", None),
    "leave": ("离职", "left"),
    "retire": ("退休", "retired"),
    "death": ("死亡", "deceased"),
    "reinstate": ("恢复在职", ACTIVE),
}
# The record's fields on the teacher row, as the history names them.
TEACHER_FIELDS = (
    "school_id",
    "gender",
    "birth_date",
    "subject",
    "school_level",
    "title",
    "title_date",
    "education",
    "started_teaching_on",
    "joined_school_on",
    "rural_years",
    "backbone_level",
    "cert_level",
    "cert_no",
    "cert_registered_on",
)
PERSON_FIELDS = ("name", "phone")
_DATES = frozenset(
    {"birth_date", "title_date", "started_teaching_on", "joined_school_on", "cert_registered_on"}
)
# What an officer may change in the edit form (the ID number, and with it the birth date and
# gender, is who the record is; the school changes by a transfer).
EDITABLE = (
    "name",
    "phone",
    "subject",
    "school_level",
    "title",
    "title_date",
    "education",
    "started_teaching_on",
    "joined_school_on",
    "rural_years",
    "backbone_level",
    "cert_level",
    "cert_no",
    "cert_registered_on",
    "ethics",
)
# The order a history entry's fields are shown in: the roster's columns, then the rest.
FIELD_ORDER: dict[str, int] = {
    name: n
    for n, name in enumerate(
        ("id_number", "name", "gender", "birth_date", "school_id", *TEACHER_FIELDS[3:], "phone",
         "ethics", "status", "status_since")
    )
}  # fmt: skip


def in_order(changes: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """A history entry's changes in the order the roster's columns run."""
    return sorted(changes.items(), key=lambda kv: (FIELD_ORDER.get(kv[0], 99), kv[0]))


FIELD_LABELS: dict[str, str] = {
    **LABELS,
    "school_id": "学校",
    "status": "人员状态",
    "status_since": "状态日期",
    # written by the service ledger (states/registry/service.py), never by an edit
    "service_credit": "支教及交流经历",
    "service_years": "支教及交流计入年限",
    # written by the compliance package (states/processes/compliance): the pledge signed,
    # the honour certificate recorded
    "ethics_pledge": "师德承诺书",
    "rural_honour": "乡村学校从教30年荣誉证书",
}


# --- reading the record ---------------------------------------------------------------------
# One teacher's record, inner joins so that PostgreSQL can lock the teacher row with it.
_BY_PERSON = (
    select(
        people_t.c.id.label("person_id"),
        people_t.c.id_number,
        people_t.c.name,
        people_t.c.phone,
        *(teachers_t.c[f] for f in TEACHER_FIELDS),
        teachers_t.c.status,
        teachers_t.c.status_since,
        teachers_t.c.version,
        teachers_t.c.person_id.label("teacher_id"),
        units_t.c.path,
        units_t.c.code.label("school_code"),
        units_t.c.name.label("school_name"),
    )
    .select_from(
        people_t.join(teachers_t, teachers_t.c.person_id == people_t.c.id).join(
            units_t, units_t.c.id == teachers_t.c.school_id
        )
    )
    .where(people_t.c.id == bindparam("person_id"))
)
_ETHICS_OF = select(ethics_t.c.person_id, ethics_t.c.occurred_on, ethics_t.c.description).where(
    ethics_t.c.person_id.in_(bindparam("ids", expanding=True))
)


def _ethics(conn: Connection, person_ids: Iterable[int]) -> dict[int, list[tuple[dt.date, str]]]:
    ids = sorted(set(person_ids))
    out: dict[int, list[tuple[dt.date, str]]] = {}
    for i in range(0, len(ids), IN_CHUNK):
        for r in conn.execute(_ETHICS_OF, {"ids": ids[i : i + IN_CHUNK]}):
            out.setdefault(r.person_id, []).append((r.occurred_on, r.description))
    return out


def snapshot(row: Any, ethics: Iterable[tuple[dt.date, str]] | None) -> dict[str, Any]:
    """A record as its history states it: the person's and the teacher row's fields, and
    the ethics records (one line each) when they were read."""
    values = row._mapping
    out: dict[str, Any] = {"name": values["name"], "phone": values["phone"]}
    out.update({f: values[f] for f in TEACHER_FIELDS})
    if ethics is not None:
        out["ethics"] = ethics_keys(ethics)
    return out


@dataclass(frozen=True)
class TeacherRecord:
    """One teacher's record as the pages and the API show it."""

    person_id: int
    id_number: str | None
    name: str
    phone: str | None
    school_id: int
    school_code: str
    school_name: str
    path: str
    fields: dict[str, Any]
    status: str
    status_since: dt.date | None
    version: int
    ethics: list[tuple[dt.date, str]]

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)


def _load(conn: Connection, person_id: int, *, lock: bool = False) -> Any:
    query = _BY_PERSON
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update(of=teachers_t)
    row = conn.execute(query, {"person_id": person_id}).one_or_none()
    if row is None or row.teacher_id is None:
        raise NotFound("教师档案不存在或不在您的管理范围内")
    return row


def _record(conn: Connection, row: Any) -> TeacherRecord:
    ethics = sorted(_ethics(conn, [row.person_id]).get(row.person_id, []))
    return TeacherRecord(
        person_id=row.person_id,
        id_number=row.id_number,
        name=row.name,
        phone=row.phone,
        school_id=row.school_id,
        school_code=row.school_code,
        school_name=row.school_name,
        path=row.path,
        fields={f: getattr(row, f) for f in TEACHER_FIELDS},
        status=row.status,
        status_since=row.status_since,
        version=row.version,
        ethics=ethics,
    )


def record_of(conn: Connection, actor: Actor, person_id: int) -> TeacherRecord:
    """A record its officers manage (others: not found)."""
    row = _load(conn, person_id)
    require_manages(actor, row.path, "教师档案")
    return _record(conn, row)


def may_read_history(actor: Actor, unit_path: str, person_id: int) -> bool:
    """Officers who manage the school, inspectors over it, and the teacher themself."""
    if actor.person_id is not None and actor.person_id == person_id:
        return True
    if manages(actor, unit_path):
        return True
    return any(b.role == INSPECTOR and in_scope(b.unit_path, unit_path) for b in actor.bindings)


@dataclass(frozen=True)
class History:
    entries: list[HistoryEntry]
    verification: Verification
    # the record as its trail says it is, against the row: fields that differ (a change
    # written past the history shows here)
    unproven: dict[str, tuple[Any, Any]]


def history_of(conn: Connection, actor: Actor, person_id: int) -> History:
    """The record's history, re-sealed and checked, and the row compared with its trail."""
    row = _load(conn, person_id)
    if not may_read_history(actor, row.path, person_id):
        raise NotFound("教师档案不存在或不在您的管理范围内")
    entries = history.entries_of(conn, history.TEACHER, person_id)
    result = history.verify(conn, history.TEACHER, person_id)
    folded = history.fold(entries)
    now = snapshot(row, _ethics(conn, [person_id]).get(person_id, []))
    now["status"], now["status_since"] = row.status, row.status_since
    unproven: dict[str, tuple[Any, Any]] = {}
    for key, told in folded.items():
        if key in now and history.diff({key: told}, {key: now[key]}):
            unproven[key] = (told, now[key])
    return History(entries, result, unproven)


# --- search and export ----------------------------------------------------------------------
@dataclass(frozen=True)
class Found:
    items: list[Any]
    total: int


def _scoped(actor: Actor) -> Any:
    paths = managed_paths(actor)
    if not paths:
        raise NotFound("教师名册不存在或不在您的管理范围内")
    return or_(*(units_t.c.path.startswith(p, autoescape=True) for p in paths))


def search_query(actor: Actor, *, q: str = "", school: str = "", status: str = "") -> Select[Any]:
    """Teachers the actor manages: ``q`` a name (part of it) or an ID number (whole or its
    beginning), ``school`` a school's code or part of its name, ``status`` one of
    ``STATUSES``."""
    where = [_scoped(actor)]
    q, school = q.strip(), school.strip()
    if q:
        upper = q.upper()
        if upper[:1].isdigit():
            where.append(people_t.c.id_number.startswith(upper, autoescape=True))
        else:
            where.append(people_t.c.name.contains(q, autoescape=True))
    if school:
        where.append(
            or_(units_t.c.code == school, units_t.c.name.contains(school, autoescape=True))
        )
    if status:
        where.append(teachers_t.c.status == status)
    return (
        select(
            teachers_t.c.person_id,
            people_t.c.name,
            people_t.c.id_number,
            people_t.c.phone,
            *(teachers_t.c[f] for f in TEACHER_FIELDS),
            teachers_t.c.status,
            teachers_t.c.status_since,
            teachers_t.c.version,
            units_t.c.code.label("school_code"),
            units_t.c.name.label("school_name"),
        )
        .join(people_t, people_t.c.id == teachers_t.c.person_id)
        .join(units_t, units_t.c.id == teachers_t.c.school_id)
        .where(and_(*where))
    )


def search(
    conn: Connection,
    actor: Actor,
    *,
    q: str = "",
    school: str = "",
    status: str = "",
    page: int = 1,
    page_size: int = 20,
) -> Found:
    query = search_query(actor, q=q, school=school, status=status)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(
        query.order_by(units_t.c.code, people_t.c.name, teachers_t.c.person_id)
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    return Found(list(rows), int(total))


def export_rows(
    conn: Connection, actor: Actor, *, q: str = "", school: str = "", status: str = ""
) -> Iterator[dict[str, Any]]:
    """The roster rows of an export (``roster_sheet.shown`` writes them), the teachers the
    actor manages, with their status; ID and mobile numbers are masked by the writer."""
    query = search_query(actor, q=q, school=school, status=status).order_by(
        units_t.c.code, teachers_t.c.person_id
    )
    for r in conn.execute(query.execution_options(yield_per=2000)):
        row = dict(r._mapping)
        row["status"] = STATUSES.get(row["status"], row["status"])
        yield row


# --- import ---------------------------------------------------------------------------------
@dataclass
class RosterReport:
    """What an import did: the records created, updated and left as they were, and every
    bad cell by row, column and reason (the first ``MAX_REPORTED``; ``error_count`` is the
    total). ``refused``: the file had errors and nothing was written."""

    source_ref: str | None
    valid_only: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    error_count: int = 0
    errors: list[CellError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    header_ok: bool = True  # False: a column missing or repeated, no row was read

    @property
    def refused(self) -> bool:
        return self.error_count > 0 and (not self.valid_only or not self.header_ok)

    @property
    def written(self) -> int:
        return self.created + self.updated


@dataclass(frozen=True)
class _School:
    id: int
    path: str


@dataclass(frozen=True)
class _Schools:
    """Every school by its code, and each school's path by its id."""

    by_code: dict[str, _School]
    paths: dict[int, str]

    def find(self, code: str) -> _School | None:
        """The school of a code as written, or as written in lower case."""
        return self.by_code.get(code) or self.by_code.get(code.upper())


def _schools(conn: Connection) -> _Schools:
    by_code: dict[str, _School] = {}
    paths: dict[int, str] = {}
    for r in conn.execute(
        select(units_t.c.id, units_t.c.code, units_t.c.path).where(units_t.c.tier == "school")
    ):
        school = _School(r.id, r.path)
        by_code[r.code] = school
        by_code.setdefault(r.code.upper(), school)
        paths[r.id] = r.path
    return _Schools(by_code, paths)


# --- what a re-import need not look at again ------------------------------------------------
# A record remembers the digest of the row it was last imported from (``import_digest``) and
# the version that import left it at (``import_version``). While the version is still that one
# nothing has changed the record since (an edit, a move, a case's effect, a merger of schools
# all move the version), so a re-import's row with the same digest would be validated,
# looked up and compared only to be found unchanged: it is counted unchanged straight away.
# The digest covers the cells of every column the import reads, in the schema's order (which
# of them the file has, too: a missing column leaves a field alone, a blank cell may clear
# it), and the school the row's code names today. Bump the tag when a parser starts reading
# the same text differently.
DIGEST_TAG = b"roster-row-1"
_SEP = "\x1f"
_dump = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _known_digests(conn: Connection, actor: Actor) -> dict[bytes, str]:
    """The digests of the records in the actor's subtree that nothing changed since their
    import, each with the record's ID number (a skipped row still takes its place in the
    file's duplicate check)."""
    paths = managed_paths(actor)
    query = (
        select(teachers_t.c.import_digest, people_t.c.id_number)
        .join(people_t, people_t.c.id == teachers_t.c.person_id)
        .where(
            teachers_t.c.import_digest.is_not(None),
            teachers_t.c.import_version == teachers_t.c.version,
        )
    )
    if not any(p.count("/") <= 2 for p in paths):  # below the province: its subtree only
        query = query.join(units_t, units_t.c.id == teachers_t.c.school_id).where(
            or_(*(units_t.c.path.startswith(p, autoescape=True) for p in paths))
        )
    return {bytes(d): n for d, n in conn.execute(query.execution_options(yield_per=20_000))}


class _Sift:
    """The rows of an import on their way to validation: each row's digest computed (and
    kept by row number, for the writer to store), and the rows a record was last imported
    from unchanged since (``known``) taken out — counted as read and unchanged, their ID
    numbers entered in the file's duplicate check. A skipped row's school must still be the
    actor's; a row whose ID number the file has already given is left to validation, which
    reports the duplicate."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.digests: dict[int, bytes] = {}
        self.skipped = 0
        self._checking: Validation | None = None
        self._schools = _Schools({}, {})
        self._managed: dict[int, bool] = {}
        self._known: dict[bytes, str] = {}

    def stream(self, table: Table | TableStream) -> TableStream:
        return TableStream(table.columns, self._rows(table), tuple(table.duplicate_columns))

    def start(
        self,
        checking: Validation,
        schools: _Schools,
        managed: dict[int, bool],
        known: dict[bytes, str],
    ) -> None:
        self._checking, self._schools, self._managed, self._known = (
            checking, schools, managed, known,
        )  # fmt: skip

    def _rows(self, table: Table | TableStream) -> Iterator[tuple[int, dict[str, str]]]:
        checking = self._checking
        if checking is None or checking.found is None:
            yield from table.rows
            return
        found = checking.found
        headers = [found[c.name] for c in COLUMNS if c.name in found]
        code_header = found["school_code"]
        # which columns the file has, then the cells: always len(headers) separators
        prefix = "".join("1" if c.name in found else "0" for c in COLUMNS) + _SEP
        seps = len(headers)
        blake2b, tag = hashlib.blake2b, DIGEST_TAG
        find, managed, actor = self._schools.find, self._managed, self.actor
        known, seen, digests = self._known, checking.seen, self.digests
        for number, raw in table.rows:
            code = raw[code_header]
            school = find(code) if code else None
            cells = [raw[h] for h in headers]
            text = _SEP.join(cells)
            if text.count(_SEP) != seps - 1:  # a cell holding the separator itself
                text = _dump(cells)
            text = f"{prefix}{text}{_SEP}{school.id if school else ''}"
            digest = blake2b(text.encode(), digest_size=16, person=tag).digest()
            id_number = known.get(digest)
            if id_number is not None and school is not None:
                mine = managed.get(school.id)
                if mine is None:
                    mine = managed[school.id] = manages(actor, school.path)
                if mine and seen.setdefault(id_number, number) == number:
                    checking.read += 1
                    self.skipped += 1
                    continue
            digests[number] = digest
            yield number, raw


# SQLite's page cache while an import writes (PRAGMA cache_size; negative: KiB). Its default
# of 2 MB is soon outgrown by the ID-number index a province's people are inserted into in no
# order, and every page pushed out is written to the WAL again: 64 MB saves a tenth of the
# writes' time. Only the import's connection, and only while it runs.
IMPORT_CACHE = -65536


def _page_cache(conn: Connection, size: int | None) -> int | None:
    """Set SQLite's page cache of this connection; returns the size it had (None elsewhere,
    and ``size`` None leaves it)."""
    if conn.dialect.name != "sqlite" or size is None:
        return None
    dbapi: Any = conn.connection.driver_connection
    was = int(dbapi.execute("PRAGMA cache_size").fetchone()[0])
    dbapi.execute(f"PRAGMA cache_size = {int(size)}")
    return was


def import_roster(
    conn: Connection,
    table: Table | TableStream,
    *,
    actor: Actor,
    at: dt.datetime,
    source_ref: str | None,
    valid_only: bool = False,
    chunk: int = CHUNK,
) -> RosterReport:
    """Import a roster in the caller's transaction; see the module's description.

    Set-based: rows are validated and written ``chunk`` at a time — existing records looked
    up by ID number in IN lists of 500, new people and teachers inserted with executemany,
    changed ones updated with executemany, the history of a whole chunk sealed and written
    at once. Every row's school must be in the actor's subtree, and so must the school of a
    teacher already on record elsewhere. Rows a record was last imported from, unchanged
    since, skip all of that (``_Sift``). The writes sit in a savepoint: a file with errors
    (``valid_only`` off) stops writing at the first and rolls back what came before it, so
    nothing is half-imported, while the rest of the file is still checked for the report.
    """
    if not is_manager(actor):
        raise PermissionDenied("只有人事干部可以导入教师名册")
    today = local_date(at)
    sift = _Sift(actor)
    checking = Validation(sift.stream(table), roster_schema(today), max_errors=MAX_REPORTED)
    result = checking.result
    report = RosterReport(source_ref, valid_only, ignored_columns=result.ignored_columns)
    present = frozenset(checking.found or ())
    schools = _schools(conn) if checking.found is not None else _Schools({}, {})
    managed: dict[int, bool] = {}
    if checking.found is not None:
        sift.start(checking, schools, managed, _known_digests(conn, actor))
    writer = _Writer(conn, actor, at, source_ref, present, sift.digests)
    savepoint = conn.begin_nested()
    cache = _page_cache(conn, IMPORT_CACHE)
    try:
        for rows in checking.chunks(chunk):
            good = _admit(conn, rows, schools, managed, actor, result)
            if not (result.error_count and not valid_only):
                writer.write(good)
            # else: checking the rest for the report; nothing more is written
            sift.digests.clear()  # every row read so far is written or refused
        if result.error_count and not valid_only:
            savepoint.rollback()
        else:
            savepoint.commit()
            report.created, report.updated = writer.created, writer.updated
            report.unchanged = writer.unchanged + sift.skipped
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    finally:
        _page_cache(conn, cache)
    report.rows = checking.read
    report.header_ok = checking.found is not None and checking.read > 0
    report.error_count = result.error_count
    report.errors = sorted(result.errors, key=lambda e: e.row)
    return report


# An import compares a file's rows with the records on file in the values the database keeps
# (dates as ISO text on SQLite, as dates on PostgreSQL; both compared as ISO text): no typed
# row is built for the 99% of a re-import that did not change.
_LOOKUP = (
    select(
        people_t.c.id.label("person_id"),
        people_t.c.id_number,
        people_t.c.name,
        people_t.c.phone,
        teachers_t.c.person_id.label("teacher_id"),
        *(
            type_coerce(teachers_t.c[f], String()).label(f) if f in _DATES else teachers_t.c[f]
            for f in TEACHER_FIELDS
        ),
        teachers_t.c.version,
        teachers_t.c.import_digest,
        teachers_t.c.import_version,
    )
    .select_from(people_t)
    .outerjoin(teachers_t, teachers_t.c.person_id == people_t.c.id)
    .where(people_t.c.id_number.in_(bindparam("numbers", expanding=True)))
)


def _admit(
    conn: Connection,
    rows: list[dict[str, Any]],
    schools: _Schools,
    managed: dict[int, bool],
    actor: Actor,
    result: Any,
) -> list[tuple[dict[str, Any], _School, Any]]:
    """The rows whose school exists and is the actor's, each with its school and the
    record already on file under its ID number (or None); the others reported."""
    paths = schools.paths
    found: dict[str, Any] = {}
    numbers = [r["id_number"] for r in rows]
    for i in range(0, len(numbers), IN_CHUNK):
        for r in conn.execute(_LOOKUP, {"numbers": numbers[i : i + IN_CHUNK]}):
            found[r.id_number] = r
    out: list[tuple[dict[str, Any], _School, Any]] = []
    label = LABELS["school_code"]
    for row in rows:
        code = row["school_code"]
        school = schools.find(code)
        if school is None:
            result.add(CellError(row["row"], label, code, f"学校代码不存在：{code}"))
            continue
        mine = managed.get(school.id)
        if mine is None:
            mine = managed[school.id] = manages(actor, school.path)
        if not mine:
            result.add(CellError(row["row"], label, code, "学校不在您的管理范围内"))
            continue
        existing = found.get(row["id_number"])
        theirs = True
        if existing is not None and existing.teacher_id is not None:
            now = existing.school_id
            theirs_known = managed.get(now)
            if theirs_known is None:
                path = (
                    paths.get(now)
                    or conn.execute(select(units_t.c.path).where(units_t.c.id == now)).scalar_one()
                )
                theirs_known = managed[now] = manages(actor, path)
            theirs = theirs_known
        if not theirs:
            result.add(CellError(row["row"], LABELS["id_number"], row["id_number"], ELSEWHERE))
            continue
        out.append((row, school, existing))
    return out


def _plain(value: Any) -> Any:
    """A value as the comparison and the history see it: dates as ISO text."""
    return value.isoformat() if isinstance(value, dt.date) else value


def _typed(name: str, value: Any) -> Any:
    """A value read as text back into the column's type (dates)."""
    if name in _DATES and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


# The teacher fields after the school, gender and birth date, some of them by position.
OPTIONAL = TEACHER_FIELDS[3:]
JOINED, RURAL = OPTIONAL.index("joined_school_on"), OPTIONAL.index("rural_years")
OPTIONAL_DATES = tuple(i for i, f in enumerate(OPTIONAL) if f in _DATES)
_NEW_PERSON = ("id", "name", "id_number", "phone", "active")
_NEW_TEACHER = (
    "person_id",
    *TEACHER_FIELDS,
    "status",
    "version",
    "import_digest",
    "import_version",
)
_NEW_ETHICS = ("person_id", "occurred_on", "description")


def _bulk_insert(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    iso: bool = False,
) -> None:
    """Rows straight to the driver, in the caller's transaction: COPY on PostgreSQL,
    executemany on SQLite (dates as the ISO text SQLAlchemy's SQLite Date keeps; ``iso``:
    the rows' dates are that text already, which both databases read)."""
    if not rows:
        return
    cols = ", ".join(columns)
    dbapi: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with dbapi.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    dated = [] if iso else [i for i, c in enumerate(columns) if c in _DATES or c == "occurred_on"]
    plain: Sequence[Sequence[Any]] = rows
    if dated:
        texts: list[list[Any]] = []
        for r in rows:
            values = list(r)
            for i in dated:
                v = values[i]
                if v is not None:
                    values[i] = v.isoformat()
            texts.append(values)
        plain = texts
    cur = dbapi.cursor()
    try:
        marks = ", ".join("?" * len(columns))
        cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", plain)
    finally:
        cur.close()


class _Writer:
    """The set-based writes of an import, chunk by chunk."""

    def __init__(
        self,
        conn: Connection,
        actor: Actor,
        at: dt.datetime,
        source_ref: str | None,
        present: frozenset[str],
        digests: Mapping[int, bytes],
    ) -> None:
        self.conn, self.actor, self.at, self.ref = conn, actor, at, source_ref
        self.present = present
        self.digests = digests  # each row's digest by its row number (``_Sift``)
        # the optional fields the file carries, and those of them a blank cell leaves alone
        self.fields = [f for f in TEACHER_FIELDS[3:] if f in present]
        self.keep = frozenset(f for f in self.fields if f in KEEP_WHEN_BLANK)
        self.created = self.updated = self.unchanged = 0

    def write(self, rows: Sequence[tuple[dict[str, Any], _School, Any]]) -> None:
        if not rows:
            return
        conn, fields, keep = self.conn, self.fields, self.keep
        date = dt.date
        with_ethics = "ethics" in self.present
        known_ethics = (
            _ethics(conn, [e.person_id for r, _, e in rows if e is not None and r["ethics"]])
            if with_ethics
            else {}
        )
        new_ids = _reserve_ids(conn, sum(1 for _, _, e in rows if e is None))
        people_new: list[tuple[Any, ...]] = []
        teachers_new: list[tuple[Any, ...]] = []
        ethics_new: list[tuple[Any, ...]] = []
        teachers_changed: list[dict[str, Any]] = []
        people_changed: list[dict[str, Any]] = []
        digests_changed: list[dict[str, Any]] = []
        digests = self.digests
        fresh: list[Entry] = []
        changed: list[Entry] = []
        n_new = 0
        for row, school, existing in rows:
            number = row["id_number"]
            if existing is None:
                # a new person and record, the most common row of a first import: written
                # straight from the row (a column the file lacks is None in every row)
                # (dates as ISO text from here on: what SQLite keeps and the history says)
                pid = new_ids[n_new]
                n_new += 1
                record = [row[f] for f in OPTIONAL]
                if record[JOINED] is None:
                    record[JOINED] = row["started_teaching_on"]
                if record[RURAL] is None:
                    record[RURAL] = 0.0
                for i in OPTIONAL_DATES:
                    if (value := record[i]) is not None:
                        record[i] = value.isoformat()
                gender = row["gender"] or ("M" if number[16] in "13579" else "F")
                birth = f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
                name, phone = row["name"], row["phone"]
                people_new.append((pid, name, number, phone, True))
                teachers_new.append(
                    (pid, school.id, gender, birth, *record, ACTIVE, 1, digests[row["row"]], 1)
                )
                created = {
                    "id_number": (None, number),
                    "name": (None, name),
                    "school_id": (None, school.id),
                    "gender": (None, gender),
                    "birth_date": (None, birth),
                }
                for key, value in zip(OPTIONAL, record, strict=True):
                    if value is not None:
                        created[key] = (None, value)
                if phone is not None:
                    created["phone"] = (None, phone)
                if row["ethics"]:
                    created["ethics"] = (None, ethics_keys(row["ethics"]))
                    ethics_new += [(pid, d, what) for d, what in row["ethics"]]
                fresh.append(Entry(pid, created))
                self.created += 1
                continue
            after: dict[str, Any] = {
                "name": row["name"],
                "school_id": school.id,
                "gender": row["gender"] or ("M" if int(number[16]) % 2 == 1 else "F"),
                "birth_date": _birth(number),
            }
            for name in fields:
                value = row[name]
                if value is None and name in keep:
                    continue
                after[name] = value
            if row["phone"] is not None:
                after["phone"] = row["phone"]
            items: tuple[tuple[dt.date, str], ...] = row["ethics"] or ()
            if existing.teacher_id is None:
                # a person on file (an account, an expert) who gets a teacher record
                after.setdefault("joined_school_on", after["started_teaching_on"])
                after.setdefault("rural_years", 0.0)
                pid = existing.person_id
                phone = after.setdefault("phone", existing.phone)
                before = {"name": existing.name, "phone": existing.phone}
                if (existing.name, existing.phone) != (after["name"], phone):
                    people_changed.append({"b_id": pid, "b_name": after["name"], "b_phone": phone})
                teachers_new.append(
                    (
                        pid,
                        *(_plain(after.get(f)) for f in TEACHER_FIELDS),
                        ACTIVE,
                        1,
                        digests[row["row"]],
                        1,
                    )
                )
                if items:
                    after["ethics"] = ethics_keys(items)
                    ethics_new += [(pid, d, what) for d, what in items]
                changed.append(Entry(pid, history.diff(before, after)))
                self.updated += 1
                continue
            pid = existing.person_id
            had = known_ethics.get(pid, []) if items else None
            if had is not None:
                adding = sorted(set(items) - set(had))
                ethics_new += [(pid, d, what) for d, what in adding]
                after["ethics"] = ethics_keys([*had, *items])
            # most rows of a re-import are as they were: the stored values compared first,
            # the history's own comparison only where something differs
            same = not (had is not None and set(items) - set(had))
            stored = existing._mapping
            for k, v in after.items():
                if k == "ethics":
                    continue
                was = stored[k]
                if type(v) is date:
                    v = v.isoformat()
                if type(was) is date:
                    was = was.isoformat()
                if v != was:
                    same = False
                    break
            digest = digests[row["row"]]
            if not same:
                before = {k: getattr(existing, k) for k in (*PERSON_FIELDS, *TEACHER_FIELDS)}
                if had is not None:
                    before["ethics"] = ethics_keys(had)
                changes = history.diff(before, after)
                same = not changes
            if same:
                self.unchanged += 1
                if existing.import_digest != digest or existing.import_version != existing.version:
                    # the record is as this row says: the next import of it may skip it
                    digests_changed.append({"b_pid": pid, "b_digest": digest})
                continue
            merged = {**before, **after}
            teachers_changed.append(
                {
                    "b_pid": pid,
                    "b_digest": digest,
                    **{f"b_{f}": _typed(f, merged[f]) for f in TEACHER_FIELDS},
                }
            )
            if merged["name"] != existing.name or merged["phone"] != existing.phone:
                people_changed.append(
                    {"b_id": pid, "b_name": merged["name"], "b_phone": merged["phone"]}
                )
            changed.append(Entry(pid, changes))
            self.updated += 1
        _bulk_insert(conn, "people", _NEW_PERSON, people_new)
        if people_changed:
            conn.execute(_UPDATE_PERSON, people_changed)
        _bulk_insert(conn, "teachers", _NEW_TEACHER, teachers_new, iso=True)
        if teachers_changed:
            conn.execute(_UPDATE_TEACHER, teachers_changed)
        if digests_changed:
            conn.execute(_UPDATE_DIGEST, digests_changed)
        _bulk_insert(conn, "ethics_records", _NEW_ETHICS, ethics_new)
        kw: dict[str, Any] = {"actor": self.actor, "at": self.at, "source": "import"}
        history.record(conn, history.TEACHER, fresh, source_ref=self.ref, fresh=True, **kw)
        history.record(conn, history.TEACHER, changed, source_ref=self.ref, **kw)


_UPDATE_TEACHER = (
    update(teachers_t)
    .where(teachers_t.c.person_id == bindparam("b_pid"))
    .values(
        {
            **{f: bindparam(f"b_{f}", type_=teachers_t.c[f].type) for f in TEACHER_FIELDS},
            "version": teachers_t.c.version + 1,
            "import_digest": bindparam("b_digest", type_=teachers_t.c.import_digest.type),
            "import_version": teachers_t.c.version + 1,
        }
    )
)
# A record found as the row says, its digest not yet the row's: only the digest moves (the
# record itself, its version and its history do not).
_UPDATE_DIGEST = (
    update(teachers_t)
    .where(teachers_t.c.person_id == bindparam("b_pid"))
    .values(
        import_digest=bindparam("b_digest", type_=teachers_t.c.import_digest.type),
        import_version=teachers_t.c.version,
    )
)
_UPDATE_PERSON = (
    update(people_t)
    .where(people_t.c.id == bindparam("b_id"))
    .values(name=bindparam("b_name"), phone=bindparam("b_phone"))
)


def _birth(number: str) -> dt.date:
    return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def _reserve_ids(conn: Connection, n: int) -> list[int]:
    """``n`` new ids for people, known before the rows are written, so a chunk's teachers
    and history need no read-back. PostgreSQL draws them from the table's sequence (safe
    beside any other writer); SQLite's write transaction holds the database's only write
    lock, so the ids after the largest are ours."""
    if n <= 0:
        return []
    if conn.dialect.name == "postgresql":
        return list(
            conn.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence('people', 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"n": n},
            ).scalars()
        )
    top = conn.execute(select(func.coalesce(func.max(people_t.c.id), 0))).scalar_one()
    return list(range(int(top) + 1, int(top) + 1 + n))


# --- one record -----------------------------------------------------------------------------
def _changed(version: int) -> dict[str, Any]:
    """What every change to a record but an import's moves besides its fields: the version,
    and the digest of the row it was imported from (it no longer says what the record is)."""
    return {"version": version + 1, "import_digest": None, "import_version": None}


def contact_changed(
    conn: Connection,
    actor: Actor,
    person_id: int,
    changes: history.Changes,
    at: dt.datetime,
) -> None:
    """A person changed their own mobile or email (notice preferences): the change goes on
    their history, and — if they are on the roster — their record's version moves and its
    import digest is forgotten, so the next roster import compares the row in full rather
    than passing over it as unchanged."""
    if not changes:
        return
    history.record(
        conn, history.PERSON, [Entry(person_id, changes)],
        actor=actor, at=at, source="edit", source_ref="本人修改联系方式",
    )  # fmt: skip
    conn.execute(
        update(teachers_t)
        .where(teachers_t.c.person_id == person_id)
        .values(version=teachers_t.c.version + 1, import_digest=None, import_version=None)
    )


def _parse_edit(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The edit form's text parsed by the roster's own cell parsers (the same words and the
    same reasons as an import); a blank optional field clears it."""
    columns = {c.name: c for c in COLUMNS}
    out: dict[str, Any] = {}
    for name, raw in fields.items():
        if name not in EDITABLE:
            raise FormError(name, "该项不能在此修改")
        column = columns[name]
        if isinstance(raw, int | float) and not isinstance(raw, bool) and name == "rural_years":
            raw = f"{raw:g}"
        if raw is not None and not isinstance(raw, str):
            raise FormError(name, f"{column.label}应为文字")
        value = (raw or "").strip()
        if not value:
            if column.required:
                raise FormError(name, f"{column.label}不能为空")
            out[name] = () if name == "ethics" else (0.0 if name == "rural_years" else None)
            continue
        try:
            out[name] = parse_ethics(value) if name == "ethics" else column.parse(value)
        except ValueError as exc:
            raise FormError(name, str(exc)) from None
    return out


def edit_teacher(
    conn: Connection,
    actor: Actor,
    person_id: int,
    fields: Mapping[str, Any],
    *,
    expected_version: int,
    at: dt.datetime,
    source_ref: str | None = None,
) -> TeacherRecord:
    """Change a record's fields as an officer typed them, if ``expected_version`` is still
    the record's (otherwise 409: someone changed it since it was read). Writes nothing when
    nothing changed; otherwise the row, its version and one history entry."""
    row = _load(conn, person_id, lock=True)
    require_manages(actor, row.path, "教师档案")
    parsed = _parse_edit(fields)
    version = expected_version
    if row.version != version:
        raise Conflict(f"该教师档案已被他人修改（当前为第{row.version}版），请刷新后重试")
    had = _ethics(conn, [person_id]).get(person_id, [])
    before = snapshot(row, had)
    merged = {**before, **{k: v for k, v in parsed.items() if k != "ethics"}}
    check = {**merged, "id_number": row.id_number, "gender": None, "birth_date": None}
    if "ethics" in parsed:
        check["ethics"] = parsed["ethics"]
    problems = row_problems(check, local_date(at))
    if problems:
        name, reason = problems[0]
        raise FormError(name, reason)
    after = {k: merged[k] for k in (*PERSON_FIELDS, *TEACHER_FIELDS)}
    if "ethics" in parsed:
        after["ethics"] = ethics_keys(parsed["ethics"])
    changes = history.diff(before, after)
    if not changes:
        return _record(conn, row)
    done = conn.execute(
        update(teachers_t)
        .where(teachers_t.c.person_id == person_id, teachers_t.c.version == version)
        .values({**{f: merged[f] for f in TEACHER_FIELDS}, **_changed(version)})
    )
    if done.rowcount != 1:
        raise Conflict("该教师档案已被他人同时修改，请刷新后重试")
    if merged["name"] != row.name or merged["phone"] != row.phone:
        conn.execute(
            update(people_t)
            .where(people_t.c.id == person_id)
            .values(name=merged["name"], phone=merged["phone"])
        )
    if "ethics" in parsed:
        wanted, have = set(parsed["ethics"]), set(had)
        for d, what in sorted(have - wanted):
            conn.execute(
                delete(ethics_t).where(
                    ethics_t.c.person_id == person_id,
                    ethics_t.c.occurred_on == d,
                    ethics_t.c.description == what,
                )
            )
        if wanted - have:
            conn.execute(
                insert(ethics_t),
                [
                    {"person_id": person_id, "occurred_on": d, "description": what}
                    for d, what in sorted(wanted - have)
                ],
            )
    history.record(
        conn, history.TEACHER, [Entry(person_id, changes)],
        actor=actor, at=at, source="edit", source_ref=source_ref,
    )  # fmt: skip
    return _record(conn, _load(conn, person_id))


def move_teacher(
    conn: Connection,
    actor: Actor,
    person_id: int,
    kind: str,
    *,
    on: dt.date,
    expected_version: int,
    at: dt.datetime,
    school_code: str | None = None,
    note: str | None = None,
) -> TeacherRecord:
    """A personnel move (``MOVES``) on ``on``: a transfer to another school the actor
    manages (the record's school and 调入本校时间 change), or leaving the service,
    retirement, death, a return to service (the status and its date change). ``note``
    (the decision's document number, say) goes on the history entry with the move."""
    if kind not in MOVES:
        raise FormError("kind", f"人员变动类型应为：{'、'.join(m for m, _ in MOVES.values())}")
    label, status = MOVES[kind]
    row = _load(conn, person_id, lock=True)
    require_manages(actor, row.path, "教师档案")
    version = expected_version
    if row.version != version:
        raise Conflict(f"该教师档案已被他人修改（当前为第{row.version}版），请刷新后重试")
    if on > local_date(at):
        raise FormError("on", f"{label}日期不能晚于今天")
    if note is not None and len(note) > 200:
        raise FormError("note", "备注（文号）不能超过200个字")
    values: dict[str, Any]
    if kind == "transfer":
        if row.status != ACTIVE:
            raise FormError("kind", f"该教师现为{STATUSES[row.status]}状态，不能调动")
        code = (school_code or "").strip()
        if not code:
            raise FormError("school_code", "请填写调入学校的学校代码")
        target = conn.execute(
            select(units_t.c.id, units_t.c.path, units_t.c.tier).where(units_t.c.code == code)
        ).one_or_none()
        if target is None or target.tier != "school" or not manages(actor, target.path):
            raise FormError("school_code", f"学校代码不存在或不在您的管理范围内：{code}")
        if target.id == row.school_id:
            raise FormError("school_code", "调入学校与现任教学校相同")
        if on < row.started_teaching_on:
            raise FormError("on", "调动日期早于参加工作时间")
        values = {"school_id": target.id, "joined_school_on": on}
    else:
        if kind == "reinstate" and row.status == ACTIVE:
            raise FormError("kind", "该教师现为在职状态")
        if kind != "reinstate" and row.status != ACTIVE:
            raise FormError("kind", f"该教师现为{STATUSES[row.status]}状态")
        values = {"status": status, "status_since": None if status == ACTIVE else on}
    before = {k: getattr(row, k) for k in values}
    changes = history.diff(before, values)
    done = conn.execute(
        update(teachers_t)
        .where(teachers_t.c.person_id == person_id, teachers_t.c.version == version)
        .values({**values, **_changed(version)})
    )
    if done.rowcount != 1:
        raise Conflict("该教师档案已被他人同时修改，请刷新后重试")
    ref = f"{label}{'：' + note.strip() if note and note.strip() else ''}"
    if kind in ("leave", "retire", "death"):
        on_teacher_left(conn, person_id, at, actor=actor, changes=changes, source_ref=ref)
    else:
        history.record(
            conn, history.TEACHER, [Entry(person_id, changes)],
            actor=actor, at=at, source="move", source_ref=ref,
        )  # fmt: skip
    return _record(conn, _load(conn, person_id))


HANDOVER = "states.registry.handover"


def on_teacher_left(
    conn: Connection,
    person_id: int,
    at: dt.datetime,
    *,
    actor: Actor = SYSTEM_ACTOR,
    changes: history.Changes | None = None,
    source_ref: str | None = None,
) -> None:
    """A teacher left the service (离职, retirement, death): what that means beyond the
    record. Here, the history entry of the move; then, if the registry has a handover
    module (``states.registry.handover``, where open work a departed teacher holds is
    handed on), its ``on_teacher_left(conn, person_id, at)`` in the same transaction."""
    if changes:
        history.record(
            conn, history.TEACHER, [Entry(person_id, changes)],
            actor=actor, at=at, source="move", source_ref=source_ref,
        )  # fmt: skip
    if importlib.util.find_spec(HANDOVER) is None:
        return
    hook = getattr(importlib.import_module(HANDOVER), "on_teacher_left", None)
    if hook is not None:
        hook(conn, person_id, at)


# What a process's effect may change: the record's fields, and its status (a process that
# ends in a departure).
CASE_FIELDS = (*TEACHER_FIELDS, "status", "status_since")


def apply_case_change(
    conn: Connection,
    person_id: int,
    fields: Mapping[str, Any],
    *,
    actor: Actor,
    at: dt.datetime,
    case_id: int,
) -> int:
    """A process's effect on a teacher's record (an appointed title and its date): the row
    and its version, and one history entry naming the case. The one writer of a case's
    change to a record: the engine's ``UpdateTeacher`` and a process's own commands come
    here. Returns the entries written (0 when the record already said so)."""
    unknown = set(fields) - set(CASE_FIELDS)
    if unknown:
        raise ValueError(f"not teacher record fields: {sorted(unknown)}")
    row = _load(conn, person_id, lock=True)
    changes = history.diff({k: getattr(row, k) for k in fields}, dict(fields))
    if not changes:
        return 0
    conn.execute(
        update(teachers_t)
        .where(teachers_t.c.person_id == person_id)
        .values({**fields, **_changed(row.version)})
    )
    return history.record(
        conn, history.TEACHER, [Entry(person_id, changes, case_id=case_id)],
        actor=actor, at=at, source="case", source_ref=f"事项{case_id}",
    )  # fmt: skip


def is_active(conn: Connection, person_id: int) -> tuple[bool, str]:
    """Whether the teacher is in service, and if not, the reason a declaration is refused."""
    row = conn.execute(
        select(teachers_t.c.status, teachers_t.c.status_since).where(
            teachers_t.c.person_id == person_id
        )
    ).one_or_none()
    if row is None:
        return False, "没有教师档案"
    if row.status == ACTIVE:
        return True, ""
    since = f"（{row.status_since.isoformat()}起）" if row.status_since else ""
    return False, f"该教师已{STATUSES.get(row.status, row.status)}{since}"


__all__ = [
    "ACTIVE",
    "EDITABLE",
    "FIELD_LABELS",
    "MAX_ROWS",
    "MOVES",
    "STATUSES",
    "RosterReport",
    "TeacherRecord",
    "apply_case_change",
    "edit_teacher",
    "history_of",
    "import_roster",
    "move_teacher",
    "on_teacher_left",
    "record_of",
    "search",
]
